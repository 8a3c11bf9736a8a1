//! `/v1/subscriptions`: register, list, show, pause, resume and delete push subscriptions
//! (push/mod.rs does the work; this file is the HTTP shape).

use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};

use crate::body;
use crate::error::ApiError;
use crate::push::spec::SubscriptionSpec;
use crate::state::AppState;

pub async fn create(
    State(s): State<AppState>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let spec: SubscriptionSpec = body::json(raw)?;
    let created = s.subscriptions.create(spec).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn list(State(s): State<AppState>) -> Json<Value> {
    Json(json!({ "subscriptions": s.subscriptions.list().await }))
}

pub async fn get(State(s): State<AppState>, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(s.subscriptions.get(&name).await?))
}

pub async fn pause(State(s): State<AppState>, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(s.subscriptions.set_paused(&name, true).await?))
}

pub async fn resume(State(s): State<AppState>, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(s.subscriptions.set_paused(&name, false).await?))
}

pub async fn delete(State(s): State<AppState>, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    s.subscriptions.delete(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}
