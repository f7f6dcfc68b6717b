//! The run's record, kept by a [`MetricLogger`] registered with Burn's
//! Learner: every training step's loss into `steps.csv`, every epoch's
//! metrics into `history.json` (both rewritten whole after each epoch, so an
//! interrupted run keeps what it finished), and each finished epoch to the
//! renderer for its log line. A loss that stops being finite stops the
//! training, with the epoch and step, through the [`Stopper`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::time::Instant;

use burn::train::logger::MetricLogger;
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};

use crate::metrics::{ACCURACY, LOSS};
use crate::stop::{Stop, Stopper};
use runs::history::{EpochRecord, History, steps_csv};
use runs::{RunDir, write_atomic, write_json};

/// Burn's name of the learning-rate metric.
pub const LEARNING_RATE: &str = "Learning Rate";

/// Writes `history.json` and `steps.csv` as the training goes.
pub struct HistoryLogger {
    history: History,
    step_losses: Vec<f64>,
    history_path: PathBuf,
    steps_path: PathBuf,
    names: HashMap<MetricId, String>,
    /// Burn's value of each metric of each (split, epoch), as Burn reads them
    /// back (checkpoint selection, early stopping).
    finals: HashMap<(Split, usize, String), f64>,
    steps_this_epoch: usize,
    epoch_started: Instant,
    stopper: Stopper,
    epochs: Sender<EpochRecord>,
}

impl HistoryLogger {
    /// A logger writing into `run`, continuing `history` and `step_losses`
    /// (empty for a new run), sending each finished epoch to `epochs`.
    pub fn new(
        run: &RunDir,
        history: History,
        step_losses: Vec<f64>,
        stopper: Stopper,
        epochs: Sender<EpochRecord>,
    ) -> Self {
        let mut finals = HashMap::new();
        for record in &history.epochs {
            for (split, name, value) in [
                (Split::Train, LOSS, record.loss),
                (Split::Train, ACCURACY, record.accuracy * 100.0),
                (Split::Valid, LOSS, record.val_loss),
                (Split::Valid, ACCURACY, record.val_accuracy * 100.0),
            ] {
                finals.insert((split, record.epoch, name.to_owned()), value);
            }
        }
        Self {
            history,
            step_losses,
            history_path: run.history(),
            steps_path: run.steps(),
            names: HashMap::new(),
            finals,
            steps_this_epoch: 0,
            epoch_started: Instant::now(),
            stopper,
            epochs,
        }
    }

    /// The epoch's value of metric `name`, if Burn reported it.
    fn final_entry(&self, split: Split, epoch: usize, name: &str) -> Option<f64> {
        self.finals.get(&(split, epoch, name.to_owned())).copied()
    }

    fn final_value(&self, split: Split, epoch: usize, name: &str) -> f64 {
        self.final_entry(split, epoch, name).unwrap_or(f64::NAN)
    }

    fn write(&self) -> Result<(), runs::RunError> {
        write_json(&self.history_path, &self.history)?;
        write_atomic(&self.steps_path, steps_csv(&self.step_losses).as_bytes())
    }
}

/// The value of an entry: a step's, or Burn's final one for the epoch.
fn value(entry: &NumericEntry) -> f64 {
    match *entry {
        NumericEntry::Value(value) | NumericEntry::Final(value) => value,
        NumericEntry::Aggregated {
            aggregated_value, ..
        } => aggregated_value,
    }
}

impl MetricLogger for HistoryLogger {
    fn log(&mut self, update: MetricsUpdate, epoch: usize, split: &Split) {
        let mut step_loss = None;
        for numeric in &update.entries_numeric {
            let Some(name) = self.names.get(&numeric.entry.metric_id) else {
                continue;
            };
            match &numeric.numeric_entry {
                Some(NumericEntry::Final(final_value)) => {
                    self.finals
                        .insert((split.clone(), epoch, name.clone()), *final_value);
                }
                Some(entry) if *split == Split::Train && name == LOSS => {
                    step_loss = Some(value(entry));
                }
                _ => {}
            }
        }
        let Some(loss) = step_loss else {
            return;
        };
        self.steps_this_epoch += 1;
        self.step_losses.push(loss);
        if !loss.is_finite() {
            self.stopper.stop(Stop::Diverged {
                epoch,
                step: self.steps_this_epoch,
                loss,
            });
        }
    }

    fn read_numeric(
        &mut self,
        name: &str,
        epoch: usize,
        split: &Split,
    ) -> Result<Vec<NumericEntry>, String> {
        Ok(self
            .finals
            .get(&(split.clone(), epoch, name.to_owned()))
            .map(|&value| vec![NumericEntry::Final(value)])
            .unwrap_or_default())
    }

    fn log_metric_definition(&mut self, definition: MetricDefinition) {
        self.names
            .insert(definition.metric_id, definition.name.to_string());
    }

    fn log_epoch_summary(&mut self, summary: EpochSummary) {
        if summary.split != Split::Valid {
            return;
        }
        let epoch = summary.epoch_number;
        // Burn reports accuracy in percent; Keras (and history.json) in 0..1.
        let record = EpochRecord {
            epoch,
            loss: self.final_value(Split::Train, epoch, LOSS),
            accuracy: self.final_value(Split::Train, epoch, ACCURACY) / 100.0,
            val_loss: self.final_value(Split::Valid, epoch, LOSS),
            val_accuracy: self.final_value(Split::Valid, epoch, ACCURACY) / 100.0,
            seconds: self.epoch_started.elapsed().as_secs_f64(),
            learning_rate: self.final_entry(Split::Train, epoch, LEARNING_RATE),
        };
        self.epoch_started = Instant::now();
        self.steps_this_epoch = 0;
        self.history.epochs.push(record.clone());
        if let Err(err) = self.write() {
            self.stopper.stop(Stop::Record(runs::text::one_line(&err)));
        }
        // The renderer may be gone (a finished training); nothing to show then.
        let _ = self.epochs.send(record);
    }
}
