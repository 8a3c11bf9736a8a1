//! Request bodies and query strings into typed values, every failure a JSON `ApiError`
//! (axum's own rejections are plain text). The body size bound is applied by the router
//! (`DefaultBodyLimit`) before a byte is buffered past it.

use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::Query;
use axum::http::StatusCode;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::error::{codes, ApiError};

/// Parses a JSON body; an empty body parses as `T::default()` when `T` allows it via serde.
pub fn json<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                codes::MESSAGE_TOO_LARGE,
                "request body exceeds the limit (http.body.bytes.max)",
            )
            .with_status(StatusCode::PAYLOAD_TOO_LARGE)
        } else {
            ApiError::invalid(format!("cannot read the request body: {r}"))
        }
    })?;
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &bytes
    };
    serde_json::from_slice(bytes).map_err(|e| ApiError::invalid(format!("malformed JSON body: {e}")))
}

pub fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t)
        .map_err(|e| ApiError::invalid(format!("bad query parameters: {}", e.body_text())))
}
