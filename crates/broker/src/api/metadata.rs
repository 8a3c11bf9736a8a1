//! Metadata (key 3): brokers (just this one), and topics with their partitions, all led by us.
//!
//! Topic selection follows the protocol guide: v0 with an empty list and v1+ with a null list
//! mean every topic. An unknown topic is created when auto.create.topics.enable is on and the
//! request allows it (v4+ allow_auto_topic_creation; always before v4).

use std::sync::Arc;

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::registry_error;
use crate::registry::Topic;

/// Sent when topic_authorized_operations were not asked for (KIP-430).
pub const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

pub fn topic_entry(broker: &Broker, topic: &Topic) -> MetadataResponseTopic {
    let node = BrokerId(broker.config.node_id);
    let partitions = (0..topic.partition_count())
        .map(|i| {
            MetadataResponsePartition::default()
                .with_partition_index(i)
                .with_leader_id(node)
                .with_leader_epoch(0)
                .with_replica_nodes(vec![node])
                .with_isr_nodes(vec![node])
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(topic.name.to_string()))))
        .with_topic_id(topic.id)
        .with_partitions(partitions)
        .with_topic_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED)
}

fn error_entry(name: Option<&str>, id: Uuid, code: ResponseError) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_error_code(code.code())
        .with_name(name.map(|n| TopicName(StrBytes::from_string(n.to_string()))))
        .with_topic_id(id)
        .with_topic_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED)
}

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: MetadataRequest) -> Result<Answer, CloseReason> {
    let all = match &req.topics {
        None => true,
        Some(t) => t.is_empty() && ctx.api_version == 0,
    };
    let may_create = broker.config.auto_create_topics && (ctx.api_version < 4 || req.allow_auto_topic_creation);
    let topics = if all {
        broker
            .registry
            .topics()
            .iter()
            .map(|t| topic_entry(broker, t))
            .collect()
    } else {
        let requested = req.topics.unwrap_or_default();
        if requested.len() > broker.config.limits.max_partitions_per_request {
            return Err(CloseReason::Limit(format!(
                "{} topics in one Metadata request",
                requested.len()
            )));
        }
        requested
            .into_iter()
            .map(|t| match t.name {
                Some(name) => lookup_or_create(broker, name.0.as_str(), may_create),
                None => match broker.registry.topic_by_id(t.topic_id) {
                    Some(topic) => topic_entry(broker, &topic),
                    None => error_entry(None, t.topic_id, ResponseError::UnknownTopicId),
                },
            })
            .collect()
    };
    let (host, port) = broker.advertised();
    let node = BrokerId(broker.config.node_id);
    let resp = MetadataResponse::default()
        .with_brokers(vec![MetadataResponseBroker::default()
            .with_node_id(node)
            .with_host(StrBytes::from_string(host))
            .with_port(port as i32)])
        .with_cluster_id(Some(StrBytes::from_string(broker.config.cluster_id.clone())))
        .with_controller_id(node)
        .with_topics(topics)
        .with_cluster_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED);
    encode(ctx, &resp).map(Answer::Ready)
}

fn lookup_or_create(broker: &Broker, name: &str, may_create: bool) -> MetadataResponseTopic {
    if let Some(topic) = broker.registry.topic(name) {
        return topic_entry(broker, &topic);
    }
    if !may_create {
        return error_entry(Some(name), Uuid::nil(), ResponseError::UnknownTopicOrPartition);
    }
    let created = tokio::task::block_in_place(|| {
        broker
            .registry
            .create_topic(name, broker.config.default_num_partitions, Default::default())
    });
    match created {
        Ok(topic) => {
            tracing::info!(topic = name, "auto-created topic");
            topic_entry(broker, &topic)
        }
        // Another connection created it between our lookup and create.
        Err(crate::registry::RegistryError::TopicExists(_)) => match broker.registry.topic(name) {
            Some(topic) => topic_entry(broker, &topic),
            None => error_entry(Some(name), Uuid::nil(), ResponseError::UnknownTopicOrPartition),
        },
        Err(e) => {
            tracing::warn!(topic = name, error = %e, "auto-create failed");
            error_entry(Some(name), Uuid::nil(), registry_error(&e))
        }
    }
}
