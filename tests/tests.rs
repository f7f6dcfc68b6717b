//! `trainer` end to end, as a user runs it: one test binary (it links the
//! whole trainer once, not once per feature), a module per feature and one
//! shared helper, [`util`]. `cargo test -p trainer --test tests MODULE::`
//! runs one module.

mod util;

mod backends;
mod cli;
mod errors;
mod exchange;
mod experiments;
mod help;
mod layout;
mod pictures;
mod readme;
mod reliability;
mod resume;
mod serve;
