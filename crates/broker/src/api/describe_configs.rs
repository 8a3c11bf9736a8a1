//! DescribeConfigs (key 32): a topic's effective configs (override or broker default, with the
//! source of each), and the broker's static settings.

use std::sync::Arc;

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::api::create_topics::{SOURCE_DEFAULT, SOURCE_DYNAMIC_TOPIC, SOURCE_STATIC_BROKER};
use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::topic_config::{self, ConfigType};

/// ConfigResource types (KIP-133).
pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;

struct Entry {
    name: String,
    value: String,
    source: i8,
    config_type: ConfigType,
    doc: &'static str,
    read_only: bool,
}

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: DescribeConfigsRequest) -> Result<Answer, CloseReason> {
    let results = req
        .resources
        .into_iter()
        .map(|r| {
            let out = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            let entries = match r.resource_type {
                RESOURCE_TOPIC => match topic_entries(broker, r.resource_name.as_str()) {
                    Some(e) => e,
                    None => {
                        return out
                            .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                            .with_error_message(Some(StrBytes::from_string(format!(
                                "unknown topic {}",
                                r.resource_name.as_str()
                            ))));
                    }
                },
                RESOURCE_BROKER => broker_entries(broker),
                other => {
                    return out
                        .with_error_code(ResponseError::InvalidRequest.code())
                        .with_error_message(Some(StrBytes::from_string(format!(
                            "resource type {other} is not supported"
                        ))));
                }
            };
            let wanted = r.configuration_keys.as_ref();
            let configs = entries
                .into_iter()
                .filter(|e| wanted.is_none_or(|w| w.iter().any(|k| k.as_str() == e.name)))
                .map(|e| {
                    let synonyms = if req.include_synonyms {
                        vec![DescribeConfigsSynonym::default()
                            .with_name(StrBytes::from_string(e.name.clone()))
                            .with_value(Some(StrBytes::from_string(e.value.clone())))
                            .with_source(e.source)]
                    } else {
                        Vec::new()
                    };
                    DescribeConfigsResourceResult::default()
                        .with_name(StrBytes::from_string(e.name))
                        .with_value(Some(StrBytes::from_string(e.value)))
                        .with_read_only(e.read_only)
                        .with_config_source(e.source)
                        .with_config_type(e.config_type as i8)
                        .with_synonyms(synonyms)
                        .with_documentation(req.include_documentation.then(|| StrBytes::from_static_str(e.doc)))
                })
                .collect();
            out.with_configs(configs)
        })
        .collect();
    encode(ctx, &DescribeConfigsResponse::default().with_results(results)).map(Answer::Ready)
}

fn topic_entries(broker: &Broker, name: &str) -> Option<Vec<Entry>> {
    let topic = broker.registry.topic(name)?;
    let overrides = topic.overrides();
    Some(
        topic_config::TOPIC_CONFIG_KEYS
            .iter()
            .map(|k| {
                let (value, is_default) = topic_config::shown_value(k, broker.registry.defaults(), &overrides);
                Entry {
                    name: k.name.to_string(),
                    value,
                    source: if is_default {
                        SOURCE_DEFAULT
                    } else {
                        SOURCE_DYNAMIC_TOPIC
                    },
                    config_type: k.config_type,
                    doc: k.doc,
                    read_only: false,
                }
            })
            .collect(),
    )
}

fn broker_entries(broker: &Broker) -> Vec<Entry> {
    let c = &broker.config;
    let d = &c.log_defaults;
    let entry = |name: &str, value: String, config_type: ConfigType, doc: &'static str| Entry {
        name: name.to_string(),
        value,
        source: SOURCE_STATIC_BROKER,
        config_type,
        doc,
        read_only: true,
    };
    vec![
        entry(
            "auto.create.topics.enable",
            c.auto_create_topics.to_string(),
            ConfigType::Boolean,
            "Metadata for an unknown topic creates it.",
        ),
        entry(
            "num.partitions",
            c.default_num_partitions.to_string(),
            ConfigType::Int,
            "Partitions of auto-created topics.",
        ),
        entry(
            "log.segment.bytes",
            d.segment_bytes.to_string(),
            ConfigType::Int,
            "Default segment.bytes.",
        ),
        entry(
            "log.roll.ms",
            d.segment_ms.to_string(),
            ConfigType::Long,
            "Default segment.ms.",
        ),
        entry(
            "log.retention.ms",
            d.retention_ms.to_string(),
            ConfigType::Long,
            "Default retention.ms.",
        ),
        entry(
            "log.retention.bytes",
            d.retention_bytes.to_string(),
            ConfigType::Long,
            "Default retention.bytes.",
        ),
        entry(
            "message.max.bytes",
            d.max_message_bytes.to_string(),
            ConfigType::Int,
            "Default max.message.bytes.",
        ),
        entry(
            "log.flush.interval.ms",
            c.flush_interval_ms.to_string(),
            ConfigType::Long,
            "fsync interval for acks=0/1 data; acks=all is always fsynced.",
        ),
        entry(
            "socket.request.max.bytes",
            c.limits.max_frame_bytes.to_string(),
            ConfigType::Int,
            "Largest request frame.",
        ),
        entry(
            "fetch.max.bytes",
            c.limits.max_fetch_response_bytes.to_string(),
            ConfigType::Int,
            "Most record bytes in one Fetch response.",
        ),
        entry(
            "max.connections",
            c.limits.max_connections.to_string(),
            ConfigType::Int,
            "Connections accepted at once.",
        ),
    ]
}
