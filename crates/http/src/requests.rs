//! The Kafka requests the gateway sends from more than one place — group member polls, HTTP
//! fetches, event streams and push delivery all fetch; members and push subscriptions both
//! commit — built once here so they cannot drift apart.

use std::collections::BTreeMap;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::{ApiKey, BrokerId, FetchRequest, GroupId, OffsetCommitRequest, OffsetCommitResponse};
use kafka_protocol::protocol::StrBytes;
use wharf_client::cluster::topic_name;

use crate::error::ApiError;
use crate::local::{versions, LocalClient};

/// Fetch isolation level 1: nothing at or past the last stable offset, and the aborted
/// transactions listed so `records::decode_records` can drop them. Every HTTP reader (fetch,
/// members, event streams, webhooks) sees what a read_committed Kafka consumer sees.
pub const READ_COMMITTED: i8 = 1;

/// A read_committed Fetch of each (topic, partition, offset), waiting up to `wait_ms` for a
/// first byte, at most `fetch_bytes` in all and per partition.
pub fn fetch_request<'a>(
    positions: impl IntoIterator<Item = (&'a str, i32, i64)>,
    wait_ms: u64,
    fetch_bytes: i32,
) -> FetchRequest {
    let mut by_topic: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
    for (topic, partition, offset) in positions {
        by_topic.entry(topic).or_default().push(
            FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(fetch_bytes),
        );
    }
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(i32::try_from(wait_ms).unwrap_or(i32::MAX))
        .with_min_bytes(1)
        .with_max_bytes(fetch_bytes)
        .with_isolation_level(READ_COMMITTED)
        .with_topics(
            by_topic
                .into_iter()
                .map(|(t, ps)| FetchTopic::default().with_topic(topic_name(t)).with_partitions(ps))
                .collect(),
        )
}

/// OffsetCommit of each (topic, partition, offset) for `group` as the member `member_id` of
/// `generation` (-1 and "" for a simple consumer, accepted while the group has no members).
/// Per-partition error codes are the caller's to read.
pub async fn commit_offsets<'a>(
    client: &LocalClient,
    group: &str,
    generation: i32,
    member_id: &str,
    offsets: impl IntoIterator<Item = (&'a str, i32, i64)>,
) -> Result<OffsetCommitResponse, ApiError> {
    let mut by_topic: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
    for (topic, partition, offset) in offsets {
        by_topic.entry(topic).or_default().push(
            OffsetCommitRequestPartition::default()
                .with_partition_index(partition)
                .with_committed_offset(offset),
        );
    }
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(StrBytes::from_string(member_id.to_owned()))
        .with_topics(
            by_topic
                .into_iter()
                .map(|(t, ps)| {
                    OffsetCommitRequestTopic::default()
                        .with_name(topic_name(t))
                        .with_partitions(ps)
                })
                .collect(),
        );
    Ok(client
        .call(ApiKey::OffsetCommit, versions::OFFSET_COMMIT, &request)
        .await?)
}

/// The aborted transactions a fetched partition lists, as `decode_fetched` takes them.
pub fn aborted_of(p: &kafka_protocol::messages::fetch_response::PartitionData) -> Vec<(i64, i64)> {
    p.aborted_transactions
        .iter()
        .flatten()
        .map(|a| (a.producer_id.0, a.first_offset))
        .collect()
}
