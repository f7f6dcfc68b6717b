//! Checking an experiment once: every value in range, the Burn configs
//! built; the result, [`Experiment`], is what the program runs on.

use model::{KerasAdam, KerasNetConfig, KerasOptimizer, SummaryRow};

use crate::Schedule;
use crate::error::{ConfigError, invalid};
use crate::schema::{ExperimentFile, OptimizerName};

/// The largest values accepted: beyond them a typo would run for days
/// before anything fails.
pub const MAX_EPOCHS: usize = 10_000;
/// See [`MAX_EPOCHS`]: larger than either split, which is never useful.
pub const MAX_BATCH_SIZE: usize = 60_000;

impl ExperimentFile {
    /// Checks every value once; the result is what the program runs on.
    pub fn validate(self) -> Result<Experiment, ConfigError> {
        let in_range = |key: &'static str, value: usize, max: usize| {
            if value == 0 {
                Err(invalid(key, value, "must be at least 1"))
            } else if value > max {
                Err(invalid(key, value, format!("must be at most {max}")))
            } else {
                Ok(())
            }
        };
        let positive = |key: &'static str, value: usize| in_range(key, value, usize::MAX);
        if self.name.is_empty()
            || self.name.starts_with('.')
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(invalid(
                "name",
                format!("{:?}", self.name),
                "must be letters, digits, '-', '_' or '.', not starting with '.'",
            ));
        }
        // What a TOML file (and config.json read back as one) can hold.
        if self.seed > i64::MAX as u64 {
            return Err(invalid(
                "seed",
                self.seed,
                format!("must be at most {}, the largest TOML integer", i64::MAX),
            ));
        }
        in_range("training.epochs", self.training.epochs, MAX_EPOCHS)?;
        in_range(
            "training.batch_size",
            self.training.batch_size,
            MAX_BATCH_SIZE,
        )?;
        in_range(
            "training.eval_batch_size",
            self.training.eval_batch_size,
            MAX_BATCH_SIZE,
        )?;
        if let Some(early) = &self.training.early_stopping {
            if early.patience > MAX_EPOCHS {
                return Err(invalid(
                    "training.early_stopping.patience",
                    early.patience,
                    format!("must be at most {MAX_EPOCHS}"),
                ));
            }
            if !(early.min_delta.is_finite() && early.min_delta >= 0.0) {
                return Err(invalid(
                    "training.early_stopping.min_delta",
                    early.min_delta,
                    "must be a number >= 0",
                ));
            }
        }
        if self
            .data
            .dir
            .as_ref()
            .is_some_and(|dir| dir.as_os_str().is_empty())
        {
            return Err(ConfigError::Invalid {
                key: "data.dir",
                value: "\"\"".into(),
                reason: "must name a directory; leave the key out for the default data".into(),
            });
        }
        if let Some(size) = self.data.train_size {
            positive("data.train_size", size)?;
        }
        if let Some(size) = self.data.test_size {
            positive("data.test_size", size)?;
        }
        if let Some(split) = self.data.validation_split
            && !(split > 0.0 && split < 1.0)
        {
            return Err(invalid(
                "data.validation_split",
                split,
                "must be between 0 and 1 (exclusive)",
            ));
        }
        let opt = &self.optimizer;
        if !(opt.learning_rate.is_finite() && opt.learning_rate > 0.0) {
            return Err(invalid(
                "optimizer.learning_rate",
                opt.learning_rate,
                "must be a positive number",
            ));
        }
        for (key, beta) in [
            ("optimizer.beta1", opt.beta1),
            ("optimizer.beta2", opt.beta2),
        ] {
            if !(0.0..1.0).contains(&beta) {
                return Err(invalid(key, beta, "must be in [0, 1)"));
            }
        }
        if !(opt.epsilon.is_finite() && opt.epsilon > 0.0) {
            return Err(invalid(
                "optimizer.epsilon",
                opt.epsilon,
                "must be a positive number",
            ));
        }
        for (key, value) in [
            ("optimizer.momentum", opt.momentum),
            ("optimizer.rho", opt.rho),
        ] {
            if !(0.0..1.0).contains(&value) {
                return Err(invalid(key, value, "must be in [0, 1)"));
            }
        }
        if !(opt.weight_decay.is_finite() && opt.weight_decay >= 0.0) {
            return Err(invalid(
                "optimizer.weight_decay",
                opt.weight_decay,
                "must be a number >= 0",
            ));
        }
        if let Some(schedule) = &opt.schedule {
            schedule
                .check(opt.learning_rate)
                .map_err(|(key, value, reason)| invalid(key, value, reason))?;
        }
        let net = KerasNetConfig::new().with_layers(self.model.layers.clone());
        let summary = net.check()?;
        let adam = KerasAdam {
            learning_rate: opt.learning_rate,
            beta_1: opt.beta1,
            beta_2: opt.beta2,
            epsilon: opt.epsilon,
        };
        let optimizer = match opt.name {
            OptimizerName::Adam => KerasOptimizer::Adam(adam),
            OptimizerName::Adamw => KerasOptimizer::AdamW {
                adam,
                weight_decay: opt.weight_decay,
            },
            OptimizerName::Sgd => KerasOptimizer::Sgd {
                momentum: opt.momentum,
                nesterov: opt.nesterov,
            },
            OptimizerName::Rmsprop => KerasOptimizer::RmsProp {
                rho: opt.rho,
                momentum: opt.momentum,
                epsilon: opt.epsilon,
            },
        };
        Ok(Experiment {
            net,
            summary,
            optimizer,
            file: self,
        })
    }
}

/// A checked experiment: every value in range, the Burn configs built.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The experiment as resolved (file, then overrides), for `config.json`.
    pub file: ExperimentFile,
    /// The network.
    pub net: KerasNetConfig,
    /// Its layers, checked: output shapes and parameters.
    pub summary: Vec<SummaryRow>,
    /// The optimiser (the learning rate and its schedule go to the Learner).
    pub optimizer: KerasOptimizer,
}

impl Experiment {
    /// Trainable parameters of the network.
    pub fn num_params(&self) -> usize {
        self.summary.iter().map(|row| row.params).sum()
    }

    /// The learning rate the training starts from.
    pub fn learning_rate(&self) -> f64 {
        self.file.optimizer.learning_rate
    }

    /// The schedule of the learning rate (constant without one).
    pub fn schedule(&self) -> Schedule {
        self.file
            .optimizer
            .schedule
            .unwrap_or(Schedule::Constant {})
    }
}
