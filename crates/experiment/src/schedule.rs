//! `[optimizer.schedule]`: how the learning rate moves during training, in
//! epochs as a Keras user thinks of it, mapped onto Burn's learning-rate
//! schedulers (which step once per batch).

use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::lr_scheduler::exponential::ExponentialLrSchedulerConfig;
use burn::lr_scheduler::linear::LinearLrSchedulerConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::lr_scheduler::step::StepLrSchedulerConfig;
use serde::{Deserialize, Serialize};

/// A learning-rate schedule, tagged by `type`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "lowercase",
    deny_unknown_fields,
    expecting = "a schedule table with a `type`"
)]
pub enum Schedule {
    /// The learning rate throughout (the default). A struct variant, not a
    /// unit one: serde's `deny_unknown_fields` ignores the keys beside the
    /// tag of a unit variant, and `{type="constant",bogus=1}` must be refused.
    Constant {},
    /// Half a cosine from the learning rate down to `alpha` times it over
    /// the whole training (Keras's `CosineDecay`).
    Cosine {
        /// The final fraction of the learning rate. Default 0.
        #[serde(default)]
        alpha: f64,
    },
    /// Multiplied by `gamma` every `step_epochs` epochs.
    Step {
        /// Epochs between two drops.
        step_epochs: usize,
        /// The factor of each drop. Default 0.1.
        #[serde(default = "tenth")]
        gamma: f64,
    },
    /// Multiplied by `decay_rate` each epoch, smoothly from batch to batch
    /// (Keras's `ExponentialDecay` with an epoch's steps as `decay_steps`).
    Exponential {
        /// The factor per epoch, in (0, 1].
        decay_rate: f64,
    },
    /// A straight line from the learning rate to `final_learning_rate`
    /// over the whole training (Keras's `PolynomialDecay`, power 1).
    Linear {
        /// The learning rate of the last step.
        final_learning_rate: f64,
    },
}

fn tenth() -> f64 {
    0.1
}

