//! The routes: the page, the JSON API and the run pictures.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use data::{IMAGE_PIXELS, digit_from_image_bytes};
use serde::{Deserialize, Serialize};

use super::catalog::{Catalog, RunDetails, RunSummary};
use http_body_util::BodyExt;

use super::error::{ApiError, BODY_LIMIT, BODY_TIMEOUT};
use super::predictor::Predictors;
use inference::{LoadedRun, argmax};

/// The single page: runs, a run, and the drawing pad, in plain HTML and JS.
const PAGE: &str = include_str!("page.html");

/// What every handler shares.
struct AppState {
    catalog: Catalog,
    predictors: Predictors,
}

type Shared = State<Arc<AppState>>;

/// The server's routes over the runs of `catalog`.
pub fn router(catalog: Catalog) -> Router {
    let state = Arc::new(AppState {
        catalog,
        predictors: Predictors::default(),
    });
    Router::new()
        .route("/", get(page))
        .route("/health", get(health))
        .route("/api/runs", get(runs))
        .route("/api/runs/{experiment}/{run}", get(run_details))
        .route("/api/runs/{experiment}/{run}/files/{name}", get(picture))
        .route("/api/runs/{experiment}/{run}/model.onnx", get(onnx_model))
        .route("/api/predict", post(predict))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(uri.path().to_owned())
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}

async fn runs(State(state): Shared) -> Result<Json<Vec<RunSummary>>, ApiError> {
    Ok(Json(state.catalog.runs()?))
}

/// A path whose segments are not UTF-8 (or otherwise unreadable) names
/// nothing: the JSON 404 of any unknown path, not axum's text answer.
fn segments<T>(path: Result<Path<T>, PathRejection>, uri: &Uri) -> Result<T, ApiError> {
    path.map(|Path(segments)| segments)
        .map_err(|_| ApiError::NotFound(uri.path().to_owned()))
}

async fn run_details(
    State(state): Shared,
    path: Result<Path<(String, String)>, PathRejection>,
    uri: Uri,
) -> Result<Json<RunDetails>, ApiError> {
    let (experiment, run) = segments(path, &uri)?;
    Ok(Json(state.catalog.details(&format!("{experiment}/{run}"))?))
}

async fn picture(
    State(state): Shared,
    path: Result<Path<(String, String, String)>, PathRejection>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let (experiment, run, name) = segments(path, &uri)?;
    let bytes = state
        .catalog
        .picture(&format!("{experiment}/{run}"), &name)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            // A training rewrites its pictures at the end: always ask again.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        bytes,
    )
        .into_response())
}

/// A finished run's network as an ONNX file, exported when asked (the
/// server writes nothing into runs), as `trainer export` writes it.
async fn onnx_model(
    State(state): Shared,
    path: Result<Path<(String, String)>, PathRejection>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let (experiment, run) = segments(path, &uri)?;
    let id = format!("{experiment}/{run}");
    let dir = state.catalog.finished(&id)?;
    let model_id = id.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        let loaded = LoadedRun::open(dir.path(), None, None).map_err(|err| {
            runs::text::one_line(&err).replace(&dir.path().display().to_string(), &model_id)
        })?;
        let file = &loaded.experiment.file;
        exchange::onnx::export(
            &file.model.layers,
            &loaded.net.weights(),
            file.data.scaling,
            &model_id,
        )
        .map_err(|err| runs::text::one_line(&err))
    })
    .await
    .map_err(|err| ApiError::Internal(err.to_string()))?
    .map_err(|reason| ApiError::Model {
        id: id.clone(),
        reason,
    })?;
    let disposition = format!("attachment; filename=\"{experiment}-{run}.onnx\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// `POST /api/predict`'s query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PredictQuery {
    /// The run whose network reads the digit [default: the newest finished].
    run: Option<String>,
}

/// A JSON body: the 28x28 grey values the network reads, MNIST's way
/// (white ink, 255, on black, 0), row by row.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PixelsBody {
    pixels: Vec<f64>,
}

/// `POST /api/predict`'s answer.
#[derive(Debug, Serialize)]
struct Prediction {
    run: String,
    digit: usize,
    probabilities: Vec<f32>,
    /// The 28x28 picture the network saw.
    pixels: Vec<u8>,
}

