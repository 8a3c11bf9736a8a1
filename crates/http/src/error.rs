//! The gateway's one error type and its JSON body: `{"error": NAME, "error_code": CODE,
//! "message": ...}`, NAME and CODE being Kafka's (Errors.java) wherever the broker decided, so a
//! user reads the same words a Kafka client would print. The HTTP status comes from one
//! exhaustive table (`status_for`), so a new Kafka error forces a decision there.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use wharf_client::error_name;

use crate::local::LocalError;

/// Kafka error codes the gateway answers with itself (Errors.java numbering).
pub mod codes {
    pub const UNKNOWN_SERVER_ERROR: i16 = -1;
    pub const OFFSET_OUT_OF_RANGE: i16 = 1;
    pub const CORRUPT_MESSAGE: i16 = 2;
    pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    pub const MESSAGE_TOO_LARGE: i16 = 10;
    pub const REQUEST_TIMED_OUT: i16 = 7;
    pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    pub const ILLEGAL_GENERATION: i16 = 22;
    pub const UNKNOWN_MEMBER_ID: i16 = 25;
    pub const REBALANCE_IN_PROGRESS: i16 = 27;
    pub const TOPIC_ALREADY_EXISTS: i16 = 36;
    pub const INVALID_PARTITIONS: i16 = 37;
    pub const INVALID_REPLICATION_FACTOR: i16 = 38;
    pub const INVALID_CONFIG: i16 = 40;
    pub const INVALID_REQUEST: i16 = 42;
    pub const POLICY_VIOLATION: i16 = 44;
    pub const KAFKA_STORAGE_ERROR: i16 = 56;
    pub const GROUP_ID_NOT_FOUND: i16 = 69;
    pub const NON_EMPTY_GROUP: i16 = 68;
    pub const THROTTLING_QUOTA_EXCEEDED: i16 = 89;
    pub const INVALID_TOPIC_EXCEPTION: i16 = 17;
}

/// A failed HTTP request: the Kafka error code that names it, and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: i16,
    pub message: String,
    /// Overrides the status the code maps to (413 for an oversized body, 404 for an unknown
    /// subscription).
    pub status: Option<StatusCode>,
}

impl ApiError {
    pub fn new(code: i16, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            status: None,
        }
    }

    /// Malformed input the broker never saw: bad JSON, a bad parameter.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(codes::INVALID_REQUEST, message)
    }

    pub fn with_status(mut self, status: StatusCode) -> ApiError {
        self.status = Some(status);
        self
    }

    /// `Ok` for code 0, else the error with the broker's message or `fallback`.
    pub fn check(code: i16, broker_message: Option<&str>, fallback: impl FnOnce() -> String) -> Result<(), ApiError> {
        if code == 0 {
            return Ok(());
        }
        let message = match broker_message {
            Some(m) if !m.is_empty() => m.to_owned(),
            _ => fallback(),
        };
        Err(ApiError::new(code, message))
    }

    pub fn name(&self) -> String {
        error_name(self.code)
    }

    pub fn status(&self) -> StatusCode {
        self.status.unwrap_or_else(|| status_for(self.code))
    }
}

/// The HTTP status of a Kafka error code as the gateway reports it.
pub fn status_for(code: i16) -> StatusCode {
    use codes::*;
    match code {
        UNKNOWN_TOPIC_OR_PARTITION | GROUP_ID_NOT_FOUND | UNKNOWN_MEMBER_ID => StatusCode::NOT_FOUND,
        TOPIC_ALREADY_EXISTS | NON_EMPTY_GROUP | REBALANCE_IN_PROGRESS | ILLEGAL_GENERATION => StatusCode::CONFLICT,
        MESSAGE_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
        OFFSET_OUT_OF_RANGE => StatusCode::RANGE_NOT_SATISFIABLE,
        // Peak shaving (backlog full) and quotas: the client should come back later.
        POLICY_VIOLATION | THROTTLING_QUOTA_EXCEEDED => StatusCode::TOO_MANY_REQUESTS,
        INVALID_REQUEST
        | CORRUPT_MESSAGE
        | INVALID_PARTITIONS
        | INVALID_REPLICATION_FACTOR
        | INVALID_CONFIG
        | INVALID_TOPIC_EXCEPTION => StatusCode::BAD_REQUEST,
        REQUEST_TIMED_OUT => StatusCode::GATEWAY_TIMEOUT,
        KAFKA_STORAGE_ERROR | COORDINATOR_NOT_AVAILABLE => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<LocalError> for ApiError {
    fn from(e: LocalError) -> ApiError {
        tracing::warn!(error = %e, "in-process Kafka call failed");
        ApiError::new(codes::UNKNOWN_SERVER_ERROR, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.name(),
            "error_code": self.code,
            "message": self.message,
        });
        (self.status(), Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_for_unknown_topic_is_not_found() {
        assert_eq!(status_for(codes::UNKNOWN_TOPIC_OR_PARTITION), StatusCode::NOT_FOUND);
        assert_eq!(ApiError::new(3, "x").name(), "UNKNOWN_TOPIC_OR_PARTITION");
    }

    #[test]
    fn status_for_backlog_full_is_too_many_requests() {
        assert_eq!(status_for(codes::POLICY_VIOLATION), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(ApiError::invalid("bad").status(), StatusCode::BAD_REQUEST);
    }
}
