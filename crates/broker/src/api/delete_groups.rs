//! DeleteGroups (key 42): removes Empty groups and their offsets (tombstones in the internal
//! log, fsynced before the answer). A group with members is NON_EMPTY_GROUP; an unknown one
//! GROUP_ID_NOT_FOUND.

use std::sync::Arc;

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};
use kafka_protocol::ResponseError;

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::group_error;

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: DeleteGroupsRequest) -> Result<Answer, CloseReason> {
    let (results, appended) = broker.groups.with(|c, _, fx| {
        req.groups_names
            .iter()
            .map(|g| c.delete_group(&g.0, fx))
            .collect::<Vec<_>>()
    });
    let mut codes: Vec<i16> = results
        .iter()
        .map(|r| r.as_ref().err().map_or(0, |e| group_error(e).code()))
        .collect();
    let fail = |codes: &mut Vec<i16>| {
        for c in codes.iter_mut().filter(|c| **c == 0) {
            *c = ResponseError::KafkaStorageError.code();
        }
    };
    let last = appended.unwrap_or_else(|_| {
        fail(&mut codes);
        None
    });
    let names = req.groups_names;
    let build = move |codes: Vec<i16>| {
        DeleteGroupsResponse::default().with_results(
            names
                .into_iter()
                .zip(codes)
                .map(|(g, code)| DeletableGroupResult::default().with_group_id(g).with_error_code(code))
                .collect(),
        )
    };
    let Some(last) = last else {
        return encode(ctx, &build(codes)).map(Answer::Ready);
    };
    let (groups, ctx) = (Arc::clone(&broker.groups), ctx.clone());
    Ok(Answer::Later(Box::pin(async move {
        if !groups.wait_durable(last).await {
            fail(&mut codes);
        }
        encode(&ctx, &build(codes))
    })))
}
