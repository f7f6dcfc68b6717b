//! A Keras-like view of a Burn training: one line per epoch on stdout, and a
//! live progress bar on stderr when it is a terminal (never in CI logs).

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use burn::train::Interrupter;
use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};

use crate::history::EpochRecord;

/// Burn's metric names, as registered by the trainer.
const LOSS: &str = "Loss";
const ACCURACY: &str = "Accuracy";
/// How often the progress bar is redrawn.
const REDRAW: Duration = Duration::from_millis(100);

/// What the renderer hands over at the end of each epoch: the epoch's record
/// and the training loss of each of its steps. The renderer lives inside the
/// Learner's event thread, so the callback is how the trainer gets them.
pub type EpochCallback = Box<dyn FnMut(EpochRecord, Vec<f64>) + Send + Sync>;

/// Metric values of one split during the current epoch.
#[derive(Debug, Default)]
struct SplitMetrics {
    /// Running sums (value * count, count) for the progress bar.
    running: HashMap<String, (f64, usize)>,
    /// Burn's final epoch value of each metric.
    finals: HashMap<String, f64>,
}

impl SplitMetrics {
    fn update(&mut self, name: &str, entry: &NumericEntry) {
        match *entry {
            NumericEntry::Final(value) => {
                self.finals.insert(name.to_owned(), value);
            }
            NumericEntry::Aggregated {
                aggregated_value,
                count,
            } => {
                let (sum, n) = self.running.entry(name.to_owned()).or_default();
                *sum += aggregated_value * count as f64;
                *n += count;
            }
            NumericEntry::Value(value) => {
                let (sum, n) = self.running.entry(name.to_owned()).or_default();
                *sum += value;
                *n += 1;
            }
        }
    }

    fn running(&self, name: &str) -> Option<f64> {
        self.running
            .get(name)
            .filter(|(_, n)| *n > 0)
            .map(|(sum, n)| sum / *n as f64)
    }

    /// The epoch value: Burn's final one, else the running mean.
    fn epoch_value(&self, name: &str) -> f64 {
        self.finals
            .get(name)
            .copied()
            .or_else(|| self.running(name))
            .unwrap_or(f64::NAN)
    }
}

/// Prints `Epoch 1/3 - 1875/1875 - loss: ... - val_accuracy: ... - 6.1s` lines.
pub struct KerasLogRenderer {
    names: HashMap<MetricId, String>,
    on_epoch: EpochCallback,
    interrupter: Interrupter,
    epoch: usize,
    step_losses: Vec<f64>,
    total_epochs: usize,
    steps_per_epoch: usize,
    train: SplitMetrics,
    valid: SplitMetrics,
    split: String,
    split_items: usize,
    epoch_started: Instant,
    live: Option<ProgressBar>,
}

impl KerasLogRenderer {
    /// A renderer that hands each finished epoch to `on_epoch`; `steps_per_epoch`
    /// is shown in the epoch line as Keras does. A loss that stops being finite
    /// stops the training through `interrupter`, with a [`divergence`] reason.
    pub fn new(on_epoch: EpochCallback, steps_per_epoch: usize, interrupter: Interrupter) -> Self {
        Self {
            names: HashMap::new(),
            on_epoch,
            interrupter,
            epoch: 1,
            step_losses: Vec::new(),
            total_epochs: 0,
            steps_per_epoch,
            train: SplitMetrics::default(),
            valid: SplitMetrics::default(),
            split: String::new(),
            split_items: 0,
            epoch_started: Instant::now(),
            live: std::io::stderr().is_terminal().then(ProgressBar::default),
        }
    }

    fn name(&self, state: &MetricState) -> Option<(String, NumericEntry)> {
        match state {
            MetricState::Numeric(entry, Some(value)) => self
                .names
                .get(&entry.metric_id)
                .map(|name| (name.clone(), value.clone())),
            _ => None,
        }
    }
}

/// The message that stops a diverging training; it starts with [`DIVERGED`].
pub fn divergence(epoch: usize, step: usize, loss: f64) -> String {
    format!(
        "{DIVERGED} at epoch {epoch}, step {step} (loss {loss}): lower optimizer.learning_rate \
         or scale the inputs (data.scaling = \"unit\")"
    )
}

/// How a divergence message starts.
pub const DIVERGED: &str = "training diverged";

/// Burn reports accuracy in percent; Keras (and `history.json`) in 0..1.
fn accuracy_fraction(percent: f64) -> f64 {
    percent / 100.0
}

impl MetricsRendererTraining for KerasLogRenderer {
    fn update_train(&mut self, state: MetricState) {
        if let Some((name, value)) = self.name(&state) {
            if let (
                LOSS,
                NumericEntry::Aggregated {
                    aggregated_value, ..
                },
            ) = (name.as_str(), &value)
            {
                self.step_losses.push(*aggregated_value);
                if !aggregated_value.is_finite() {
                    let step = self.step_losses.len();
                    let reason = divergence(self.epoch, step, *aggregated_value);
                    self.interrupter.stop(Some(&reason));
                }
            }
            self.train.update(&name, &value);
        }
    }

    fn update_valid(&mut self, state: MetricState) {
        if let Some((name, value)) = self.name(&state) {
            self.valid.update(&name, &value);
        }
    }

