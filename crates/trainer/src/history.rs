//! `history.json`: what a run was and what each epoch measured.

use serde::{Deserialize, Serialize};

/// The whole record of a run, as written to `history.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// What ran, where, when.
    pub run: RunInfo,
    /// One entry per finished epoch.
    pub epochs: Vec<EpochRecord>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_line_reads_like_keras() {
        let record = EpochRecord {
            epoch: 1,
            loss: 0.33371,
            accuracy: 0.94281,
            val_loss: 0.1457,
            val_accuracy: 0.958,
            seconds: 6.14,
        };
        assert_eq!(
            record.keras_line(3, 1875),
            "Epoch 1/3 - 1875/1875 - loss: 0.3337 - accuracy: 0.9428 - val_loss: 0.1457 - val_accuracy: 0.9580 - 6.1s"
        );
    }
}

/// Keeps a run's `history.json` and `steps.csv` on disk up to date, epoch by epoch,
/// so that an interrupted run keeps what it finished.
#[derive(Debug)]
pub struct HistoryRecorder {
    history: History,
    step_losses: Vec<f64>,
    history_path: std::path::PathBuf,
    steps_path: std::path::PathBuf,
    error: Option<String>,
}

impl HistoryRecorder {
    /// A recorder writing into `run`, starting from what is already recorded.
    pub fn new(run: &crate::runs::RunDir, history: History, step_losses: Vec<f64>) -> Self {
        Self {
            history,
            step_losses,
            history_path: run.history(),
            steps_path: run.steps(),
            error: None,
        }
    }

    /// Records a finished epoch and its per-step training losses, and writes both files.
    pub fn record(&mut self, epoch: EpochRecord, step_losses: Vec<f64>) {
        self.history.epochs.push(epoch);
        self.step_losses.extend(step_losses);
        if let Err(err) = self.write() {
            // The renderer thread cannot return errors; the trainer reports it at the end.
            self.error.get_or_insert(format!("{err:#}"));
        }
    }

    /// Writes `history.json` and `steps.csv`.
    pub fn write(&self) -> anyhow::Result<()> {
        crate::runs::write_json(&self.history_path, &self.history)?;
        crate::runs::write_atomic(&self.steps_path, steps_csv(&self.step_losses).as_bytes())
    }

    /// The history so far.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Every training step's loss so far.
    pub fn step_losses(&self) -> &[f64] {
        &self.step_losses
    }

    /// The first error met while writing, if any.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

/// `step,loss` lines, steps counted from 1 over the whole run.
fn steps_csv(losses: &[f64]) -> String {
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

#[cfg(test)]
mod recorder_tests {
    use super::*;

    #[test]
    fn steps_round_trip_through_csv() {
        let losses = vec![2.5, 0.125, 1e-3];
        assert_eq!(read_steps_csv(&steps_csv(&losses)), losses);
    }
}
