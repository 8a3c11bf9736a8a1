//! AddPartitionsToTxn (key 24), v0–3: the client's own form (v4+ is broker-to-broker, KIP-890).
//! Every partition must exist: otherwise those answer UNKNOWN_TOPIC_OR_PARTITION and the rest
//! OPERATION_NOT_ATTEMPTED, and nothing is added (as in Kafka). The answer waits for the
//! transaction's new state to be durable, so no marker can be missed after a crash.

use std::sync::Arc;

use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse};
use kafka_protocol::ResponseError;

use crate::broker::{now_ms, Broker};
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::txn_error;

pub fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: AddPartitionsToTxnRequest,
) -> Result<Answer, CloseReason> {
    let count: usize = req.v3_and_below_topics.iter().map(|t| t.partitions.len()).sum();
    if count > broker.config.limits.max_partitions_per_request {
        return Err(CloseReason::Limit(format!(
            "{count} partitions in one AddPartitionsToTxn request"
        )));
    }
    let wanted: Vec<(String, i32)> = req
        .v3_and_below_topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (t.name.0.to_string(), *p)))
        .collect();
    let exists = |(t, p): &(String, i32)| broker.registry.topic(t).and_then(|t| t.partition(*p)).is_some();
    let all_exist = wanted.iter().all(exists);
    let (result, appended) = if all_exist {
        let id = req.v3_and_below_transactional_id.0.as_str();
        let (pid, epoch) = (req.v3_and_below_producer_id.0, req.v3_and_below_producer_epoch);
        broker
            .transactions
            .with(|inner, out| inner.coordinator.add_partitions(id, pid, epoch, &wanted, now_ms(), out))
    } else {
        (Ok(()), Ok(None))
    };
    let fenced_code_known = ctx.api_version >= 2;
    let code_for = move |tp: &(String, i32), durable: bool| -> i16 {
        if !all_exist {
            return if exists(tp) {
                ResponseError::OperationNotAttempted.code()
            } else {
                ResponseError::UnknownTopicOrPartition.code()
            };
        }
        match &result {
            Err(e) => txn_error(e, fenced_code_known).code(),
            Ok(()) if !durable => ResponseError::CoordinatorNotAvailable.code(),
            Ok(()) => 0,
        }
    };
    // Codes are decided now (the registry is consulted here), the durability wait comes after.
    let codes_if_durable: Vec<i16> = wanted.iter().map(|tp| code_for(tp, true)).collect();
    let codes_if_not: Vec<i16> = wanted.iter().map(|tp| code_for(tp, false)).collect();
    let shape: Vec<(kafka_protocol::messages::TopicName, Vec<i32>)> = req
        .v3_and_below_topics
        .into_iter()
        .map(|t| (t.name, t.partitions))
        .collect();
    let (broker, ctx) = (Arc::clone(broker), ctx.clone());
    Ok(Answer::Later(Box::pin(async move {
        let durable = broker.transactions.wait_durable(appended).await;
        let mut codes = if durable { codes_if_durable } else { codes_if_not }.into_iter();
        let topics = shape
            .into_iter()
            .map(|(name, partitions)| {
                AddPartitionsToTxnTopicResult::default()
                    .with_name(name)
                    .with_results_by_partition(
                        partitions
                            .into_iter()
                            .map(|p| {
                                AddPartitionsToTxnPartitionResult::default()
                                    .with_partition_index(p)
                                    .with_partition_error_code(codes.next().unwrap_or(0))
                            })
                            .collect(),
                    )
            })
            .collect();
        encode(
            &ctx,
            &AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(topics),
        )
    })))
}
