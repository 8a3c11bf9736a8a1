//! The rebalance cycle of a group: entering PreparingRebalance, completing the join phase
//! (new generation, protocol, leader), member removal, and the timers (session expiry, the join
//! and sync phase deadlines).
//!
//! A join phase completes when every member has a parked JoinGroup and no KIP-394 member id is
//! still unused, or at the rebalance timeout (the largest of the members'), when dynamic members
//! that did not rejoin are dropped. A sync phase that reaches its deadline drops the members that
//! never sent SyncGroup and rebalances again, as Kafka does for pending-sync members.

use crate::effects::Effects;
use crate::error::GroupError;
use crate::group::Group;
use crate::record::{GroupSnapshot, MemberSnapshot, Record};
use crate::state::GroupState;

impl Group {
    pub(crate) fn prepare_rebalance(&mut self, now_ms: i64, fx: &mut Effects) {
        if self.state == GroupState::CompletingRebalance {
            // The assignment being computed is for a membership that no longer holds.
            for m in self.members.values_mut() {
                m.assignment = bytes::Bytes::new();
                if let Some(w) = m.sync_waiter.take() {
                    fx.syncs.push((w, Err(GroupError::RebalanceInProgress)));
                }
            }
        }
        let timeout = self.members.values().map(|m| m.rebalance_timeout_ms).max().unwrap_or(0);
        self.state = GroupState::PreparingRebalance;
        self.rebalance_deadline_ms = Some(now_ms.saturating_add(i64::from(timeout)));
    }

    pub(crate) fn try_complete_join(&mut self, now_ms: i64, fx: &mut Effects) {
        let all_joined = self.members.values().all(|m| m.join_waiter.is_some()) && self.pending_members.is_empty();
        if self.state == GroupState::PreparingRebalance && all_joined {
            self.complete_join(now_ms, fx);
        }
    }

