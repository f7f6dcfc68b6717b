//! Reading an experiment file: TOML as users write it, or the JSON a run
//! directory stores, refused past a size before more is read.

use std::path::Path;

use crate::error::ConfigError;
use crate::schema::ExperimentFile;

/// The text of the file at `path`, refused past [`MAX_CONFIG_BYTES`] before
/// more is read.
fn read_bounded(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    let read_error = |source| ConfigError::Read {
        path: path.to_owned(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_owned(),
            limit: MAX_CONFIG_BYTES,
        });
    }
    String::from_utf8(bytes).map_err(|_| {
        read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ))
    })
}

/// The largest experiment file read: a hundred times the every-layer
/// config's JSON, and a bound on what `--config /dev/zero` makes us read.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

impl ExperimentFile {
    /// Reads an experiment file (TOML, or the JSON a run directory stores).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = read_bounded(path)?;
        let parsed = if path.extension().is_some_and(|ext| ext == "json") {
            serde_json::from_str(&text).map_err(|err| err.to_string())
        } else {
            toml::from_str(&text).map_err(|err| {
                // toml's Display spans several lines; keep the message and its line.
                let line = err
                    .span()
                    .map(|span| text[..span.start].matches('\n').count() + 1);
                match line {
                    Some(line) => format!("line {line}: {}", err.message()),
                    None => err.message().to_owned(),
                }
            })
        };
        parsed.map_err(|message| ConfigError::Parse {
            path: path.to_owned(),
            message: runs::text::fold(&message),
        })
    }

    /// The file at `path`, or the notebook's defaults without one.
    pub fn load_or_default(path: Option<&Path>) -> Result<Self, ConfigError> {
        path.map_or_else(|| Ok(Self::default()), Self::load)
    }
}
