//! The one error type of `wharf bench`.
//!
//! Every variant names what failed and carries enough context (API, topic, partition, broker
//! address) to act on without a debugger. Broker-side failures keep the Kafka error code and its
//! name, because "the broker said NOT_LEADER_OR_FOLLOWER" is the most useful thing a load
//! generator can report. `kafka-protocol` reports codec failures as `anyhow::Error`; they are
//! flattened to text here so this library crate does not depend on anyhow.

use std::io;

use kafka_protocol::error::ParseResponseErrorCode;

/// Why a benchmark run failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("invalid arguments: {0}")]
    InvalidArgs(String),

    #[error("cannot connect to {addr}: {source}")]
    Connect { addr: String, source: io::Error },

    #[error("I/O error on the connection to {addr}: {source}")]
    Io { addr: String, source: io::Error },

    #[error("connection to {addr} closed by the broker")]
    ConnectionClosed { addr: String },

    #[error("frame of {len} bytes from {addr} exceeds the limit of {max} bytes")]
    FrameTooLarge { addr: String, len: usize, max: usize },

    #[error("cannot encode {api} v{version} request: {message}")]
    Encode {
        api: &'static str,
        version: i16,
        message: String,
    },

    #[error("cannot decode {api} v{version} response: {message}")]
    Decode {
        api: &'static str,
        version: i16,
        message: String,
    },

    #[error("response correlation id {got} does not match the oldest in-flight request {expected}")]
    CorrelationMismatch { expected: i32, got: i32 },

    #[error("broker does not support {api} in a version we speak (ours {ours_min}..={ours_max}, broker {broker})")]
    UnsupportedVersion {
        api: &'static str,
        ours_min: i16,
        ours_max: i16,
        broker: String,
    },

    #[error("broker returned {name} (error code {code}) for {api}{scope}")]
    Broker {
        api: &'static str,
        code: i16,
        name: String,
        /// " on topic-partition" or empty, pre-formatted so the message reads naturally.
        scope: String,
    },

    #[error("no leader for {topic}-{partition} after {waited_ms} ms")]
    LeaderUnavailable {
        topic: String,
        partition: i32,
        waited_ms: u64,
    },

    #[error("leader broker {broker_id} of {topic}-{partition} is not in the metadata broker list")]
    UnknownLeader {
        topic: String,
        partition: i32,
        broker_id: i32,
    },

    #[error("cannot encode a record batch: {0}")]
    RecordBatch(String),

    #[error("malformed record batch in {topic}-{partition} at offset {offset}: {message}")]
    MalformedBatch {
        topic: String,
        partition: i32,
        offset: i64,
        message: String,
    },

    #[error("consumer stalled: read {read} of {expected} records, none in the last {idle_ms} ms")]
    Stalled { read: u64, expected: u64, idle_ms: u64 },

    #[error("read {read} records but expected exactly {expected}")]
    CountMismatch { read: u64, expected: u64 },

    #[error("cannot write the report: {0}")]
    Report(String),

    #[error("benchmark task failed: {0}")]
    Task(String),
}

impl BenchError {
    /// Builds a [`BenchError::Broker`] for a non-zero Kafka error code; `scope` names where it
    /// applied (empty for request-level errors).
    pub fn broker(api: &'static str, code: i16, scope: impl Into<String>) -> Self {
        let name = match code.err() {
            Some(kafka_protocol::error::ResponseError::Unknown(_)) => "UNKNOWN_CODE".to_owned(),
            Some(err) => kafka_name(&format!("{err:?}")),
            None => "NONE".to_owned(),
        };
        BenchError::Broker {
            api,
            code,
            name,
            scope: scope.into(),
        }
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

/// Turns a non-zero error code into [`BenchError::Broker`]; zero passes.
pub fn check_code(api: &'static str, code: i16, scope: impl FnOnce() -> String) -> Result<(), BenchError> {
    if code == 0 {
        Ok(())
    } else {
        Err(BenchError::broker(api, code, scope()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_error_names_the_code() {
        let err = BenchError::broker("Produce", 6, " on t-0");
        let text = err.to_string();
        assert!(text.contains("NOT_LEADER_OR_FOLLOWER"), "{text}");
        assert!(text.contains("error code 6"), "{text}");
    }

    #[test]
    fn broker_error_unknown_code_keeps_the_number() {
        let text = BenchError::broker("Fetch", 9999, "").to_string();
        assert!(text.contains("UNKNOWN_CODE (error code 9999)"), "{text}");
    }

    #[test]
    fn check_code_zero_passes() {
        assert!(check_code("Fetch", 0, String::new).is_ok());
        assert!(check_code("Fetch", 3, String::new).is_err());
    }
}
