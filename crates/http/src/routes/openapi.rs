//! `GET /openapi.json`: the API's OpenAPI 3.1 document, kept beside the code in
//! `crates/http/openapi.json` and embedded in the binary; a test checks it names every route.

use axum::http::header;
use axum::response::IntoResponse;

pub const DOCUMENT: &str = include_str!("../../openapi.json");

pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::DOCUMENT;

    /// Every path the router serves (read from its source, so a new route cannot be missed)
    /// is documented, and the document is valid JSON of OpenAPI 3.1.
    #[test]
    fn openapi_document_names_every_route() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).expect("openapi.json is JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        let router = include_str!("mod.rs");
        let mut routes = 0;
        for piece in router.split(".route(\"").skip(1) {
            let path = piece.split('"').next().expect("a quoted path");
            assert!(doc["paths"].get(path).is_some(), "{path} is not in openapi.json");
            routes += 1;
        }
        assert!(routes >= 13, "found only {routes} routes in routes/mod.rs");
    }
}
