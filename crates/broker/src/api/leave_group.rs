//! LeaveGroup (key 13): members leave at once instead of waiting for their session to expire.
//! v0–2 name one member; v3+ a batch of (member id, group instance id) (KIP-345), answered per
//! member with a top-level NONE.

use std::sync::Arc;

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};
use kafka_protocol::protocol::StrBytes;

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::group_error;

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: LeaveGroupRequest) -> Result<Answer, CloseReason> {
    let batched = ctx.api_version >= 3;
    let members: Vec<(String, Option<String>)> = if batched {
        req.members
            .iter()
            .map(|m| {
                (
                    m.member_id.to_string(),
                    m.group_instance_id.as_ref().map(|s| s.to_string()),
                )
            })
            .collect()
    } else {
        vec![(req.member_id.to_string(), None)]
    };
    let (results, _) = broker
        .groups
        .with(|c, now, fx| c.leave(&req.group_id.0, &members, now, fx));
    let codes: Vec<i16> = results
        .iter()
        .map(|r| r.as_ref().err().map_or(0, |e| group_error(e).code()))
        .collect();
    let resp = if batched {
        LeaveGroupResponse::default().with_members(
            members
                .into_iter()
                .zip(codes)
                .map(|((id, instance), code)| {
                    MemberResponse::default()
                        .with_member_id(StrBytes::from_string(id))
                        .with_group_instance_id(instance.map(StrBytes::from_string))
                        .with_error_code(code)
                })
                .collect(),
        )
    } else {
        LeaveGroupResponse::default().with_error_code(codes.first().copied().unwrap_or(0))
    };
    encode(ctx, &resp).map(Answer::Ready)
}
