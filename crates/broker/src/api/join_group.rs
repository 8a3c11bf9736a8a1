//! JoinGroup (key 11): parks the request in the coordinator until the rebalance completes (every
//! member rejoined, or the rebalance timeout passed), then answers with the generation; only the
//! leader gets the members' metadata. From v4 a first join gets MEMBER_ID_REQUIRED with a
//! generated member id to rejoin with (KIP-394).

use std::sync::Arc;

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use kafka_protocol::protocol::StrBytes;
use wharf_coordinator::{GroupError, JoinParams};

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::group_error;

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: JoinGroupRequest) -> Result<Answer, CloseReason> {
    let v = ctx.api_version;
    let client_id = ctx.client_id.clone().unwrap_or_default();
    // Kafka's member id shape: client id, a dash, a random UUID.
    let new_member_id = format!("{client_id}-{}", uuid::Uuid::new_v4());
    let request_member_id = req.member_id.to_string();
    let params = JoinParams {
        group_id: req.group_id.0.to_string(),
        member_id: request_member_id.clone(),
        group_instance_id: req.group_instance_id.map(|s| s.to_string()),
        client_id,
        // Kafka reports the host as InetAddress.toString: a leading slash, then the IP.
        client_host: format!("/{}", ctx.peer.ip()),
        session_timeout_ms: req.session_timeout_ms,
        // v0 has no rebalance timeout; Kafka uses the session timeout for both.
        rebalance_timeout_ms: if v >= 1 {
            req.rebalance_timeout_ms
        } else {
            req.session_timeout_ms
        },
        protocol_type: req.protocol_type.to_string(),
        protocols: req
            .protocols
            .into_iter()
            .map(|p| (p.name.to_string(), p.metadata))
            .collect(),
        require_known_member_id: v >= 4,
        new_member_id,
        waiter: 0,
    };
    let rx = broker.groups.join(params);
    let ctx = ctx.clone();
    Ok(Answer::Later(Box::pin(async move {
        let reply = rx.await.unwrap_or(Err(GroupError::CoordinatorNotAvailable));
        encode(&ctx, &response(ctx.api_version, reply, request_member_id))
    })))
}

fn s(v: String) -> StrBytes {
    StrBytes::from_string(v)
}

fn response(
    v: i16,
    reply: Result<wharf_coordinator::JoinResult, GroupError>,
    request_member_id: String,
) -> JoinGroupResponse {
    match reply {
        Ok(r) => {
            let members = r
                .members
                .into_iter()
                .map(|m| {
                    JoinGroupResponseMember::default()
                        .with_member_id(s(m.member_id))
                        .with_group_instance_id(if v >= 5 { m.group_instance_id.map(s) } else { None })
                        .with_metadata(m.metadata)
                })
                .collect();
            JoinGroupResponse::default()
                .with_generation_id(r.generation_id)
                .with_protocol_type(if v >= 7 { Some(s(r.protocol_type)) } else { None })
                .with_protocol_name(Some(s(r.protocol_name)))
                .with_leader(s(r.leader))
                .with_skip_assignment(v >= 9 && r.skip_assignment)
                .with_member_id(s(r.member_id))
                .with_members(members)
        }
        Err(e) => {
            let member_id = match &e {
                GroupError::MemberIdRequired { member_id } => member_id.clone(),
                _ => request_member_id,
            };
            JoinGroupResponse::default()
                .with_error_code(group_error(&e).code())
                .with_generation_id(-1)
                // Nullable from v7; earlier versions need a (empty) string.
                .with_protocol_name(if v >= 7 { None } else { Some(StrBytes::default()) })
                .with_member_id(s(member_id))
        }
    }
}