impl Schedule {
    /// The `type` as written in configs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Constant {} => "constant",
            Self::Cosine { .. } => "cosine",
            Self::Step { .. } => "step",
            Self::Exponential { .. } => "exponential",
            Self::Linear { .. } => "linear",
        }
    }

    /// Checks the schedule's own keys and the learning rate it starts from,
    /// naming the key at fault (Burn's schedulers check the same ranges,
    /// with their own names for the keys).
    pub fn check(&self, learning_rate: f64) -> Result<(), (&'static str, f64, &'static str)> {
        let unit = |key, value: f64, open_at_zero: bool| {
            let fits = if open_at_zero {
                value > 0.0 && value <= 1.0
            } else {
                (0.0..=1.0).contains(&value)
            };
            if fits {
                Ok(())
            } else if open_at_zero {
                Err((key, value, "must be in (0, 1]"))
            } else {
                Err((key, value, "must be in [0, 1]"))
            }
        };
        if !matches!(self, Self::Constant {}) && learning_rate > 1.0 {
            return Err((
                "optimizer.learning_rate",
                learning_rate,
                "must be at most 1 with a schedule",
            ));
        }
        match *self {
            Self::Constant {} => Ok(()),
            Self::Cosine { alpha } => unit("optimizer.schedule.alpha", alpha, false),
            Self::Step { step_epochs, gamma } => {
                if step_epochs == 0 {
                    return Err(("optimizer.schedule.step_epochs", 0.0, "must be at least 1"));
                }
                unit("optimizer.schedule.gamma", gamma, true)
            }
            Self::Exponential { decay_rate } => {
                unit("optimizer.schedule.decay_rate", decay_rate, true)
            }
            Self::Linear {
                final_learning_rate,
            } => unit(
                "optimizer.schedule.final_learning_rate",
                final_learning_rate,
                false,
            ),
        }
    }

    /// Burn's scheduler for a training of `epochs` epochs of
    /// `steps_per_epoch` batches from `learning_rate`; Burn's own checks
    /// (learning rates in (0, 1], factors in (0, 1]) are the error.
    pub fn scheduler(
        &self,
        learning_rate: f64,
        steps_per_epoch: usize,
        epochs: usize,
    ) -> Result<ModuleLrScheduler, String> {
        let steps = steps_per_epoch * epochs;
        match *self {
            Self::Constant {} => Ok(learning_rate.into()),
            Self::Cosine { alpha } => CosineAnnealingLrSchedulerConfig::new(learning_rate, steps)
                .with_min_lr(alpha * learning_rate)
                .init(),
            Self::Step { step_epochs, gamma } => {
                StepLrSchedulerConfig::new(learning_rate, step_epochs * steps_per_epoch)
                    .with_gamma(gamma)
                    .init()
            }
            Self::Exponential { decay_rate } => ExponentialLrSchedulerConfig::new(
                learning_rate,
                decay_rate.powf(1.0 / steps_per_epoch as f64),
            )
            .init(),
            Self::Linear {
                final_learning_rate,
            } => LinearLrSchedulerConfig::new(learning_rate, final_learning_rate, steps).init(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The learning rate of each of the first `count` steps.
    fn rates(schedule: Schedule, count: usize) -> Vec<f64> {
        let mut scheduler = schedule.scheduler(0.1, 10, 3).unwrap();
        (0..count).map(|_| scheduler.step().base()).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1e-9)
    }

    /// Each schedule against its formula, on 3 epochs of 10 steps from 0.1.
    #[test]
    fn each_schedule_follows_its_formula() {
        assert!(rates(Schedule::Constant {}, 30).iter().all(|&lr| lr == 0.1));

        let step = rates(
            Schedule::Step {
                step_epochs: 1,
                gamma: 0.5,
            },
            30,
        );
        assert!(step[..10].iter().all(|&lr| close(lr, 0.1)), "{step:?}");
        assert!(step[10..20].iter().all(|&lr| close(lr, 0.05)), "{step:?}");
        assert!(step[20..].iter().all(|&lr| close(lr, 0.025)), "{step:?}");

        let exponential = rates(Schedule::Exponential { decay_rate: 0.5 }, 21);
        // One epoch (10 steps) later, half.
        assert!(
            close(exponential[10], exponential[0] * 0.5),
            "{exponential:?}"
        );
        assert!(
            close(exponential[20], exponential[0] * 0.25),
            "{exponential:?}"
        );

        let cosine = rates(Schedule::Cosine { alpha: 0.1 }, 31);
        assert!(close(cosine[0], 0.1), "{cosine:?}");
        assert!(close(cosine[15], 0.01 + 0.5 * 0.09), "half way: {cosine:?}");
        assert!(close(cosine[30], 0.01), "{cosine:?}");
        assert!(cosine.windows(2).all(|w| w[1] <= w[0]), "{cosine:?}");

        let linear = rates(
            Schedule::Linear {
                final_learning_rate: 0.01,
            },
            31,
        );
        assert!(close(linear[0], 0.1), "{linear:?}");
        assert!(close(linear[15], 0.055), "{linear:?}");
        assert!(close(linear[30], 0.01), "{linear:?}");
    }

    #[test]
    fn out_of_range_keys_are_named() {
        let key = |schedule: Schedule, lr| schedule.check(lr).unwrap_err().0;
        assert_eq!(
            key(Schedule::Exponential { decay_rate: 1.5 }, 0.1),
            "optimizer.schedule.decay_rate"
        );
        assert_eq!(
            key(
                Schedule::Step {
                    step_epochs: 0,
                    gamma: 0.5
                },
                0.1
            ),
            "optimizer.schedule.step_epochs"
        );
        assert_eq!(
            key(Schedule::Cosine { alpha: -0.5 }, 0.1),
            "optimizer.schedule.alpha"
        );
        assert_eq!(
            key(Schedule::Cosine { alpha: 0.0 }, 2.0),
            "optimizer.learning_rate"
        );
        assert!(Schedule::Constant {}.check(2.0).is_ok());
        assert!(Schedule::Cosine { alpha: 0.0 }.check(0.5).is_ok());
    }

    #[test]
    fn out_of_range_values_are_burn_s_errors() {
        let err = Schedule::Exponential { decay_rate: 1.5 }
            .scheduler(0.1, 10, 3)
            .err()
            .unwrap();
        assert!(err.contains("Gamma"), "{err}");
        let err = Schedule::Step {
            step_epochs: 0,
            gamma: 0.5,
        }
        .scheduler(0.1, 10, 3)
        .err()
        .unwrap();
        assert!(err.contains("Step size"), "{err}");
    }
}
