//! `GroupCoordinator`: every group this broker coordinates, the group-count bound, and the
//! operations that find or create a group before handing over to it. Also rebuilds state from
//! the internal log's records at start-up.
//!
//! Groups are created by a JoinGroup without a member id or by a standalone OffsetCommit, and
//! dropped once Empty with no offsets (Kafka's group expiry) or by DeleteGroups.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::consumer::heartbeat::TopicLookup;
use crate::consumer::{
    ConsumerGroup, ConsumerGroupDescription, ConsumerHeartbeat, ConsumerHeartbeatResult, CONSUMER_PROTOCOL_TYPE,
};
use crate::effects::{Effects, JoinParams, SyncParams};
use crate::error::GroupError;
use crate::group::Group;
use crate::limits::GroupLimits;
use crate::member::Member;
use crate::offsets::{CommittedOffset, Committer, OffsetCommit};
use crate::record::{GroupSnapshot, Record};
use crate::state::GroupState;

/// ListGroups' view of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub group_id: String,
    pub protocol_type: String,
    pub state: GroupState,
    /// ListGroups v5 (KIP-848): "classic" or "consumer".
    pub group_type: &'static str,
}

/// ListGroups v5's type of a classic-protocol group.
pub const CLASSIC_GROUP_TYPE: &str = "classic";

/// DescribeGroups' view of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub group_id: String,
    pub state: GroupState,
    pub protocol_type: String,
    /// The chosen protocol, only while Stable (as Kafka reports it).
    pub protocol_name: String,
    pub members: Vec<MemberDescription>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// Metadata and assignment are only filled while Stable.
    pub metadata: Bytes,
    pub assignment: Bytes,
}

#[derive(Debug, Default)]
pub struct GroupCoordinator {
    pub(crate) groups: BTreeMap<String, Group>,
    limits: GroupLimits,
    /// When offset expiry next runs (0: at the first tick).
    next_offsets_expiry_ms: i64,
}

impl GroupCoordinator {
    pub fn new(limits: GroupLimits) -> GroupCoordinator {
        GroupCoordinator {
            groups: BTreeMap::new(),
            limits,
            next_offsets_expiry_ms: 0,
        }
    }

    pub fn limits(&self) -> &GroupLimits {
        &self.limits
    }

    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    pub(crate) fn get_or_create(&mut self, group_id: &str) -> Result<&mut Group, GroupError> {
        if !self.groups.contains_key(group_id) {
            if self.groups.len() >= self.limits.max_groups {
                return Err(GroupError::GroupLimitReached(self.limits.max_groups));
            }
            self.groups
                .insert(group_id.to_string(), Group::new(group_id.to_string()));
        }
        Ok(self.groups.get_mut(group_id).expect("inserted above"))
    }

    pub fn join(&mut self, p: JoinParams, now_ms: i64, fx: &mut Effects) -> Result<(), GroupError> {
        if p.group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        let l = &self.limits;
        if p.session_timeout_ms < l.min_session_timeout_ms || p.session_timeout_ms > l.max_session_timeout_ms {
            return Err(GroupError::InvalidSessionTimeout(p.session_timeout_ms));
        }
        let limits = self.limits.clone();
        let group = if p.member_id.is_empty() {
            self.get_or_create(&p.group_id)?
        } else {
            self.groups.get_mut(&p.group_id).ok_or(GroupError::UnknownMemberId)?
        };
        if let Some(c) = &group.consumer {
            if !c.members.is_empty() {
                return Err(GroupError::InconsistentGroupProtocol);
            }
            // An empty consumer group turns classic (Kafka converts empty groups on JoinGroup).
            group.consumer = None;
        }
        let generation = group.generation_id;
        let out = group.join(p, &limits, now_ms, fx);
        group.debug_check_invariants();
        debug_assert!(group.generation_id >= generation, "generation went backwards");
        out
    }

    pub fn sync(&mut self, p: SyncParams, now_ms: i64, fx: &mut Effects) -> Result<(), GroupError> {
        let group = self.groups.get_mut(&p.group_id).ok_or(GroupError::UnknownMemberId)?;
        let out = group.sync(p, now_ms, fx);
        group.debug_check_invariants();
        out
    }

