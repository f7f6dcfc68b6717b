//! Why a training did not finish.

use crate::stop::Stop;

/// Everything a training can fail with, in one line each.
#[derive(Debug, thiserror::Error)]
pub enum TrainingError {
    /// A setting that only fails once the training starts (a schedule that
    /// does not fit the epochs).
    #[error(transparent)]
    Config(#[from] experiment::ConfigError),
    /// The run directory could not be written.
    #[error(transparent)]
    Run(#[from] runs::RunError),
    /// Bad MNIST files.
    #[error(transparent)]
    Data(#[from] data::DataError),
    /// A subset larger than its split, or predictions not read back.
    #[error(transparent)]
    Inference(#[from] inference::InferenceError),
    /// The run's `history.json` could not be read back.
    #[error(transparent)]
    History(#[from] runs::history::HistoryError),
    /// A training that stopped early.
    #[error("{reason}; {what}")]
    Stopped {
        /// Why.
        reason: Stop,
        /// What is kept and how to go on.
        what: String,
    },
    /// Final weights that could not be packed for writing.
    #[error("{}: cannot save the weights", weights.display())]
    WeightsNotSaved {
        /// `model.bpk`.
        weights: std::path::PathBuf,
        /// Burn's reason.
        source: burn::store::RecordError,
    },
    /// A training that Burn's Learner could not carry through.
    #[error("training failed: {0}")]
    Failed(String),
}
