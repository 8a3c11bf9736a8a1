//! Consumer groups: list, describe (state, members and their assignments, committed offsets
//! and lag per partition), delete; and members created over HTTP (`members.rs`): create,
//! poll records, commit, leave.

use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;
use wharf_client::groups::decode_assignment;

use crate::body;
use crate::error::{codes, ApiError};
use crate::local::versions;
use crate::members::{committed_offsets, reset_timestamp};
use crate::records::Format;
use crate::state::AppState;

pub async fn list(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let response: ListGroupsResponse = s
        .client
        .call(ApiKey::ListGroups, versions::LIST_GROUPS, &ListGroupsRequest::default())
        .await?;
    ApiError::check(response.error_code, None, || "cannot list groups".into())?;
    let mut groups: Vec<Value> = response
        .groups
        .iter()
        .map(|g| {
            json!({"group_id": g.group_id.0.as_str(), "state": g.group_state.as_str(),
                   "protocol_type": g.protocol_type.as_str()})
        })
        .collect();
    groups.sort_by(|a, b| a["group_id"].as_str().cmp(&b["group_id"].as_str()));
    Ok(Json(json!({ "groups": groups })))
}

pub async fn describe(State(s): State<AppState>, Path(group): Path<String>) -> Result<Json<Value>, ApiError> {
    let request = DescribeGroupsRequest::default().with_groups(vec![GroupId(StrBytes::from_string(group.clone()))]);
    let response: DescribeGroupsResponse = s
        .client
        .call(ApiKey::DescribeGroups, versions::DESCRIBE_GROUPS, &request)
        .await?;
    let Some(g) = response.groups.first() else {
        return Err(ApiError::new(
            codes::UNKNOWN_SERVER_ERROR,
            "DescribeGroups answered no group",
        ));
    };
    ApiError::check(g.error_code, g.error_message.as_deref(), || {
        format!("cannot describe group '{group}'")
    })?;
    let committed = committed_offsets(&s.client, &group).await?;
    if g.group_state.as_str() == "Dead" && committed.is_empty() {
        return Err(ApiError::new(
            codes::GROUP_ID_NOT_FOUND,
            format!("group '{group}' does not exist"),
        ));
    }
    let members: Vec<Value> = g
        .members
        .iter()
        .map(|m| {
            let assignments: Vec<Value> = decode_assignment(&m.member_assignment)
                .unwrap_or_default()
                .into_iter()
                .map(|(t, ps)| json!({"topic": t, "partitions": ps}))
                .collect();
            json!({"member_id": m.member_id.as_str(), "client_id": m.client_id.as_str(),
                   "host": m.client_host.as_str(), "assignments": assignments})
        })
        .collect();
    let mut offsets: Vec<((String, i32), i64)> = committed.into_iter().collect();
    offsets.sort();
    let offsets: Vec<Value> = offsets
        .into_iter()
        .map(|((t, p), committed)| {
            let high_watermark = s
                .client
                .broker()
                .registry
                .topic(&t)
                .and_then(|topic| topic.partition(p))
                .map(|part| part.log().log_end_offset());
            let lag = high_watermark.map(|hw| (hw - committed).max(0));
            json!({"topic": t, "partition": p, "committed_offset": committed,
                   "high_watermark": high_watermark, "lag": lag})
        })
        .collect();
    Ok(Json(json!({
        "group_id": group,
        "state": g.group_state.as_str(),
        "protocol_type": g.protocol_type.as_str(),
        "protocol": g.protocol_data.as_str(),
        "members": members,
        "offsets": offsets,
    })))
}

pub async fn delete(State(s): State<AppState>, Path(group): Path<String>) -> Result<StatusCode, ApiError> {
    let request = DeleteGroupsRequest::default().with_groups_names(vec![GroupId(StrBytes::from_string(group.clone()))]);
    let response: DeleteGroupsResponse = s
        .client
        .call(ApiKey::DeleteGroups, versions::DELETE_GROUPS, &request)
        .await?;
    for r in &response.results {
        ApiError::check(r.error_code, None, || match r.error_code {
            codes::NON_EMPTY_GROUP => format!("group '{group}' has active members"),
            codes::GROUP_ID_NOT_FOUND => format!("group '{group}' does not exist"),
            _ => format!("cannot delete group '{group}'"),
        })?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateMember {
    topics: Vec<String>,
    /// `earliest` or `latest` (default, as Kafka consumers): where a partition without a
    /// committed offset starts.
    auto_offset_reset: Option<String>,
}

pub async fn create_member(
    State(s): State<AppState>,
    Path(group): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let b: CreateMember = body::json(raw)?;
    if b.topics.is_empty() {
        return Err(ApiError::invalid("subscribe to at least one topic"));
    }
    for t in &b.topics {
        if s.client.broker().registry.topic(t).is_none() {
            return Err(crate::routes::topics::unknown_topic(t));
        }
    }
    let reset = reset_timestamp(b.auto_offset_reset.as_deref())?;
    let idle = Duration::from_millis(s.limits.member_idle_ms);
    let id = s
        .members
        .create(&s.client, &group, b.topics, reset, s.limits.members_max, idle)
        .await?;
    let member = s.members.get(&group, &id)?;
    let m = member.lock().await;
    let assignments: Vec<Value> = m
        .assignment()
        .iter()
        .map(|(t, ps)| json!({"topic": t, "partitions": ps}))
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(json!({"member_id": id, "assignments": assignments})),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollQuery {
    max_records: Option<usize>,
    #[serde(default)]
    timeout_ms: u64,
    #[serde(default)]
    format: Format,
}

pub async fn poll(
    State(s): State<AppState>,
    Path((group, id)): Path<(String, String)>,
    q: Result<Query<PollQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = body::query(q)?;
    let member = s.members.get(&group, &id)?;
    let mut m = member.lock().await;
    let max = q.max_records.unwrap_or(100).clamp(1, s.limits.fetch_records_max);
    let wait = q.timeout_ms.min(s.limits.long_poll_ms_max);
    let records = m.poll(&s.client, max, wait, s.limits.fetch_bytes_max, q.format).await?;
    Ok(Json(json!({ "records": records })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CommitBody {
    offsets: Option<Vec<CommitOffset>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitOffset {
    topic: String,
    partition: i32,
    offset: i64,
}

pub async fn commit(
    State(s): State<AppState>,
    Path((group, id)): Path<(String, String)>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let b: CommitBody = body::json(raw)?;
    let member = s.members.get(&group, &id)?;
    let mut m = member.lock().await;
    let offsets = b
        .offsets
        .map(|os| os.into_iter().map(|o| (o.topic, o.partition, o.offset)).collect());
    let committed = m.commit(&s.client, offsets).await?;
    Ok(Json(json!({ "committed": committed })))
}

pub async fn delete_member(
    State(s): State<AppState>,
    Path((group, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.members.remove(&s.client, &group, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
