//! What a request can fail with, answered as an HTTP status and one line of
//! JSON: `{"error": "..."}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// The largest request body accepted (a phone photo of a digit fits).
pub const BODY_LIMIT: usize = 2 << 20;
/// How long a request body may take to arrive: 2 MB at 200 KB/s.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A request the server cannot serve; each variant maps to one status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A run id that is not `experiment/run-NNN` of plain names.
    #[error("bad run id `{0}`: expected EXPERIMENT/run-NNN as listed by /api/runs")]
    BadRunId(String),
    /// A well-formed id of no run directory.
    #[error("no run `{0}` under the artifacts directory")]
    NoRun(String),
    /// A run without its final weights.
    #[error("run `{0}` has not finished: it has no model.bpk yet")]
    Unfinished(String),
    /// Nothing to predict with.
    #[error("no finished run to predict with: train one first")]
    NoFinishedRun,
    /// A picture name outside a run's pictures.
    #[error("no picture `{0}` in this run ({names})", names = runs::PICTURES.join(", "))]
    NoPicture(String),
    /// An upload that is not a usable PNG or JPEG.
    #[error("bad picture: {0}")]
    BadPicture(String),
    /// A JSON body that does not hold 784 grey values.
    #[error("bad JSON body: {0}")]
    BadJson(String),
    /// A query string the endpoint does not take.
    #[error("bad query string `{0}`: the one key is run=EXPERIMENT/run-NNN")]
    BadQuery(String),
    /// A method the path does not take.
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed {
        /// The request's method.
        method: String,
        /// The request's path.
        path: String,
    },
    /// A body over [`BODY_LIMIT`].
    #[error("request body over the limit of {BODY_LIMIT} bytes")]
    TooLarge,
    /// A body that did not arrive within [`BODY_TIMEOUT`].
    #[error("the request body did not arrive within {} s", BODY_TIMEOUT.as_secs())]
    SlowBody,
    /// A body that could not be read.
    #[error("cannot read the request body: {0}")]
    Body(String),
    /// A path no route serves.
    #[error("no such endpoint: {0}")]
    NotFound(String),
    /// The run's network could not be loaded or run.
    #[error("run `{id}`: {reason}")]
    Model {
        /// The run.
        id: String,
        /// Why.
        reason: String,
    },
    /// The artifacts directory could not be read.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRunId(_) | Self::BadPicture(_) | Self::BadJson(_) | Self::BadQuery(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::Body(_) => StatusCode::BAD_REQUEST,
            Self::NoRun(_) | Self::NoPicture(_) | Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unfinished(_) | Self::NoFinishedRun => StatusCode::CONFLICT,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::SlowBody => StatusCode::REQUEST_TIMEOUT,
            Self::Model { .. } | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = runs::text::fold(&self.to_string());
        (self.status(), Json(serde_json::json!({ "error": message }))).into_response()
    }
}
