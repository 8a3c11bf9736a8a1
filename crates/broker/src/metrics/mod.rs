//! Prometheus metrics of the broker (issue #7): what the request path counts, and
//! [`render`], which writes everything in the text exposition format for `GET /metrics`.
//!
//! Two kinds of numbers. Counters the request path must keep — traffic per topic partition
//! (`traffic.rs`, held in each `Partition`), request latency per API (`latency.rs`) and
//! connections (here) — are relaxed atomics, a few adds per request, no lock or map lookup.
//! Everything the broker already knows — log sizes, offsets, consumer lag — is read at scrape
//! time (`render.rs`) and costs the request path nothing.
//!
//! Label cardinality is bounded by what the broker holds: topics (`--max-topics`), partitions
//! (`--max-partitions-per-topic`), groups with committed offsets (`--max-groups`,
//! `--max-offsets-per-group`, and only partitions of existing topics) and the API keys the
//! broker serves. No label takes a value a client can invent without creating broker state.
//! See docs/METRICS.md for every name.

pub mod exposition;
mod latency;
mod render;
mod traffic;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

pub use latency::{RequestLatency, REQUEST_DURATION};
pub use render::{
    render, BACKLOG_REJECTIONS, CONNECTIONS_ACCEPTED, CONNECTIONS_OPEN, CONSUMER_LAG, FETCH_BYTES, FETCH_RECORDS,
    HIGH_WATERMARK, LOG_SEGMENTS, LOG_SIZE, LOG_START_OFFSET, PRODUCE_BYTES, PRODUCE_RECORDS,
};
pub use traffic::{record_count, PartitionTraffic, TrafficSnapshot};

/// The broker-wide counters; per-partition ones live in each partition's `traffic`.
#[derive(Debug, Default)]
pub struct Metrics {
    pub requests: RequestLatency,
    connections_open: AtomicI64,
    connections_accepted: AtomicU64,
}

/// One admitted connection, counted open until dropped (also when its task is aborted at
/// shutdown).
#[derive(Debug)]
pub struct OpenConnection<'a> {
    metrics: &'a Metrics,
}

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// A Kafka connection passed the connection limits and is about to be served.
    pub fn connection_opened(&self) -> OpenConnection<'_> {
        self.connections_accepted.fetch_add(1, Ordering::Relaxed);
        self.connections_open.fetch_add(1, Ordering::Relaxed);
        OpenConnection { metrics: self }
    }

    pub fn connections_open(&self) -> i64 {
        self.connections_open.load(Ordering::Relaxed)
    }

    pub fn connections_accepted(&self) -> u64 {
        self.connections_accepted.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_opened_counts_until_dropped() {
        let m = Metrics::default();
        let a = m.connection_opened();
        let b = m.connection_opened();
        drop(a);
        assert_eq!((m.connections_open(), m.connections_accepted()), (1, 2));
        drop(b);
        assert_eq!((m.connections_open(), m.connections_accepted()), (0, 2));
    }
}
