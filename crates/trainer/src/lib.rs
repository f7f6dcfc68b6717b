//! The `trainer` command line: flags turned into library objects at one
//! border ([`cli`]), one module per subcommand ([`commands`]), and what only
//! a command shows: the Keras epoch lines, pictures and reports. The work
//! itself is done by the libraries below it:
//!
//! | crate | job |
//! |---|---|
//! | `training` | Burn's Learner with burnist's hooks, checkpoints, resume |
//! | `serve` | the web app of `trainer serve` |
//! | `inference` | a finished run reopened, its predictions and evaluation |
//! | `experiment` | experiment files and their checked form |
//! | `backend` | which backends this build holds, and their devices |
//! | `runs` | run directories, `history.json`, `steps.csv` |
//! | `model`, `data`, `kernels` | the network, MNIST, the CPU kernels |
//!
//! | module | job |
//! |---|---|
//! | [`cli`] | the command line |
//! | [`commands`] | one module per subcommand |
//! | [`renderer`] | the Keras epoch lines and the progress bar |
//! | [`artifacts`] | a finished run's pictures |
//! | [`pictures`] | drawing digits, curves and the confusion matrix |
//! | [`sweep`] | a grid of settings, its summary |
//! | [`compare`] | runs side by side |
//! | [`numpy`] | numbers printed as the notebook prints them |
//! | [`error`] | the libraries' errors, aggregated |

pub mod artifacts;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod error;
pub mod numpy;
pub mod pictures;
pub mod renderer;
pub mod sweep;

pub use error::Error;
