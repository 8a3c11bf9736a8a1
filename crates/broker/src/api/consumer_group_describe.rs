//! ConsumerGroupDescribe (key 69, KIP-848): state, epochs, assignor and members of consumer
//! groups, with each member's current and target assignment by topic id and name. A group that
//! does not exist or is a classic group answers GROUP_ID_NOT_FOUND, which is what tells
//! librdkafka's and Java's admin clients to fall back to DescribeGroups.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::consumer_group_describe_response::{
    Assignment as WireAssignment, DescribedGroup, Member, TopicPartitions,
};
use kafka_protocol::messages::{ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;
use wharf_coordinator::{Assignment, ConsumerGroupDescription};

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};

/// ConsumerGroupDescribe v1's member_type of a member using the consumer protocol (KIP-1099).
const MEMBER_TYPE_CONSUMER: i8 = 1;

pub fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: ConsumerGroupDescribeRequest,
) -> Result<Answer, CloseReason> {
    let (found, _) = broker.groups.with(|c, _, _| {
        req.group_ids
            .iter()
            .map(|g| (g.clone(), c.describe_consumer_group(&g.0)))
            .collect::<Vec<_>>()
    });
    let v = ctx.api_version;
    let groups = found
        .into_iter()
        .map(|(id, d)| match d {
            None => DescribedGroup::default()
                .with_group_id(id.clone())
                .with_error_code(ResponseError::GroupIdNotFound.code())
                .with_error_message(Some(StrBytes::from_string(format!(
                    "Group {} not found or not a consumer group.",
                    id.0
                )))),
            Some(d) => described(d, v),
        })
        .collect();
    encode(ctx, &ConsumerGroupDescribeResponse::default().with_groups(groups)).map(Answer::Ready)
}

fn described(d: ConsumerGroupDescription, v: i16) -> DescribedGroup {
    let wire = |a: Assignment| assignment(a, &d.topic_names);
    let members = d
        .members
        .iter()
        .map(|m| {
            let member = Member::default()
                .with_member_id(StrBytes::from_string(m.member_id.clone()))
                .with_instance_id(m.instance_id.clone().map(StrBytes::from_string))
                .with_rack_id(m.rack_id.clone().map(StrBytes::from_string))
                .with_member_epoch(m.member_epoch)
                .with_client_id(StrBytes::from_string(m.client_id.clone()))
                .with_client_host(StrBytes::from_string(m.client_host.clone()))
                .with_subscribed_topic_names(
                    m.subscribed_topic_names
                        .iter()
                        .map(|n| TopicName(StrBytes::from_string(n.clone())))
                        .collect(),
                )
                .with_assignment(wire(m.assignment.clone()))
                .with_target_assignment(wire(m.target_assignment.clone()));
            if v >= 1 {
                member.with_member_type(MEMBER_TYPE_CONSUMER)
            } else {
                member
            }
        })
        .collect();
    DescribedGroup::default()
        .with_group_id(kafka_protocol::messages::GroupId(StrBytes::from_string(
            d.group_id.clone(),
        )))
        .with_group_state(StrBytes::from_static_str(d.state.name()))
        .with_group_epoch(d.group_epoch)
        .with_assignment_epoch(d.assignment_epoch)
        .with_assignor_name(StrBytes::from_string(d.assignor_name.clone()))
        .with_members(members)
}

fn assignment(a: Assignment, names: &BTreeMap<Uuid, String>) -> WireAssignment {
    WireAssignment::default().with_topic_partitions(
        a.into_iter()
            .map(|(id, ps)| {
                TopicPartitions::default()
                    .with_topic_id(id)
                    .with_topic_name(TopicName(StrBytes::from_string(
                        names.get(&id).cloned().unwrap_or_default(),
                    )))
                    .with_partitions(ps.into_iter().collect())
            })
            .collect(),
    )
}
