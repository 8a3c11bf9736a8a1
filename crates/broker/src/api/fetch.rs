//! Fetch (key 1): whole batches from each partition's log, with long poll.
//!
//! Limits follow KIP-74: records stop at the request's max_bytes (capped by the broker's
//! fetch.max.bytes) and each partition's partition_max_bytes, except that the first batch of the
//! first partition with data is returned whole even when larger, so a consumer is never stuck.
//! An empty partition carries empty records, not null (librdkafka logs "invalid MessageSetSize
//! -1" on null). With a single replica the high watermark is the log end offset. The last stable
//! offset is the high watermark unless a transaction is open in the partition (then the first
//! offset of the earliest open one), so on a topic that never saw a transaction read_committed
//! — librdkafka's default — reads exactly what read_uncommitted does. read_committed answers
//! stop below the last stable offset and list the aborted transactions overlapping the batches
//! returned, which
//! the client uses to drop their records.
//!
//! Long poll: when less than min_bytes is available the fetch parks until an append to one of its
//! partitions (a watch on the log end offset, not a timer) or max_wait_ms; parked fetches are
//! bounded by max_delayed_fetches, past which a fetch is answered at once. Fetch sessions
//! (KIP-227) are not created: session_id 0 tells clients to keep sending full requests.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::select_all;
use kafka_protocol::messages::fetch_response::{AbortedTransaction, FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, ProducerId, TopicName};
use kafka_protocol::ResponseError;
use uuid::Uuid;
use wharf_log::{batch_size_at, BatchHeader};

use crate::broker::{now_ms, Broker};
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::log_error;
use crate::partition::Partition;
use crate::quota::QuotaKind;

/// isolation_level value of READ_COMMITTED.
const READ_COMMITTED: i8 = 1;

struct Wanted {
    partition: Option<Arc<Partition>>,
    index: i32,
    fetch_offset: i64,
    partition_max_bytes: i32,
    missing_code: ResponseError,
}

struct WantedTopic {
    name: TopicName,
    id: Uuid,
    partitions: Vec<Wanted>,
}

struct Plan {
    topics: Vec<WantedTopic>,
    max_bytes: usize,
    read_committed: bool,
}

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: FetchRequest) -> Result<Answer, CloseReason> {
    let count: usize = req.topics.iter().map(|t| t.partitions.len()).sum();
    if count > broker.config.limits.max_partitions_per_request {
        return Err(CloseReason::Limit(format!("{count} partitions in one Fetch request")));
    }
    if req.session_id != 0 {
        let resp = FetchResponse::default().with_error_code(ResponseError::FetchSessionIdNotFound.code());
        return encode(ctx, &resp).map(Answer::Ready);
    }
    let by_id = ctx.api_version >= 13;
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let topic = if by_id {
                broker.registry.topic_by_id(t.topic_id)
            } else {
                broker.registry.topic(t.topic.0.as_str())
            };
            let missing_code = if by_id {
                ResponseError::UnknownTopicId
            } else {
                ResponseError::UnknownTopicOrPartition
            };
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| Wanted {
                    partition: topic.as_ref().and_then(|tp| tp.partition(p.partition)),
                    index: p.partition,
                    fetch_offset: p.fetch_offset,
                    partition_max_bytes: p.partition_max_bytes,
                    missing_code: if topic.is_some() {
                        ResponseError::UnknownTopicOrPartition
                    } else {
                        missing_code
                    },
                })
                .collect();
            WantedTopic {
                name: t.topic,
                id: t.topic_id,
                partitions,
            }
        })
        .collect();
    let cap = broker.config.limits.max_fetch_response_bytes;
    let plan = Plan {
        topics,
        max_bytes: req.max_bytes.clamp(0, cap) as usize,
        read_committed: req.isolation_level == READ_COMMITTED,
    };
    // Subscribe before the first read so an append between the read and the wait still wakes us.
    let watches: Vec<_> = plan
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .filter_map(|w| w.partition.as_ref().map(|p| p.subscribe_log_end()))
        })
        .collect();
    let (resp, bytes, errored) = read(&plan);
    let satisfied = bytes >= req.min_bytes.max(0) as usize || errored || req.max_wait_ms <= 0 || watches.is_empty();
    if satisfied {
        return encode(ctx, &finish(broker, ctx, &plan, resp, bytes)).map(Answer::Ready);
    }
    let Ok(permit) = Arc::clone(&broker.delayed_fetches).try_acquire_owned() else {
        return encode(ctx, &finish(broker, ctx, &plan, resp, bytes)).map(Answer::Ready);
    };
    let ctx = ctx.clone();
    let broker = Arc::clone(broker);
    let min_bytes = req.min_bytes.max(0) as usize;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(req.max_wait_ms as u64);
    Ok(Answer::Later(Box::pin(async move {
        let _permit = permit;
        let mut watches = watches;
        loop {
            let woke = {
                let changes = watches.iter_mut().map(|w| Box::pin(w.changed()));
                tokio::time::timeout_at(deadline, select_all(changes)).await
            };
            let (resp, bytes, errored) = read(&plan);
            let done = match woke {
                Err(_) => true,
                Ok((Err(_), _, _)) => true,
                Ok((Ok(()), _, _)) => bytes >= min_bytes || errored,
            };
            if done {
                return encode(&ctx, &finish(&broker, &ctx, &plan, resp, bytes));
            }
        }
    })))
}

