//! The trainer's errors: every library error of a command, aggregated.

use backend::BackendError;
use experiment::ConfigError;
use inference::InferenceError;
use inference::pack::PackError;
use runs::RunError;
use runs::history::HistoryError;
use training::TrainingError;
use training::resume::ResumeError;

use crate::pictures::PictureError;

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
    /// A run that cannot be reopened or read back.
    #[error(transparent)]
    Inference(#[from] InferenceError),
    /// A model that could not be written for another runtime.
    #[error(transparent)]
    Exchange(#[from] exchange::ExchangeError),
    /// A training that stopped early or failed.
    #[error(transparent)]
    Training(#[from] TrainingError),
    /// A model file that cannot be read.
    #[error("{}: {reason}", path.display())]
    Model {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
    /// A model file burnist cannot express as its layers.
    #[error("{}: {problem}", path.display())]
    Import {
        /// The file.
        path: std::path::PathBuf,
        /// Which node, which operator.
        problem: exchange::import::ImportError,
    },
    /// `model.init_from`: a run whose weights do not fit the network.
    #[error("{}: its weights do not fit this experiment's network: {reason}", run.display())]
    InitFrom {
        /// The run.
        run: std::path::PathBuf,
        /// Which layer and tensor, as the config names it.
        reason: String,
    },
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
    use runs::text::one_line;

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
