//! /metrics content against a real broker driven over the raw Kafka protocol: produce and
//! fetch counters equal exactly what was sent and returned (records from batch headers, bytes
//! of the batches), an idempotent retry is not counted twice, backlog refusals are counted, the
//! log gauges and consumer lag match the partitions and commits, request latency counts every
//! answered request per API, and the output (with a section appended after it) is well-formed
//! exposition text.

mod common;

use std::collections::HashSet;

use common::{create, fetch_req, group_id, idempotent_batch, name, produce_req, Client, TestBroker};
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;
use kafka_protocol::ResponseError;
use wharf_broker::metrics::exposition::{self, Kind};

const TOPIC: &str = "orders";

async fn produce(c: &mut Client, topic: &str, partition: i32, records: bytes::Bytes) -> i16 {
    let r: ProduceResponse = c
        .call(ApiKey::Produce, 9, &produce_req(topic, partition, records, -1))
        .await;
    r.responses[0].partition_responses[0].error_code
}

/// A standalone commit (generation -1, no member), as `assign()` consumers make.
async fn commit(c: &mut Client, group: &str, topic: &str, partition: i32, offset: i64) {
    let req = OffsetCommitRequest::default()
        .with_group_id(group_id(group))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(name(topic))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(partition)
                .with_committed_offset(offset)
                .with_committed_leader_epoch(-1)])]);
    let r: OffsetCommitResponse = c.call(ApiKey::OffsetCommit, 8, &req).await;
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
}

fn scrape(b: &TestBroker) -> String {
    let mut out = String::new();
    wharf_broker::metrics::render(&b.broker, &mut out);
    out
}

/// The value of the one sample named exactly `series` (name and labels as rendered).
fn value(text: &str, series: &str) -> String {
    let found: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .collect();
    assert_eq!(found.len(), 1, "{series} once in\n{text}");
    found[0].to_string()
}

