//! Run directories and what they hold, read and written safely: numbering,
//! locks, atomic writes, the artifact names, `history.json` and `steps.csv`
//! (one reader for every command and the web app), and errors as one line.
//!
//! The bottom of the application's crates: no Burn, no command line.

mod dir;
pub mod history;
pub mod text;

pub use dir::*;
