//! ApiVersions (key 18): advertises exactly the version table in `versions.rs`.
//!
//! No tagged fields (supported/finalized features) are sent: librdkafka before 2.2 — Debian's
//! kcat 1.7.1 links 2.0.2 — mis-skips tagged fields in the v3 response and cannot connect
//! (shared/KAFKA_NOTES.md, quirk 1).

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::ResponseError;

use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::versions::SUPPORTED_APIS;

fn api_keys() -> Vec<ApiVersion> {
    SUPPORTED_APIS
        .iter()
        .map(|a| {
            ApiVersion::default()
                .with_api_key(a.key as i16)
                .with_min_version(a.min)
                .with_max_version(a.max)
        })
        .collect()
}

pub fn handle(ctx: &RequestContext, _req: ApiVersionsRequest) -> Result<Answer, CloseReason> {
    let resp = ApiVersionsResponse::default().with_api_keys(api_keys());
    encode(ctx, &resp).map(Answer::Ready)
}

/// KIP-511: a version we do not know still gets an answer, in a v0 body, naming our ranges.
pub fn unsupported_version_response() -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_error_code(ResponseError::UnsupportedVersion.code())
        .with_api_keys(api_keys())
}
