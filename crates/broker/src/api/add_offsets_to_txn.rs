//! AddOffsetsToTxn (key 25): makes a group's offsets part of the transaction, so TxnOffsetCommit
//! may follow and its offsets become visible exactly when the transaction commits (KIP-98).
//! Answers once the change is durable.

use std::sync::Arc;

use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};
use kafka_protocol::ResponseError;

use crate::broker::{now_ms, Broker};
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::txn_error;

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: AddOffsetsToTxnRequest) -> Result<Answer, CloseReason> {
    let (result, appended) = broker.transactions.with(|inner, out| {
        inner.coordinator.add_offsets(
            &req.transactional_id.0,
            req.producer_id.0,
            req.producer_epoch,
            &req.group_id.0,
            now_ms(),
            out,
        )
    });
    let fenced_code_known = ctx.api_version >= 2;
    let (broker, ctx) = (Arc::clone(broker), ctx.clone());
    Ok(Answer::Later(Box::pin(async move {
        let durable = broker.transactions.wait_durable(appended).await;
        let code = match result {
            Err(e) => txn_error(&e, fenced_code_known).code(),
            Ok(()) if !durable => ResponseError::CoordinatorNotAvailable.code(),
            Ok(()) => 0,
        };
        encode(&ctx, &AddOffsetsToTxnResponse::default().with_error_code(code))
    })))
}
