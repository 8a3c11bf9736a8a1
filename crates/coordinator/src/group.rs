//! One classic group: JoinGroup, SyncGroup, Heartbeat and LeaveGroup, following the order of
//! checks in Kafka's GroupCoordinator so clients see the error codes they expect.
//!
//! Invariants: `leader_id`, when set, names a member; every static member's instance id maps to
//! its member id in `static_members` and nothing else does; `generation_id` only grows; a member
//! has a parked SyncGroup only in CompletingRebalance.

use std::collections::{BTreeMap, HashMap};

use indexmap::IndexMap;

use crate::consumer::ConsumerGroup;
use crate::effects::{Effects, JoinParams, JoinResult, JoinedMember, SyncParams, SyncResult};
use crate::error::GroupError;
use crate::limits::GroupLimits;
use crate::member::Member;
use crate::offsets::CommittedOffset;
use crate::state::GroupState;

#[derive(Debug)]
pub struct Group {
    pub group_id: String,
    pub state: GroupState,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader_id: Option<String>,
    /// In join order, so leader election and the leader's member list are deterministic.
    pub members: IndexMap<String, Member>,
    /// KIP-394: ids handed out with MEMBER_ID_REQUIRED, with the time they expire unused.
    pub pending_members: BTreeMap<String, i64>,
    /// KIP-345: group.instance.id -> member id.
    pub static_members: HashMap<String, String>,
    /// When the current join phase (PreparingRebalance) or sync phase (CompletingRebalance)
    /// gives up on members that have not answered.
    pub rebalance_deadline_ms: Option<i64>,
    pub offsets: BTreeMap<(String, i32), CommittedOffset>,
    /// Set while the group is a KIP-848 consumer group (created by ConsumerGroupHeartbeat); the
    /// classic fields above then stay Empty. An empty consumer group turns classic again on a
    /// JoinGroup, as Kafka converts empty groups.
    pub consumer: Option<ConsumerGroup>,
    /// When offset expiry first saw the group with no members (None while it has some).
    pub empty_since_ms: Option<i64>,
}

impl Group {
    pub fn new(group_id: String) -> Group {
        Group {
            group_id,
            state: GroupState::Empty,
            generation_id: 0,
            protocol_type: None,
            protocol_name: None,
            leader_id: None,
            members: IndexMap::new(),
            pending_members: BTreeMap::new(),
            static_members: HashMap::new(),
            rebalance_deadline_ms: None,
            offsets: BTreeMap::new(),
            consumer: None,
            empty_since_ms: None,
        }
    }

    /// Checks the invariants in the module doc (debug builds; every test runs them).
    pub fn debug_check_invariants(&self) {
        debug_assert!(
            self.leader_id.as_ref().is_none_or(|l| self.members.contains_key(l)),
            "leader {:?} is not a member of {}",
            self.leader_id,
            self.group_id
        );
        debug_assert!(
            self.static_members.iter().all(|(instance, id)| self
                .members
                .get(id)
                .is_some_and(|m| m.group_instance_id.as_ref() == Some(instance))),
            "static member map of {} names a non-member",
            self.group_id
        );
        debug_assert!(
            self.members.values().all(|m| m
                .group_instance_id
                .as_ref()
                .is_none_or(|i| self.static_members.get(i) == Some(&m.member_id))),
            "static member of {} missing from the instance map",
            self.group_id
        );
        debug_assert!(
            self.state == GroupState::PreparingRebalance || self.members.values().all(|m| m.join_waiter.is_none()),
            "parked JoinGroup outside PreparingRebalance in {}",
            self.group_id
        );
        debug_assert!(
            self.state == GroupState::CompletingRebalance || self.members.values().all(|m| m.sync_waiter.is_none()),
            "parked SyncGroup outside CompletingRebalance in {}",
            self.group_id
        );
        debug_assert!(
            self.state != GroupState::Empty || self.members.is_empty(),
            "Empty group {} has members",
            self.group_id
        );
    }

    /// Nothing left worth keeping: no members, no pending members, no offsets.
    pub fn is_disposable(&self) -> bool {
        self.state == GroupState::Empty
            && self.members.is_empty()
            && self.pending_members.is_empty()
            && self.offsets.is_empty()
            && self.consumer.as_ref().is_none_or(|c| c.members.is_empty())
    }

    /// The state clients see: the consumer group's when it is one, else the classic state.
    pub fn reported_state(&self) -> GroupState {
        self.consumer.as_ref().map_or(self.state, |c| c.state())
    }

