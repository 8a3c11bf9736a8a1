//! DescribeGroups (key 15): state, protocol and members of each group; member metadata and
//! assignments only while Stable, as Kafka reports them. An unknown group is "Dead" with no
//! error before v6 and GROUP_ID_NOT_FOUND from v6 (KIP-1043).

use std::sync::Arc;

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: DescribeGroupsRequest) -> Result<Answer, CloseReason> {
    let v = ctx.api_version;
    let (found, _) = broker.groups.with(|c, _, _| {
        req.groups
            .iter()
            .map(|g| (g.clone(), c.describe_group(&g.0)))
            .collect::<Vec<_>>()
    });
    let groups = found
        .into_iter()
        .map(|(id, d)| {
            // authorized_operations keeps the codec's INT32_MIN default: "not computed", which
            // is also the only value versions before 3 can encode.
            let base = DescribedGroup::default().with_group_id(id);
            match d {
                None if v >= 6 => base
                    .with_error_code(ResponseError::GroupIdNotFound.code())
                    .with_error_message(Some(StrBytes::from_static_str("group not found")))
                    .with_group_state(StrBytes::from_static_str("Dead")),
                None => base.with_group_state(StrBytes::from_static_str("Dead")),
                Some(d) => base
                    .with_group_state(StrBytes::from_static_str(d.state.name()))
                    .with_protocol_type(StrBytes::from_string(d.protocol_type))
                    .with_protocol_data(StrBytes::from_string(d.protocol_name))
                    .with_members(
                        d.members
                            .into_iter()
                            .map(|m| {
                                DescribedGroupMember::default()
                                    .with_member_id(StrBytes::from_string(m.member_id))
                                    .with_group_instance_id(if v >= 4 {
                                        m.group_instance_id.map(StrBytes::from_string)
                                    } else {
                                        None
                                    })
                                    .with_client_id(StrBytes::from_string(m.client_id))
                                    .with_client_host(StrBytes::from_string(m.client_host))
                                    .with_member_metadata(m.metadata)
                                    .with_member_assignment(m.assignment)
                            })
                            .collect(),
                    ),
            }
        })
        .collect();
    encode(ctx, &DescribeGroupsResponse::default().with_groups(groups)).map(Answer::Ready)
}
