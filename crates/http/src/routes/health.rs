//! Liveness and readiness. Ready means every partition's log can take writes: a log dir that
//! failed (a failed write or fsync, KAFKA_STORAGE_ERROR to producers) makes the broker unready
//! so a load balancer stops sending it traffic.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::state::AppState;

pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn ready(State(s): State<AppState>) -> (StatusCode, Json<Value>) {
    let failed: Vec<String> = s
        .client
        .broker()
        .registry
        .all_partitions()
        .iter()
        .filter(|p| p.log().is_failed())
        .map(|p| format!("{}-{}", p.topic, p.index))
        .collect();
    if failed.is_empty() {
        (StatusCode::OK, Json(json!({"status": "ready"})))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "failed", "failed_partitions": failed})),
        )
    }
}
