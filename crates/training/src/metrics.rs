//! The names under which Burn's metrics report (its `LossMetric` and
//! `AccuracyMetric`): what the logger records, the renderer draws and early
//! stopping watches.

/// Burn's name of the loss metric.
pub const LOSS: &str = "Loss";
/// Burn's name of the accuracy metric (in percent).
pub const ACCURACY: &str = "Accuracy";
