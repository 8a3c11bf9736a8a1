//! EndTxn (key 26): commits or aborts the producer's transaction.
//!
//! The decision (Prepare{Commit,Abort}) is made durable first; then the markers are written to
//! every partition in the transaction and committed offsets handed to their groups
//! (`transactions::finish`), and only then is the client answered — so once commit_transaction
//! returns, read_committed consumers can see the whole transaction. Kafka answers after the
//! decision alone and writes markers in the background; answering later costs the producer one
//! round of marker fsyncs and keeps a single broker simple. A retried EndTxn for a transaction
//! that already ended the same way is answered with success.

use std::sync::Arc;

use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse};
use kafka_protocol::ResponseError;
use wharf_coordinator::EndResult;

use crate::broker::{now_ms, Broker};
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::txn_error;
use crate::transactions::finish;

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: EndTxnRequest) -> Result<Answer, CloseReason> {
    let (result, appended) = broker.transactions.with(|inner, out| {
        let r = inner.coordinator.end_txn(
            &req.transactional_id.0,
            req.producer_id.0,
            req.producer_epoch,
            req.committed,
            now_ms(),
            out,
        );
        if let Ok(EndResult::Complete(c)) = &r {
            inner.completing.insert(c.transactional_id.clone());
        }
        r
    });
    let fenced_code_known = ctx.api_version >= 2;
    let (broker, ctx) = (Arc::clone(broker), ctx.clone());
    Ok(Answer::Later(Box::pin(async move {
        let durable = broker.transactions.wait_durable(appended).await;
        let code = match result {
            Err(e) => txn_error(&e, fenced_code_known).code(),
            Ok(EndResult::AlreadyDone) => 0,
            Ok(EndResult::Complete(c)) => {
                let tid = c.transactional_id.clone();
                if !durable {
                    // Undecided on disk: release the claim; the timer finishes what the state says.
                    let _ = broker.transactions.with(|inner, _| inner.completing.remove(&tid));
                    ResponseError::CoordinatorNotAvailable.code()
                } else if finish(&broker, c).await {
                    0
                } else {
                    // Decided and durable: the timer task retries the markers. The client retries
                    // EndTxn and gets CONCURRENT_TRANSACTIONS until then, then success.
                    ResponseError::CoordinatorNotAvailable.code()
                }
            }
        };
        encode(&ctx, &EndTxnResponse::default().with_error_code(code))
    })))
}
