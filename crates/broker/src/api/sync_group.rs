//! SyncGroup (key 14): the leader hands in the assignment and every member gets its own.
//! Followers that arrive first are parked until the leader's assignment is applied and its group
//! metadata record is fsynced.

use std::sync::Arc;

use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};
use kafka_protocol::protocol::StrBytes;
use wharf_coordinator::{GroupError, SyncParams};

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::group_error;

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: SyncGroupRequest) -> Result<Answer, CloseReason> {
    let params = SyncParams {
        group_id: req.group_id.0.to_string(),
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.map(|s| s.to_string()),
        generation_id: req.generation_id,
        protocol_type: req.protocol_type.map(|s| s.to_string()),
        protocol_name: req.protocol_name.map(|s| s.to_string()),
        assignments: req
            .assignments
            .into_iter()
            .map(|a| (a.member_id.to_string(), a.assignment))
            .collect(),
        waiter: 0,
    };
    let rx = broker.groups.sync(params);
    let ctx = ctx.clone();
    Ok(Answer::Later(Box::pin(async move {
        let reply = rx.await.unwrap_or(Err(GroupError::CoordinatorNotAvailable));
        let v5 = ctx.api_version >= 5;
        let resp = match reply {
            Ok(r) => SyncGroupResponse::default()
                .with_protocol_type(v5.then(|| StrBytes::from_string(r.protocol_type)))
                .with_protocol_name(v5.then(|| StrBytes::from_string(r.protocol_name)))
                .with_assignment(r.assignment),
            Err(e) => SyncGroupResponse::default().with_error_code(group_error(&e).code()),
        };
        encode(&ctx, &resp)
    })))
}
