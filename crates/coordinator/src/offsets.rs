//! Committed offsets of a group: which commits are accepted (Kafka's validateOffsetCommit for
//! classic groups), the per-partition bounds, and OffsetDelete's subscription check.
//!
//! A commit with generation_id < 0 and no member id comes from a consumer that manages its own
//! partitions (assign()); it is accepted only while the group has no members, so it cannot
//! overwrite the progress of a live group.

use bytes::Buf;
use kafka_protocol::messages::ConsumerProtocolSubscription;
use kafka_protocol::protocol::Decodable;

use crate::consumer::ConsumerGroup;
use crate::effects::Effects;
use crate::error::GroupError;
use crate::group::Group;
use crate::limits::GroupLimits;
use crate::record::Record;
use crate::state::GroupState;

/// One committed offset, as OffsetFetch returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp_ms: i64,
}

/// Who commits: a member of the group's generation, or a standalone consumer (generation -1,
/// empty member id).
#[derive(Debug, Clone, Copy)]
pub struct Committer<'a> {
    pub group_id: &'a str,
    pub member_id: &'a str,
    pub group_instance_id: Option<&'a str>,
    pub generation_id: i32,
}

impl<'a> Committer<'a> {
    pub fn new(group_id: &'a str, member_id: &'a str, group_instance_id: Option<&'a str>, generation_id: i32) -> Self {
        Committer {
            group_id,
            member_id,
            group_instance_id,
            generation_id,
        }
    }
}

/// One partition of an OffsetCommit.
#[derive(Debug, Clone)]
pub struct OffsetCommit {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
}