    fn on_train_end(
        &mut self,
        _summary: Option<burn::train::LearnerSummary>,
    ) -> Result<(), Box<dyn core::error::Error>> {
        Ok(())
    }
}

impl TrainingProgressLogger for KerasLogRenderer {
    fn start(
        &mut self,
        total_epochs: usize,
        starting_epoch: usize,
        _total_items: Option<usize>,
        _label: Option<&str>,
    ) {
        self.total_epochs = total_epochs;
        self.epoch = starting_epoch.max(1);
        self.epoch_started = Instant::now();
    }

    fn update_epoch(&mut self, epoch: usize) {
        let record = EpochRecord {
            epoch,
            loss: self.train.epoch_value(LOSS),
            accuracy: accuracy_fraction(self.train.epoch_value(ACCURACY)),
            val_loss: self.valid.epoch_value(LOSS),
            val_accuracy: accuracy_fraction(self.valid.epoch_value(ACCURACY)),
            seconds: self.epoch_started.elapsed().as_secs_f64(),
        };
        if let Some(live) = &mut self.live {
            live.clear();
        }
        println!(
            "{}",
            record.keras_line(self.total_epochs, self.steps_per_epoch)
        );
        (self.on_epoch)(record, std::mem::take(&mut self.step_losses));
        self.epoch = epoch + 1;
        self.train = SplitMetrics::default();
        self.valid = SplitMetrics::default();
        self.epoch_started = Instant::now();
    }

    fn start_split(&mut self, split: &str, total_items: usize) {
        self.split = split.to_owned();
        self.split_items = total_items;
    }

    fn update_split(&mut self, items_processed: usize) {
        if self.live.is_none() {
            return;
        }
        let metrics = if self.split == "train" {
            &self.train
        } else {
            &self.valid
        };
        let line = format!(
            "Epoch {}/{} {} {:>6}/{} {} - loss: {:.4} - accuracy: {:.4}",
            self.epoch,
            self.total_epochs,
            if self.split == "train" {
                "train"
            } else {
                "valid"
            },
            items_processed,
            self.split_items,
            bar(items_processed, self.split_items),
            metrics.running(LOSS).unwrap_or(f64::NAN),
            accuracy_fraction(metrics.running(ACCURACY).unwrap_or(f64::NAN)),
        );
        if let Some(live) = &mut self.live {
            live.draw(&line);
        }
    }

    fn end_split(&mut self) {}

    fn end(&mut self) {
        if let Some(live) = &mut self.live {
            live.clear();
        }
    }

    fn log_event_training(&mut self, _event: String) {}
}

impl EvaluationProgressLogger for KerasLogRenderer {
    fn start_global_progress(&mut self, _total_tests: usize) {}
    fn start_test(&mut self, _name: &str, _total_items: usize) {}
    fn update_test_progress(&mut self, _items_processed: usize) {}
    fn end_test(&mut self) {}
    fn end_global_progress(&mut self) {}
    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRendererEvaluation for KerasLogRenderer {
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}
}

impl MetricsRenderer for KerasLogRenderer {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.names
            .insert(definition.metric_id, definition.name.to_string());
    }
}

/// `[=========>..........]`, 30 characters wide.
fn bar(done: usize, total: usize) -> String {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(0).min(WIDTH);
    let head = if filled < WIDTH { ">" } else { "" };
    format!(
        "[{}{head}{}]",
        "=".repeat(filled),
        ".".repeat(WIDTH.saturating_sub(filled + head.len()))
    )
}

/// One self-overwriting line on stderr, redrawn at most every [`REDRAW`].
#[derive(Default)]
struct ProgressBar {
    last: Option<Instant>,
}

impl ProgressBar {
    fn draw(&mut self, line: &str) {
        if self.last.is_some_and(|last| last.elapsed() < REDRAW) {
            return;
        }
        self.last = Some(Instant::now());
        let mut err = std::io::stderr().lock();
        // Errors writing a progress bar are not worth stopping a training for.
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
    }

    fn clear(&mut self) {
        if self.last.take().is_some() {
            eprint!("\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_progress() {
        assert_eq!(bar(0, 10), format!("[>{}]", ".".repeat(29)));
        assert_eq!(
            bar(5, 10),
            format!("[{}>{}]", "=".repeat(15), ".".repeat(14))
        );
        assert_eq!(bar(10, 10), format!("[{}]", "=".repeat(30)));
        assert_eq!(bar(3, 0), format!("[>{}]", ".".repeat(29)));
    }

    #[test]
    fn epoch_values_prefer_burns_final_value() {
        let mut split = SplitMetrics::default();
        split.update(
            LOSS,
            &NumericEntry::Aggregated {
                aggregated_value: 1.0,
                count: 32,
            },
        );
        split.update(
            LOSS,
            &NumericEntry::Aggregated {
                aggregated_value: 2.0,
                count: 16,
            },
        );
        assert!((split.epoch_value(LOSS) - 4.0 / 3.0).abs() < 1e-12);
        split.update(LOSS, &NumericEntry::Final(1.5));
        assert_eq!(split.epoch_value(LOSS), 1.5);
        assert!(split.epoch_value(ACCURACY).is_nan());
    }
}
