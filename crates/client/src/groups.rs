//! A consumer group's committed offsets: reading them (OffsetFetch) and committing them
//! (OffsetCommit) as a member of the current generation or as a standalone client (generation
//! -1 and no member id, which brokers accept only while the group has no active members), and
//! encoding and decoding consumer-protocol assignments.
//!
//! Both calls go to the group's coordinator. Partition-level error codes fail the call naming
//! the partition; none is retried.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::{ConsumerProtocolAssignment, TopicPartition};
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::{
    ApiKey, GroupId, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

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

/// Who commits: a standalone client, or a member of the group's current generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committer<'a> {
    /// Generation -1 and no member id; a group with active members answers UNKNOWN_MEMBER_ID /
    /// ILLEGAL_GENERATION (Kafka) for such a commit, which fails the call.
    Standalone,
    Member {
        generation_id: i32,
        member_id: &'a str,
    },
}

/// Commits `offsets` for `group`.
pub async fn commit_offsets(
    cluster: &mut Cluster,
    group: &str,
    committer: Committer<'_>,
    offsets: &[CommittedOffset],
) -> Result<(), ClientError> {
    let (generation_id, member_id) = match committer {
        Committer::Standalone => (-1, ""),
        Committer::Member {
            generation_id,
            member_id,
        } => (generation_id, member_id),
    };
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
        .with_generation_id_or_member_epoch(generation_id)
        .with_member_id(StrBytes::from_string(member_id.to_owned()))
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
    let assignment: ConsumerProtocolAssignment = decode_versioned(
        bytes,
        ASSIGNMENT_VERSION_MAX,
        ApiKey::DescribeGroups,
        "member assignment",
    )?;
    Ok(assignment
        .assigned_partitions
        .into_iter()
        .map(|tp| (tp.topic.0.to_string(), tp.partitions))
        .collect())
}

/// A consumer-protocol assignment (version 0) of `partitions` of each topic.
pub fn encode_assignment(partitions: &[(String, Vec<i32>)]) -> Result<Bytes, ClientError> {
    let assignment = ConsumerProtocolAssignment::default().with_assigned_partitions(
        partitions
            .iter()
            .map(|(t, ps)| {
                TopicPartition::default()
                    .with_topic(topic_name(t))
                    .with_partitions(ps.clone())
            })
            .collect(),
    );
    encode_versioned(&assignment, ApiKey::SyncGroup, "member assignment")
}

/// Consumer-protocol payloads (subscriptions, assignments) are an i16 version followed by the
/// struct in that version. A version newer than `version_max` is read as `version_max`, as
/// Kafka's ConsumerProtocol does (fields are only ever appended). `api` and `what` name the
/// payload in errors.
pub fn decode_versioned<T: Decodable>(
    bytes: &Bytes,
    version_max: i16,
    api: ApiKey,
    what: &str,
) -> Result<T, ClientError> {
    let decode_err = |message: String| ClientError::Decode {
        api,
        version: 0,
        message: format!("{what}: {message}"),
    };
    let mut buf = bytes.clone();
    if buf.remaining() < 2 {
        return Err(decode_err("shorter than its version".to_owned()));
    }
    let version = buf.get_i16().min(version_max);
    if version < 0 {
        return Err(decode_err(format!("negative version {version}")));
    }
    T::decode(&mut buf, version).map_err(|e| decode_err(format!("{e:#}")))
}

/// `value` as a version-0 consumer-protocol payload (every client reads version 0).
pub fn encode_versioned<T: Encodable>(value: &T, api: ApiKey, what: &str) -> Result<Bytes, ClientError> {
    let mut buf = BytesMut::new();
    buf.put_i16(0);
    value.encode(&mut buf, 0).map_err(|e| ClientError::Encode {
        api,
        version: 0,
        message: format!("{what}: {e:#}"),
    })?;
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn encode_assignment_round_trips() {
        let parts = vec![("a".to_owned(), vec![1]), ("b".to_owned(), vec![0, 3])];
        assert_eq!(
            decode_assignment(&encode_assignment(&parts).expect("encodes")).expect("decodes"),
            parts
        );
    }

    #[test]
    fn decode_assignment_empty_and_truncated() {
        assert_eq!(decode_assignment(&Bytes::new()).expect("empty"), vec![]);
        assert!(decode_assignment(&Bytes::from_static(&[0])).is_err());
        assert!(decode_assignment(&Bytes::from_static(&[0, 0, 0, 0, 0, 9])).is_err());
    }
}