/// The answer is final: counts what it carries per partition for /metrics, and applies
/// consumer_byte_rate (KIP-13): records the bytes about to be sent and, past the client's quota,
/// says how long to back off and mutes the connection that long (KIP-219).
fn finish(broker: &Broker, ctx: &RequestContext, plan: &Plan, resp: FetchResponse, bytes: usize) -> FetchResponse {
    // `read` answers every wanted topic and partition in the plan's order.
    for (t, rt) in plan.topics.iter().zip(&resp.responses) {
        for (w, rp) in t.partitions.iter().zip(&rt.partitions) {
            if let (Some(p), Some(records)) = (&w.partition, &rp.records) {
                p.traffic.fetched(records);
            }
        }
    }
    let now = now_ms();
    let client_id = ctx.client_id.as_deref().unwrap_or_default();
    let throttle = broker.quotas.record(QuotaKind::Fetch, client_id, bytes as f64, now);
    ctx.connection.mute_for(now, throttle);
    resp.with_throttle_time_ms(i32::try_from(throttle).unwrap_or(i32::MAX))
}

/// Reads every wanted partition once; returns the response, record bytes, and whether any
/// partition answered an error (which ends a long poll at once, as in Kafka).
fn read(plan: &Plan) -> (FetchResponse, usize, bool) {
    let mut total = 0usize;
    let mut errored = false;
    let mut topics = Vec::with_capacity(plan.topics.len());
    for t in &plan.topics {
        let mut parts = Vec::with_capacity(t.partitions.len());
        for w in &t.partitions {
            let data = match &w.partition {
                None => {
                    errored = true;
                    empty_partition(w.index, w.missing_code)
                }
                Some(p) => {
                    let remaining = plan.max_bytes.saturating_sub(total);
                    let limit = remaining.min(w.partition_max_bytes.max(0) as usize);
                    let log = p.log();
                    let (start, end) = (log.log_start_offset(), log.log_end_offset());
                    let stable = log.last_stable_offset();
                    // read_committed never reads at or past the last stable offset (KIP-98).
                    let upper = if plan.read_committed { stable } else { end };
                    let res = log.read(w.fetch_offset, limit, total == 0, upper);
                    let read_end = res
                        .as_ref()
                        .map_or(w.fetch_offset, |r| end_of_batches(r, w.fetch_offset));
                    let aborted = plan.read_committed.then(|| {
                        log.txn_state()
                            .aborted_overlapping(w.fetch_offset, read_end)
                            .into_iter()
                            .map(|a| {
                                AbortedTransaction::default()
                                    .with_producer_id(ProducerId(a.producer_id))
                                    .with_first_offset(a.first_offset)
                            })
                            .collect()
                    });
                    drop(log);
                    match res {
                        Ok(records) => {
                            total += records.len();
                            PartitionData::default()
                                .with_partition_index(w.index)
                                .with_high_watermark(end)
                                .with_last_stable_offset(stable)
                                .with_log_start_offset(start)
                                .with_aborted_transactions(aborted)
                                .with_preferred_read_replica(BrokerId(-1))
                                .with_records(Some(records))
                        }
                        Err(e) => {
                            errored = true;
                            empty_partition(w.index, log_error(&e))
                                .with_high_watermark(end)
                                .with_last_stable_offset(stable)
                                .with_log_start_offset(start)
                        }
                    }
                }
            };
            parts.push(data);
        }
        topics.push(
            FetchableTopicResponse::default()
                .with_topic(t.name.clone())
                .with_topic_id(t.id)
                .with_partitions(parts),
        );
    }
    (FetchResponse::default().with_responses(topics), total, errored)
}

/// One past the last offset of the last whole batch in `records` (`from` if there is none): the
/// aborted transactions a read_committed answer lists are those overlapping what it returns.
fn end_of_batches(records: &[u8], from: i64) -> i64 {
    let mut end = from;
    let mut at = 0usize;
    while let Some(size) = batch_size_at(&records[at..]) {
        if let Ok(h) = BatchHeader::parse(&records[at..]) {
            end = end.max(h.last_offset() + 1);
        }
        at += size;
        if at >= records.len() {
            break;
        }
    }
    end
}

fn empty_partition(index: i32, code: ResponseError) -> PartitionData {
    PartitionData::default()
        .with_partition_index(index)
        .with_error_code(code.code())
        .with_high_watermark(-1)
        .with_last_stable_offset(-1)
        .with_log_start_offset(-1)
        .with_preferred_read_replica(BrokerId(-1))
        .with_records(Some(Bytes::new()))
}
