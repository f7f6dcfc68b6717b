//! What a training shows: one Keras line per epoch on stdout, always, and a
//! progress bar on stderr when it is a terminal (indicatif hides it
//! otherwise, so CI logs hold the epoch lines only). It only shows: the
//! epochs' numbers come from the [`HistoryLogger`](training::logger::HistoryLogger),
//! the same ones `history.json` holds.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex, PoisonError, TryLockError};

use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use runs::history::EpochRecord;
use training::metrics::{ACCURACY, LOSS};

/// The finished epochs on their way from the logger to the screen; the
/// trainer keeps a handle too, to print the last ones after the Learner.
#[derive(Clone)]
pub struct EpochLines {
    receiver: Arc<Mutex<Receiver<EpochRecord>>>,
    epochs: usize,
    steps: usize,
}

impl EpochLines {
    /// A channel for a training of `epochs` epochs of `steps` steps: the
    /// sender for the logger, the lines for the renderer and the trainer.
    pub fn channel(epochs: usize, steps: usize) -> (std::sync::mpsc::Sender<EpochRecord>, Self) {
        let (sender, receiver) = channel();
        let lines = Self {
            receiver: Arc::new(Mutex::new(receiver)),
            epochs,
            steps,
        };
        (sender, lines)
    }

    /// Prints every epoch not printed yet, waiting until the logger is gone:
    /// Burn's Learner returns before its event processor (which owns the
    /// logger) has handled the last events, and drops the logger once it
    /// has. Meanwhile the renderer, on the processor's thread, leaves the
    /// printing to this.
    pub fn print_rest(&self) {
        let receiver = self.receiver.lock().unwrap_or_else(PoisonError::into_inner);
        for record in receiver.iter() {
            println!("{}", record.keras_line(self.epochs, self.steps));
        }
    }

    /// Prints the epochs finished since the last call, around `bar`.
    pub fn print_ready(&self, bar: Option<&ProgressBar>) {
        let receiver = match self.receiver.try_lock() {
            Ok(receiver) => receiver,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            // `print_rest` holds it, and prints these lines itself.
            Err(TryLockError::WouldBlock) => return,
        };
        for record in receiver.try_iter() {
            let line = record.keras_line(self.epochs, self.steps);
            match bar {
                Some(bar) => bar.suspend(|| println!("{line}")),
                None => println!("{line}"),
            }
        }
    }
}

/// Renders a training as Keras does.
pub struct KerasRenderer {
    lines: EpochLines,
    bar: ProgressBar,
    names: HashMap<MetricId, String>,
    epoch: usize,
    split: String,
    /// Sums and counts of the epoch's losses and accuracies, for the bar.
    loss: (f64, usize),
    accuracy: (f64, usize),
}

impl KerasRenderer {
    /// A renderer printing `lines`, with a progress bar when stderr is a terminal.
    pub fn new(lines: EpochLines) -> Self {
        Self::drawing_to(lines, ProgressDrawTarget::stderr())
    }

    /// A renderer drawing its progress bar to `target`, in the target's width.
    fn drawing_to(lines: EpochLines, target: ProgressDrawTarget) -> Self {
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(
            ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} {eta}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        Self {
            lines,
            bar,
            names: HashMap::new(),
            epoch: 1,
            split: String::new(),
            loss: (0.0, 0),
            accuracy: (0.0, 0),
        }
    }

    fn message(&self) -> String {
        let mean = |(sum, count): (f64, usize), scale: f64| match count {
            0 => "-".to_owned(),
            _ => format!("{:.4}", sum / count as f64 / scale),
        };
        // Burn's accuracy is in percent, Keras's in 0..1.
        format!(
            "Epoch {}/{} {} loss {} acc {}",
            self.epoch,
            self.lines.epochs,
            self.split,
            mean(self.loss, 1.0),
            mean(self.accuracy, 100.0),
        )
    }
}

