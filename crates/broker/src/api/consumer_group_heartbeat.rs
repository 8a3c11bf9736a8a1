//! ConsumerGroupHeartbeat (key 68, KIP-848): join, heartbeat and leave of the next-generation
//! consumer protocol, with the assignment computed on the broker. Topic names in subscriptions
//! are resolved to ids and partition counts here, so the coordinator sees metadata as of this
//! heartbeat (a partition added later is picked up by the next one).

use std::sync::Arc;

use kafka_protocol::messages::consumer_group_heartbeat_response::{Assignment as WireAssignment, TopicPartitions};
use kafka_protocol::messages::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};
use kafka_protocol::protocol::StrBytes;
use wharf_coordinator::{Assignment, ConsumerHeartbeat, TopicMetadata};

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::group_error;

pub fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: ConsumerGroupHeartbeatRequest,
) -> Result<Answer, CloseReason> {
    let client_id = ctx.client_id.clone().unwrap_or_default();
    let p = ConsumerHeartbeat {
        group_id: req.group_id.0.to_string(),
        member_id: req.member_id.to_string(),
        member_epoch: req.member_epoch,
        instance_id: req.instance_id.map(|s| s.to_string()),
        rack_id: req.rack_id.map(|s| s.to_string()),
        rebalance_timeout_ms: req.rebalance_timeout_ms,
        subscribed_topic_names: req
            .subscribed_topic_names
            .map(|names| names.into_iter().map(|n| n.0.to_string()).collect()),
        server_assignor: req.server_assignor.map(|s| s.to_string()),
        owned: req.topic_partitions.map(|tps| {
            let mut a = Assignment::new();
            for tp in tps {
                a.entry(tp.topic_id).or_default().extend(tp.partitions);
            }
            a
        }),
        // Kafka's member id shape for broker-generated ids (v0 clients): a random UUID.
        new_member_id: uuid::Uuid::new_v4().to_string(),
        client_id,
        client_host: format!("/{}", ctx.peer.ip()),
    };
    let regex = req.subscribed_topic_regex.filter(|r| !r.is_empty());
    let registry = &broker.registry;
    let lookup = |name: &str| {
        registry.topic(name).map(|t| TopicMetadata {
            topic_id: t.id,
            partitions: t.partition_count(),
        })
    };
    let mut response = ConsumerGroupHeartbeatResponse::default();
    if regex.is_some() {
        // Not supported yet: say so rather than silently subscribing to nothing.
        response.error_code = kafka_protocol::ResponseError::InvalidRequest.code();
        response.error_message = Some(StrBytes::from_static_str(
            "SubscribedTopicRegex is not supported by this broker; subscribe by topic names",
        ));
        return encode(ctx, &response).map(Answer::Ready);
    }
    let (result, _) = broker.groups.with(|c, now, _| c.consumer_heartbeat(p, &lookup, now));
    match result {
        Ok(r) => {
            response.member_id = Some(StrBytes::from_string(r.member_id));
            response.member_epoch = r.member_epoch;
            response.heartbeat_interval_ms = r.heartbeat_interval_ms;
            response.assignment = r.assignment.map(|a| {
                WireAssignment::default().with_topic_partitions(
                    a.into_iter()
                        .map(|(topic_id, ps)| {
                            TopicPartitions::default()
                                .with_topic_id(topic_id)
                                .with_partitions(ps.into_iter().collect())
                        })
                        .collect(),
                )
            });
        }
        Err(e) => {
            response.error_code = group_error(&e).code();
            response.error_message = Some(StrBytes::from_string(e.to_string()));
        }
    }
    encode(ctx, &response).map(Answer::Ready)
}
