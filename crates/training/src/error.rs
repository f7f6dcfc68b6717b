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
    /// A training that Burn's Learner could not carry through.
    #[error("training failed: {0}")]
    Failed(String),
}
