//! `trainer serve`'s web app: the runs of an artifacts directory, a run's
//! page (live while it trains), and a pad to draw a digit for a run to read.
//!
//! | module | job |
//! |---|---|
//! | [`api`] | the routes: page, JSON API, pictures |
//! | [`catalog`] | run ids, summaries and details, read-only |
//! | [`predictor`] | networks loaded once per run, fed in batches |
//! | [`error`] | a failed request as a status and one JSON line |
//! | [`server`] | connections, with their timeouts and limits |
//!
//! The page (`page.html`) polls the API: the server never writes into runs.

pub mod api;
pub mod catalog;
pub mod error;
pub mod predictor;
pub mod server;

pub use api::router;
pub use catalog::Catalog;
pub use error::ApiError;
pub use server::serve;
