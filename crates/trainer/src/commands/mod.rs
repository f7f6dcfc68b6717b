//! One module per subcommand: each reads its arguments, calls the library
//! and prints what the user asked for.

pub mod compare;
pub mod eval;
pub mod export;
pub mod import;
pub mod info;
pub mod predict;
pub mod runs;
pub mod serve;
pub mod show;
pub mod sweep;
pub mod train;
