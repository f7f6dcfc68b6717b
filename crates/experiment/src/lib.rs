//! The experiment file: its schema and defaults, loading, `--set`
//! assignments, and validation into an [`Experiment`] ready to train: the
//! network checked as a layer list, the optimiser, the learning-rate
//! schedule and early stopping as data.
//!
//! | module | job |
//! |---|---|
//! | `schema` | the keys, their types and the notebook's defaults |
//! | `load` | reading a file: TOML, or the JSON a run stores |
//! | `assign` | `--set KEY=VALUE` |
//! | `validate` | every value checked once: [`Experiment`] |
//! | `schedule`, `early_stopping` | `[optimizer.schedule]`, `[training.early_stopping]` |
//! | `error` | [`ConfigError`], one line naming the file or key |

mod assign;
mod early_stopping;
mod error;
mod load;
mod schedule;
mod schema;
mod validate;

pub use assign::Assignment;
pub use early_stopping::EarlyStoppingSection;
pub use error::ConfigError;
pub use load::MAX_CONFIG_BYTES;
pub use runs::history::Monitor;
pub use schedule::Schedule;
pub use schema::{
    DataSection, ExperimentFile, ModelSection, OptimizerName, OptimizerSection, TrainingSection,
};
pub use validate::{Experiment, MAX_BATCH_SIZE, MAX_EPOCHS};

#[cfg(test)]
mod tests;
