//! IncrementalAlterConfigs (key 44, KIP-339): SET, DELETE, APPEND and SUBTRACT on a topic's
//! overrides. Broker settings are static (flags, env, file), so altering them is refused.

use std::sync::Arc;

use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::api::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::registry_error;
use crate::topic_config::{self, ConfigType, TopicOverrides};

const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

pub fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: IncrementalAlterConfigsRequest,
) -> Result<Answer, CloseReason> {
    let responses = req
        .resources
        .into_iter()
        .map(|r| {
            let out = AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            let result = match r.resource_type {
                RESOURCE_TOPIC => alter_topic(broker, r.resource_name.as_str(), &r.configs, req.validate_only),
                RESOURCE_BROKER => Err((
                    ResponseError::InvalidRequest,
                    "broker settings are static; change the flag, env var or config file and restart".to_string(),
                )),
                other => Err((
                    ResponseError::InvalidRequest,
                    format!("resource type {other} is not supported"),
                )),
            };
            match result {
                Ok(()) => out,
                Err((code, msg)) => out
                    .with_error_code(code.code())
                    .with_error_message(Some(StrBytes::from_string(msg))),
            }
        })
        .collect();
    encode(
        ctx,
        &IncrementalAlterConfigsResponse::default().with_responses(responses),
    )
    .map(Answer::Ready)
}

type AlterError = (ResponseError, String);

fn alter_topic(
    broker: &Broker,
    name: &str,
    ops: &[kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig],
    validate_only: bool,
) -> Result<(), AlterError> {
    let topic = broker
        .registry
        .topic(name)
        .ok_or_else(|| (ResponseError::UnknownTopicOrPartition, format!("unknown topic {name}")))?;
    let mut overrides = topic.overrides();
    for op in ops {
        apply(
            broker,
            &mut overrides,
            op.name.as_str(),
            op.config_operation,
            op.value.as_ref().map(|v| v.as_str()),
        )?;
    }
    tokio::task::block_in_place(|| broker.registry.set_overrides(name, overrides, validate_only))
        .map_err(|e| (registry_error(&e), e.to_string()))
}

fn apply(
    broker: &Broker,
    overrides: &mut TopicOverrides,
    name: &str,
    op: i8,
    value: Option<&str>,
) -> Result<(), AlterError> {
    let key = topic_config::key(name)
        .ok_or_else(|| (ResponseError::InvalidConfig, format!("unknown topic config {name}")))?;
    let current = || topic_config::shown_value(key, broker.registry.defaults(), overrides).0;
    let list_only = || {
        if key.config_type == ConfigType::List {
            Ok(())
        } else {
            Err((
                ResponseError::InvalidConfig,
                format!("{name} is not a list; APPEND/SUBTRACT need one"),
            ))
        }
    };
    match op {
        OP_SET => {
            let v = value.ok_or_else(|| (ResponseError::InvalidConfig, format!("SET {name} needs a value")))?;
            overrides.insert(name.to_string(), v.to_string());
        }
        OP_DELETE => {
            overrides.remove(name);
        }
        OP_APPEND => {
            list_only()?;
            let mut items: Vec<String> = current()
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            for v in value
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                if !items.iter().any(|i| i == v) {
                    items.push(v.to_string());
                }
            }
            overrides.insert(name.to_string(), items.join(","));
        }
        OP_SUBTRACT => {
            list_only()?;
            let drop: Vec<&str> = value.unwrap_or_default().split(',').map(str::trim).collect();
            let items: Vec<String> = current()
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty() && !drop.contains(&s.as_str()))
                .collect();
            overrides.insert(name.to_string(), items.join(","));
        }
        other => {
            return Err((
                ResponseError::InvalidRequest,
                format!("unknown config operation {other}"),
            ))
        }
    }
    Ok(())
}
