//! Why a training stops early, kept as a typed reason beside Burn's
//! [`Interrupter`], which stops the Learner but only carries a string.

use std::sync::{Arc, Mutex, PoisonError};

use burn::train::Interrupter;

/// Why a training ended before its last epoch.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Stop {
    /// A training step's loss stopped being a finite number.
    #[error(
        "training diverged at epoch {epoch}, step {step} (loss {loss}): lower optimizer.learning_rate or scale the inputs (data.scaling = \"unit\")"
    )]
    Diverged {
        /// The epoch, from 1.
        epoch: usize,
        /// The step within the epoch, from 1.
        step: usize,
        /// The loss.
        loss: f64,
    },
    /// The user pressed Ctrl-C.
    #[error("interrupted by Ctrl-C")]
    Interrupted,
    /// `history.json` or `steps.csv` could not be written.
    #[error("cannot record the history: {0}")]
    Record(String),
}

/// Stops a training through Burn's [`Interrupter`] and remembers the first
/// reason; cloned into every part that may stop it (the history logger, the
/// Ctrl-C handler).
#[derive(Clone, Default)]
pub struct Stopper {
    interrupter: Interrupter,
    reason: Arc<Mutex<Option<Stop>>>,
}

impl Stopper {
    /// A stopper driving this interrupter.
    pub fn new(interrupter: Interrupter) -> Self {
        Self {
            interrupter,
            reason: Arc::default(),
        }
    }

    /// Stops the training after its current step, for `reason` unless it is
    /// already stopping.
    pub fn stop(&self, reason: Stop) {
        let mut first = self.reason.lock().unwrap_or_else(PoisonError::into_inner);
        if first.is_none() {
            self.interrupter.stop(Some(&reason.to_string()));
            *first = Some(reason);
        }
    }

    /// Why the training was stopped, if it was.
    pub fn reason(&self) -> Option<Stop> {
        self.reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_reason_is_kept_and_the_interrupter_stops() {
        let interrupter = Interrupter::new();
        let stopper = Stopper::new(interrupter.clone());
        assert_eq!(stopper.reason(), None);
        stopper.stop(Stop::Interrupted);
        stopper.stop(Stop::Record("disk full".into()));
        assert_eq!(stopper.reason(), Some(Stop::Interrupted));
        assert!(interrupter.should_stop());
    }
}
