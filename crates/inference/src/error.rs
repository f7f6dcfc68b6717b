//! Why a run could not be reopened or read back.

use std::path::PathBuf;

use crate::pack::PackError;

/// Everything reopening a run and predicting with it can fail with; each
/// variant names the file or key at fault.
#[derive(Debug, thiserror::Error)]
pub enum InferenceError {
    /// The run's config, or a subset larger than its split.
    #[error(transparent)]
    Config(#[from] experiment::ConfigError),
    /// No backend or device to run on.
    #[error(transparent)]
    Backend(#[from] backend::BackendError),
    /// Bad MNIST files.
    #[error(transparent)]
    Data(#[from] data::DataError),
    /// A missing or unfinished run directory.
    #[error(transparent)]
    Run(#[from] runs::RunError),
    /// A damaged weights file.
    #[error(transparent)]
    Pack(#[from] PackError),
    /// Weights that do not fit the network of their run's config.
    #[error("{}: cannot load these weights into the network of {}", weights.display(), config.display())]
    Weights {
        /// `model.bpk`.
        weights: PathBuf,
        /// `config.json`.
        config: PathBuf,
        /// Burn's reason.
        source: burn::store::RecordError,
    },
    /// Values a backend could not hand back to the host.
    #[error("cannot read the predictions back: {0}")]
    Readback(String),
}
