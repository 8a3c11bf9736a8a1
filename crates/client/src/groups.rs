//! A consumer group's committed offsets: reading them (OffsetFetch) and committing them as a
//! standalone client (OffsetCommit with generation -1 and no member id, which brokers accept
//! only while the group has no active members), and decoding a member's assignment.
//!
//! Both calls go to the group's coordinator. Partition-level error codes fail the call naming
//! the partition; none is retried.

use bytes::{Buf, Bytes};
use kafka_protocol::messages::consumer_protocol_assignment::ConsumerProtocolAssignment;
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::{
    ApiKey, GroupId, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse,
};
use kafka_protocol::protocol::{Decodable, StrBytes};

use crate::cluster::{topic_name, Cluster};
use crate::error::{check_code, ClientError};
use crate::versions::OurRange;

/// OffsetFetch by group id and topic list (v8+ batches groups, KIP-709); v2 is the first where
/// null topics means "every committed partition".
pub const OFFSET_FETCH: OurRange = OurRange::new(ApiKey::OffsetFetch, 2, 7);
/// OffsetCommit by topic name (v10 addresses topics by id).
pub const OFFSET_COMMIT: OurRange = OurRange::new(ApiKey::OffsetCommit, 2, 8);

/// Newest ConsumerProtocolAssignment version `kafka-protocol` knows; a newer one is read as
/// this, as Kafka's ConsumerProtocol does (fields are only ever appended).
const ASSIGNMENT_VERSION_MAX: i16 = 3;

/// One committed offset of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// Every offset `group` has committed (for `topics` only, when given: partitions of those
/// topics without a commit are left out), sorted by topic and partition.
pub async fn committed_offsets(
    cluster: &mut Cluster,
    group: &str,
    topics: Option<&[(String, Vec<i32>)]>,
) -> Result<Vec<CommittedOffset>, ClientError> {
    let conn = cluster.coordinator_connection(group).await?;
    let version = conn.version(OFFSET_FETCH)?;
    let request = OffsetFetchRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
        .with_topics(topics.map(|ts| {
            ts.iter()
                .map(|(t, ps)| {
                    OffsetFetchRequestTopic::default()
                        .with_name(topic_name(t))
                        .with_partition_indexes(ps.clone())
                })
                .collect()
        }));
    let response: OffsetFetchResponse = conn.call(ApiKey::OffsetFetch, version, &request).await?;
    check_code(ApiKey::OffsetFetch, response.error_code, || {
        format!(" for group {group}")
    })?;
    let mut offsets = Vec::new();
    for t in &response.topics {
        for p in &t.partitions {
            let topic = t.name.0.as_str();
            check_code(ApiKey::OffsetFetch, p.error_code, || {
                format!(" for group {group} on {topic}-{}", p.partition_index)
            })?;
            // -1 is "no committed offset" (when asked for a partition by name).
            if p.committed_offset >= 0 {
                offsets.push(CommittedOffset {
                    topic: topic.to_owned(),
                    partition: p.partition_index,
                    offset: p.committed_offset,
                });
            }
        }
    }
    offsets.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    Ok(offsets)
}

/// Commits `offsets` for `group` as a standalone client. A group with active members answers
/// UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION (Kafka) for such a commit, which fails the call.
pub async fn commit_offsets(
    cluster: &mut Cluster,
    group: &str,
    offsets: &[CommittedOffset],
) -> Result<(), ClientError> {
    let conn = cluster.coordinator_connection(group).await?;
    let version = conn.version(OFFSET_COMMIT)?;
    let mut topics: Vec<OffsetCommitRequestTopic> = Vec::new();
    for o in offsets {
        let partition = OffsetCommitRequestPartition::default()
            .with_partition_index(o.partition)
            .with_committed_offset(o.offset)
            .with_committed_metadata(Some(StrBytes::default()));
        match topics.iter_mut().find(|t| t.name.0.as_str() == o.topic) {
            Some(t) => t.partitions.push(partition),
            None => topics.push(
                OffsetCommitRequestTopic::default()
                    .with_name(topic_name(&o.topic))
                    .with_partitions(vec![partition]),
            ),
        }
    }
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
        .with_generation_id_or_member_epoch(-1)
        .with_member_id(StrBytes::default())
        .with_topics(topics);
    let response: OffsetCommitResponse = conn.call(ApiKey::OffsetCommit, version, &request).await?;
    for t in &response.topics {
        for p in &t.partitions {
            check_code(ApiKey::OffsetCommit, p.error_code, || {
                format!(" for group {group} on {}-{}", t.name.0, p.partition_index)
            })?;
        }
    }
    Ok(())
}

/// The partitions in a consumer-protocol member assignment (DescribeGroups / SyncGroup bytes),
/// as (topic, partitions) pairs. Empty bytes are an empty assignment.
pub fn decode_assignment(bytes: &Bytes) -> Result<Vec<(String, Vec<i32>)>, ClientError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let decode_err = |message: String| ClientError::Decode {
        api: ApiKey::DescribeGroups,
        version: 0,
        message: format!("member assignment: {message}"),
    };
    let mut buf = bytes.clone();
    if buf.remaining() < 2 {
        return Err(decode_err("shorter than its version".to_owned()));
    }
    let version = buf.get_i16().min(ASSIGNMENT_VERSION_MAX);
    if version < 0 {
        return Err(decode_err(format!("negative version {version}")));
    }
    let assignment = ConsumerProtocolAssignment::decode(&mut buf, version).map_err(|e| decode_err(format!("{e:#}")))?;
    Ok(assignment
        .assigned_partitions
        .into_iter()
        .map(|tp| (tp.topic.0.to_string(), tp.partitions))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::{BufMut, BytesMut};
    use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
    use kafka_protocol::protocol::Encodable;

    #[test]
    fn decode_assignment_reads_every_version() {
        for version in 0..=ASSIGNMENT_VERSION_MAX {
            let assignment =
                ConsumerProtocolAssignment::default().with_assigned_partitions(vec![TopicPartition::default()
                    .with_topic(topic_name("t"))
                    .with_partitions(vec![0, 2])]);
            let mut buf = BytesMut::new();
            buf.put_i16(version);
            assignment.encode(&mut buf, version).expect("encodes");
            let decoded = decode_assignment(&buf.freeze()).expect("decodes");
            assert_eq!(decoded, vec![("t".to_owned(), vec![0, 2])], "v{version}");
        }
    }

    #[test]
    fn decode_assignment_empty_and_truncated() {
        assert_eq!(decode_assignment(&Bytes::new()).expect("empty"), vec![]);
        assert!(decode_assignment(&Bytes::from_static(&[0])).is_err());
        assert!(decode_assignment(&Bytes::from_static(&[0, 0, 0, 0, 0, 9])).is_err());
    }
}
