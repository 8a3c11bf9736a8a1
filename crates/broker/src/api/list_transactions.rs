//! ListTransactions (key 66, KIP-664): every transactional id, optionally filtered by state and
//! producer id, and from v1 by how long the transaction has been open (KIP-994). State names that
//! are not states are echoed back in unknown_state_filters, as Kafka does.

use std::sync::Arc;

use kafka_protocol::messages::list_transactions_response::TransactionState;
use kafka_protocol::messages::{ListTransactionsRequest, ListTransactionsResponse, ProducerId, TransactionalId};
use kafka_protocol::protocol::StrBytes;
use wharf_coordinator::TxnStatus;

use crate::broker::{now_ms, Broker};
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};

const STATES: [TxnStatus; 6] = [
    TxnStatus::Empty,
    TxnStatus::Ongoing,
    TxnStatus::PrepareCommit,
    TxnStatus::PrepareAbort,
    TxnStatus::CompleteCommit,
    TxnStatus::CompleteAbort,
];

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: ListTransactionsRequest) -> Result<Answer, CloseReason> {
    let unknown: Vec<StrBytes> = req
        .state_filters
        .iter()
        .filter(|f| !STATES.iter().any(|s| s.name() == f.as_str()))
        .cloned()
        .collect();
    let now = now_ms();
    let min_duration = if ctx.api_version >= 1 { req.duration_filter } else { -1 };
    let (states, _) = broker.transactions.with(|inner, _| {
        inner
            .coordinator
            .all()
            .into_iter()
            .filter(|m| req.state_filters.is_empty() || req.state_filters.iter().any(|f| f.as_str() == m.status.name()))
            .filter(|m| {
                req.producer_id_filters.is_empty() || req.producer_id_filters.contains(&ProducerId(m.producer_id))
            })
            .filter(|m| min_duration < 0 || (m.start_ms >= 0 && now.saturating_sub(m.start_ms) >= min_duration))
            .map(|m| {
                TransactionState::default()
                    .with_transactional_id(TransactionalId(StrBytes::from_string(m.transactional_id.clone())))
                    .with_producer_id(ProducerId(m.producer_id))
                    .with_transaction_state(StrBytes::from_static_str(m.status.name()))
            })
            .collect::<Vec<_>>()
    });
    encode(
        ctx,
        &ListTransactionsResponse::default()
            .with_unknown_state_filters(unknown)
            .with_transaction_states(states),
    )
    .map(Answer::Ready)
}
