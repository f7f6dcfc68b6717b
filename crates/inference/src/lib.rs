//! A finished run reopened and put to use: its network and weights loaded
//! on a backend ([`LoadedRun`]), predictions and the mean loss over a
//! dataset, and the confusion matrix with its per-class figures. Needs
//! Burn's tensors only, not its training stack.

mod error;
mod evaluation;
mod loaded;
pub mod pack;

pub use error::InferenceError;
pub use evaluation::ConfusionMatrix;
pub use loaded::*;
