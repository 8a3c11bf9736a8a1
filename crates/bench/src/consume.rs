//! One consumer connection: fetches its partitions in a loop, counting records.
//!
//! Sessionless fetches (session id 0, epoch -1, KIP-227) of every partition this broker leads,
//! one request at a time. Offsets are tracked per partition from the start chosen by the caller:
//! offset 0 (moved up to the log start offset if the broker answers OFFSET_OUT_OF_RANGE after
//! retention), or, for end-to-end runs, the [`high_watermarks`] taken before producing starts,
//! so older records do not count.
//! The run stops when the shared goal is met; if a goal is known but no record arrives for
//! [`STALL_TIMEOUT`], the run fails rather than hang. Broker error codes fail the run, named.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{ApiKey, FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::watch;

use crate::batch::now_micros;
use wharf_client::{check_code, Connection};

use crate::error::BenchError;
use crate::fetched::tally;
use crate::stats::{latency_histogram, Counters};
use crate::topic::METADATA_WAIT;

/// How long the consumer waits without new records, once it knows what it waits for.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest time the broker may hold a fetch waiting for data; short so the goal is rechecked
/// often, while the broker still answers at once when records arrive (min bytes 1).
const FETCH_MAX_WAIT_MS: i32 = 100;

const OFFSET_OUT_OF_RANGE: i16 = 1;

/// When consumers stop, shared by all of them.
#[derive(Debug, Clone)]
pub struct Goal {
    /// Records to read across all consumers; `None` until known (end-to-end: when the
    /// producers finish) or when the run ends otherwise.
    pub target: watch::Receiver<Option<u64>>,
    /// Stop at this time (consume --duration).
    pub deadline: Option<Instant>,
    /// Stop each partition at the high watermark first seen (consume without a count).
    pub until_caught_up: bool,
}

/// Settings shared by every consumer connection.
#[derive(Debug, Clone)]
pub struct ConsumeSettings {
    pub topic: String,
    pub fetch_max_bytes: i32,
    /// Read each record's send time and record end-to-end latency.
    pub measure_latency: bool,
}

#[derive(Debug)]
struct Cursor {
    partition: i32,
    fetch_offset: i64,
    stop_at: Option<i64>,
}

/// Reads `partitions` (pairs of partition and start offset, all led by the broker behind `conn`) until the goal is met; returns the
/// end-to-end latency histogram when `measure_latency`, else an empty one.
pub async fn run_consumer(
    mut conn: Connection,
    partitions: Vec<(i32, i64)>,
    settings: ConsumeSettings,
    goal: Goal,
    counters: Arc<Counters>,
) -> Result<Histogram<u64>, BenchError> {
    let ConsumeSettings {
        topic,
        fetch_max_bytes,
        measure_latency,
    } = settings;
    let version = conn.version(wharf_client::versions::FETCH)?;
    let topic_name = TopicName(StrBytes::from_string(topic.clone()));
    let mut cursors: Vec<Cursor> = partitions
        .iter()
        .map(|&(partition, fetch_offset)| Cursor {
            partition,
            fetch_offset,
            stop_at: None,
        })
        .collect();
    let mut histogram = latency_histogram();

    let mut last_progress = Instant::now();
    loop {
        let target = *goal.target.borrow();
        if target.is_some_and(|t| counters.records() >= t) || goal.deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let active: Vec<&Cursor> = cursors
            .iter()
            .filter(|c| !matches!(c.stop_at, Some(stop) if c.fetch_offset >= stop))
            .collect();
        if active.is_empty() {
            break;
        }
        let request = fetch_request(&topic_name, active.iter().copied(), fetch_max_bytes);
        let response: FetchResponse = conn.call(ApiKey::Fetch, version, &request).await?;
        let now_us = now_micros();
        check_code(ApiKey::Fetch, response.error_code, String::new)?;

        let mut progressed = false;
        for pd in response.responses.into_iter().flat_map(|t| t.partitions) {
            let partition = pd.partition_index;
            let Some(cursor) = cursors.iter_mut().find(|c| c.partition == partition) else {
                continue; // a partition we did not ask for; nothing to count
            };
            match pd.error_code {
                0 => {}
                OFFSET_OUT_OF_RANGE if pd.log_start_offset > cursor.fetch_offset => {
                    // Retention removed the records we asked for; start at what is left.
                    cursor.fetch_offset = pd.log_start_offset;
                    continue;
                }
                code => {
                    return Err(BenchError::broker(
                        ApiKey::Fetch,
                        code,
                        format!(" on {topic}-{partition}"),
                    ))
                }
            }
            if goal.until_caught_up && cursor.stop_at.is_none() {
                cursor.stop_at = Some(pd.high_watermark);
            }
            let Some(records) = pd.records else { continue };
            let latency = measure_latency.then_some((&mut histogram, now_us));
            let t = tally(records, cursor.fetch_offset, latency).map_err(|message| BenchError::MalformedBatch {
                topic: topic.clone(),
                partition,
                offset: cursor.fetch_offset,
                message,
            })?;
            progressed |= t.next_offset > cursor.fetch_offset;
            cursor.fetch_offset = t.next_offset;
            counters.add(t.records, t.bytes);
        }

        if progressed {
            last_progress = Instant::now();
        } else if (target.is_some() || goal.until_caught_up) && last_progress.elapsed() >= STALL_TIMEOUT {
            return Err(BenchError::Stalled {
                read: counters.records(),
                expected: target.unwrap_or(0),
                idle_ms: STALL_TIMEOUT.as_millis() as u64,
            });
        }
    }
    Ok(histogram)
}

