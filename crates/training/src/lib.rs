//! The notebook's `model.fit` on Burn's Learner, with burnist's hooks: the
//! history logger (a `MetricLogger`), atomic checkpoints, Keras's early
//! stopping, stops on Ctrl-C or divergence, `--resume` planning, and what
//! surrounds a training: data split, test evaluation, final weights. It
//! shows nothing itself: the caller hands it a renderer.

pub mod checkpoints;
mod classifier;
mod early_stopping;
mod error;
mod fit;
pub mod logger;
pub mod metrics;
pub mod resume;
mod session;
pub mod stop;

pub use classifier::MnistClassifier;
pub use early_stopping::KerasEarlyStopping;
pub use error::TrainingError;
pub use fit::*;
pub use session::{Prepared, evaluate_test, save_weights};
