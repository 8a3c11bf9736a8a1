//! The dead-letter topic: where a record goes after it failed `max_attempts` times on its own.
//! It keeps the record's key, value, timestamp and headers, and adds `wharf.dlq.*` headers
//! saying where it came from and why, so a person (or a replay job) can act on it. It is
//! written to the same partition number as its source (modulo the dead-letter topic's
//! partition count), so dead letters of one source partition stay in order.

use bytes::Bytes;
use indexmap::IndexMap;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{ApiKey, CreateTopicsRequest, CreateTopicsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Record;
use wharf_client::records::plain_record;

use super::webhook::Failure;
use wharf_client::cluster::topic_name;

use crate::error::{codes, ApiError};
use crate::local::{versions, LocalClient};
use crate::records::encode_batch;
use crate::routes::produce::send_batches;

pub const REASON: &str = "wharf.dlq.reason";
pub const STATUS: &str = "wharf.dlq.status";
pub const ATTEMPTS: &str = "wharf.dlq.attempts";
pub const SUBSCRIPTION: &str = "wharf.dlq.subscription";
pub const TOPIC: &str = "wharf.dlq.topic";
pub const PARTITION: &str = "wharf.dlq.partition";
pub const OFFSET: &str = "wharf.dlq.offset";
/// How long CreateTopics may take for the dead-letter topic.
const CREATE_TIMEOUT_MS: i32 = 30_000;

/// Where the failed record came from and why it failed.
pub struct Origin<'a> {
    pub subscription: &'a str,
    pub topic: &'a str,
    pub partition: i32,
    pub failure: &'a Failure,
    pub attempts: u32,
}

/// The dead letter of `record`: its key, value, timestamp and headers, plus `wharf.dlq.*`.
/// Source headers of the same name as ours are replaced (a dead letter re-dead-lettered
/// says where it failed last).
pub fn dead_letter(record: &Record, origin: &Origin<'_>) -> Record {
    let mut out = plain_record(0, record.timestamp, record.key.clone(), record.value.clone());
    out.headers = record.headers.clone();
    let status = origin
        .failure
        .status()
        .map(|s| s.to_string())
        .unwrap_or_else(|| "none".to_owned());
    let added = [
        (REASON, origin.failure.describe()),
        (STATUS, status),
        (ATTEMPTS, origin.attempts.to_string()),
        (SUBSCRIPTION, origin.subscription.to_owned()),
        (TOPIC, origin.topic.to_owned()),
        (PARTITION, origin.partition.to_string()),
        (OFFSET, record.offset.to_string()),
    ];
    for (name, value) in added {
        out.headers
            .insert(StrBytes::from_static_str(name), Some(Bytes::from(value)));
    }
    out
}

/// Writes `letter` to partition `partition % partitions` of `dlq` (acks=all).
pub async fn write(client: &LocalClient, dlq: &str, partition: i32, letter: Record) -> Result<(), ApiError> {
    let partitions = client
        .broker()
        .registry
        .topic(dlq)
        .map(|t| t.partition_count())
        .ok_or_else(|| {
            ApiError::new(
                codes::UNKNOWN_TOPIC_OR_PARTITION,
                format!("dead-letter topic '{dlq}' is gone"),
            )
        })?;
    let target = partition.rem_euclid(partitions.max(1));
    let mut batches = IndexMap::new();
    batches.insert(target, encode_batch(&[letter])?);
    send_batches(client, dlq, batches).await.map(|_| ())
}

/// Creates `dlq` with `partitions` partitions unless it exists.
pub async fn ensure_topic(client: &LocalClient, dlq: &str, partitions: i32) -> Result<(), ApiError> {
    if client.broker().registry.topic(dlq).is_some() {
        return Ok(());
    }
    let request = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(topic_name(dlq))
            .with_num_partitions(partitions)
            .with_replication_factor(-1)])
        .with_timeout_ms(CREATE_TIMEOUT_MS);
    let response: CreateTopicsResponse = client
        .call(ApiKey::CreateTopics, versions::CREATE_TOPICS, &request)
        .await?;
    match response.topics.first() {
        Some(t) if t.error_code == 0 || t.error_code == codes::TOPIC_ALREADY_EXISTS => Ok(()),
        Some(t) => Err(ApiError::new(
            t.error_code,
            t.error_message
                .as_ref()
                .map(|m| m.to_string())
                .unwrap_or_else(|| format!("cannot create dead-letter topic '{dlq}'")),
        )),
        None => Err(ApiError::new(
            codes::UNKNOWN_SERVER_ERROR,
            "CreateTopics answered no topic",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letter_keeps_record_and_adds_reason_headers() {
        let mut r = plain_record(0, 1_234, Some(Bytes::from_static(b"k")), Some(Bytes::from_static(b"v")));
        r.offset = 42;
        r.headers.insert(
            StrBytes::from_static_str("trace"),
            Some(Bytes::from_static(b"\x00\x01")),
        );
        let failure = Failure::Status {
            status: 500,
            body: "boom".into(),
        };
        let letter = dead_letter(
            &r,
            &Origin {
                subscription: "s",
                topic: "orders",
                partition: 2,
                failure: &failure,
                attempts: 5,
            },
        );
        assert_eq!(letter.key, r.key);
        assert_eq!(letter.value, r.value);
        assert_eq!(letter.timestamp, 1_234);
        let h = |n: &'static str| letter.headers[&StrBytes::from_static_str(n)].clone().unwrap();
        assert_eq!(h("trace"), Bytes::from_static(b"\x00\x01"));
        assert_eq!(h(REASON), Bytes::from("webhook answered 500: boom"));
        assert_eq!(h(STATUS), Bytes::from("500"));
        assert_eq!(h(ATTEMPTS), Bytes::from("5"));
        assert_eq!(h(TOPIC), Bytes::from("orders"));
        assert_eq!(h(PARTITION), Bytes::from("2"));
        assert_eq!(h(OFFSET), Bytes::from("42"));
        let timeout = dead_letter(
            &r,
            &Origin {
                subscription: "s",
                topic: "orders",
                partition: 2,
                failure: &Failure::Timeout,
                attempts: 1,
            },
        );
        assert_eq!(
            timeout.headers[&StrBytes::from_static_str(STATUS)],
            Some(Bytes::from("none"))
        );
    }
}
