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
