//! InitProducerId (key 22): producer ids for idempotent and transactional producers (KIP-98).
//!
//! Without a transactional id the answer is a fresh producer id with epoch 0, from the durable
//! block allocator (`wharf_log::ProducerIdAllocator`), so ids never repeat after a restart or a
//! kill -9. Kafka does the same for a non-transactional producer even when v3+ names its current
//! id and epoch (KIP-360's in-place epoch bump is for transactional ids): the new id is unknown
//! to every partition, so its first batch is accepted at sequence 0.
//!
//! With a transactional id the transaction coordinator answers (`wharf_coordinator::TxnCoordinator`):
//! the id keeps its producer id and the epoch is bumped, fencing any older producer. If the older
//! epoch left a transaction open, it is aborted first (markers written with the bumped epoch),
//! then the request is served — where Kafka answers CONCURRENT_TRANSACTIONS and lets the client
//! retry, this answers once the abort is done. The answer waits for the new state to be durable.

use std::sync::Arc;

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use kafka_protocol::ResponseError;
use wharf_coordinator::InitResult;

use crate::broker::{now_ms, Broker};
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::txn_error;
use crate::transactions::finish;

/// Rounds of abort-then-init before answering CONCURRENT_TRANSACTIONS (the client retries): one
/// is enough unless another producer with the same id keeps racing this one.
const INIT_ATTEMPTS: usize = 3;

fn answer(producer_id: i64, producer_epoch: i16, error: Option<ResponseError>) -> InitProducerIdResponse {
    InitProducerIdResponse::default()
        .with_error_code(error.map_or(0, |e| e.code()))
        .with_producer_id(ProducerId(producer_id))
        .with_producer_epoch(producer_epoch)
}

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: InitProducerIdRequest) -> Result<Answer, CloseReason> {
    let broker = Arc::clone(broker);
    let ctx = ctx.clone();
    if let Some(id) = req.transactional_id.as_ref().map(|t| t.0.to_string()) {
        return Ok(Answer::Later(Box::pin(async move {
            let resp = init_transactional(&broker, &ctx, id, &req).await;
            encode(&ctx, &resp)
        })));
    }
    Ok(Answer::Later(Box::pin(async move {
        // A new block is fsynced before its first id is handed out; keep that off the runtime.
        let allocated = tokio::task::spawn_blocking(move || broker.producer_ids().allocate()).await;
        let resp = match allocated {
            Ok(Ok(id)) => answer(id, 0, None),
            Ok(Err(e)) => {
                tracing::error!(correlation_id = ctx.correlation_id, client_id = ?ctx.client_id, error = %e, "cannot allocate a producer id");
                answer(-1, -1, Some(ResponseError::CoordinatorNotAvailable))
            }
            Err(e) => {
                tracing::error!(correlation_id = ctx.correlation_id, error = %e, "producer id allocation panicked");
                answer(-1, -1, Some(ResponseError::UnknownServerError))
            }
        };
        encode(&ctx, &resp)
    })))
}

async fn init_transactional(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    transactional_id: String,
    req: &InitProducerIdRequest,
) -> InitProducerIdResponse {
    // v3+ (KIP-360) names the producer's current id and epoch when it re-initialises.
    let expected = (req.producer_id.0 >= 0).then_some((req.producer_id.0, req.producer_epoch));
    let timeout_ms = req.transaction_timeout_ms;
    let fenced_code_known = ctx.api_version >= 4;
    for _ in 0..INIT_ATTEMPTS {
        let (b, id) = (Arc::clone(broker), transactional_id.clone());
        // The allocator may fsync a new block: off the runtime.
        let ran = tokio::task::spawn_blocking(move || {
            b.transactions.with(|inner, out| {
                let fresh = || b.producer_ids().allocate().ok();
                let r = inner
                    .coordinator
                    .init_producer_id(&id, timeout_ms, expected, fresh, now_ms(), out);
                if let Ok(InitResult::AbortFirst(c)) = &r {
                    inner.completing.insert(c.transactional_id.clone());
                }
                r
            })
        })
        .await;
        let Ok((result, appended)) = ran else {
            return answer(-1, -1, Some(ResponseError::UnknownServerError));
        };
        let durable = broker.transactions.wait_durable(appended).await;
        match result {
            Err(e) => return answer(-1, -1, Some(txn_error(&e, fenced_code_known))),
            Ok(_) if !durable => return answer(-1, -1, Some(ResponseError::CoordinatorNotAvailable)),
            Ok(InitResult::Ready {
                producer_id,
                producer_epoch,
            }) => return answer(producer_id, producer_epoch, None),
            Ok(InitResult::AbortFirst(c)) => {
                tracing::info!(transactional_id = %c.transactional_id, producer_epoch = c.producer_epoch, "aborting the previous producer's open transaction");
                if !finish(broker, c).await {
                    return answer(-1, -1, Some(ResponseError::CoordinatorNotAvailable));
                }
            }
        }
    }
    answer(-1, -1, Some(ResponseError::ConcurrentTransactions))
}
