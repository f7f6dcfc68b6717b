//! `[training.early_stopping]` as plain data; the training turns it into
//! Burn's early-stopping strategy.

use runs::history::Monitor;
use serde::{Deserialize, Serialize};

/// `[training.early_stopping]`: Keras's `EarlyStopping(monitor, patience, min_delta)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    default,
    expecting = "an [training.early_stopping] table"
)]
pub struct EarlyStoppingSection {
    /// `val_loss` (default) or `val_accuracy`.
    pub monitor: Monitor,
    /// Epochs without improvement before stopping (Keras's default 0 stops
    /// at the first, as 1 does).
    pub patience: usize,
    /// The least change that counts as an improvement (default 0).
    pub min_delta: f64,
}

impl Default for EarlyStoppingSection {
    fn default() -> Self {
        Self {
            monitor: Monitor::ValLoss,
            patience: 0,
            min_delta: 0.0,
        }
    }
}
