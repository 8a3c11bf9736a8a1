//! Topic administration: list, create, describe (per-partition offsets, sizes and configs),
//! delete. Listing, creating and deleting go through Metadata, CreateTopics and DeleteTopics;
//! sizes and segment counts come from the registry, which Kafka's API does not expose.

use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use bytes::Bytes;
use indexmap::IndexMap;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use serde::Deserialize;
use serde_json::{json, Value};

use wharf_client::cluster::topic_name;

use crate::body;
use crate::error::{codes, ApiError};
use crate::local::versions;
use crate::state::AppState;

/// How long CreateTopics and DeleteTopics may take inside the broker.
const ADMIN_TIMEOUT_MS: i32 = 30_000;
/// DescribeConfigs resource type of a topic.
const RESOURCE_TOPIC: i8 = 2;

pub async fn list(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let response: MetadataResponse = s
        .client
        .call(
            ApiKey::Metadata,
            versions::METADATA,
            &MetadataRequest::default().with_topics(None),
        )
        .await?;
    let mut topics: Vec<Value> = response
        .topics
        .iter()
        .filter(|t| t.error_code == 0)
        .filter_map(|t| {
            t.name
                .as_ref()
                .map(|n| json!({"name": n.0.as_str(), "partitions": t.partitions.len(), "internal": t.is_internal}))
        })
        .collect();
    topics.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    Ok(Json(json!({ "topics": topics })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    name: String,
    #[serde(default = "one")]
    partitions: i32,
    #[serde(default)]
    configs: IndexMap<String, String>,
}

fn one() -> i32 {
    1
}

pub async fn create(
    State(s): State<AppState>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let b: CreateBody = body::json(raw)?;
    let topic = CreatableTopic::default()
        .with_name(topic_name(&b.name))
        .with_num_partitions(b.partitions)
        .with_replication_factor(-1)
        .with_configs(
            b.configs
                .iter()
                .map(|(k, v)| {
                    CreatableTopicConfig::default()
                        .with_name(StrBytes::from_string(k.clone()))
                        .with_value(Some(StrBytes::from_string(v.clone())))
                })
                .collect(),
        );
    let request = CreateTopicsRequest::default()
        .with_topics(vec![topic])
        .with_timeout_ms(ADMIN_TIMEOUT_MS);
    let response: CreateTopicsResponse = s
        .client
        .call(ApiKey::CreateTopics, versions::CREATE_TOPICS, &request)
        .await?;
    let Some(result) = response.topics.first() else {
        return Err(ApiError::new(
            codes::UNKNOWN_SERVER_ERROR,
            "CreateTopics answered no topic",
        ));
    };
    ApiError::check(result.error_code, result.error_message.as_deref(), || {
        format!("cannot create topic '{}'", b.name)
    })?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"name": b.name, "partitions": result.num_partitions})),
    ))
}

pub async fn describe(State(s): State<AppState>, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    let Some(topic) = s.client.broker().registry.topic(&name) else {
        return Err(unknown_topic(&name));
    };
    let partitions: Vec<Value> = topic
        .partitions()
        .iter()
        .map(|p| {
            let log = p.log();
            json!({
                "partition": p.index,
                "log_start_offset": log.log_start_offset(),
                "high_watermark": log.log_end_offset(),
                "last_stable_offset": log.last_stable_offset(),
                "size_bytes": log.size_bytes(),
                "segments": log.segment_count(),
            })
        })
        .collect();
    let configs = describe_configs(&s, &name).await?;
    Ok(Json(
        json!({"name": name, "partitions": partitions, "configs": configs}),
    ))
}

async fn describe_configs(s: &AppState, name: &str) -> Result<IndexMap<String, Option<String>>, ApiError> {
    let request = DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
        .with_resource_type(RESOURCE_TOPIC)
        .with_resource_name(StrBytes::from_string(name.to_owned()))
        .with_configuration_keys(None)]);
    let response: DescribeConfigsResponse = s
        .client
        .call(ApiKey::DescribeConfigs, versions::DESCRIBE_CONFIGS, &request)
        .await?;
    let mut out = IndexMap::new();
    for r in &response.results {
        ApiError::check(r.error_code, r.error_message.as_deref(), || {
            format!("cannot describe topic '{name}'")
        })?;
        for c in &r.configs {
            out.insert(c.name.to_string(), c.value.as_ref().map(|v| v.to_string()));
        }
    }
    out.sort_keys();
    Ok(out)
}

pub async fn delete(State(s): State<AppState>, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    let request = DeleteTopicsRequest::default()
        .with_topic_names(vec![topic_name(&name)])
        .with_timeout_ms(ADMIN_TIMEOUT_MS);
    let response: DeleteTopicsResponse = s
        .client
        .call(ApiKey::DeleteTopics, versions::DELETE_TOPICS, &request)
        .await?;
    for r in &response.responses {
        ApiError::check(r.error_code, r.error_message.as_deref(), || {
            format!("cannot delete topic '{name}'")
        })?;
    }
    Ok(StatusCode::NO_CONTENT)
}

pub fn unknown_topic(name: &str) -> ApiError {
    ApiError::new(
        codes::UNKNOWN_TOPIC_OR_PARTITION,
        format!("topic '{name}' does not exist"),
    )
}

/// The partition count of `name`, from Metadata (the registry would do, but Metadata is what
/// a Kafka client sees, auto-creation rules included).
pub async fn partition_count(s: &AppState, name: &str) -> Result<i32, ApiError> {
    let request = MetadataRequest::default()
        .with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(topic_name(name)))
        ]))
        .with_allow_auto_topic_creation(false);
    let response: MetadataResponse = s.client.call(ApiKey::Metadata, versions::METADATA, &request).await?;
    match response.topics.first() {
        Some(t) if t.error_code == 0 && !t.partitions.is_empty() => Ok(t.partitions.len() as i32),
        Some(t) if t.error_code != 0 && t.error_code != codes::UNKNOWN_TOPIC_OR_PARTITION => {
            Err(ApiError::new(t.error_code, format!("cannot look up topic '{name}'")))
        }
        _ => Err(unknown_topic(name)),
    }
}