    pub fn heartbeat(
        &mut self,
        group_id: &str,
        member_id: &str,
        group_instance_id: Option<&str>,
        generation_id: i32,
        now_ms: i64,
    ) -> Result<(), GroupError> {
        let group = self.groups.get_mut(group_id).ok_or(GroupError::UnknownMemberId)?;
        group.heartbeat(member_id, group_instance_id, generation_id, now_ms)
    }

    /// LeaveGroup: one result per (member id, instance id), in order. An unknown group answers
    /// UNKNOWN_MEMBER_ID for each member, as Kafka does.
    pub fn leave(
        &mut self,
        group_id: &str,
        members: &[(String, Option<String>)],
        now_ms: i64,
        fx: &mut Effects,
    ) -> Vec<Result<(), GroupError>> {
        let Some(group) = self.groups.get_mut(group_id) else {
            return members.iter().map(|_| Err(GroupError::UnknownMemberId)).collect();
        };
        let out = members
            .iter()
            .map(|(id, instance)| group.leave(id, instance.as_deref(), now_ms, fx))
            .collect();
        group.debug_check_invariants();
        out
    }

    /// ConsumerGroupHeartbeat (KIP-848). `lookup` resolves subscribed topic names.
    pub fn consumer_heartbeat(
        &mut self,
        p: ConsumerHeartbeat,
        lookup: TopicLookup<'_>,
        now_ms: i64,
    ) -> Result<ConsumerHeartbeatResult, GroupError> {
        p.validate()?;
        let limits = self.limits.clone();
        let group = if p.member_epoch == 0 {
            self.get_or_create(&p.group_id)?
        } else {
            self.groups.get_mut(&p.group_id).ok_or(GroupError::UnknownMemberId)?
        };
        if group.consumer.is_none() {
            if !group.members.is_empty() || !group.pending_members.is_empty() {
                return Err(GroupError::NotConsumerGroup);
            }
            if p.member_epoch != 0 {
                return Err(GroupError::UnknownMemberId);
            }
            group.consumer = Some(ConsumerGroup::default());
        }
        let c = group.consumer.as_mut().expect("set above");
        let out = c.heartbeat(p, &limits, lookup, now_ms);
        c.debug_check_invariants();
        out
    }

    /// ConsumerGroupDescribe of one group: None if there is no such KIP-848 group.
    pub fn describe_consumer_group(&self, group_id: &str) -> Option<ConsumerGroupDescription> {
        let g = self.groups.get(group_id)?;
        g.consumer.as_ref().map(|c| c.describe(group_id))
    }

    /// OffsetCommit: a group-level error, or one result per partition.
    pub fn commit_offsets(
        &mut self,
        who: &Committer<'_>,
        commits: Vec<OffsetCommit>,
        now_ms: i64,
        fx: &mut Effects,
    ) -> Result<Vec<Result<(), GroupError>>, GroupError> {
        let Committer {
            group_id,
            member_id,
            group_instance_id,
            generation_id,
        } = *who;
        if group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        let limits = self.limits.clone();
        let group = if self.groups.contains_key(group_id) {
            self.groups.get_mut(group_id).expect("checked above")
        } else if generation_id < 0 {
            // Not relying on group management: the commit creates the group (Kafka does too).
            self.get_or_create(group_id)?
        } else {
            return Err(GroupError::IllegalGeneration);
        };
        group.validate_commit(member_id, group_instance_id, generation_id)?;
        Ok(group.commit(member_id, commits, &limits, now_ms, fx))
    }