    /// Kafka's selectProtocol: among the protocols every member supports, the one most members
    /// list first among those; ties go to the earliest in the first member's list.
    pub(crate) fn select_protocol(&self) -> Option<String> {
        let first = self.members.values().next()?;
        let candidates: Vec<&str> = first
            .protocols
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| self.members.values().all(|m| m.supports(n)))
            .collect();
        let mut best: Option<(&str, usize)> = None;
        for c in &candidates {
            let votes = self
                .members
                .values()
                .filter(|m| {
                    m.protocols
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .find(|n| candidates.contains(n))
                        == Some(c)
                })
                .count();
            if best.is_none_or(|(_, v)| votes > v) {
                best = Some((c, votes));
            }
        }
        best.map(|(c, _)| c.to_string())
    }

    fn complete_join(&mut self, now_ms: i64, fx: &mut Effects) {
        self.pending_members.clear();
        self.generation_id = self.generation_id.saturating_add(1);
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.protocol_name = None;
            self.leader_id = None;
            self.rebalance_deadline_ms = None;
            fx.records.push(self.snapshot_record());
            return;
        }
        self.protocol_name = self.select_protocol();
        let leader_ok = self.leader_id.as_ref().is_some_and(|l| self.members.contains_key(l));
        if !leader_ok {
            self.leader_id = self.members.keys().next().cloned();
        }
        self.state = GroupState::CompletingRebalance;
        let timeout = self.members.values().map(|m| m.rebalance_timeout_ms).max().unwrap_or(0);
        self.rebalance_deadline_ms = Some(now_ms.saturating_add(i64::from(timeout)));
        let leader = self.leader_id.clone().unwrap_or_default();
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let result = self.join_result(&id, id == leader);
            let m = &mut self.members[&id];
            m.has_synced = false;
            m.touch(now_ms);
            if let Some(w) = m.join_waiter.take() {
                fx.joins.push((w, Ok(result)));
            }
        }
    }

    /// Removes a member (left, expired or dropped by a phase deadline) and rebalances the rest.
    pub(crate) fn remove_member_and_rebalance(&mut self, member_id: &str, now_ms: i64, fx: &mut Effects) {
        let Some(m) = self.members.shift_remove(member_id) else {
            return;
        };
        if let Some(w) = m.join_waiter {
            fx.joins.push((w, Err(GroupError::UnknownMemberId)));
        }
        if let Some(w) = m.sync_waiter {
            fx.syncs.push((w, Err(GroupError::UnknownMemberId)));
        }
        if let Some(instance) = &m.group_instance_id {
            self.static_members.remove(instance);
        }
        if self.leader_id.as_deref() == Some(member_id) {
            self.leader_id = self.members.keys().next().cloned();
        }
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(now_ms, fx);
                self.try_complete_join(now_ms, fx);
            }
            GroupState::PreparingRebalance => self.try_complete_join(now_ms, fx),
            GroupState::Empty | GroupState::Dead | GroupState::Assigning | GroupState::Reconciling => {}
        }
    }

    /// Applies every timer that has fired by `now_ms`.
    pub fn tick(&mut self, now_ms: i64, fx: &mut Effects) {
        let before = self.pending_members.len();
        self.pending_members.retain(|_, deadline| *deadline > now_ms);
        if self.pending_members.len() != before {
            self.try_complete_join(now_ms, fx);
        }
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| m.has_expired(now_ms))
            .map(|m| m.member_id.clone())
            .collect();
        for id in expired {
            self.remove_member_and_rebalance(&id, now_ms, fx);
        }
        let Some(deadline) = self.rebalance_deadline_ms else {
            return;
        };
        if now_ms < deadline {
            return;
        }
        match self.state {
            GroupState::PreparingRebalance => {
                // Dynamic members that did not rejoin in time are dropped; static ones stay
                // (KIP-345) and get their assignment when they come back.
                let late: Vec<String> = self
                    .members
                    .values()
                    .filter(|m| m.join_waiter.is_none() && m.group_instance_id.is_none())
                    .map(|m| m.member_id.clone())
                    .collect();
                for id in late {
                    self.members.shift_remove(&id);
                    if self.leader_id.as_deref() == Some(id.as_str()) {
                        self.leader_id = None;
                    }
                }
                self.pending_members.clear();
                self.complete_join(now_ms, fx);
            }
            GroupState::CompletingRebalance => {
                let unsynced: Vec<String> = self
                    .members
                    .values()
                    .filter(|m| !m.has_synced)
                    .map(|m| m.member_id.clone())
                    .collect();
                for id in unsynced {
                    self.remove_member_and_rebalance(&id, now_ms, fx);
                }
                if self.state == GroupState::CompletingRebalance {
                    // Everyone synced but the leader never sent the assignment.
                    self.prepare_rebalance(now_ms, fx);
                    self.try_complete_join(now_ms, fx);
                }
            }
            _ => self.rebalance_deadline_ms = None,
        }
    }

    /// Answers every parked request with `err` (coordinator shutting down).
    pub fn fail_waiters(&mut self, err: &GroupError, fx: &mut Effects) {
        for m in self.members.values_mut() {
            if let Some(w) = m.join_waiter.take() {
                fx.joins.push((w, Err(err.clone())));
            }
            if let Some(w) = m.sync_waiter.take() {
                fx.syncs.push((w, Err(err.clone())));
            }
        }
    }

    /// The group metadata record written after a completed rebalance.
    pub(crate) fn snapshot_record(&self) -> Record {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        Record::Group {
            group_id: self.group_id.clone(),
            snapshot: Some(GroupSnapshot {
                protocol_type: self.protocol_type.clone().unwrap_or_default(),
                generation_id: self.generation_id,
                protocol_name: self.protocol_name.clone(),
                leader: self.leader_id.clone(),
                members: self
                    .members
                    .values()
                    .map(|m| MemberSnapshot {
                        member_id: m.member_id.clone(),
                        group_instance_id: m.group_instance_id.clone(),
                        client_id: m.client_id.clone(),
                        client_host: m.client_host.clone(),
                        session_timeout_ms: m.session_timeout_ms,
                        rebalance_timeout_ms: m.rebalance_timeout_ms,
                        subscription: m.metadata(&protocol),
                        assignment: m.assignment.clone(),
                    })
                    .collect(),
            }),
        }
    }
}
