//! Reading a partition: `GET /v1/topics/{topic}/partitions/{p}/records` from an offset
//! (`earliest`, `latest` or a number) or the first record at or after a timestamp, with an
//! optional long poll. The Fetch and ListOffsets calls here are shared by Server-Sent Events
//! and by group members polling over HTTP.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use bytes::Bytes;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::*;
use serde::Deserialize;
use serde_json::{json, Value};

use wharf_client::cluster::topic_name;

use crate::body;
use crate::error::{codes, ApiError};
use crate::local::{versions, LocalClient};
use crate::records::{decode_fetched, Format};
use crate::requests::{aborted_of, fetch_request, READ_COMMITTED};
use crate::state::AppState;

/// ListOffsets' special timestamps.
pub const LATEST: i64 = -1;
pub const EARLIEST: i64 = -2;
/// The records one fetch returns when `max_records` is not given.
const DEFAULT_MAX_RECORDS: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchQuery {
    /// `earliest` (default), `latest` or an offset.
    offset: Option<String>,
    /// Milliseconds since the epoch: start at the first record at or after it.
    timestamp: Option<i64>,
    max_records: Option<usize>,
    #[serde(default)]
    timeout_ms: u64,
    #[serde(default)]
    format: Format,
}

pub async fn records(
    State(s): State<AppState>,
    Path((topic, partition)): Path<(String, i32)>,
    q: Result<Query<FetchQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = body::query(q)?;
    let offset = match (q.timestamp, q.offset.as_deref()) {
        (Some(_), Some(_)) => return Err(ApiError::invalid("give offset or timestamp, not both")),
        (Some(ts), None) => {
            let found = list_offset(&s.client, &topic, partition, ts).await?;
            // Nothing at or after the timestamp: start at the end (nothing to read yet).
            if found < 0 {
                list_offset(&s.client, &topic, partition, LATEST).await?
            } else {
                found
            }
        }
        (None, offset) => start_offset(&s, &topic, partition, offset).await?,
    };
    let max = q
        .max_records
        .unwrap_or(DEFAULT_MAX_RECORDS)
        .clamp(1, s.limits.fetch_records_max);
    let wait_ms = q.timeout_ms.min(s.limits.long_poll_ms_max);
    let fetched = fetch_partition(&s, &topic, partition, offset, wait_ms).await?;
    let (records, next_offset) = decode_fetched(
        &topic,
        partition,
        fetched.records,
        &fetched.aborted,
        offset,
        max,
        q.format,
    )?;
    Ok(Json(json!({
        "records": records,
        "high_watermark": fetched.high_watermark,
        "next_offset": next_offset,
    })))
}

/// `earliest`, `latest` or a number (default earliest) as an offset.
pub async fn start_offset(s: &AppState, topic: &str, partition: i32, offset: Option<&str>) -> Result<i64, ApiError> {
    match offset {
        None | Some("earliest") => list_offset(&s.client, topic, partition, EARLIEST).await,
        Some("latest") => list_offset(&s.client, topic, partition, LATEST).await,
        Some(n) => n
            .parse::<i64>()
            .ok()
            .filter(|o| *o >= 0)
            .ok_or_else(|| ApiError::invalid(format!("offset must be earliest, latest or a number ≥ 0, not '{n}'"))),
    }
}

/// ListOffsets for one partition: the offset for `timestamp` (or LATEST / EARLIEST); -1 when
/// no record is at or after the timestamp.
pub async fn list_offset(client: &LocalClient, topic: &str, partition: i32, timestamp: i64) -> Result<i64, ApiError> {
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(READ_COMMITTED)
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(partition)
                .with_timestamp(timestamp)])]);
    let response: ListOffsetsResponse = client
        .call(ApiKey::ListOffsets, versions::LIST_OFFSETS, &request)
        .await?;
    let p = response
        .topics
        .first()
        .and_then(|t| t.partitions.first())
        .ok_or_else(|| ApiError::new(codes::UNKNOWN_SERVER_ERROR, "ListOffsets answered no partition"))?;
    check_partition(p.error_code, topic, partition)?;
    Ok(p.offset)
}

/// What one Fetch of one partition returned.
pub struct Fetched {
    pub records: Bytes,
    pub aborted: Vec<(i64, i64)>,
    pub high_watermark: i64,
}

/// Fetches one partition from `offset`, waiting up to `wait_ms` for a first byte.
pub async fn fetch_partition(
    s: &AppState,
    topic: &str,
    partition: i32,
    offset: i64,
    wait_ms: u64,
) -> Result<Fetched, ApiError> {
    let request = fetch_request([(topic, partition, offset)], wait_ms, s.limits.fetch_bytes_max);
    let response: FetchResponse = s.client.call(ApiKey::Fetch, versions::FETCH, &request).await?;
    ApiError::check(response.error_code, None, || "fetch failed".to_owned())?;
    let p = response
        .responses
        .first()
        .and_then(|t| t.partitions.first())
        .ok_or_else(|| ApiError::new(codes::UNKNOWN_SERVER_ERROR, "Fetch answered no partition"))?;
    if p.error_code == codes::OFFSET_OUT_OF_RANGE {
        return Err(ApiError::new(
            codes::OFFSET_OUT_OF_RANGE,
            format!(
                "offset {offset} is outside partition {partition} of '{topic}' (log start {}, high watermark {})",
                p.log_start_offset, p.high_watermark
            ),
        ));
    }
    check_partition(p.error_code, topic, partition)?;
    Ok(Fetched {
        records: p.records.clone().unwrap_or_default(),
        aborted: aborted_of(p),
        high_watermark: p.high_watermark,
    })
}

fn check_partition(code: i16, topic: &str, partition: i32) -> Result<(), ApiError> {
    match code {
        0 => Ok(()),
        codes::UNKNOWN_TOPIC_OR_PARTITION => Err(ApiError::new(
            code,
            format!("topic '{topic}' or its partition {partition} does not exist"),
        )),
        _ => Err(ApiError::new(code, format!("partition {partition} of '{topic}'"))),
    }
}
