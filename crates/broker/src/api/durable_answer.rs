//! The shared tail of the group APIs that write records (OffsetCommit, OffsetDelete,
//! DeleteGroups): answer only once those records are fsynced, and turn every per-item success
//! into KAFKA_STORAGE_ERROR if the append or its fsync failed.

use std::sync::Arc;

use kafka_protocol::protocol::Encodable;
use kafka_protocol::ResponseError;

use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::groups::Groups;
use crate::offsets_topic::OffsetsTopicError;

fn mark_storage_failed(codes: &mut [i16]) {
    for c in codes.iter_mut().filter(|c| **c == 0) {
        *c = ResponseError::KafkaStorageError.code();
    }
}

/// `codes` are the per-item error codes decided by the coordinator; `build` turns the final
/// codes into the response. `appended` is the last offset written to the internal log, if any.
pub fn answer_when_durable<R: Encodable + 'static>(
    groups: &Arc<Groups>,
    ctx: &RequestContext,
    appended: Result<Option<i64>, OffsetsTopicError>,
    mut codes: Vec<i16>,
    build: impl FnOnce(Vec<i16>) -> R + Send + 'static,
) -> Result<Answer, CloseReason> {
    let last = appended.unwrap_or_else(|_| {
        mark_storage_failed(&mut codes);
        None
    });
    let Some(last) = last else {
        return encode(ctx, &build(codes)).map(Answer::Ready);
    };
    let (groups, ctx) = (Arc::clone(groups), ctx.clone());
    Ok(Answer::Later(Box::pin(async move {
        if !groups.wait_durable(last).await {
            mark_storage_failed(&mut codes);
        }
        encode(&ctx, &build(codes))
    })))
}
