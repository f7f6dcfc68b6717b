//! `--set KEY=VALUE`: any key of the experiment file changed as if written
//! in it.

use crate::error::{ConfigError, shorten};
use crate::schema::ExperimentFile;

/// One `--set KEY=VALUE`: a dotted key of the experiment file and a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// `section.key`, as in the TOML file.
    pub key: String,
    /// A TOML value (`3`, `1e-4`, `"unit"`, `true`); a bare word is a string.
    pub value: String,
}

impl std::str::FromStr for Assignment {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => Ok(Self {
                key: key.trim().to_owned(),
                value: value.trim().to_owned(),
            }),
            _ => Err(format!(
                "`{text}` is not KEY=VALUE (e.g. training.epochs=5)"
            )),
        }
    }
}

impl std::fmt::Display for Assignment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

impl Assignment {
    /// The value as TOML: a number, boolean, quoted string, array or
    /// table as written, anything else (`unit`, `flex`) as a string, but for
    /// an integer TOML cannot hold, which is refused rather than read as the
    /// string of its digits.
    fn toml_value(&self) -> Result<toml::Value, String> {
        let parsed = toml::from_str::<toml::Table>(&format!("v = {}", self.value))
            .ok()
            .and_then(|mut table| table.remove("v"));
        let digits = self.value.trim_start_matches(['+', '-']);
        match parsed {
            Some(value) => Ok(value),
            None if !digits.is_empty()
                && digits.chars().all(|c| c.is_ascii_digit() || c == '_') =>
            {
                Err(format!(
                    "`{}` is out of range: TOML integers stop at {}",
                    shorten(&self.value),
                    i64::MAX
                ))
            }
            None => Ok(toml::Value::String(self.value.clone())),
        }
    }
}

impl ExperimentFile {
    /// The file with each assignment applied in order, as if written in it:
    /// unknown keys and wrong types are refused as in a file.
    pub fn set(self, assignments: &[Assignment]) -> Result<Self, ConfigError> {
        let mut file = self;
        for assignment in assignments {
            let error = |message: String| ConfigError::Set {
                assignment: assignment.to_string(),
                message: runs::text::fold(&message),
            };
            let mut table = toml::Value::Table(
                toml::Table::try_from(&file).map_err(|err| error(err.to_string()))?,
            );
            let mut parts: Vec<&str> = assignment.key.split('.').collect();
            let leaf = parts.pop().unwrap_or_default();
            let mut section = &mut table;
            for part in parts {
                section = slot(section, part, true).map_err(error)?;
            }
            *slot(section, leaf, false).map_err(error)? = assignment.toml_value().map_err(error)?;
            file = table
                .try_into()
                .map_err(|err: toml::de::Error| error(err.message().to_owned()))?;
        }
        Ok(file)
    }
}

/// The value that `part` of a dotted key names inside `section`: a key
/// (`epochs`), or an item of the list a key holds (`layers[0]`). A missing
/// key is made, as a table when more parts follow (`section`).
fn slot<'a>(
    section: &'a mut toml::Value,
    part: &str,
    is_section: bool,
) -> Result<&'a mut toml::Value, String> {
    let (name, index) = match part.strip_suffix(']').and_then(|p| p.split_once('[')) {
        Some((name, index)) => {
            let index: usize = index
                .parse()
                .map_err(|_| format!("`{part}`: the index must be a number"))?;
            (name, Some(index))
        }
        None => (part, None),
    };
    let table = section
        .as_table_mut()
        .ok_or_else(|| format!("`{name}` is inside a value, not a section"))?;
    let entry = table.entry(name).or_insert_with(|| {
        if is_section || index.is_some() {
            toml::Value::Table(toml::Table::new())
        } else {
            toml::Value::String(String::new())
        }
    });
    let Some(index) = index else {
        if is_section && !entry.is_table() {
            return Err(format!("`{name}` is a value, not a section"));
        }
        return Ok(entry);
    };
    let items = entry
        .as_array_mut()
        .ok_or_else(|| format!("`{name}` is not a list, so `{part}` names nothing"))?;
    let count = items.len();
    items
        .get_mut(index)
        .ok_or_else(|| format!("`{name}` has {count} items (from 0), so `{part}` names nothing"))
}
