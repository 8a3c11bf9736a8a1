//! The one error type of `wharf-client`.
//!
//! Every variant names what failed and carries enough context (API, topic, partition, broker
//! address) to act on without a debugger. Broker-side failures keep the Kafka error code and its
//! name (Errors.java spelling), because "the broker said NOT_LEADER_OR_FOLLOWER" is the most
//! useful thing a client tool can report. `kafka-protocol` reports codec failures as
//! `anyhow::Error`; they are flattened to text here so this library crate does not depend on
//! anyhow.

use std::io;

use kafka_protocol::error::{ParseResponseErrorCode, ResponseError};
use kafka_protocol::messages::ApiKey;

/// Why a call to a broker failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    // The io::Error is the `source`, not part of the message: `{:#}` chains print it once.
    #[error("cannot connect to {addr}")]
    Connect { addr: String, source: io::Error },

    #[error("I/O error on the connection to {addr}")]
    Io { addr: String, source: io::Error },

    #[error("no answer to {api:?} from {addr} within {waited_ms} ms")]
    Timeout { addr: String, api: ApiKey, waited_ms: u64 },

    #[error("cannot connect to {addr} within {waited_ms} ms")]
    ConnectTimeout { addr: String, waited_ms: u64 },

    #[error("connection to {addr} closed by the broker")]
    ConnectionClosed { addr: String },

    #[error("frame of {len} bytes from {addr} exceeds the limit of {max} bytes")]
    FrameTooLarge { addr: String, len: usize, max: usize },

    #[error("cannot encode {api:?} v{version} request: {message}")]
    Encode { api: ApiKey, version: i16, message: String },

    #[error("cannot decode {api:?} v{version} response: {message}")]
    Decode { api: ApiKey, version: i16, message: String },

    #[error("response correlation id {got} does not match the oldest in-flight request {expected}")]
    CorrelationMismatch { expected: i32, got: i32 },

    #[error("broker does not support {api:?} in a version we speak (ours {ours_min}..={ours_max}, broker {broker})")]
    UnsupportedVersion {
        api: ApiKey,
        ours_min: i16,
        ours_max: i16,
        broker: String,
    },

    #[error("broker returned {name} (error code {code}) for {api:?}{scope}")]
    Broker {
        api: ApiKey,
        code: i16,
        name: String,
        /// " on topic-partition" or empty, pre-formatted so the message reads naturally.
        scope: String,
    },

    #[error("broker {broker_id} is not in the metadata broker list")]
    UnknownBroker { broker_id: i32 },

    #[error("{what} lists {count} entries, more than the limit of {max}")]
    TooMany {
        what: &'static str,
        count: usize,
        max: usize,
    },
}

impl ClientError {
    /// Builds a [`ClientError::Broker`] for a non-zero Kafka error code; `scope` names where it
    /// applied (empty for request-level errors).
    pub fn broker(api: ApiKey, code: i16, scope: impl Into<String>) -> Self {
        ClientError::Broker {
            api,
            code,
            name: error_name(code),
            scope: scope.into(),
        }
    }

    /// The Kafka error code, when the broker answered with one.
    pub fn code(&self) -> Option<i16> {
        match self {
            ClientError::Broker { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Kafka's name for an error code (`6` is `NOT_LEADER_OR_FOLLOWER`); `NONE` for 0 and
/// `UNKNOWN_CODE` for codes this version of `kafka-protocol` does not know.
pub fn error_name(code: i16) -> String {
    match code.err() {
        Some(ResponseError::Unknown(_)) => "UNKNOWN_CODE".to_owned(),
        Some(err) => kafka_name(&format!("{err:?}")),
        None => "NONE".to_owned(),
    }
}

/// Kafka spells error names in upper snake case (Errors.java); `kafka-protocol` names its enum
/// variants in camel case. `NotLeaderOrFollower` becomes `NOT_LEADER_OR_FOLLOWER`.
fn kafka_name(variant: &str) -> String {
    let mut out = String::with_capacity(variant.len() + 8);
    for (i, ch) in variant.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

/// Turns a non-zero error code into [`ClientError::Broker`]; zero passes.
pub fn check_code(api: ApiKey, code: i16, scope: impl FnOnce() -> String) -> Result<(), ClientError> {
    if code == 0 {
        Ok(())
    } else {
        Err(ClientError::broker(api, code, scope()))
    }
}

/// Like [`check_code`], keeping the broker's error message (Kafka responses carry one for
/// admin APIs) after the scope, so "INVALID_CONFIG ... on topic t: unknown key x" reads whole.
pub fn check_response(
    api: ApiKey,
    code: i16,
    message: Option<&str>,
    scope: impl FnOnce() -> String,
) -> Result<(), ClientError> {
    if code == 0 {
        return Ok(());
    }
    let mut scope = scope();
    if let Some(m) = message.filter(|m| !m.is_empty()) {
        scope.push_str(": ");
        scope.push_str(m);
    }
    Err(ClientError::broker(api, code, scope))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_error_names_the_code() {
        let err = ClientError::broker(ApiKey::Produce, 6, " on t-0");
        let text = err.to_string();
        assert!(text.contains("NOT_LEADER_OR_FOLLOWER"), "{text}");
        assert!(text.contains("error code 6"), "{text}");
        assert!(text.contains("for Produce on t-0"), "{text}");
        assert_eq!(err.code(), Some(6));
    }

    #[test]
    fn broker_error_unknown_code_keeps_the_number() {
        let text = ClientError::broker(ApiKey::Fetch, 9999, "").to_string();
        assert!(text.contains("UNKNOWN_CODE (error code 9999)"), "{text}");
    }

    #[test]
    fn error_name_matches_kafka_spelling() {
        assert_eq!(error_name(68), "NON_EMPTY_GROUP");
        assert_eq!(error_name(0), "NONE");
    }

    #[test]
    fn check_response_keeps_the_broker_message() {
        let err = check_response(ApiKey::CreateTopics, 36, Some("exists"), || " on topic t".into())
            .expect_err("non-zero code");
        assert_eq!(
            err.to_string(),
            "broker returned TOPIC_ALREADY_EXISTS (error code 36) for CreateTopics on topic t: exists"
        );
        assert!(check_response(ApiKey::CreateTopics, 0, Some("x"), String::new).is_ok());
    }

    #[test]
    fn check_code_zero_passes() {
        assert!(check_code(ApiKey::Fetch, 0, String::new).is_ok());
        assert!(check_code(ApiKey::Fetch, 3, String::new).is_err());
    }
}
