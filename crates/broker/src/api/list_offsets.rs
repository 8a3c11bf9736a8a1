//! ListOffsets (key 2): earliest (-2), latest (-1; the last stable offset for read_committed), max timestamp (-3, KIP-734), earliest local
//! (-4, KIP-405, the same as earliest without tiered storage), and by timestamp.
//!
//! A timestamp lookup answers the first record whose timestamp is >= the target, exact to the
//! record: the log finds the batch, the records are decoded here (decompressing if needed). When
//! no record is that new, the answer is offset -1 and timestamp -1 (shared/KAFKA_NOTES.md, quirk 9).

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use kafka_protocol::records::RecordBatchDecoder;
use kafka_protocol::ResponseError;

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::log_error;
use crate::partition::Partition;

pub const LATEST_TIMESTAMP: i64 = -1;
pub const EARLIEST_TIMESTAMP: i64 = -2;
pub const MAX_TIMESTAMP: i64 = -3;
pub const EARLIEST_LOCAL_TIMESTAMP: i64 = -4;

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: ListOffsetsRequest) -> Result<Answer, CloseReason> {
    let count: usize = req.topics.iter().map(|t| t.partitions.len()).sum();
    if count > broker.config.limits.max_partitions_per_request {
        return Err(CloseReason::Limit(format!(
            "{count} partitions in one ListOffsets request"
        )));
    }
    let version = ctx.api_version;
    // isolation_level exists from v2 on; read_committed's latest offset is the last stable one.
    let read_committed = version >= 2 && req.isolation_level == 1;
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let topic = broker.registry.topic(t.name.0.as_str());
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let base = ListOffsetsPartitionResponse::default().with_partition_index(p.partition_index);
                    match topic.as_ref().and_then(|tp| tp.partition(p.partition_index)) {
                        None => base
                            .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                            .with_timestamp(-1)
                            .with_offset(-1),
                        Some(part) => match lookup(&part, p.timestamp, read_committed) {
                            // leader_epoch exists from v4 on; the codec refuses it earlier.
                            Ok((offset, timestamp)) => base
                                .with_offset(offset)
                                .with_timestamp(timestamp)
                                .with_leader_epoch(if version >= 4 { 0 } else { -1 }),
                            Err(code) => base.with_error_code(code.code()).with_timestamp(-1).with_offset(-1),
                        },
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    encode(ctx, &ListOffsetsResponse::default().with_topics(topics)).map(Answer::Ready)
}

/// (offset, timestamp) answered for one partition.
fn lookup(p: &Partition, timestamp: i64, read_committed: bool) -> Result<(i64, i64), ResponseError> {
    let log = p.log();
    match timestamp {
        LATEST_TIMESTAMP if read_committed => Ok((log.last_stable_offset(), -1)),
        LATEST_TIMESTAMP => Ok((log.log_end_offset(), -1)),
        EARLIEST_TIMESTAMP | EARLIEST_LOCAL_TIMESTAMP => Ok((log.log_start_offset(), -1)),
        MAX_TIMESTAMP => {
            let batch = log.max_timestamp_batch().map_err(|e| log_error(&e))?;
            drop(log);
            match batch {
                None => Ok((-1, -1)),
                Some(b) => record_with_max_timestamp(b),
            }
        }
        ts if ts >= 0 => {
            let batch = log.batch_at_timestamp(ts).map_err(|e| log_error(&e))?;
            drop(log);
            match batch {
                None => Ok((-1, -1)),
                Some(b) => first_record_at_or_after(b, ts),
            }
        }
        _ => Err(ResponseError::InvalidRequest),
    }
}

fn decode_records(mut batch: Bytes) -> Result<Vec<kafka_protocol::records::Record>, ResponseError> {
    RecordBatchDecoder::decode(&mut batch)
        .map(|set| set.records)
        .map_err(|_| ResponseError::CorruptMessage)
}

fn first_record_at_or_after(batch: Bytes, ts: i64) -> Result<(i64, i64), ResponseError> {
    let found = decode_records(batch)?.into_iter().find(|r| r.timestamp >= ts);
    Ok(found.map_or((-1, -1), |r| (r.offset, r.timestamp)))
}

fn record_with_max_timestamp(batch: Bytes) -> Result<(i64, i64), ResponseError> {
    let mut best: Option<(i64, i64)> = None;
    for r in decode_records(batch)? {
        if best.is_none_or(|(_, t)| r.timestamp > t) {
            best = Some((r.offset, r.timestamp));
        }
    }
    Ok(best.unwrap_or((-1, -1)))
}
