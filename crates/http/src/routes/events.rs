//! Server-Sent Events: `GET /v1/topics/{topic}/events` streams a topic's records as they
//! arrive — from `earliest`, `latest` (default) or an offset on every partition (or one
//! `partition`), or, with `group`, as a member of that group that commits what it has sent.
//! Each record is one `record` event whose id is `partition:offset`; a comment line every
//! 15 s keeps proxies from closing an idle stream. At most `sse_streams_max` streams are open.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::body;
use crate::error::{codes, ApiError};
use crate::members::{fetch_from, reset_timestamp};
use crate::records::{Format, RecordJson};
use crate::routes::fetch::start_offset;
use crate::routes::topics::unknown_topic;
use crate::state::AppState;

/// Long poll of each fetch the stream makes.
const POLL_WAIT_MS: u64 = 1_000;
/// Records per fetch; also the events buffered ahead of a slow reader.
const RECORDS_PER_POLL: usize = 500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// `earliest`, `latest` (default) or an offset (with `partition`, or on every partition).
    from: Option<String>,
    partition: Option<i32>,
    /// Consume as a member of this group instead (committing after each batch is sent).
    group: Option<String>,
    #[serde(default)]
    format: Format,
}

pub async fn events(
    State(s): State<AppState>,
    Path(topic): Path<String>,
    q: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = body::query(q)?;
    let Some(t) = s.client.broker().registry.topic(&topic) else {
        return Err(unknown_topic(&topic));
    };
    let permit = s.sse_streams.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            codes::THROTTLING_QUOTA_EXCEEDED,
            format!(
                "{} event streams are open (http.sse.streams.max)",
                s.limits.sse_streams_max
            ),
        )
    })?;
    let (tx, rx) = mpsc::channel::<Event>(RECORDS_PER_POLL);
    match q.group {
        Some(group) => {
            let reset = reset_timestamp(q.from.as_deref())?;
            let idle = Duration::from_millis(s.limits.member_idle_ms);
            let id = s
                .members
                .create(
                    &s.client,
                    &group,
                    vec![topic.clone()],
                    reset,
                    s.limits.members_max,
                    idle,
                )
                .await?;
            tokio::spawn(async move {
                let _permit = permit;
                stream_as_member(&s, &group, &id, q.format, &tx).await;
                if let Err(e) = s.members.remove(&s.client, &group, &id).await {
                    tracing::debug!(error = %e.message, "event stream's member already gone");
                }
            });
        }
        None => {
            let partitions: Vec<i32> = match q.partition {
                Some(p) if (0..t.partition_count()).contains(&p) => vec![p],
                Some(p) => {
                    return Err(ApiError::new(
                        codes::UNKNOWN_TOPIC_OR_PARTITION,
                        format!("topic '{topic}' has no partition {p}"),
                    ))
                }
                None => (0..t.partition_count()).collect(),
            };
            let mut positions = BTreeMap::new();
            for p in partitions {
                let from = start_offset(&s, &topic, p, Some(q.from.as_deref().unwrap_or("latest"))).await?;
                positions.insert((topic.clone(), p), from);
            }
            tokio::spawn(async move {
                let _permit = permit;
                stream_positions(&s, positions, q.format, &tx).await;
            });
        }
    }
    Ok(Sse::new(receiver_stream(rx))
        .keep_alive(KeepAlive::default())
        .into_response())
}

fn receiver_stream(mut rx: mpsc::Receiver<Event>) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|e| e.map(Ok)))
}

fn event(r: &RecordJson) -> Event {
    let data = serde_json::to_string(r).unwrap_or_else(|_| "{}".to_owned());
    Event::default()
        .event("record")
        .id(format!("{}:{}", r.partition, r.offset))
        .data(data)
}

/// Sends `records`; false once the reader has gone.
async fn send_all(tx: &mpsc::Sender<Event>, records: &[RecordJson]) -> bool {
    for r in records {
        if tx.send(event(r)).await.is_err() {
            return false;
        }
    }
    true
}

async fn stream_positions(
    s: &AppState,
    mut positions: BTreeMap<(String, i32), i64>,
    format: Format,
    tx: &mpsc::Sender<Event>,
) {
    let reset = crate::routes::fetch::LATEST;
    while !tx.is_closed() {
        let fetch_bytes = s.limits.fetch_bytes_max;
        match fetch_from(
            &s.client,
            &mut positions,
            reset,
            RECORDS_PER_POLL,
            POLL_WAIT_MS,
            fetch_bytes,
            format,
        )
        .await
        {
            Ok(records) => {
                if !send_all(tx, &records).await {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(error_event(&e)).await;
                return;
            }
        }
    }
}

async fn stream_as_member(s: &AppState, group: &str, id: &str, format: Format, tx: &mpsc::Sender<Event>) {
    while !tx.is_closed() {
        let Ok(member) = s.members.get(group, id) else { return };
        let mut m = member.lock().await;
        let polled = m
            .poll(
                &s.client,
                RECORDS_PER_POLL,
                POLL_WAIT_MS,
                s.limits.fetch_bytes_max,
                format,
            )
            .await;
        let records = match polled {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.send(error_event(&e)).await;
                return;
            }
        };
        if !send_all(tx, &records).await {
            return;
        }
        // At-least-once: commit only what was handed to the connection.
        if !records.is_empty() {
            if let Err(e) = m.commit(&s.client, None).await {
                tracing::warn!(group, error = %e.message, "event stream commit failed");
            }
        }
    }
}

fn error_event(e: &ApiError) -> Event {
    Event::default()
        .event("error")
        .data(serde_json::json!({"error": e.name(), "error_code": e.code, "message": e.message}).to_string())
}
