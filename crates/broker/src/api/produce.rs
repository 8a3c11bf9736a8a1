//! Produce (key 0): validate and append each partition's batches, answer per acks.
//!
//! Appends happen here, synchronously, in the order the connection read the requests. acks=1
//! answers once the bytes are written (fsynced later by the flusher's interval); acks=-1 (all)
//! queues the partitions for group commit and answers only when each is fsynced past the last
//! appended offset, or with REQUEST_TIMED_OUT after timeout_ms. acks=0 writes no answer.
//!
//! Idempotent batches are checked by the log (wharf_log::ProducerState): a retried batch is
//! answered with its original base offset and written once; a sequence gap gets
//! OUT_OF_ORDER_SEQUENCE_NUMBER and an older epoch INVALID_PRODUCER_EPOCH for that partition.
//! A transactional batch is written only inside an ongoing transaction that added the partition
//! (KIP-890's verification): otherwise INVALID_TXN_STATE (or INVALID_PRODUCER_ID_MAPPING,
//! INVALID_PRODUCER_EPOCH), so no stray batch can open a transaction nothing will end.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use wharf_coordinator::TxnError;
use wharf_log::BatchHeader;

use crate::backlog;
use crate::broker::{now_ms, Broker};
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::{log_error, txn_error};
use crate::partition::Partition;
use crate::quota::QuotaKind;

/// Used when a request says timeout_ms <= 0 (the Java client's request.timeout.ms default).
const DEFAULT_ACK_TIMEOUT_MS: u64 = 30_000;

struct Appended {
    partition: Arc<Partition>,
    last_offset: i64,
    topic_slot: usize,
    partition_slot: usize,
}

fn partition_error(index: i32, code: ResponseError, message: Option<String>) -> PartitionProduceResponse {
    PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(code.code())
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1)
        .with_error_message(message.map(StrBytes::from_string))
}

