//! CreateTopics (key 19): partitions, configs and validate_only.
//!
//! A single broker is every replica, so replication_factor must be -1 (default) or 1; more is
//! INVALID_REPLICATION_FACTOR as Kafka answers when there are too few brokers. Explicit
//! assignments are accepted when they only name this broker; their count sets the partitions.

use std::collections::HashSet;
use std::sync::Arc;

use kafka_protocol::messages::create_topics_response::{CreatableTopicConfigs, CreatableTopicResult};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::registry_error;
use crate::topic_config::{self, TopicOverrides};

/// DescribeConfigs / CreateTopics config_source values.
pub const SOURCE_DYNAMIC_TOPIC: i8 = 1;
pub const SOURCE_STATIC_BROKER: i8 = 4;
pub const SOURCE_DEFAULT: i8 = 5;

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: CreateTopicsRequest) -> Result<Answer, CloseReason> {
    let mut seen = HashSet::new();
    let duplicated: HashSet<String> = req
        .topics
        .iter()
        .filter(|t| !seen.insert(t.name.0.to_string()))
        .map(|t| t.name.0.to_string())
        .collect();
    let node = broker.config.node_id;
    let results = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let fail = |code: ResponseError, msg: String| {
                CreatableTopicResult::default()
                    .with_name(t.name.clone())
                    .with_error_code(code.code())
                    .with_error_message(Some(StrBytes::from_string(msg)))
                    .with_num_partitions(-1)
                    .with_replication_factor(-1)
            };
            if duplicated.contains(&name) {
                return fail(
                    ResponseError::InvalidRequest,
                    format!("topic {name} appears more than once"),
                );
            }
            if t.replication_factor != -1 && t.replication_factor != 1 {
                return fail(
                    ResponseError::InvalidReplicationFactor,
                    format!(
                        "replication factor {} is larger than the 1 available broker",
                        t.replication_factor
                    ),
                );
            }
            if t.assignments.iter().any(|a| a.broker_ids.iter().any(|b| b.0 != node)) {
                return fail(
                    ResponseError::InvalidReplicaAssignment,
                    format!("only broker {node} exists"),
                );
            }
            let partitions = match (t.assignments.len(), t.num_partitions) {
                (0, -1) => broker.config.default_num_partitions,
                (0, n) => n,
                (n, -1) => n as i32,
                _ => {
                    return fail(
                        ResponseError::InvalidRequest,
                        "both num_partitions and assignments given".into(),
                    );
                }
            };
            let mut overrides = TopicOverrides::new();
            for c in &t.configs {
                if let Some(v) = &c.value {
                    overrides.insert(c.name.to_string(), v.to_string());
                }
            }
            let outcome = if req.validate_only {
                broker
                    .registry
                    .check_create(&name, partitions, &overrides)
                    .map(|_| None)
            } else {
                tokio::task::block_in_place(|| broker.registry.create_topic(&name, partitions, overrides.clone()))
                    .map(Some)
            };
            match outcome {
                Ok(created) => {
                    if created.is_some() {
                        tracing::info!(topic = %name, partitions, "created topic");
                    }
                    CreatableTopicResult::default()
                        .with_name(t.name.clone())
                        .with_topic_id(created.map(|c| c.id).unwrap_or_default())
                        .with_num_partitions(partitions)
                        .with_replication_factor(1)
                        .with_configs(Some(described_configs(broker, &overrides)))
                }
                Err(e) => fail(registry_error(&e), e.to_string()),
            }
        })
        .collect();
    encode(ctx, &CreateTopicsResponse::default().with_topics(results)).map(Answer::Ready)
}

/// The configs of a new topic as CreateTopics v5+ reports them (KIP-525).
fn described_configs(broker: &Broker, overrides: &TopicOverrides) -> Vec<CreatableTopicConfigs> {
    topic_config::TOPIC_CONFIG_KEYS
        .iter()
        .map(|k| {
            let (value, is_default) = topic_config::shown_value(k, broker.registry.defaults(), overrides);
            CreatableTopicConfigs::default()
                .with_name(StrBytes::from_static_str(k.name))
                .with_value(Some(StrBytes::from_string(value)))
                .with_config_source(if is_default {
                    SOURCE_DEFAULT
                } else {
                    SOURCE_DYNAMIC_TOPIC
                })
        })
        .collect()
}
