//! `GET /metrics`: Prometheus text exposition format (0.0.4). The broker's families come from
//! `wharf_broker::metrics::render` (names in docs/METRICS.md); families of the gateway itself
//! (push delivery) are appended after them with `wharf_broker::metrics::exposition`, which the
//! format allows since render writes no terminator.
//!
//! A scrape takes each partition's log lock briefly and the group coordinator's lock while the
//! lag lines are written, so it runs on the blocking pool rather than an async worker.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use crate::error::{codes, ApiError};
use crate::state::AppState;

/// Prometheus' content type for the text format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

pub async fn metrics(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let broker = std::sync::Arc::clone(s.client.broker());
    let text = tokio::task::spawn_blocking(move || {
        let mut out = String::new();
        wharf_broker::metrics::render(&broker, &mut out);
        out
    })
    .await
    .map_err(|e| ApiError::new(codes::UNKNOWN_SERVER_ERROR, format!("rendering metrics failed: {e}")))?;
    Ok(([(CONTENT_TYPE, TEXT_FORMAT)], text))
}