async fn predict(
    State(state): Shared,
    query: Result<Query<PredictQuery>, QueryRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Prediction>, ApiError> {
    let Query(query) =
        query.map_err(|_| ApiError::BadQuery(uri.query().unwrap_or_default().to_owned()))?;
    // A declared oversize body is refused before any of it is read when
    // its client waits to be told to send it (`Expect: 100-continue`) or
    // when it is too large to drain; a smaller one is drained first, so that
    // a client still sending it reads the 413 instead of a broken pipe.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    let waits = headers
        .get(header::EXPECT)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if declared
        .is_some_and(|length| length > BODY_LIMIT as u64 && (waits || length > DRAIN_LIMIT as u64))
    {
        return Err(ApiError::TooLarge);
    }
    let body = tokio::time::timeout(BODY_TIMEOUT, read_body(body))
        .await
        .map_err(|_| ApiError::SlowBody)??;
    let id = match query.run {
        Some(id) => id,
        None => state
            .catalog
            .latest_finished()?
            .ok_or(ApiError::NoFinishedRun)?,
    };
    let run = state.catalog.finished(&id)?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            // Media types are case-insensitive (`APPLICATION/JSON`).
            value
                .get(..16)
                .is_some_and(|kind| kind.eq_ignore_ascii_case("application/json"))
        });
    let pixels = if is_json {
        pixels_from_json(&body)?
    } else {
        tokio::task::spawn_blocking(move || digit_from_image_bytes(&body))
            .await
            .map_err(|err| ApiError::Internal(err.to_string()))?
            .map_err(ApiError::BadPicture)?
    };
    let probabilities = state.predictors.predict(&id, run, pixels).await?;
    Ok(Json(Prediction {
        run: id,
        digit: argmax(&probabilities),
        probabilities: probabilities.to_vec(),
        pixels: pixels.to_vec(),
    }))
}

/// A body read whole, of at most [`BODY_LIMIT`] bytes. A larger one is
/// read on to its end (up to [`DRAIN_LIMIT`]) and then refused: a client
/// still sending it gets the 413, where answering at once would leave it a
/// broken pipe.
async fn read_body(mut body: Body) -> Result<Vec<u8>, ApiError> {
    let mut bytes = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| ApiError::Body(err.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len();
        if seen <= BODY_LIMIT {
            bytes.extend_from_slice(&data);
        } else if seen > DRAIN_LIMIT {
            break;
        }
    }
    if seen > BODY_LIMIT {
        return Err(ApiError::TooLarge);
    }
    Ok(bytes)
}

/// How much of an oversized body is read before the connection is given up.
const DRAIN_LIMIT: usize = 8 * BODY_LIMIT;

/// The 784 values of a `{"pixels": [...]}` body, each checked to be a grey
/// level 0..=255 (rounded to the nearest).
fn pixels_from_json(body: &[u8]) -> Result<[u8; IMAGE_PIXELS], ApiError> {
    let PixelsBody { pixels } =
        serde_json::from_slice(body).map_err(|err| ApiError::BadJson(err.to_string()))?;
    if pixels.len() != IMAGE_PIXELS {
        return Err(ApiError::BadJson(format!(
            "`pixels` holds {} values; expected {IMAGE_PIXELS} (28x28)",
            pixels.len()
        )));
    }
    let mut grey = [0u8; IMAGE_PIXELS];
    for (index, (&value, out)) in pixels.iter().zip(&mut grey).enumerate() {
        if !(0.0..=255.0).contains(&value) {
            return Err(ApiError::BadJson(format!(
                "`pixels[{index}]` is {value}; grey values are 0..=255"
            )));
        }
        *out = value.round() as u8;
    }
    // As for an uploaded picture: no ink, no digit to read.
    if grey.iter().all(|&value| value == 0) {
        return Err(ApiError::BadJson(
            "every value of `pixels` is 0: the picture is blank".into(),
        ));
    }
    Ok(grey)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_pixels_are_checked() {
        let ok = serde_json::json!({ "pixels": vec![255.0; IMAGE_PIXELS] }).to_string();
        assert_eq!(
            pixels_from_json(ok.as_bytes()).unwrap(),
            [255; IMAGE_PIXELS]
        );
        let short = serde_json::json!({ "pixels": [1, 2, 3] }).to_string();
        assert!(
            pixels_from_json(short.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("holds 3 values")
        );
        let mut values = vec![0.0; IMAGE_PIXELS];
        values[5] = 256.0;
        let high = serde_json::json!({ "pixels": values }).to_string();
        assert!(
            pixels_from_json(high.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("`pixels[5]` is 256")
        );
        for bad in ["{", "[]", r#"{"pixel": []}"#] {
            assert!(matches!(
                pixels_from_json(bad.as_bytes()),
                Err(ApiError::BadJson(_))
            ));
        }
    }
}