/// A transactional batch must belong to an ongoing transaction that added this partition
/// (`TxnCoordinator::verify_partition`); the code to answer if not. Other batches pass.
fn unverified_transactional(broker: &Broker, partition: &Partition, records: &[u8]) -> Option<ResponseError> {
    let h = BatchHeader::parse(records).ok()?;
    if !h.is_transactional() || h.producer_id < 0 {
        return None;
    }
    let (topic, index) = (&partition.topic, partition.index);
    let (checked, _) = broker.transactions.with(|inner, _| {
        inner
            .coordinator
            .verify_partition(h.producer_id, h.producer_epoch, topic, index)
    });
    match checked {
        Ok(()) => None,
        // As the partition itself answers an older epoch (Kafka since 2.7).
        Err(TxnError::ProducerFenced { .. }) => Some(ResponseError::InvalidProducerEpoch),
        Err(e) => Some(txn_error(&e, true)),
    }
}

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: ProduceRequest) -> Result<Answer, CloseReason> {
    let count: usize = req.topic_data.iter().map(|t| t.partition_data.len()).sum();
    if count > broker.config.limits.max_partitions_per_request {
        return Err(CloseReason::Limit(format!("{count} partitions in one Produce request")));
    }
    let acks = req.acks;
    let produced_bytes: usize = req
        .topic_data
        .iter()
        .flat_map(|t| &t.partition_data)
        .map(|p| p.records.as_ref().map_or(0, |r| r.len()))
        .sum();
    let valid_acks = matches!(acks, -1..=1);
    let mut appended = Vec::new();
    let mut responses = Vec::with_capacity(req.topic_data.len());
    let now = now_ms();
    for (ti, td) in req.topic_data.into_iter().enumerate() {
        let topic = if td.name.0.is_empty() {
            broker.registry.topic_by_id(td.topic_id)
        } else {
            broker.registry.topic(td.name.0.as_str())
        };
        // Peak shaving (issue #4): the topic's backlog cap, if any; see backlog.rs.
        let policy = topic.as_ref().and_then(|t| t.backlog_policy());
        let mut parts = Vec::with_capacity(td.partition_data.len());
        for (pi, pd) in td.partition_data.into_iter().enumerate() {
            if !valid_acks {
                parts.push(partition_error(pd.index, ResponseError::InvalidRequiredAcks, None));
                continue;
            }
            let Some(partition) = topic.as_ref().and_then(|t| t.partition(pd.index)) else {
                parts.push(partition_error(pd.index, ResponseError::UnknownTopicOrPartition, None));
                continue;
            };
            let records = pd.records.unwrap_or_default();
            if records.is_empty() {
                parts.push(partition_error(
                    pd.index,
                    ResponseError::CorruptMessage,
                    Some("no record batches".into()),
                ));
                continue;
            }
            if let Some(code) = unverified_transactional(broker, &partition, &records) {
                parts.push(partition_error(pd.index, code, None));
                continue;
            }
            let reference = policy.as_ref().and_then(|p| {
                broker
                    .groups
                    .min_committed_offset(&partition.topic, pd.index, p.group.as_deref())
            });
            // Written as received (a slice of the request frame); the log writes each batch's
            // new base offset beside it rather than copying the batch to patch it. The backlog
            // check holds the same lock, so concurrent producers cannot overshoot the cap.
            let result = {
                let mut log = partition.log();
                let refused = match &policy {
                    Some(p) => backlog::admit(p, &mut log, &records, reference),
                    None => Ok(None),
                };
                refused.and_then(|refused| match refused {
                    Some(why) => Ok(Err(why)),
                    None => log.append(&records, now).map(|info| Ok((info, log.log_start_offset()))),
                })
            };
            match result {
                Ok(Err(why)) => {
                    tracing::debug!(topic = %partition.topic, partition = pd.index, reason = %why, "produce refused");
                    partition.traffic.backlog_rejected();
                    parts.push(partition_error(pd.index, ResponseError::PolicyViolation, Some(why)));
                }
                Ok(Ok((info, log_start_offset))) => {
                    // A duplicate (an idempotent retry) wrote nothing and answers with the
                    // original offsets; with acks=all it still waits for those to be durable,
                    // since the first attempt may not have been synced yet.
                    if info.is_duplicate {
                        tracing::debug!(topic = %partition.topic, partition = pd.index, base_offset = info.base_offset, "duplicate idempotent batch");
                    } else {
                        partition.publish_log_end(info.last_offset + 1);
                        // From the batch headers the append validated (recordCount), not the records.
                        partition.traffic.produced(info.record_count, info.bytes);
                    }
                    parts.push(
                        PartitionProduceResponse::default()
                            .with_index(pd.index)
                            .with_base_offset(info.base_offset)
                            .with_log_append_time_ms(-1)
                            .with_log_start_offset(log_start_offset),
                    );
                    if acks == -1 {
                        broker.flusher.request(&partition);
                        appended.push(Appended {
                            partition,
                            last_offset: info.last_offset,
                            topic_slot: ti,
                            partition_slot: pi,
                        });
                    }
                }
                Err(e) => {
                    let code = log_error(&e);
                    tracing::debug!(topic = %partition.topic, partition = pd.index, error = %e, "produce rejected");
                    parts.push(partition_error(pd.index, code, Some(e.to_string())));
                }
            }
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(td.name)
                .with_topic_id(td.topic_id)
                .with_partition_responses(parts),
        );
    }
    // producer_byte_rate (KIP-13): served, then throttled by muting the connection (KIP-219).
    let client_id = ctx.client_id.as_deref().unwrap_or_default();
    let throttle = broker
        .quotas
        .record(QuotaKind::Produce, client_id, produced_bytes as f64, now);
    ctx.connection.mute_for(now, throttle);
    let resp = ProduceResponse::default()
        .with_responses(responses)
        .with_throttle_time_ms(i32::try_from(throttle).unwrap_or(i32::MAX));
    if acks == 0 {
        return Ok(Answer::Nothing);
    }
    if appended.is_empty() {
        return encode(ctx, &resp).map(Answer::Ready);
    }
    let ctx = ctx.clone();
    let timeout_ms = if req.timeout_ms > 0 {
        req.timeout_ms as u64
    } else {
        DEFAULT_ACK_TIMEOUT_MS
    };
    Ok(Answer::Later(Box::pin(async move {
        let mut resp = resp;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout_ms);
        for a in appended {
            let outcome = tokio::time::timeout_at(deadline, a.partition.wait_durable(a.last_offset)).await;
            let code = match outcome {
                Ok(true) => continue,
                Ok(false) => ResponseError::KafkaStorageError,
                Err(_) => ResponseError::RequestTimedOut,
            };
            let slot = &mut resp.responses[a.topic_slot].partition_responses[a.partition_slot];
            *slot = partition_error(slot.index, code, None);
        }
        encode(&ctx, &resp)
    })))
}