impl MetricsRendererTraining for KerasRenderer {
    fn update_train(&mut self, state: MetricState) {
        let MetricState::Numeric(entry, Some(value)) = state else {
            return;
        };
        let running = match self.names.get(&entry.metric_id).map(String::as_str) {
            Some(LOSS) => &mut self.loss,
            Some(ACCURACY) => &mut self.accuracy,
            _ => return,
        };
        match value {
            NumericEntry::Value(value) => *running = (running.0 + value, running.1 + 1),
            NumericEntry::Aggregated {
                aggregated_value,
                count,
            } => {
                *running = (
                    running.0 + aggregated_value * count as f64,
                    running.1 + count,
                )
            }
            NumericEntry::Final(_) => {}
        }
    }

    fn update_valid(&mut self, _state: MetricState) {}

    fn on_train_end(
        &mut self,
        _summary: Option<burn::train::LearnerSummary>,
    ) -> Result<(), Box<dyn core::error::Error>> {
        Ok(())
    }
}

impl TrainingProgressLogger for KerasRenderer {
    fn start(
        &mut self,
        _total_epochs: usize,
        starting_epoch: usize,
        _total_items: Option<usize>,
        _label: Option<&str>,
    ) {
        self.epoch = starting_epoch.max(1);
    }

    fn update_epoch(&mut self, epoch: usize) {
        self.epoch = epoch + 1;
        self.lines.print_ready(Some(&self.bar));
    }

    fn start_split(&mut self, split: &str, total_items: usize) {
        self.lines.print_ready(Some(&self.bar));
        self.bar.set_length(total_items as u64);
        self.bar.set_position(0);
        self.bar.reset_eta();
        if split == "train" {
            (self.loss, self.accuracy) = ((0.0, 0), (0.0, 0));
        }
        self.split = split.to_owned();
        self.bar.set_message(self.message());
    }

    fn update_split(&mut self, items_processed: usize) {
        self.bar.set_message(self.message());
        self.bar.set_position(items_processed as u64);
    }

    fn end_split(&mut self) {}

    fn end(&mut self) {
        self.bar.finish_and_clear();
        self.lines.print_ready(None);
    }

    fn log_event_training(&mut self, _event: String) {}
}

impl EvaluationProgressLogger for KerasRenderer {
    fn start_global_progress(&mut self, _total_tests: usize) {}
    fn start_test(&mut self, _name: &str, _total_items: usize) {}
    fn update_test_progress(&mut self, _items_processed: usize) {}
    fn end_test(&mut self) {}
    fn end_global_progress(&mut self) {}
    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRendererEvaluation for KerasRenderer {
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}
}

impl MetricsRenderer for KerasRenderer {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.names
            .insert(definition.metric_id, definition.name.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::InMemoryTerm;

    /// Bug: the hand-drawn progress line was wider than 80 columns and its
    /// `\r\x1b[2K` cleared one row only, so a terminal filled with stale
    /// lines. The bar takes the terminal's width and redraws in place,
    /// whatever the numbers in its message.
    #[test]
    fn the_progress_bar_stays_on_one_row_of_an_80_column_terminal() {
        let term = InMemoryTerm::new(10, 80);
        let (_sender, lines) = EpochLines::channel(10_000, 60_000);
        let mut renderer =
            KerasRenderer::drawing_to(lines, ProgressDrawTarget::term_like(Box::new(term.clone())));
        renderer.start(10_000, 9_998, Some(60_000), None);
        for epoch in 9_998..10_000 {
            renderer.start_split("train", 60_000);
            for step in 1..=40 {
                renderer.loss = (123_456_789.0 * step as f64, 1);
                renderer.accuracy = (100.0, 1);
                renderer.update_split(step * 1_500);
                let contents = term.contents();
                let rows: Vec<&str> = contents.lines().filter(|row| !row.is_empty()).collect();
                assert_eq!(rows.len(), 1, "one row at a time:\n{contents}");
                assert!(rows[0].starts_with("Epoch "), "{contents}");
                assert!(rows[0].chars().count() <= 80, "{contents}");
            }
            renderer.update_epoch(epoch);
        }
        renderer.end();
        assert_eq!(term.contents().trim(), "", "the bar clears at the end");
    }
}
