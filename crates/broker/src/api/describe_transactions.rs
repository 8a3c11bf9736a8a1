//! DescribeTransactions (key 65, KIP-664): the state of each named transactional id, for tooling
//! (kafka-transactions.sh describe). An unknown id answers TRANSACTIONAL_ID_NOT_FOUND.

use std::sync::Arc;

use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::{DescribeTransactionsRequest, DescribeTransactionsResponse, ProducerId, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};

pub fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: DescribeTransactionsRequest,
) -> Result<Answer, CloseReason> {
    if req.transactional_ids.len() > broker.config.limits.max_partitions_per_request {
        return Err(CloseReason::Limit(format!(
            "{} ids in one DescribeTransactions request",
            req.transactional_ids.len()
        )));
    }
    let states = broker.transactions.with(|inner, _| {
        req.transactional_ids
            .iter()
            .map(|id| {
                let base = TransactionState::default().with_transactional_id(id.clone());
                let Some(m) = inner.coordinator.get(&id.0) else {
                    return base
                        .with_error_code(ResponseError::TransactionalIdNotFound.code())
                        .with_producer_id(ProducerId(-1))
                        .with_producer_epoch(-1)
                        .with_transaction_start_time_ms(-1);
                };
                let mut topics: Vec<TopicData> = Vec::new();
                for (topic, partition) in &m.partitions {
                    match topics.last_mut() {
                        Some(t) if t.topic.0.as_str() == topic => t.partitions.push(*partition),
                        _ => topics.push(
                            TopicData::default()
                                .with_topic(TopicName(StrBytes::from_string(topic.clone())))
                                .with_partitions(vec![*partition]),
                        ),
                    }
                }
                base.with_transaction_state(StrBytes::from_static_str(m.status.name()))
                    .with_transaction_timeout_ms(m.timeout_ms)
                    .with_transaction_start_time_ms(m.start_ms)
                    .with_producer_id(ProducerId(m.producer_id))
                    .with_producer_epoch(m.producer_epoch)
                    .with_topics(topics)
            })
            .collect::<Vec<_>>()
    });
    encode(
        ctx,
        &DescribeTransactionsResponse::default().with_transaction_states(states.0),
    )
    .map(Answer::Ready)
}
