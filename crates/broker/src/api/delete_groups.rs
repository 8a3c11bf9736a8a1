//! DeleteGroups (key 42): removes Empty groups and their offsets (tombstones in the internal
//! log, fsynced before the answer). A group with members is NON_EMPTY_GROUP; an unknown one
//! GROUP_ID_NOT_FOUND.

use std::sync::Arc;

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};

use crate::api::durable_answer::answer_when_durable;
use crate::broker::Broker;
use crate::dispatch::{Answer, CloseReason, RequestContext};
use crate::errors::group_error;

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: DeleteGroupsRequest) -> Result<Answer, CloseReason> {
    let (results, appended) = broker.groups.with(|c, _, fx| {
        req.groups_names
            .iter()
            .map(|g| c.delete_group(&g.0, fx))
            .collect::<Vec<_>>()
    });
    let codes: Vec<i16> = results
        .iter()
        .map(|r| r.as_ref().err().map_or(0, |e| group_error(e).code()))
        .collect();
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
    answer_when_durable(&broker.groups, ctx, appended, codes, build)
}