/// The high watermark of each of `partitions`, in the same order, from one small fetch whose
/// records are discarded. End-to-end runs start reading there so older records do not count.
/// Right after the bench creates a topic, a broker may not yet act as leader for it, so the
/// retriable codes (UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER)
/// are retried until [`METADATA_WAIT`] has passed.
pub async fn high_watermarks(conn: &mut Connection, topic: &str, partitions: &[i32]) -> Result<Vec<i64>, BenchError> {
    let started = Instant::now();
    loop {
        match probe_high_watermarks(conn, topic, partitions).await {
            Err(BenchError::Broker { code: 3 | 5 | 6, .. }) if started.elapsed() < METADATA_WAIT => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

async fn probe_high_watermarks(conn: &mut Connection, topic: &str, partitions: &[i32]) -> Result<Vec<i64>, BenchError> {
    let topic_name = TopicName(StrBytes::from_string(topic.to_owned()));
    let cursors: Vec<Cursor> = partitions
        .iter()
        .map(|&partition| Cursor {
            partition,
            fetch_offset: 0,
            stop_at: None,
        })
        .collect();
    let request = fetch_request(&topic_name, &cursors, 1);
    let version = conn.version(wharf_client::versions::FETCH)?;
    let response: FetchResponse = conn.call(ApiKey::Fetch, version, &request).await?;
    check_code(ApiKey::Fetch, response.error_code, String::new)?;
    let mut marks = vec![None; partitions.len()];
    for pd in response.responses.iter().flat_map(|t| t.partitions.iter()) {
        let partition = pd.partition_index;
        match pd.error_code {
            // An empty-headed log answers OFFSET_OUT_OF_RANGE for offset 0 on some brokers,
            // still with the high watermark filled in.
            0 | OFFSET_OUT_OF_RANGE => {}
            code => {
                return Err(BenchError::broker(
                    ApiKey::Fetch,
                    code,
                    format!(" on {topic}-{partition}"),
                ))
            }
        }
        if let Some(i) = partitions.iter().position(|&p| p == partition) {
            marks[i] = Some(pd.high_watermark.max(0));
        }
    }
    partitions
        .iter()
        .zip(marks)
        .map(|(&partition, mark)| {
            mark.ok_or_else(|| BenchError::Task(format!("fetch response lacks {topic}-{partition}")))
        })
        .collect()
}

fn fetch_request<'a>(topic: &TopicName, cursors: impl IntoIterator<Item = &'a Cursor>, max_bytes: i32) -> FetchRequest {
    let partitions = cursors
        .into_iter()
        .map(|c| {
            FetchPartition::default()
                .with_partition(c.partition)
                .with_fetch_offset(c.fetch_offset)
                .with_partition_max_bytes(max_bytes)
        })
        .collect();
    FetchRequest::default()
        .with_max_wait_ms(FETCH_MAX_WAIT_MS)
        .with_min_bytes(1)
        .with_max_bytes(max_bytes)
        .with_isolation_level(0)
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(topic.clone())
            .with_partitions(partitions)])
}
