//! Keras's `EarlyStopping` as a Burn [`EarlyStoppingStrategy`]: stop when
//! the monitored validation metric has not improved by more than
//! `min_delta` for `patience` epochs, and say so in the history.
//!
//! Burn's own `MetricEarlyStoppingStrategy` has no `min_delta` and keeps
//! why it stopped to its log; this one decides as Keras does and hands its
//! reason back to the training, which writes it into `history.json`.

use std::sync::{Arc, Mutex, PoisonError};

use burn::train::EarlyStoppingStrategy;
use burn::train::metric::store::{Aggregate, EventStoreClient, Split};

use experiment::EarlyStoppingSection;
use runs::history::{EarlyStop, Monitor};

use crate::metrics::{ACCURACY, LOSS};

/// The strategy given to Burn's Learner; clones share what they decided.
#[derive(Debug, Clone)]
pub struct KerasEarlyStopping {
    settings: EarlyStoppingSection,
    best: Option<(usize, f64)>,
    wait: usize,
    stopped: Arc<Mutex<Option<EarlyStop>>>,
}

impl KerasEarlyStopping {
    /// A strategy with `settings`, nothing seen yet.
    pub fn new(settings: EarlyStoppingSection) -> Self {
        Self {
            settings,
            best: None,
            wait: 0,
            stopped: Arc::default(),
        }
    }

    /// Why it stopped the training, if it did.
    pub fn stopped(&self) -> Option<EarlyStop> {
        self.stopped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes the metric's value at the end of `epoch`; true to stop. Keras's
    /// rule: an improvement beats the best by more than `min_delta`.
    pub fn observe(&mut self, epoch: usize, value: f64) -> bool {
        let delta = self.settings.min_delta;
        let improved = match (self.best, self.settings.monitor) {
            (None, _) => value.is_finite(),
            (Some((_, best)), Monitor::ValLoss) => value < best - delta,
            (Some((_, best)), Monitor::ValAccuracy) => value > best + delta,
        };
        self.wait += 1;
        if improved {
            self.best = Some((epoch, value));
            self.wait = 0;
            return false;
        }
        if self.wait < self.settings.patience.max(1) {
            return false;
        }
        let (best_epoch, best) = self.best.unwrap_or((0, f64::NAN));
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner) = Some(EarlyStop {
            epoch,
            monitor: self.settings.monitor,
            best_epoch,
            best,
            patience: self.settings.patience,
            min_delta: delta,
        });
        true
    }
}

impl EarlyStoppingStrategy for KerasEarlyStopping {
    fn should_stop(&mut self, epoch: usize, store: &EventStoreClient) -> bool {
        let (name, scale) = match self.settings.monitor {
            Monitor::ValLoss => (LOSS, 1.0),
            // Burn's accuracy is in percent; Keras's, and min_delta, in 0..1.
            Monitor::ValAccuracy => (ACCURACY, 0.01),
        };
        match store.find_metric(name, epoch, Aggregate::Mean, &Split::Valid) {
            Some(value) => self.observe(epoch, value * scale),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stops_after(settings: EarlyStoppingSection, values: &[f64]) -> Option<usize> {
        let mut strategy = KerasEarlyStopping::new(settings);
        values
            .iter()
            .enumerate()
            .find(|&(index, &value)| strategy.observe(index + 1, value))
            .map(|(index, _)| index + 1)
    }

    #[test]
    fn it_stops_as_keras_early_stopping_does() {
        let loss = |patience, min_delta| EarlyStoppingSection {
            monitor: Monitor::ValLoss,
            patience,
            min_delta,
        };
        let values = [1.0, 0.8, 0.79, 0.85, 0.78, 0.9, 0.95];
        // Patience 0 and 1 both stop at the first epoch without improvement.
        assert_eq!(stops_after(loss(0, 0.0), &values), Some(4));
        assert_eq!(stops_after(loss(1, 0.0), &values), Some(4));
        assert_eq!(stops_after(loss(2, 0.0), &values), Some(7));
        // 0.79 and 0.78 are not better than 0.8 by more than 0.05.
        assert_eq!(stops_after(loss(2, 0.05), &values), Some(4));
        assert_eq!(stops_after(loss(10, 0.0), &values), None);

        let accuracy = EarlyStoppingSection {
            monitor: Monitor::ValAccuracy,
            patience: 1,
            min_delta: 0.0,
        };
        assert_eq!(stops_after(accuracy, &[0.9, 0.95, 0.95]), Some(3));
    }

    #[test]
    fn it_says_why_it_stopped() {
        let mut strategy = KerasEarlyStopping::new(EarlyStoppingSection::default());
        let shared = strategy.clone();
        assert!(!strategy.observe(1, 0.5));
        assert!(strategy.observe(2, 0.6));
        let stop = shared.stopped().expect("the clone sees the decision");
        assert_eq!((stop.epoch, stop.best_epoch, stop.best), (2, 1, 0.5));
        assert_eq!(
            stop.line(),
            "early stopping after epoch 2: val_loss has not improved by more than 0 for 1 epoch(s); best 0.5000 at epoch 1"
        );
    }
}
