//! `POST /v1/topics/{topic}/records`: JSON records into one Produce request (acks=all, one
//! batch per partition), answered with each record's partition and offset in request order.
//! A partition the broker refuses (backlog full, too large, failed disk) fails the request
//! with that partition's Kafka error; records it accepted for other partitions stay written,
//! as with a Kafka producer whose batches to different partitions fail independently — the
//! error message says which partitions were written.

use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::Json;
use bytes::Bytes;
use indexmap::IndexMap;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use wharf_broker::broker::now_ms;

use wharf_client::cluster::topic_name;

use crate::body;
use crate::error::{codes, ApiError};
use crate::local::{versions, LocalClient};
use crate::records::{build_batch, encode_key, encode_value, Format, ProduceRecord, Row};
use crate::routes::topics::partition_count;
use crate::state::AppState;

/// How long the broker may take to make the records durable (Produce timeout_ms).
const PRODUCE_TIMEOUT_MS: i32 = 30_000;
/// acks=all: answered once fsynced (group commit).
const ACKS_ALL: i16 = -1;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProduceBody {
    #[serde(default)]
    format: Format,
    records: Vec<ProduceRecord>,
}

pub async fn produce(
    State(s): State<AppState>,
    Path(topic): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let b: ProduceBody = body::json(raw)?;
    if b.records.is_empty() {
        return Err(ApiError::invalid("no records to produce"));
    }
    if b.records.len() > s.limits.produce_records_max {
        return Err(ApiError::invalid(format!(
            "{} records exceed the limit of {} per request (http.produce.records.max)",
            b.records.len(),
            s.limits.produce_records_max
        )));
    }
    let partitions = partition_count(&s, &topic).await?;
    // Per partition, its rows in request order; per record, (partition, index in its batch).
    let mut by_partition: IndexMap<i32, Vec<Row>> = IndexMap::new();
    let mut placed = Vec::with_capacity(b.records.len());
    for r in &b.records {
        let key = encode_key(b.format, r.key.as_deref())?;
        let value = encode_value(b.format, r.value.as_ref())?;
        let partition = match r.partition {
            Some(p) if (0..partitions).contains(&p) => p,
            Some(p) => {
                return Err(ApiError::new(
                    codes::UNKNOWN_TOPIC_OR_PARTITION,
                    format!("topic '{topic}' has no partition {p} (it has {partitions})"),
                ))
            }
            None => s.partitioner.partition(key.as_deref(), partitions),
        };
        let rows = by_partition.entry(partition).or_default();
        placed.push((partition, rows.len() as i64));
        rows.push((key, value, &r.headers));
    }
    let offsets = send(&s, &topic, &by_partition).await?;
    let out: Vec<Value> = placed
        .iter()
        .map(|(p, i)| json!({"partition": p, "offset": offsets[p] + i}))
        .collect();
    Ok(Json(json!({ "offsets": out })))
}

/// Produces one batch per partition; returns each partition's base offset.
pub async fn send(
    s: &AppState,
    topic: &str,
    by_partition: &IndexMap<i32, Vec<Row<'_>>>,
) -> Result<IndexMap<i32, i64>, ApiError> {
    let now = now_ms();
    let mut batches = IndexMap::with_capacity(by_partition.len());
    for (p, rows) in by_partition {
        batches.insert(*p, build_batch(rows, now)?);
    }
    send_batches(&s.client, topic, batches).await
}

/// Produces one encoded batch per partition (acks=all); returns each partition's base offset.
pub async fn send_batches(
    client: &LocalClient,
    topic: &str,
    batches: IndexMap<i32, Bytes>,
) -> Result<IndexMap<i32, i64>, ApiError> {
    let sent = batches.len();
    let mut data = Vec::with_capacity(sent);
    for (p, batch) in batches {
        data.push(PartitionProduceData::default().with_index(p).with_records(Some(batch)));
    }
    let request = ProduceRequest::default()
        .with_acks(ACKS_ALL)
        .with_timeout_ms(PRODUCE_TIMEOUT_MS)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic_name(topic))
            .with_partition_data(data)]);
    let response: ProduceResponse = client.call(ApiKey::Produce, versions::PRODUCE, &request).await?;
    let mut offsets = IndexMap::new();
    let mut failed: Option<ApiError> = None;
    for t in &response.responses {
        for p in &t.partition_responses {
            if p.error_code == 0 {
                offsets.insert(p.index, p.base_offset);
            } else if failed.is_none() {
                let message = p
                    .error_message
                    .as_ref()
                    .map(|m| m.to_string())
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| format!("partition {} of topic '{topic}' refused the records", p.index));
                failed = Some(ApiError::new(p.error_code, message));
            }
        }
    }
    if let Some(mut e) = failed {
        if !offsets.is_empty() {
            let written: Vec<String> = offsets.keys().map(|p| p.to_string()).collect();
            e.message = format!(
                "{} (records for partitions {} were written)",
                e.message,
                written.join(", ")
            );
        }
        return Err(e);
    }
    if offsets.len() != sent {
        return Err(ApiError::new(
            codes::UNKNOWN_SERVER_ERROR,
            "Produce answered fewer partitions than sent",
        ));
    }
    Ok(offsets)
}
