//! The router: every path of the REST API (documented in `openapi.json`, served at
//! `/openapi.json`), the event streams, metrics and the console, with the body bound applied
//! before any handler reads a byte.

pub mod console;
pub mod events;
pub mod fetch;
pub mod groups;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod produce;
pub mod subscriptions;
pub mod topics;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;

use crate::error::{codes, ApiError};
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let body_bytes_max = state.limits.body_bytes_max;
    Router::new()
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/openapi.json", get(openapi::document))
        .route("/v1/topics", get(topics::list).post(topics::create))
        .route("/v1/topics/{topic}", get(topics::describe).delete(topics::delete))
        .route("/v1/topics/{topic}/records", post(produce::produce))
        .route("/v1/topics/{topic}/partitions/{partition}/records", get(fetch::records))
        .route("/v1/topics/{topic}/events", get(events::events))
        .route("/v1/groups", get(groups::list))
        .route("/v1/groups/{group}", get(groups::describe).delete(groups::delete))
        .route("/v1/groups/{group}/members", post(groups::create_member))
        .route(
            "/v1/groups/{group}/members/{member}",
            axum::routing::delete(groups::delete_member),
        )
        .route("/v1/groups/{group}/members/{member}/records", get(groups::poll))
        .route("/v1/groups/{group}/members/{member}/commit", post(groups::commit))
        .route("/metrics", get(metrics::metrics))
        // console: the web console's routes are merged here (helper branch `console`).
        .route(
            "/v1/subscriptions",
            get(subscriptions::list).post(subscriptions::create),
        )
        .route(
            "/v1/subscriptions/{name}",
            get(subscriptions::get).delete(subscriptions::delete),
        )
        .route("/v1/subscriptions/{name}/pause", post(subscriptions::pause))
        .route("/v1/subscriptions/{name}/resume", post(subscriptions::resume))
        .merge(console::router())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_bytes_max))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(codes::INVALID_REQUEST, "no such endpoint; see /openapi.json").with_status(StatusCode::NOT_FOUND)
}
