//! The scrape: every metric family of the broker in Prometheus text format, in a fixed order.
//!
//! Gauges are read here from the registry and the group coordinator, one lock at a time: each
//! partition's log lock for a moment (four numbers), then the coordinator's lock while the lag
//! lines are written (no partition lock is taken under it, so the lock order of the request
//! path is not reversed). Families are written whole, one after another, and each header is
//! written even with no samples, so the set of families does not change with traffic.

use std::collections::HashMap;
use std::sync::Arc;

use super::exposition::{self, Kind};
use super::traffic::TrafficSnapshot;
use crate::broker::Broker;

pub const PRODUCE_RECORDS: &str = "wharf_produce_records_total";
pub const PRODUCE_BYTES: &str = "wharf_produce_bytes_total";
pub const FETCH_RECORDS: &str = "wharf_fetch_records_total";
pub const FETCH_BYTES: &str = "wharf_fetch_bytes_total";
pub const BACKLOG_REJECTIONS: &str = "wharf_backlog_rejections_total";
pub const LOG_SIZE: &str = "wharf_log_size_bytes";
pub const LOG_SEGMENTS: &str = "wharf_log_segments";
pub const LOG_START_OFFSET: &str = "wharf_log_start_offset";
pub const HIGH_WATERMARK: &str = "wharf_log_high_watermark";
pub const CONSUMER_LAG: &str = "wharf_consumer_group_lag";
pub const CONNECTIONS_OPEN: &str = "wharf_connections_open";
pub const CONNECTIONS_ACCEPTED: &str = "wharf_connections_accepted_total";

/// What a scrape reads of one partition's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGauges {
    pub topic: Arc<str>,
    pub partition: i32,
    pub size_bytes: u64,
    pub segments: u64,
    pub log_start_offset: i64,
    pub high_watermark: i64,
}

/// Writes every broker metric family to `out`. Further families (the HTTP gateway's) may be
/// appended after it; see `exposition`.
pub fn render(broker: &Broker, out: &mut String) {
    let mut traffic = Vec::new();
    let mut logs = Vec::new();
    for topic in broker.registry.topics() {
        let mut sum = TrafficSnapshot::default();
        for p in topic.partitions() {
            sum += p.traffic.snapshot();
            let log = p.log();
            logs.push(LogGauges {
                topic: Arc::clone(&topic.name),
                partition: p.index,
                size_bytes: log.size_bytes(),
                segments: log.segment_count() as u64,
                log_start_offset: log.log_start_offset(),
                high_watermark: log.log_end_offset(),
            });
        }
        traffic.push((Arc::clone(&topic.name), sum));
    }
    render_traffic(out, &traffic);
    render_logs(out, &logs);
    let high_watermarks: HashMap<(&str, i32), i64> = logs
        .iter()
        .map(|l| ((&*l.topic, l.partition), l.high_watermark))
        .collect();
    exposition::header(
        out,
        CONSUMER_LAG,
        Kind::Gauge,
        "High watermark minus the group's committed offset, per partition the group committed.",
    );
    broker
        .groups
        .visit_committed_offsets(|group, topic, partition, offset| {
            write_lag(out, &high_watermarks, group, topic, partition, offset);
        });
    broker.metrics.requests.render(out);
    exposition::header(out, CONNECTIONS_OPEN, Kind::Gauge, "Kafka client connections open now.");
    exposition::sample(out, CONNECTIONS_OPEN, &[], broker.metrics.connections_open());
    exposition::header(
        out,
        CONNECTIONS_ACCEPTED,
        Kind::Counter,
        "Kafka client connections accepted (past the connection limits) since start.",
    );
    exposition::sample(out, CONNECTIONS_ACCEPTED, &[], broker.metrics.connections_accepted());
}

/// The per-topic traffic counters, `topics` in the order given (the registry's, by name).
pub fn render_traffic(out: &mut String, topics: &[(Arc<str>, TrafficSnapshot)]) {
    let families: [Family<(Arc<str>, TrafficSnapshot), u64>; 5] = [
        (
            PRODUCE_RECORDS,
            "Records appended by Produce, per topic (idempotent retries not counted).",
            |t| t.1.produce_records,
        ),
        (
            PRODUCE_BYTES,
            "Record batch bytes appended by Produce, per topic.",
            |t| t.1.produce_bytes,
        ),
        (
            FETCH_RECORDS,
            "Records in Fetch responses, per topic (whole batches, as returned).",
            |t| t.1.fetch_records,
        ),
        (FETCH_BYTES, "Record batch bytes in Fetch responses, per topic.", |t| {
            t.1.fetch_bytes
        }),
        (
            BACKLOG_REJECTIONS,
            "Partition produces refused because the topic's backlog cap was reached.",
            |t| t.1.backlog_rejections,
        ),
    ];
    write_families(out, Kind::Counter, &families, topics, |(topic, _)| {
        vec![("topic", topic.to_string())]
    });
}

