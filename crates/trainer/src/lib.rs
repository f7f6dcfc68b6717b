//! The Keras MNIST notebook trained, evaluated and inspected on Burn: the
//! library behind the `trainer` binary.
//!
//! | module | job |
//! |---|---|
//! | [`cli`] | the command line |
//! | [`config`] | experiment files and their checked form |
//! | [`backend`] | which backend and device run an experiment |
//! | [`training`] | Burn's Learner wired with the hooks below |
//! | [`logger`] | `history.json` and `steps.csv`, a Burn `MetricLogger` |
//! | [`renderer`] | the Keras epoch lines and the progress bar |
//! | [`stop`] | why a training stopped early |
//! | [`early_stopping`] | Keras's `EarlyStopping` as a Burn strategy |
//! | [`schedule`] | `[optimizer.schedule]` as Burn's learning-rate schedulers |
//! | [`checkpoints`] | atomic checkpoints, and which epoch to resume from |
//! | [`pack`] | Burn's record files checked before they are loaded |
//! | [`resume`] | `--resume`: which run, on what, with which settings |
//! | [`classifier`] | the network as Burn's Learner trains it |
//! | [`inference`] | a finished run reloaded, its predictions |
//! | [`artifacts`] | a finished run's pictures |
//! | [`pictures`] | drawing digits, curves and the confusion matrix |
//! | [`evaluation`] | the confusion matrix |
//! | [`sweep`] | a grid of settings, its summary |
//! | [`compare`] | runs side by side |
//! | [`history`] | what a run records |
//! | [`runs`] | run directories, locks, atomic writes |
//! | [`serve`] | the web app of `trainer serve` |
//! | [`numpy`] | numbers printed as the notebook prints them |
//! | [`error`] | the errors, in one line |
//! | [`commands`] | one module per subcommand |

pub mod artifacts;
pub mod backend;
pub mod checkpoints;
pub mod classifier;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod config;
pub mod early_stopping;
pub mod error;
pub mod evaluation;
pub mod history;
pub mod inference;
pub mod logger;
pub mod metrics;
pub mod numpy;
pub mod pack;
pub mod pictures;
pub mod renderer;
pub mod resume;
pub mod runs;
pub mod schedule;
pub mod serve;
pub mod stop;
pub mod sweep;
pub mod text;
pub mod training;

pub use error::Error;