    /// Kafka's supportsProtocols: an empty group takes any non-empty type and protocol list;
    /// otherwise the type must match and one protocol must be supported by every member.
    fn supports_protocols(&self, protocol_type: &str, protocols: &[(String, bytes::Bytes)]) -> bool {
        if protocol_type.is_empty() || protocols.is_empty() {
            return false;
        }
        if self.members.is_empty() {
            return true;
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols
                .iter()
                .any(|(name, _)| self.members.values().all(|m| m.supports(name)))
    }

    /// Checks that `member_id` (and its instance id, if static) is a current member.
    pub fn validate_member(&self, member_id: &str, group_instance_id: Option<&str>) -> Result<(), GroupError> {
        if let Some(instance) = group_instance_id {
            match self.static_members.get(instance) {
                Some(owner) if owner != member_id => return Err(GroupError::FencedInstanceId),
                Some(_) => {}
                None => return Err(GroupError::UnknownMemberId),
            }
        }
        if self.members.contains_key(member_id) {
            Ok(())
        } else {
            Err(GroupError::UnknownMemberId)
        }
    }

    pub fn join(
        &mut self,
        p: JoinParams,
        limits: &GroupLimits,
        now_ms: i64,
        fx: &mut Effects,
    ) -> Result<(), GroupError> {
        if self.state == GroupState::Dead {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        let is_pending = self.pending_members.contains_key(&p.member_id);
        if !self.supports_protocols(&p.protocol_type, &p.protocols) {
            return Err(GroupError::InconsistentGroupProtocol);
        }
        if p.member_id.is_empty() {
            return self.join_unknown_member(p, limits, now_ms, fx);
        }
        if is_pending {
            self.pending_members.remove(&p.member_id);
            let member = new_member(&p, p.member_id.clone(), now_ms);
            self.add_member_and_rebalance(member, &p.protocol_type, p.waiter, now_ms, fx);
            return Ok(());
        }
        self.validate_member(&p.member_id, p.group_instance_id.as_deref())?;
        let waiter = p.waiter;
        let is_leader = self.leader_id.as_deref() == Some(p.member_id.as_str());
        let unchanged = self.members[&p.member_id].has_same_protocols(&p.protocols);
        match self.state {
            GroupState::PreparingRebalance => self.update_member_and_rebalance(p, now_ms, fx),
            GroupState::CompletingRebalance if unchanged => {
                // The join response was lost: answer it again. Only the leader gets members.
                let result = self.join_result(&p.member_id, is_leader);
                fx.joins.push((waiter, Ok(result)));
            }
            GroupState::Stable if unchanged && !is_leader => {
                let result = self.join_result(&p.member_id, false);
                fx.joins.push((waiter, Ok(result)));
            }
            GroupState::CompletingRebalance | GroupState::Stable => self.update_member_and_rebalance(p, now_ms, fx),
            GroupState::Empty | GroupState::Dead | GroupState::Assigning | GroupState::Reconciling => {
                return Err(GroupError::UnknownMemberId)
            }
        }
        Ok(())
    }

    fn join_unknown_member(
        &mut self,
        p: JoinParams,
        limits: &GroupLimits,
        now_ms: i64,
        fx: &mut Effects,
    ) -> Result<(), GroupError> {
        if let Some(instance) = &p.group_instance_id {
            if let Some(old_id) = self.static_members.get(instance).cloned() {
                self.replace_static_member(&old_id, p, now_ms, fx);
                return Ok(());
            }
        }
        if self.members.len() + self.pending_members.len() >= limits.max_members_per_group {
            return Err(GroupError::GroupMaxSizeReached(limits.max_members_per_group));
        }
        let member_id = p.new_member_id.clone();
        if p.require_known_member_id && p.group_instance_id.is_none() {
            // KIP-394: remember the id so the rejoin is accepted; it expires with the session.
            let deadline = now_ms.saturating_add(i64::from(p.session_timeout_ms));
            self.pending_members.insert(member_id.clone(), deadline);
            return Err(GroupError::MemberIdRequired { member_id });
        }
        let member = new_member(&p, member_id, now_ms);
        self.add_member_and_rebalance(member, &p.protocol_type, p.waiter, now_ms, fx);
        Ok(())
    }

    /// KIP-345: a known group.instance.id rejoining without a member id takes a new member id;
    /// the old one is fenced. In Stable, when the chosen protocol would not change, the group
    /// keeps its generation and assignment instead of rebalancing.
    fn replace_static_member(&mut self, old_id: &str, p: JoinParams, now_ms: i64, fx: &mut Effects) {
        let Some(mut member) = self.members.shift_remove(old_id) else {
            return;
        };
        if let Some(w) = member.join_waiter.take() {
            fx.joins.push((w, Err(GroupError::FencedInstanceId)));
        }
        if let Some(w) = member.sync_waiter.take() {
            fx.syncs.push((w, Err(GroupError::FencedInstanceId)));
        }
        let new_id = p.new_member_id.clone();
        member.member_id = new_id.clone();
        member.client_id = p.client_id.clone();
        member.client_host = p.client_host.clone();
        member.session_timeout_ms = p.session_timeout_ms;
        member.rebalance_timeout_ms = p.rebalance_timeout_ms;
        member.protocols = p.protocols.clone();
        member.touch(now_ms);
        let was_leader = self.leader_id.as_deref() == Some(old_id);
        if was_leader {
            self.leader_id = Some(new_id.clone());
        }
        if let Some(instance) = &p.group_instance_id {
            self.static_members.insert(instance.clone(), new_id.clone());
        }
        self.members.insert(new_id.clone(), member);
        match self.state {
            GroupState::Stable if self.select_protocol() == self.protocol_name => {
                fx.records.push(self.snapshot_record());
                let mut result = self.join_result(&new_id, false);
                result.skip_assignment = was_leader;
                fx.joins.push((p.waiter, Ok(result)));
            }
            _ => {
                if let Some(m) = self.members.get_mut(&new_id) {
                    m.join_waiter = Some(p.waiter);
                }
                if self.state != GroupState::PreparingRebalance {
                    self.prepare_rebalance(now_ms, fx);
                }
                self.try_complete_join(now_ms, fx);
            }
        }
    }

    fn add_member_and_rebalance(
        &mut self,
        mut member: Member,
        protocol_type: &str,
        waiter: u64,
        now_ms: i64,
        fx: &mut Effects,
    ) {
        member.join_waiter = Some(waiter);
        if self.members.is_empty() {
            self.protocol_type = Some(protocol_type.to_string());
        }
        if self.leader_id.is_none() {
            self.leader_id = Some(member.member_id.clone());
        }
        if let Some(instance) = &member.group_instance_id {
            self.static_members.insert(instance.clone(), member.member_id.clone());
        }
        self.members.insert(member.member_id.clone(), member);
        if self.state != GroupState::PreparingRebalance {
            self.prepare_rebalance(now_ms, fx);
        }
        self.try_complete_join(now_ms, fx);
    }

    fn update_member_and_rebalance(&mut self, p: JoinParams, now_ms: i64, fx: &mut Effects) {
        if let Some(m) = self.members.get_mut(&p.member_id) {
            if let Some(old) = m.join_waiter.replace(p.waiter) {
                // A retried JoinGroup supersedes the earlier one, which the client gave up on.
                fx.joins.push((old, Err(GroupError::RebalanceInProgress)));
            }
            m.protocols = p.protocols;
            m.session_timeout_ms = p.session_timeout_ms;
            m.rebalance_timeout_ms = p.rebalance_timeout_ms;
        }
        if self.state != GroupState::PreparingRebalance {
            self.prepare_rebalance(now_ms, fx);
        }
        self.try_complete_join(now_ms, fx);
    }

    /// The JoinGroup answer for `member_id` in the current generation.
    pub fn join_result(&self, member_id: &str, with_members: bool) -> JoinResult {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        let members = if with_members {
            self.members
                .values()
                .map(|m| JoinedMember {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    metadata: m.metadata(&protocol),
                })
                .collect()
        } else {
            Vec::new()
        };
        JoinResult {
            generation_id: self.generation_id,
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            protocol_name: protocol,
            leader: self.leader_id.clone().unwrap_or_default(),
            member_id: member_id.to_string(),
            skip_assignment: false,
            members,
        }
    }

    pub fn sync(&mut self, p: SyncParams, now_ms: i64, fx: &mut Effects) -> Result<(), GroupError> {
        self.validate_member(&p.member_id, p.group_instance_id.as_deref())?;
        if p.generation_id != self.generation_id {
            return Err(GroupError::IllegalGeneration);
        }
        let type_mismatch = p
            .protocol_type
            .as_ref()
            .is_some_and(|t| Some(t) != self.protocol_type.as_ref());
        let name_mismatch = p
            .protocol_name
            .as_ref()
            .is_some_and(|n| Some(n) != self.protocol_name.as_ref());
        if type_mismatch || name_mismatch {
            return Err(GroupError::InconsistentGroupProtocol);
        }
        match self.state {
            GroupState::Empty | GroupState::Dead | GroupState::Assigning | GroupState::Reconciling => {
                Err(GroupError::UnknownMemberId)
            }
            GroupState::PreparingRebalance => Err(GroupError::RebalanceInProgress),
            GroupState::Stable => {
                let m = &mut self.members[&p.member_id];
                m.touch(now_ms);
                let result = Ok(self.sync_result(&p.member_id));
                fx.syncs.push((p.waiter, result));
                Ok(())
            }
            GroupState::CompletingRebalance => {
                let m = &mut self.members[&p.member_id];
                if let Some(old) = m.sync_waiter.replace(p.waiter) {
                    fx.syncs.push((old, Err(GroupError::RebalanceInProgress)));
                }
                m.has_synced = true;
                m.touch(now_ms);
                if self.leader_id.as_deref() == Some(p.member_id.as_str()) {
                    self.apply_assignment(p.assignments, fx);
                }
                Ok(())
            }
        }
    }

    /// The leader's assignment: store it, persist the generation, answer every parked SyncGroup.
    fn apply_assignment(&mut self, assignments: Vec<(String, bytes::Bytes)>, fx: &mut Effects) {
        let mut by_member: HashMap<String, bytes::Bytes> = assignments.into_iter().collect();
        for m in self.members.values_mut() {
            m.assignment = by_member.remove(&m.member_id).unwrap_or_default();
        }
        self.state = GroupState::Stable;
        self.rebalance_deadline_ms = None;
        fx.records.push(self.snapshot_record());
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let result = self.sync_result(&id);
            if let Some(w) = self.members[&id].sync_waiter {
                fx.syncs.push((w, Ok(result)));
            }
            self.members[&id].sync_waiter = None;
        }
    }

    fn sync_result(&self, member_id: &str) -> SyncResult {
        SyncResult {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            protocol_name: self.protocol_name.clone().unwrap_or_default(),
            assignment: self
                .members
                .get(member_id)
                .map(|m| m.assignment.clone())
                .unwrap_or_default(),
        }
    }

    pub fn heartbeat(
        &mut self,
        member_id: &str,
        group_instance_id: Option<&str>,
        generation_id: i32,
        now_ms: i64,
    ) -> Result<(), GroupError> {
        if self.state == GroupState::Empty {
            return Err(GroupError::UnknownMemberId);
        }
        self.validate_member(member_id, group_instance_id)?;
        if generation_id != self.generation_id {
            return Err(GroupError::IllegalGeneration);
        }
        self.members[member_id].touch(now_ms);
        match self.state {
            GroupState::PreparingRebalance => Err(GroupError::RebalanceInProgress),
            _ => Ok(()),
        }
    }

    /// One member of a LeaveGroup. A static member may leave by instance id alone.
    pub fn leave(
        &mut self,
        member_id: &str,
        group_instance_id: Option<&str>,
        now_ms: i64,
        fx: &mut Effects,
    ) -> Result<(), GroupError> {
        let id = match group_instance_id {
            Some(instance) => match self.static_members.get(instance) {
                Some(owner) if member_id.is_empty() || owner == member_id => owner.clone(),
                Some(_) => return Err(GroupError::FencedInstanceId),
                None => return Err(GroupError::UnknownMemberId),
            },
            None => member_id.to_string(),
        };
        if self.pending_members.remove(&id).is_some() {
            self.try_complete_join(now_ms, fx);
            return Ok(());
        }
        if !self.members.contains_key(&id) {
            return Err(GroupError::UnknownMemberId);
        }
        self.remove_member_and_rebalance(&id, now_ms, fx);
        Ok(())
    }
}

fn new_member(p: &JoinParams, member_id: String, now_ms: i64) -> Member {
    let mut m = Member {
        member_id,
        group_instance_id: p.group_instance_id.clone(),
        client_id: p.client_id.clone(),
        client_host: p.client_host.clone(),
        session_timeout_ms: p.session_timeout_ms,
        rebalance_timeout_ms: p.rebalance_timeout_ms,
        protocols: p.protocols.clone(),
        assignment: bytes::Bytes::new(),
        join_waiter: None,
        sync_waiter: None,
        has_synced: false,
        heartbeat_deadline_ms: 0,
    };
    m.touch(now_ms);
    m
}
