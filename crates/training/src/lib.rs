//! The notebook's `model.fit` on Burn's Learner, with burnist's hooks: the
//! history logger (a `MetricLogger`), atomic checkpoints, Keras's early
//! stopping, stops on Ctrl-C or divergence, and `--resume` planning. It
//! shows nothing itself: the caller hands it a renderer.

pub mod checkpoints;
mod classifier;
mod early_stopping;
mod error;
mod fit;
pub mod logger;
pub mod metrics;
pub mod resume;
pub mod stop;

pub use classifier::MnistClassifier;
pub use early_stopping::KerasEarlyStopping;
pub use error::TrainingError;
pub use fit::*;
