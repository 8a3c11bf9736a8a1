//! The gateway's settings and bounds. Each bound says why its default and what happens at it;
//! `HttpLimits::validate` runs once at start-up (docs/LIMITS.md lists them all).

use std::net::SocketAddr;

#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Where the HTTP listener binds (`--http-listen`); `None` turns the gateway off.
    pub listen: Option<SocketAddr>,
    pub limits: HttpLimits,
}

#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Largest request body. Past it: 413 MESSAGE_TOO_LARGE before the body is read whole.
    /// 8 MiB holds a produce request of the broker's default 1 MiB batch in base64 JSON with room.
    pub body_bytes_max: usize,
    /// Records in one produce request. Past it: 400 INVALID_REQUEST.
    pub produce_records_max: usize,
    /// Records one fetch or member poll returns at most (`max_records` is clamped to it).
    pub fetch_records_max: usize,
    /// Bytes the broker reads for one fetch (Fetch max_bytes).
    pub fetch_bytes_max: i32,
    /// Longest long poll (`timeout_ms`) a fetch may ask for; longer is clamped.
    pub long_poll_ms_max: u64,
    /// Group members created over HTTP that exist at once. Past it: 429.
    pub members_max: usize,
    /// A member not polled for this long is removed and leaves its group (as a Kafka consumer
    /// that stops polling is removed after max.poll.interval.ms).
    pub member_idle_ms: u64,
    /// Server-Sent Events streams open at once. Past it: 429.
    pub sse_streams_max: usize,
    /// Push subscriptions that exist at once (each runs a task per partition of its topic).
    /// Past it: 429 THROTTLING_QUOTA_EXCEEDED.
    pub subscriptions_max: usize,
    /// Largest `batch_size` a subscription may ask for: records in one webhook request.
    /// 1,000 small JSON records stay well under a megabyte of request body. Past it: 400.
    pub push_batch_records_max: usize,
    /// Longest `linger_ms`: how long delivery waits to fill a batch. Past it: 400.
    pub push_linger_ms_max: u64,
    /// Largest `max_attempts` per batch and per record. Past it: 400.
    pub push_attempts_max: u32,
    /// Largest `max_backoff_ms` (and `initial_backoff_ms`): the longest pause between two
    /// attempts. Ten minutes; past it: 400.
    pub push_backoff_ms_max: u64,
    /// Longest webhook URL. Past it: 400.
    pub push_url_bytes_max: usize,
    /// Longest signing secret. Past it: 400 (an empty secret is refused too).
    pub push_secret_bytes_max: usize,
    /// How long connecting to a webhook may take before the attempt counts as failed.
    pub push_connect_timeout_ms: u64,
    /// How long one webhook request may take in total (connect, send, answer) before the
    /// attempt counts as failed.
    pub push_request_timeout_ms: u64,
    /// Bytes of a webhook's answer read at most (kept in `last_error` when it failed); the rest
    /// is dropped with the connection.
    pub push_response_bytes_max: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            body_bytes_max: 8 << 20,
            produce_records_max: 10_000,
            fetch_records_max: 10_000,
            fetch_bytes_max: 4 << 20,
            long_poll_ms_max: 30_000,
            members_max: 1_000,
            member_idle_ms: 300_000,
            sse_streams_max: 1_000,
            subscriptions_max: 100,
            push_batch_records_max: 1_000,
            push_linger_ms_max: 60_000,
            push_attempts_max: 100,
            push_backoff_ms_max: 600_000,
            push_url_bytes_max: 2_048,
            push_secret_bytes_max: 256,
            push_connect_timeout_ms: 5_000,
            push_request_timeout_ms: 30_000,
            push_response_bytes_max: 64 << 10,
        }
    }
}

impl HttpLimits {
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("http.body.bytes.max", self.body_bytes_max),
            ("http.produce.records.max", self.produce_records_max),
            ("http.fetch.records.max", self.fetch_records_max),
            ("http.members.max", self.members_max),
            ("http.sse.streams.max", self.sse_streams_max),
            ("http.subscriptions.max", self.subscriptions_max),
            ("http.push.batch.records.max", self.push_batch_records_max),
            ("http.push.url.bytes.max", self.push_url_bytes_max),
            ("http.push.secret.bytes.max", self.push_secret_bytes_max),
            ("http.push.connect.timeout.ms", self.push_connect_timeout_ms as usize),
            ("http.push.request.timeout.ms", self.push_request_timeout_ms as usize),
            ("http.push.response.bytes.max", self.push_response_bytes_max),
            ("http.push.attempts.max", self.push_attempts_max as usize),
        ];
        for (name, v) in positive {
            if v == 0 {
                return Err(format!("{name} must be at least 1"));
            }
        }
        if self.fetch_bytes_max <= 0 {
            return Err("http.fetch.bytes.max must be at least 1".into());
        }
        Ok(())
    }
}
