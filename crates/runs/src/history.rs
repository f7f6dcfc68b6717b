//! `history.json`: what a run was and what each epoch measured.

use serde::{Deserialize, Serialize};

/// The whole record of a run, as written to `history.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// What ran, where, when.
    pub run: RunInfo,
    /// One entry per finished epoch.
    pub epochs: Vec<EpochRecord>,
    /// The test set's loss after training, when a validation split held the
    /// validation data out of the training set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_loss: Option<f64>,
    /// The test set's accuracy (0..1), likewise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_accuracy: Option<f64>,
    /// Why the training stopped before its last epoch, when early stopping did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_early: Option<EarlyStop>,
}

/// What ran, where, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Experiment name.
    pub experiment: String,
    /// Backend used (`ndarray`, ...).
    pub backend: String,
    /// Device used, as Burn names it.
    pub device: String,
    /// The code that computed the convolution, pooling, loss and optimiser
    /// (`fast` or `stock`), on that backend.
    #[serde(default = "stock")]
    pub kernels: String,
    /// Seed of initialisation and shuffling.
    pub seed: u64,
    /// When training started (RFC 3339, UTC).
    pub started: String,
    /// Training images per epoch.
    pub train_size: usize,
    /// Validation (test) images.
    pub test_size: usize,
    /// Optimiser steps per epoch.
    pub steps_per_epoch: usize,
    /// Epochs asked for.
    pub epochs_planned: usize,
    /// Version of burnist that trained it.
    pub version: String,
    /// Each time the run was resumed: after which epoch, and where.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resumes: Vec<Resume>,
    /// Where the weights came from when no training made them (`trainer import`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<Imported>,
}

/// A run made by `trainer import` from another runtime's model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Imported {
    /// The file, as given.
    pub file: String,
    /// Its format (`onnx`).
    pub format: String,
    /// Who wrote it, as the file says (`pytorch 2.9.0`).
    pub producer: String,
    /// Where the pixel scaling came from: `graph`, `--scaling` or `default`.
    pub scaling_from: String,
}

/// A resumption of a run after an interruption.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resume {
    /// The last epoch finished before it.
    pub after_epoch: usize,
    /// Backend it continued on.
    pub backend: String,
    /// Device it continued on.
    pub device: String,
    /// When it resumed (RFC 3339, UTC).
    pub started: String,
}

/// Runs recorded before burnist had its own kernels ran Burn's.
fn stock() -> String {
    "stock".into()
}

/// Why a `history.json` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The file could not be read.
    #[error("{}: cannot read", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a history.
    #[error("{}: unreadable history", path.display())]
    Parse {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
}

impl History {
    /// Reads a run's `history.json`.
    pub fn load(path: &std::path::Path) -> Result<Self, HistoryError> {
        let text = std::fs::read_to_string(path).map_err(|source| HistoryError::Read {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| HistoryError::Parse {
            path: path.to_owned(),
            source,
        })
    }
}

/// The Keras `History` of one epoch; accuracies are fractions in 0..1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch.
    pub loss: f64,
    /// Training accuracy over the epoch.
    pub accuracy: f64,
    /// Loss on the validation (test) split after the epoch.
    pub val_loss: f64,
    /// Accuracy on the validation (test) split after the epoch.
    pub val_accuracy: f64,
    /// Wall time of the epoch, training and validation.
    pub seconds: f64,
    /// The learning rate the epoch trained with (the mean of its steps',
    /// which a schedule moves); absent in runs before schedules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f64>,
}

impl EpochRecord {
    /// The Keras-style log line of the epoch.
    pub fn keras_line(&self, epochs: usize, steps: usize) -> String {
        format!(
            "Epoch {}/{epochs} - {steps}/{steps} - loss: {:.4} - accuracy: {:.4} - val_loss: {:.4} - val_accuracy: {:.4} - {:.1}s",
            self.epoch, self.loss, self.accuracy, self.val_loss, self.val_accuracy, self.seconds
        )
    }
}

/// `step,loss` lines, steps counted from 1 over the whole run.
pub fn steps_csv(losses: &[f64]) -> String {
    let mut csv = String::from("step,loss\n");
    for (step, loss) in losses.iter().enumerate() {
        csv.push_str(&format!("{},{loss}\n", step + 1));
    }
    csv
}

/// Reads the losses of a `steps.csv`.
pub fn read_steps_csv(text: &str) -> Vec<f64> {
    text.lines()
        .skip(1)
        .filter_map(|line| line.split_once(',')?.1.parse().ok())
        .collect()
}

/// The validation metric early stopping watches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", expecting = "a metric name")]
pub enum Monitor {
    /// Lower is better (Keras's default).
    #[default]
    ValLoss,
    /// Higher is better.
    ValAccuracy,
}

impl Monitor {
    /// The name in configs and histories.
    pub fn name(self) -> &'static str {
        match self {
            Self::ValLoss => "val_loss",
            Self::ValAccuracy => "val_accuracy",
        }
    }
}

/// Why a training stopped before its last epoch, as `history.json` keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStop {
    /// The last epoch trained.
    pub epoch: usize,
    /// The metric watched.
    pub monitor: Monitor,
    /// Its best epoch.
    pub best_epoch: usize,
    /// Its best value.
    pub best: f64,
    /// Epochs without improvement allowed.
    pub patience: usize,
    /// Least improvement counted.
    pub min_delta: f64,
}

impl EarlyStop {
    /// The line printed when the training stops.
    pub fn line(&self) -> String {
        format!(
            "early stopping after epoch {}: {} has not improved by more than {} for {} epoch(s); best {:.4} at epoch {}",
            self.epoch,
            self.monitor.name(),
            self.min_delta,
            self.epoch - self.best_epoch,
            self.best,
            self.best_epoch
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_round_trip_through_csv() {
        let losses = vec![2.5, 0.125, 1e-3];
        assert_eq!(read_steps_csv(&steps_csv(&losses)), losses);
    }

    #[test]
    fn the_epoch_line_reads_like_keras() {
        let record = EpochRecord {
            epoch: 1,
            loss: 0.33371,
            accuracy: 0.94281,
            val_loss: 0.1457,
            val_accuracy: 0.958,
            seconds: 6.14,
            learning_rate: None,
        };
        assert_eq!(
            record.keras_line(3, 1875),
            "Epoch 1/3 - 1875/1875 - loss: 0.3337 - accuracy: 0.9428 - val_loss: 0.1457 - val_accuracy: 0.9580 - 6.1s"
        );
    }
}
