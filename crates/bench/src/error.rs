//! The one error type of `wharf bench`.
//!
//! Connection, codec and version failures come from `wharf-client` and are wrapped whole in
//! [`BenchError::Client`]; a broker's error code is lifted into [`BenchError::Broker`] so the
//! bench (and its tests) can match on the code wherever the failing call was made. The other
//! variants are the bench's own: bad flags, malformed batches, stalls and miscounts.

use kafka_protocol::messages::ApiKey;
use wharf_client::ClientError;

/// Why a benchmark run failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("invalid arguments: {0}")]
    InvalidArgs(String),

    #[error(transparent)]
    Client(ClientError),

    #[error("broker returned {name} (error code {code}) for {api:?}{scope}")]
    Broker {
        api: ApiKey,
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

impl From<ClientError> for BenchError {
    fn from(err: ClientError) -> Self {
        match err {
            ClientError::Broker { api, code, name, scope } => BenchError::Broker { api, code, name, scope },
            other => BenchError::Client(other),
        }
    }
}

impl BenchError {
    /// Builds a [`BenchError::Broker`] for a non-zero Kafka error code; `scope` names where it
    /// applied (empty for request-level errors).
    pub fn broker(api: ApiKey, code: i16, scope: impl Into<String>) -> Self {
        ClientError::broker(api, code, scope).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_error_names_the_code() {
        let err = BenchError::broker(ApiKey::Produce, 6, " on t-0");
        assert!(matches!(err, BenchError::Broker { code: 6, .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("NOT_LEADER_OR_FOLLOWER"), "{text}");
        assert!(text.contains("error code 6"), "{text}");
    }

    #[test]
    fn client_errors_other_than_broker_codes_stay_whole() {
        let err: BenchError = ClientError::ConnectionClosed { addr: "a:1".into() }.into();
        assert!(
            matches!(err, BenchError::Client(ClientError::ConnectionClosed { .. })),
            "{err}"
        );
    }
}
