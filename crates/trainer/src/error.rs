//! The trainer's errors: every library error of a command, aggregated.

use crate::backend::BackendError;
use crate::config::ConfigError;
use crate::history::HistoryError;
use crate::pack::PackError;
use crate::pictures::PictureError;
use crate::resume::ResumeError;
use crate::runs::RunError;
use crate::stop::Stop;

/// Everything a command can fail with; each variant names the file, key or
/// flag at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bad experiment file or override.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No backend or device to run on.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// Bad MNIST files, or a subset larger than the split.
    #[error(transparent)]
    Data(#[from] data::DataError),
    /// A run directory or an artifact.
    #[error(transparent)]
    Run(#[from] RunError),
    /// An unreadable `history.json`.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// A run that cannot be resumed as asked.
    #[error(transparent)]
    Resume(#[from] ResumeError),
    /// A damaged weights or checkpoint file.
    #[error(transparent)]
    Pack(#[from] PackError),
    /// A picture that cannot be drawn or read.
    #[error(transparent)]
    Picture(#[from] PictureError),
    /// A training that stopped early.
    #[error("{reason}; {what}")]
    Stopped {
        /// Why.
        reason: Stop,
        /// What is kept and how to go on.
        what: String,
    },
    /// A training that Burn's Learner could not carry through.
    #[error("training failed: {0}")]
    Training(String),
    /// Weights that do not fit the network of their run's config.
    #[error("{}: cannot load these weights into the network of {}", weights.display(), config.display())]
    Weights {
        /// `model.bpk`.
        weights: std::path::PathBuf,
        /// `config.json`.
        config: std::path::PathBuf,
        /// Burn's reason.
        source: burn::store::RecordError,
    },
    /// Final weights that could not be packed for writing.
    #[error("{}: cannot save the weights", weights.display())]
    WeightsNotSaved {
        /// `model.bpk`.
        weights: std::path::PathBuf,
        /// Burn's reason.
        source: burn::store::RecordError,
    },
    /// Values a backend could not hand back to the host.
    #[error("cannot read the predictions back: {0}")]
    Readback(String),
    /// The web server could not listen or stopped.
    #[error("cannot serve on {address}")]
    Serve {
        /// Host and port.
        address: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A bad command-line value no parser caught.
    #[error("{0}")]
    Usage(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::one_line;

    #[test]
    fn causes_follow_on_one_line() {
        let err = RunError::Write {
            path: "a/b.json".into(),
            source: std::io::Error::other("disk\nfull"),
        };
        assert_eq!(
            one_line(&Error::from(err)),
            "a/b.json: cannot write: disk full"
        );
    }
}