/// The per-partition log gauges.
pub fn render_logs(out: &mut String, logs: &[LogGauges]) {
    let families: [Family<LogGauges, i64>; 4] = [
        (LOG_SIZE, "Bytes of record batches in the partition's segments.", |l| {
            i64::try_from(l.size_bytes).unwrap_or(i64::MAX)
        }),
        (LOG_SEGMENTS, "Segment files of the partition.", |l| {
            i64::try_from(l.segments).unwrap_or(i64::MAX)
        }),
        (LOG_START_OFFSET, "The partition's log start offset.", |l| {
            l.log_start_offset
        }),
        (
            HIGH_WATERMARK,
            "The partition's high watermark (one past the last offset).",
            |l| l.high_watermark,
        ),
    ];
    write_families(out, Kind::Gauge, &families, logs, |l| {
        vec![("topic", l.topic.to_string()), ("partition", l.partition.to_string())]
    });
}

/// A family's name, help text, and how to read its value from a row.
type Family<T, V> = (&'static str, &'static str, fn(&T) -> V);

/// Writes each family whole — its header, then one sample per row — so no family is split.
fn write_families<T, V: exposition::Value>(
    out: &mut String,
    kind: Kind,
    families: &[Family<T, V>],
    rows: &[T],
    labels: impl Fn(&T) -> Vec<(&'static str, String)>,
) {
    let labels: Vec<_> = rows.iter().map(labels).collect();
    for (name, help, field) in families {
        exposition::header(out, name, kind, help);
        for (row, labels) in rows.iter().zip(&labels) {
            let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            exposition::sample(out, name, &labels, field(row));
        }
    }
}

/// One lag sample; a commit on a partition that no longer exists (a deleted topic) has no
/// high watermark and no sample. Lag is never negative: a commit past the high watermark
/// (possible after DeleteRecords or a recreated topic) shows 0.
pub fn write_lag(
    out: &mut String,
    high_watermarks: &HashMap<(&str, i32), i64>,
    group: &str,
    topic: &str,
    partition: i32,
    committed_offset: i64,
) {
    let Some(hw) = high_watermarks.get(&(topic, partition)) else {
        return;
    };
    let p = partition.to_string();
    let lag = (hw - committed_offset).max(0);
    exposition::sample(
        out,
        CONSUMER_LAG,
        &[("group", group), ("topic", topic), ("partition", &p)],
        lag,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_traffic_writes_each_family_whole() {
        let a = TrafficSnapshot {
            produce_records: 10,
            produce_bytes: 1000,
            ..Default::default()
        };
        let mut out = String::new();
        render_traffic(&mut out, &[("a".into(), a), ("b".into(), TrafficSnapshot::default())]);
        let records = "# HELP wharf_produce_records_total Records appended by Produce, per topic (idempotent retries not counted).\n\
             # TYPE wharf_produce_records_total counter\n\
             wharf_produce_records_total{topic=\"a\"} 10\n\
             wharf_produce_records_total{topic=\"b\"} 0\n\
             # HELP wharf_produce_bytes_total";
        assert!(out.starts_with(records), "{out}");
        assert!(out.contains("wharf_produce_bytes_total{topic=\"a\"} 1000\n"));
        assert_eq!(out.matches("# TYPE").count(), 5);
    }

    #[test]
    fn render_logs_labels_topic_and_partition() {
        let mut out = String::new();
        let l = LogGauges {
            topic: "t".into(),
            partition: 3,
            size_bytes: 4096,
            segments: 2,
            log_start_offset: 5,
            high_watermark: 42,
        };
        render_logs(&mut out, &[l]);
        for line in [
            "wharf_log_size_bytes{topic=\"t\",partition=\"3\"} 4096\n",
            "wharf_log_segments{topic=\"t\",partition=\"3\"} 2\n",
            "wharf_log_start_offset{topic=\"t\",partition=\"3\"} 5\n",
            "wharf_log_high_watermark{topic=\"t\",partition=\"3\"} 42\n",
        ] {
            assert!(out.contains(line), "{line} in\n{out}");
        }
    }

    #[test]
    fn write_lag_skips_unknown_partitions_clamps_at_zero_escapes_group() {
        let hw: HashMap<(&str, i32), i64> = [(("t", 0), 10)].into_iter().collect();
        let mut out = String::new();
        write_lag(&mut out, &hw, "g\"1", "t", 0, 4);
        write_lag(&mut out, &hw, "g", "t", 0, 12);
        write_lag(&mut out, &hw, "g", "gone", 0, 1);
        assert_eq!(
            out,
            "wharf_consumer_group_lag{group=\"g\\\"1\",topic=\"t\",partition=\"0\"} 6\n\
             wharf_consumer_group_lag{group=\"g\",topic=\"t\",partition=\"0\"} 0\n"
        );
    }
}
