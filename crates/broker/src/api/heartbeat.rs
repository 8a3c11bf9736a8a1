//! Heartbeat (key 12): keeps a member's session alive and tells it when to rejoin
//! (REBALANCE_IN_PROGRESS while the group prepares a rebalance).

use std::sync::Arc;

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::group_error;

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: HeartbeatRequest) -> Result<Answer, CloseReason> {
    let instance = req.group_instance_id.map(|s| s.to_string());
    let (result, _) = broker.groups.with(|c, now, _| {
        c.heartbeat(
            &req.group_id.0,
            &req.member_id,
            instance.as_deref(),
            req.generation_id,
            now,
        )
    });
    let code = result.err().map_or(0, |e| group_error(&e).code());
    encode(ctx, &HeartbeatResponse::default().with_error_code(code)).map(Answer::Ready)
}