/// Checks the exposition rules a parser relies on: every sample belongs to the family whose
/// `# TYPE` came last (histograms may add _bucket/_sum/_count), no family is declared twice,
/// and every line is a comment or `name[{labels}] value`.
fn assert_well_formed(text: &str) {
    let mut declared = HashSet::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (family, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(declared.insert(family.to_string()), "{family} declared twice");
            current = Some((family.to_string(), kind.to_string()));
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (family, kind) = current.as_ref().expect("a sample before any TYPE");
        let series = line.rsplit_once(' ').expect("series value").0;
        let metric = series.split('{').next().expect("name");
        let allowed: Vec<String> = match kind.as_str() {
            "histogram" => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|s| format!("{family}{s}"))
                .collect(),
            _ => vec![family.clone()],
        };
        assert!(
            allowed.iter().any(|a| a == metric),
            "{metric} outside its family {family}"
        );
        assert_eq!(series.contains('{'), series.ends_with('}'), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_fetch_commit_counted_exactly_in_rendered_text() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    assert_eq!(create(&mut c, TOPIC, 2, &[]).await.topics[0].error_code, 0);
    let capped = [("max.backlog.messages", "3")];
    assert_eq!(create(&mut c, "capped", 1, &capped).await.topics[0].error_code, 0);

    // 5 + 4 records in partition 0 (one batch idempotent, replayed once), 3 in partition 1.
    let p0a = common::batch("a", 5, 1000, Compression::None);
    let p0b = idempotent_batch("b", 4, (1000, 0, 0));
    let p1 = common::batch("c", 3, 1000, Compression::Gzip);
    assert_eq!(produce(&mut c, TOPIC, 0, p0a.clone()).await, 0);
    assert_eq!(produce(&mut c, TOPIC, 0, p0b.clone()).await, 0);
    assert_eq!(
        produce(&mut c, TOPIC, 0, p0b.clone()).await,
        0,
        "replay answered, not written"
    );
    assert_eq!(produce(&mut c, TOPIC, 1, p1.clone()).await, 0);
    // The cap admits 3 records; the next produce is refused.
    assert_eq!(
        produce(&mut c, "capped", 0, common::batch("x", 3, 0, Compression::None)).await,
        0
    );
    let refused = produce(&mut c, "capped", 0, common::batch("y", 1, 0, Compression::None)).await;
    assert_eq!(refused, ResponseError::PolicyViolation.code());

    // Fetch partition 0 from offset 6 (inside the first batch: the whole batch comes back) and
    // partition 1 from 0.
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req(TOPIC, 0, 6, 0, 1)).await;
    let got0 = r.responses[0].partitions[0].records.clone().unwrap_or_default();
    assert_eq!(got0.len(), p0b.len(), "only the second batch holds offset 6");
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req(TOPIC, 1, 0, 0, 1)).await;
    assert_eq!(r.responses[0].partitions[0].records.as_deref(), Some(&p1[..]));

    commit(&mut c, "billing", TOPIC, 0, 2).await;
    commit(&mut c, "billing", TOPIC, 1, 3).await;
    commit(&mut c, "audit\"\\team", TOPIC, 0, 9).await;

    let text = scrape(&b);
    let produced_bytes = (p0a.len() + p0b.len() + p1.len()).to_string();
    let fetched_bytes = (p0b.len() + p1.len()).to_string();
    for (series, want) in [
        ("wharf_produce_records_total{topic=\"orders\"}", "12"),
        ("wharf_produce_bytes_total{topic=\"orders\"}", &produced_bytes),
        ("wharf_fetch_records_total{topic=\"orders\"}", "7"),
        ("wharf_fetch_bytes_total{topic=\"orders\"}", &fetched_bytes),
        ("wharf_backlog_rejections_total{topic=\"orders\"}", "0"),
        ("wharf_produce_records_total{topic=\"capped\"}", "3"),
        ("wharf_backlog_rejections_total{topic=\"capped\"}", "1"),
        ("wharf_fetch_records_total{topic=\"capped\"}", "0"),
        ("wharf_log_high_watermark{topic=\"orders\",partition=\"0\"}", "9"),
        ("wharf_log_high_watermark{topic=\"orders\",partition=\"1\"}", "3"),
        ("wharf_log_start_offset{topic=\"orders\",partition=\"0\"}", "0"),
        ("wharf_log_segments{topic=\"orders\",partition=\"1\"}", "1"),
        (
            "wharf_log_size_bytes{topic=\"orders\",partition=\"1\"}",
            &p1.len().to_string(),
        ),
        (
            "wharf_consumer_group_lag{group=\"billing\",topic=\"orders\",partition=\"0\"}",
            "7",
        ),
        (
            "wharf_consumer_group_lag{group=\"billing\",topic=\"orders\",partition=\"1\"}",
            "0",
        ),
        (
            "wharf_consumer_group_lag{group=\"audit\\\"\\\\team\",topic=\"orders\",partition=\"0\"}",
            "0",
        ),
        ("wharf_request_duration_seconds_count{api=\"Produce\"}", "6"),
        (
            "wharf_request_duration_seconds_bucket{api=\"Produce\",le=\"+Inf\"}",
            "6",
        ),
        ("wharf_request_duration_seconds_count{api=\"Fetch\"}", "2"),
        ("wharf_request_duration_seconds_count{api=\"CreateTopics\"}", "2"),
        ("wharf_request_duration_seconds_count{api=\"OffsetCommit\"}", "3"),
        ("wharf_connections_open", "1"),
        ("wharf_connections_accepted_total", "1"),
    ] {
        assert_eq!(value(&text, series), want, "{series}");
    }
    assert!(!text.contains("api=\"Metadata\""), "no series for an API never called");

    // A second section appended after the broker's (as the HTTP gateway adds its own) keeps
    // the whole well-formed.
    let mut both = text;
    exposition::header(
        &mut both,
        "wharf_push_delivered_records_total",
        Kind::Counter,
        "Pushed.",
    );
    exposition::sample(
        &mut both,
        "wharf_push_delivered_records_total",
        &[("subscription", "sms")],
        4u64,
    );
    assert_well_formed(&both);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_connection_leaves_open_gauge_accepted_counter_stays() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    assert_eq!(create(&mut c, TOPIC, 1, &[]).await.topics[0].error_code, 0);
    drop(c);
    // The connection's task ends once it reads EOF; a scrape after that sees it closed. Wait
    // for that event (the gauge dropping), not for a time.
    let mut text = scrape(&b);
    while value(&text, "wharf_connections_open") != "0" {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        text = scrape(&b);
    }
    assert_eq!(value(&text, "wharf_connections_accepted_total"), "1");
    let created = value(&text, "wharf_request_duration_seconds_count{api=\"CreateTopics\"}");
    assert_eq!(created, "1");
}