impl Group {
    /// Group-level checks of an OffsetCommit; per-partition checks are in [`Group::commit`].
    pub fn validate_commit(
        &self,
        member_id: &str,
        group_instance_id: Option<&str>,
        generation_id: i32,
    ) -> Result<(), GroupError> {
        if self.state == GroupState::Dead {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        if let Some(c) = &self.consumer {
            return validate_consumer_commit(c, member_id, generation_id);
        }
        if generation_id < 0 && self.state == GroupState::Empty {
            return Ok(());
        }
        if let Some(instance) = group_instance_id {
            if self
                .static_members
                .get(instance)
                .is_some_and(|owner| owner != member_id)
            {
                return Err(GroupError::FencedInstanceId);
            }
        }
        if generation_id >= 0 && self.state == GroupState::CompletingRebalance {
            return Err(GroupError::RebalanceInProgress);
        }
        if !self.members.contains_key(member_id) {
            return Err(GroupError::UnknownMemberId);
        }
        if generation_id != self.generation_id {
            return Err(GroupError::IllegalGeneration);
        }
        Ok(())
    }

    /// Stores each accepted partition's offset and emits its record; returns one result per
    /// partition, in order.
    pub fn commit(
        &mut self,
        member_id: &str,
        commits: Vec<OffsetCommit>,
        limits: &GroupLimits,
        now_ms: i64,
        fx: &mut Effects,
    ) -> Vec<Result<(), GroupError>> {
        if let Some(m) = self.members.get_mut(member_id) {
            m.touch(now_ms);
        }
        commits
            .into_iter()
            .map(|c| {
                if c.metadata.len() > limits.max_offset_metadata_bytes {
                    return Err(GroupError::OffsetMetadataTooLarge {
                        len: c.metadata.len(),
                        max: limits.max_offset_metadata_bytes,
                    });
                }
                let key = (c.topic, c.partition);
                if !self.offsets.contains_key(&key) && self.offsets.len() >= limits.max_offsets_per_group {
                    return Err(GroupError::OffsetLimitReached(limits.max_offsets_per_group));
                }
                let value = CommittedOffset {
                    offset: c.offset,
                    leader_epoch: c.leader_epoch,
                    metadata: c.metadata,
                    commit_timestamp_ms: now_ms,
                };
                fx.records.push(Record::Offset {
                    group_id: self.group_id.clone(),
                    topic: key.0.clone(),
                    partition: key.1,
                    offset: Some(value.clone()),
                });
                self.offsets.insert(key, value);
                Ok(())
            })
            .collect()
    }

    /// Removes every offset and emits their tombstones (DeleteGroups).
    pub fn delete_all_offsets(&mut self, fx: &mut Effects) {
        for (topic, partition) in std::mem::take(&mut self.offsets).into_keys() {
            fx.records.push(Record::Offset {
                group_id: self.group_id.clone(),
                topic,
                partition,
                offset: None,
            });
        }
    }

    /// OffsetDelete of one partition: refused while a live member subscribes to the topic.
    pub fn delete_offset(&mut self, topic: &str, partition: i32, fx: &mut Effects) -> Result<(), GroupError> {
        let live = self.state != GroupState::Empty || self.reported_state() != GroupState::Empty;
        if live && self.is_subscribed_to(topic) {
            return Err(GroupError::GroupSubscribedToTopic);
        }
        if self.offsets.remove(&(topic.to_string(), partition)).is_some() {
            fx.records.push(Record::Offset {
                group_id: self.group_id.clone(),
                topic: topic.to_string(),
                partition,
                offset: None,
            });
        }
        Ok(())
    }

    /// Offset expiry (KIP-211): a group with no members loses offsets older than `retention_ms`
    /// counted from both the commit and the time it was first seen empty; a group with members
    /// loses only offsets of topics none of them subscribes to, counted from the commit. Emits a
    /// tombstone per expired offset; returns how many expired.
    pub fn expire_offsets(&mut self, now_ms: i64, retention_ms: i64, fx: &mut Effects) -> usize {
        let has_members = !self.members.is_empty() || self.consumer.as_ref().is_some_and(|c| !c.members.is_empty());
        let empty_since = if has_members {
            self.empty_since_ms = None;
            None
        } else {
            Some(*self.empty_since_ms.get_or_insert(now_ms))
        };
        let expired: Vec<(String, i32)> = self
            .offsets
            .iter()
            .filter(|((topic, _), o)| {
                let since = match empty_since {
                    Some(empty) => empty.max(o.commit_timestamp_ms),
                    None if !self.is_subscribed_to(topic) => o.commit_timestamp_ms,
                    None => return false,
                };
                now_ms >= since.saturating_add(retention_ms)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for (topic, partition) in &expired {
            self.offsets.remove(&(topic.clone(), *partition));
            fx.records.push(Record::Offset {
                group_id: self.group_id.clone(),
                topic: topic.clone(),
                partition: *partition,
                offset: None,
            });
        }
        expired.len()
    }

    /// Whether any member's consumer-protocol subscription names `topic`. A group of another
    /// protocol type, or a subscription that does not decode, counts as subscribed, as in Kafka.
    pub fn is_subscribed_to(&self, topic: &str) -> bool {
        if let Some(c) = &self.consumer {
            return c.members.values().any(|m| m.subscribed_topic_names.contains(topic));
        }
        if self.protocol_type.as_deref() != Some("consumer") {
            return true;
        }
        let protocol = self.protocol_name.clone().unwrap_or_default();
        self.members
            .values()
            .any(|m| match subscribed_topics(&m.metadata(&protocol)) {
                Some(topics) => topics.iter().any(|t| t == topic),
                None => true,
            })
    }
}

/// KIP-848 commits carry the member epoch in place of the generation. Kafka requires the
/// member's current epoch; the previous one is accepted too, so a commit racing the heartbeat
/// that moved the member to a new epoch (same member, same partitions until it revokes) is not
/// refused. A standalone commit (no member id, negative epoch) is accepted only while the group
/// has no members, as for classic groups.
fn validate_consumer_commit(c: &ConsumerGroup, member_id: &str, member_epoch: i32) -> Result<(), GroupError> {
    if member_epoch < 0 && member_id.is_empty() {
        return if c.members.is_empty() {
            Ok(())
        } else {
            Err(GroupError::UnknownMemberId)
        };
    }
    let m = c.members.get(member_id).ok_or(GroupError::UnknownMemberId)?;
    if member_epoch != m.member_epoch && member_epoch != m.previous_member_epoch {
        return Err(GroupError::StaleMemberEpoch);
    }
    Ok(())
}

/// Topics in a ConsumerProtocolSubscription (an i16 version, then the body at that version).
fn subscribed_topics(metadata: &bytes::Bytes) -> Option<Vec<String>> {
    let mut b = metadata.clone();
    if b.remaining() < 2 {
        return None;
    }
    let version = b.get_i16();
    // Versions newer than the codec knows keep the v3 layout for the fields read here.
    let s = ConsumerProtocolSubscription::decode(&mut b, version.clamp(0, 3)).ok()?;
    Some(s.topics.into_iter().map(|t| t.to_string()).collect())
}
