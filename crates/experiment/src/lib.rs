//! The experiment file: its schema and defaults, loading, `--set`
//! assignments, and validation into an [`Experiment`] ready to train: the
//! network checked as a layer list, the optimiser, the learning-rate
//! schedule and early stopping as data.

mod early_stopping;
mod file;
mod schedule;

pub use early_stopping::EarlyStoppingSection;
pub use file::*;
pub use runs::history::Monitor;
pub use schedule::Schedule;
