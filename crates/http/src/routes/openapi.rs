//! `GET /openapi.json`: the API's OpenAPI 3.1 document, kept beside the code in
//! `crates/http/openapi.json` and embedded in the binary; a test checks it names every route.

use axum::http::header;
use axum::response::IntoResponse;

pub const DOCUMENT: &str = include_str!("../../openapi.json");

pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}
