//! InitProducerId (key 22): producer ids for idempotent producers (KIP-98).
//!
//! Without a transactional id the answer is a fresh producer id with epoch 0, from the durable
//! block allocator (`wharf_log::ProducerIdAllocator`), so ids never repeat after a restart or a
//! kill -9. Kafka does the same for a non-transactional producer even when v3+ names its current
//! id and epoch (KIP-360's in-place epoch bump is for transactional ids): the new id is unknown
//! to every partition, so its first batch is accepted at sequence 0.
//!
//! With a transactional id (an empty one is INVALID_REQUEST, as in Kafka) the answer is
//! COORDINATOR_NOT_AVAILABLE, what Kafka answers while no
//! transaction coordinator can serve the id: clients treat it as retriable and fail their
//! init_transactions call at its timeout, instead of treating it as fatal or as an authorization
//! failure. (librdkafka never gets this far today: FindCoordinator for a transaction key is
//! refused first.) A failed allocator (its checkpoint could not be made durable) answers the same,
//! since no id can be handed out safely until a restart.

use std::sync::Arc;

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use kafka_protocol::ResponseError;

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};

/// Where the producer id block checkpoint lives, under the data dir: the directory Kafka's
/// transaction state log is named after, reserved (CreateTopics refuses the name) so that
/// transactions can keep their own state beside it.
pub const TRANSACTION_STATE_DIR: &str = "__transaction_state";

fn answer(producer_id: i64, producer_epoch: i16, error: Option<ResponseError>) -> InitProducerIdResponse {
    InitProducerIdResponse::default()
        .with_error_code(error.map_or(0, |e| e.code()))
        .with_producer_id(ProducerId(producer_id))
        .with_producer_epoch(producer_epoch)
}

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: InitProducerIdRequest) -> Result<Answer, CloseReason> {
    if let Some(id) = &req.transactional_id {
        // Kafka's TransactionCoordinator refuses an empty id as INVALID_REQUEST.
        let code = if id.0.is_empty() {
            ResponseError::InvalidRequest
        } else {
            ResponseError::CoordinatorNotAvailable
        };
        return encode(ctx, &answer(-1, -1, Some(code))).map(Answer::Ready);
    }
    let broker = Arc::clone(broker);
    let ctx = ctx.clone();
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
