//! Why an experiment file or override is unusable, in one line naming the
//! file or key.

use std::path::PathBuf;

use model::LayerError;

/// Why an experiment file or override is unusable. Each names the file or key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read config")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file far larger than any experiment (`/dev/zero`, a data file).
    #[error("{path}: larger than the {} KiB an experiment file may hold", limit / 1024)]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The most bytes read.
        limit: u64,
    },
    /// The file is not valid TOML for an experiment (syntax, type, unknown key).
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, on one line.
        message: String,
    },
    /// A `--set KEY=VALUE` that names no key or gives it a value of the wrong type.
    #[error("--set {assignment}: {message}")]
    Set {
        /// The assignment as given.
        assignment: String,
        /// What is wrong with it.
        message: String,
    },
    /// A layer of `[[model.layers]]` that does not fit the network.
    #[error(transparent)]
    Layer(#[from] LayerError),
    /// A value is out of its range.
    #[error("config key `{key}` = {value}: {reason}")]
    Invalid {
        /// The key, as `section.key`.
        key: &'static str,
        /// The offending value.
        value: String,
        /// What it must be.
        reason: String,
    },
}

pub(crate) fn invalid(
    key: &'static str,
    value: impl std::fmt::Display,
    reason: impl Into<String>,
) -> ConfigError {
    ConfigError::Invalid {
        key,
        value: shorten(&value.to_string()),
        reason: reason.into(),
    }
}

/// The most characters of a value an error line repeats.
const SHOWN_VALUE: usize = 64;

/// `text`, or its start and end around its length when it is longer than
/// [`SHOWN_VALUE`]: an error line stays one readable line whatever was
/// given (a 50 MB name, `1e300` written out as 301 digits).
pub(crate) fn shorten(text: &str) -> String {
    let count = text.chars().count();
    if count <= SHOWN_VALUE {
        return text.to_owned();
    }
    let head: String = text.chars().take(SHOWN_VALUE / 2).collect();
    let tail: String = text.chars().skip(count - SHOWN_VALUE / 4).collect();
    format!("{head}...{tail} ({count} characters)")
}