    /// The committed offset of each requested partition (`None` if none); `topics: None` means
    /// every partition the group has committed, sorted by topic then partition.
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        topics: Option<&[(String, Vec<i32>)]>,
    ) -> Vec<(String, i32, Option<CommittedOffset>)> {
        let group = self.groups.get(group_id);
        match topics {
            None => group
                .map(|g| {
                    g.offsets
                        .iter()
                        .map(|((t, p), o)| (t.clone(), *p, Some(o.clone())))
                        .collect()
                })
                .unwrap_or_default(),
            Some(topics) => topics
                .iter()
                .flat_map(|(t, parts)| {
                    parts.iter().map(move |p| {
                        let o = group.and_then(|g| g.offsets.get(&(t.clone(), *p)).cloned());
                        (t.clone(), *p, o)
                    })
                })
                .collect(),
        }
    }

    /// The lowest offset committed for `topic`/`partition` by `group`, or by any group when
    /// `group` is None: where the slowest consumer resumes. None if nobody committed one.
    pub fn min_committed_offset(&self, topic: &str, partition: i32, group: Option<&str>) -> Option<i64> {
        let key = (topic.to_string(), partition);
        match group {
            Some(g) => self.groups.get(g)?.offsets.get(&key).map(|o| o.offset),
            None => self
                .groups
                .values()
                .filter_map(|g| g.offsets.get(&key).map(|o| o.offset))
                .min(),
        }
    }

    /// Every committed offset of every group as (group, topic, partition, offset), sorted by
    /// group, then topic and partition (consumer lag for /metrics).
    pub fn committed_offsets(&self) -> impl Iterator<Item = (&str, &str, i32, i64)> + '_ {
        self.groups.values().flat_map(|g| {
            g.offsets
                .iter()
                .map(move |((t, p), o)| (g.group_id.as_str(), t.as_str(), *p, o.offset))
        })
    }

    /// ListGroups, filtered by state names (case-insensitive; empty = all).
    pub fn list_groups(&self, states: &[String]) -> Vec<GroupListing> {
        self.groups
            .values()
            .filter(|g| states.is_empty() || states.iter().any(|s| s.eq_ignore_ascii_case(g.reported_state().name())))
            .map(|g| GroupListing {
                group_id: g.group_id.clone(),
                protocol_type: match g.consumer {
                    Some(_) => CONSUMER_PROTOCOL_TYPE.to_string(),
                    None => g.protocol_type.clone().unwrap_or_default(),
                },
                state: g.reported_state(),
                group_type: if g.consumer.is_some() {
                    CONSUMER_PROTOCOL_TYPE
                } else {
                    CLASSIC_GROUP_TYPE
                },
            })
            .collect()
    }

    pub fn describe_group(&self, group_id: &str) -> Option<GroupDescription> {
        let g = self.groups.get(group_id)?;
        if let Some(c) = &g.consumer {
            // A consumer group seen through DescribeGroups: state and members, no classic
            // metadata or assignment bytes (ConsumerGroupDescribe has the assignments).
            return Some(GroupDescription {
                group_id: g.group_id.clone(),
                state: c.state(),
                protocol_type: CONSUMER_PROTOCOL_TYPE.to_string(),
                protocol_name: c.assignor_name.clone(),
                members: c
                    .members
                    .values()
                    .map(|m| MemberDescription {
                        member_id: m.member_id.clone(),
                        group_instance_id: m.instance_id.clone(),
                        client_id: m.client_id.clone(),
                        client_host: m.client_host.clone(),
                        metadata: Bytes::new(),
                        assignment: Bytes::new(),
                    })
                    .collect(),
            });
        }
        let stable = g.state == GroupState::Stable;
        let protocol = if stable {
            g.protocol_name.clone().unwrap_or_default()
        } else {
            String::new()
        };
        Some(GroupDescription {
            group_id: g.group_id.clone(),
            state: g.state,
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            members: g
                .members
                .values()
                .map(|m| MemberDescription {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: if stable { m.metadata(&protocol) } else { Bytes::new() },
                    assignment: if stable { m.assignment.clone() } else { Bytes::new() },
                })
                .collect(),
            protocol_name: protocol,
        })
    }

    /// DeleteGroups of one group: only an Empty group (Kafka: NON_EMPTY_GROUP otherwise).
    pub fn delete_group(&mut self, group_id: &str, fx: &mut Effects) -> Result<(), GroupError> {
        let group = self.groups.get_mut(group_id).ok_or(GroupError::GroupIdNotFound)?;
        if group.reported_state() != GroupState::Empty || !group.members.is_empty() {
            return Err(GroupError::NonEmptyGroup);
        }
        group.delete_all_offsets(fx);
        fx.records.push(Record::Group {
            group_id: group_id.to_string(),
            snapshot: None,
        });
        self.groups.remove(group_id);
        Ok(())
    }

    /// OffsetDelete: a group-level error, or one result per (topic, partition).
    pub fn delete_offsets(
        &mut self,
        group_id: &str,
        partitions: &[(String, i32)],
        fx: &mut Effects,
    ) -> Result<Vec<Result<(), GroupError>>, GroupError> {
        let group = self.groups.get_mut(group_id).ok_or(GroupError::GroupIdNotFound)?;
        let consumer_protocol = group.consumer.is_some() || group.protocol_type.as_deref() == Some("consumer");
        if group.reported_state() != GroupState::Empty && !consumer_protocol {
            return Err(GroupError::NonEmptyGroup);
        }
        Ok(partitions.iter().map(|(t, p)| group.delete_offset(t, *p, fx)).collect())
    }

    /// Fires every timer due by `now_ms` (sessions, rebalance deadlines, offset expiry every
    /// offsets.retention.check.interval.ms) and forgets groups left with nothing.
    pub fn tick(&mut self, now_ms: i64, fx: &mut Effects) {
        if now_ms >= self.next_offsets_expiry_ms {
            self.next_offsets_expiry_ms = now_ms + self.limits.offsets_retention_check_interval_ms;
            for g in self.groups.values_mut() {
                g.expire_offsets(now_ms, self.limits.offsets_retention_ms, fx);
            }
        }
        for g in self.groups.values_mut() {
            if let Some(c) = g.consumer.as_mut() {
                c.tick(now_ms);
                c.debug_check_invariants();
                continue;
            }
            let generation = g.generation_id;
            g.tick(now_ms, fx);
            g.debug_check_invariants();
            debug_assert!(g.generation_id >= generation, "generation went backwards");
        }
        self.groups.retain(|_, g| !g.is_disposable());
    }

    /// Answers every parked request with COORDINATOR_NOT_AVAILABLE (shutdown); clients retry
    /// against the restarted broker.
    pub fn fail_all_waiters(&mut self, fx: &mut Effects) {
        for g in self.groups.values_mut() {
            g.fail_waiters(&GroupError::CoordinatorNotAvailable, fx);
        }
    }

    /// Applies one record of the internal log at start-up. Limits are not applied: what was
    /// accepted and made durable is never dropped. Restored groups with members come back
    /// Stable with fresh session deadlines, as in Kafka, so members that are gone expire and
    /// members that are alive carry on without a rebalance.
    pub fn replay(&mut self, record: Record, now_ms: i64) {
        match record {
            Record::Offset {
                group_id,
                topic,
                partition,
                offset,
            } => {
                let group = self
                    .groups
                    .entry(group_id.clone())
                    .or_insert_with(|| Group::new(group_id));
                match offset {
                    Some(o) => {
                        group.offsets.insert((topic, partition), o);
                    }
                    None => {
                        group.offsets.remove(&(topic, partition));
                    }
                }
            }
            Record::Group {
                group_id,
                snapshot: None,
            } => {
                self.groups.remove(&group_id);
            }
            Record::Group {
                group_id,
                snapshot: Some(s),
            } => {
                let group = self
                    .groups
                    .entry(group_id.clone())
                    .or_insert_with(|| Group::new(group_id));
                restore(group, s, now_ms);
            }
        }
    }

    /// Drops groups that replay left with nothing (all offsets deleted, Empty).
    pub fn finish_replay(&mut self) {
        self.groups.retain(|_, g| !g.is_disposable());
    }
}

fn restore(group: &mut Group, s: GroupSnapshot, now_ms: i64) {
    group.generation_id = s.generation_id;
    group.protocol_type = Some(s.protocol_type).filter(|t| !t.is_empty());
    group.members.clear();
    group.static_members.clear();
    group.pending_members.clear();
    group.rebalance_deadline_ms = None;
    let protocol = s.protocol_name.clone().unwrap_or_default();
    for m in s.members {
        if let Some(instance) = &m.group_instance_id {
            group.static_members.insert(instance.clone(), m.member_id.clone());
        }
        let mut member = Member {
            member_id: m.member_id.clone(),
            group_instance_id: m.group_instance_id,
            client_id: m.client_id,
            client_host: m.client_host,
            session_timeout_ms: m.session_timeout_ms,
            rebalance_timeout_ms: m.rebalance_timeout_ms,
            protocols: vec![(protocol.clone(), m.subscription)],
            assignment: m.assignment,
            join_waiter: None,
            sync_waiter: None,
            has_synced: true,
            heartbeat_deadline_ms: 0,
        };
        member.touch(now_ms);
        group.members.insert(m.member_id, member);
    }
    group.protocol_name = s.protocol_name;
    group.leader_id = s.leader.filter(|l| group.members.contains_key(l));
    group.state = if group.members.is_empty() {
        GroupState::Empty
    } else {
        GroupState::Stable
    };
}
