//! ConsumerGroupHeartbeat (KIP-848) on one consumer group: joining (epoch 0), leaving (-1, or -2
//! for a static member that will come back), and the regular heartbeat that carries
//! subscription changes and revocation acknowledgements; plus the session and revocation timers.
//!
//! The order of checks follows Kafka's GroupMetadataManager.consumerGroupHeartbeat so clients
//! see the error codes they expect: an epoch ahead of the member's, or behind it without being
//! its previous epoch, is FENCED_MEMBER_EPOCH; an unknown member is UNKNOWN_MEMBER_ID; a static
//! instance id held by a live member is UNRELEASED_INSTANCE_ID.

use std::collections::{BTreeMap, BTreeSet};

use super::assignor::{self, AssignmentSpec, TopicMetadata, ASSIGNORS};
use super::member::{ConsumerMember, LEAVE_GROUP_MEMBER_EPOCH, LEAVE_GROUP_STATIC_MEMBER_EPOCH};
use super::reconcile::{owners, reconcile};
use super::{Assignment, ConsumerGroup};
use crate::error::GroupError;
use crate::limits::GroupLimits;

/// A ConsumerGroupHeartbeat, in the coordinator's terms. `None` fields did not change since
/// the member's last heartbeat.
#[derive(Debug, Clone, Default)]
pub struct ConsumerHeartbeat {
    pub group_id: String,
    /// Empty when the client leaves it to the broker (v0); from v1 the client generates it.
    pub member_id: String,
    pub member_epoch: i32,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    /// -1: unchanged.
    pub rebalance_timeout_ms: i32,
    pub subscribed_topic_names: Option<Vec<String>>,
    pub server_assignor: Option<String>,
    /// The partitions the member owns now.
    pub owned: Option<Assignment>,
    pub client_id: String,
    pub client_host: String,
    /// The id given to the member if this join creates one; the caller makes it unique.
    pub new_member_id: String,
}

/// The answer to a ConsumerGroupHeartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerHeartbeatResult {
    pub member_id: String,
    pub member_epoch: i32,
    pub heartbeat_interval_ms: i32,
    /// The member's full assignment, when it changed or the member asked (joined or listed what
    /// it owns); None otherwise.
    pub assignment: Option<Assignment>,
}

/// Looks a topic up by name: its id and partition count, or None if it does not exist.
pub type TopicLookup<'a> = &'a dyn Fn(&str) -> Option<TopicMetadata>;

impl ConsumerHeartbeat {
    /// Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid, with INVALID_REQUEST's message.
    pub fn validate(&self) -> Result<(), GroupError> {
        let invalid = |why: &str| Err(GroupError::InvalidRequest(why.to_string()));
        if self.group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        match self.member_epoch {
            0 => {
                if self.rebalance_timeout_ms < 0 {
                    return invalid("RebalanceTimeoutMs must be provided in the first request");
                }
                if self.subscribed_topic_names.is_none() {
                    return invalid("SubscribedTopicNames must be set in the first request");
                }
                if self.owned.as_ref().is_some_and(|o| !o.is_empty()) {
                    return invalid("TopicPartitions must be empty when (re-)joining");
                }
            }
            LEAVE_GROUP_STATIC_MEMBER_EPOCH if self.instance_id.is_none() => {
                return invalid("InstanceId can't be null when leaving with epoch -2");
            }
            e if e < LEAVE_GROUP_STATIC_MEMBER_EPOCH => return invalid("MemberEpoch is invalid"),
            _ if self.member_id.is_empty() => return invalid("MemberId can't be empty"),
            _ => {}
        }
        if let Some(a) = &self.server_assignor {
            if !ASSIGNORS.contains(&a.as_str()) {
                return Err(GroupError::UnsupportedAssignor(a.clone()));
            }
        }
        Ok(())
    }
}

impl ConsumerGroup {
    pub fn heartbeat(
        &mut self,
        p: ConsumerHeartbeat,
        limits: &GroupLimits,
        lookup: TopicLookup<'_>,
        now_ms: i64,
    ) -> Result<ConsumerHeartbeatResult, GroupError> {
        let interval = limits.consumer_heartbeat_interval_ms;
        let answer = |member_id: &str, member_epoch: i32| ConsumerHeartbeatResult {
            member_id: member_id.to_string(),
            member_epoch,
            heartbeat_interval_ms: interval,
            assignment: None,
        };
        match p.member_epoch {
            LEAVE_GROUP_MEMBER_EPOCH => {
                let id = self.known_member(&p)?;
                self.remove_member(&id);
                self.update_target();
                return Ok(answer(&p.member_id, LEAVE_GROUP_MEMBER_EPOCH));
            }
            LEAVE_GROUP_STATIC_MEMBER_EPOCH => {
                // Keeps its assignment (nobody else gets it) until the session timeout.
                let id = self.known_member(&p)?;
                let m = self.members.get_mut(&id).expect("known_member checked it");
                if !m.has_left_temporarily() {
                    m.previous_member_epoch = m.member_epoch;
                    m.member_epoch = LEAVE_GROUP_STATIC_MEMBER_EPOCH;
                }
                return Ok(answer(&id, LEAVE_GROUP_STATIC_MEMBER_EPOCH));
            }
            _ => {}
        }
        let joining = p.member_epoch == 0;
        let (member_id, is_new) = if joining {
            self.join(&p, limits)?
        } else {
            self.check_epoch(&p)?;
            (p.member_id.clone(), false)
        };
        let m = self.members.get_mut(&member_id).expect("joined or checked above");
        let mut changed = update_member(m, &p) || is_new;
        m.session_deadline_ms = now_ms + i64::from(limits.consumer_session_timeout_ms);
        changed |= self.refresh_topics(lookup);
        if changed {
            self.group_epoch += 1;
        }
        self.update_target();
        let target = self.target.get(&member_id).cloned().unwrap_or_default();
        let (epoch, assignment_changed) = {
            let mut m = self.members.remove(&member_id).expect("present above");
            let others = owners(self.members.values());
            let changed = reconcile(
                &mut m,
                self.assignment_epoch,
                &target,
                p.owned.as_ref(),
                &others,
                now_ms,
            );
            let epoch = m.member_epoch;
            self.members.insert(member_id.clone(), m);
            (epoch, changed)
        };
        let m = &self.members[&member_id];
        Ok(ConsumerHeartbeatResult {
            member_id: member_id.clone(),
            member_epoch: epoch,
            heartbeat_interval_ms: interval,
            assignment: (joining || p.owned.is_some() || assignment_changed).then(|| m.assigned.clone()),
        })
    }

    /// The member a leave names: by member id, or for a static member by its instance id.
    fn known_member(&self, p: &ConsumerHeartbeat) -> Result<String, GroupError> {
        if self.members.contains_key(&p.member_id) {
            return Ok(p.member_id.clone());
        }
        p.instance_id
            .as_ref()
            .and_then(|i| self.static_members.get(i))
            .cloned()
            .ok_or(GroupError::UnknownMemberId)
    }

    /// Epoch 0: a new member, a member rejoining after it was fenced, or a static member coming
    /// back (it takes over its old member's assignment under its new member id). Returns the
    /// member id and whether the member is new to the group.
    fn join(&mut self, p: &ConsumerHeartbeat, limits: &GroupLimits) -> Result<(String, bool), GroupError> {
        let member_id = if p.member_id.is_empty() {
            p.new_member_id.clone()
        } else {
            p.member_id.clone()
        };
        if let Some(instance) = &p.instance_id {
            if let Some(old_id) = self.static_members.get(instance).cloned() {
                let old = &self.members[&old_id];
                if old.has_left_temporarily() {
                    let mut m = self.members.remove(&old_id).expect("static map names a member");
                    m.member_id = member_id.clone();
                    m.member_epoch = m.previous_member_epoch;
                    if let Some(t) = self.target.remove(&old_id) {
                        self.target.insert(member_id.clone(), t);
                    }
                    self.members.insert(member_id.clone(), m);
                    self.static_members.insert(instance.clone(), member_id.clone());
                    return Ok((member_id, false));
                }
                if old_id != member_id {
                    return Err(GroupError::UnreleasedInstanceId);
                }
            }
        }
        if self.members.contains_key(&member_id) {
            // Rejoining with epoch 0 (after FENCED_MEMBER_EPOCH or a lost leave): start afresh.
            self.remove_member(&member_id);
        }
        if self.members.len() >= limits.max_members_per_group {
            return Err(GroupError::GroupMaxSizeReached(limits.max_members_per_group));
        }
        let mut m = ConsumerMember::new(member_id.clone());
        m.instance_id = p.instance_id.clone();
        if let Some(instance) = &p.instance_id {
            self.static_members.insert(instance.clone(), member_id.clone());
        }
        self.members.insert(member_id.clone(), m);
        Ok((member_id, true))
    }

    /// Kafka's throwIfMemberEpochIsInvalid.
    fn check_epoch(&self, p: &ConsumerHeartbeat) -> Result<(), GroupError> {
        let m = self.members.get(&p.member_id).ok_or(GroupError::UnknownMemberId)?;
        if m.has_left_temporarily() || p.member_epoch > m.member_epoch {
            return Err(GroupError::FencedMemberEpoch);
        }
        if p.member_epoch < m.member_epoch {
            // A lost response: accepted only from the previous epoch, owning nothing it should not.
            let owns_only_assigned = p.owned.as_ref().is_some_and(|o| is_subset(o, &m.assigned));
            if p.member_epoch != m.previous_member_epoch || !owns_only_assigned {
                return Err(GroupError::FencedMemberEpoch);
            }
        }
        Ok(())
    }

    pub(crate) fn remove_member(&mut self, member_id: &str) {
        if let Some(m) = self.members.remove(member_id) {
            if let Some(instance) = &m.instance_id {
                if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                    self.static_members.remove(instance);
                }
            }
            self.target.remove(member_id);
            self.group_epoch += 1;
        }
    }

    /// Re-reads the subscribed topics; true if any appeared, vanished or changed its
    /// partition count.
    fn refresh_topics(&mut self, lookup: TopicLookup<'_>) -> bool {
        let names: BTreeSet<&String> = self.members.values().flat_map(|m| &m.subscribed_topic_names).collect();
        let topics: BTreeMap<String, TopicMetadata> = names
            .into_iter()
            .filter_map(|n| lookup(n).map(|m| (n.clone(), m)))
            .collect();
        let changed = topics != self.topics;
        self.topics = topics;
        changed
    }

    /// Recomputes the target assignment if the group epoch moved past it.
    pub(crate) fn update_target(&mut self) {
        if self.assignment_epoch >= self.group_epoch {
            return;
        }
        self.assignor_name = self.preferred_assignor().to_string();
        let spec = AssignmentSpec {
            subscriptions: self
                .members
                .iter()
                .map(|(id, m)| (id.as_str(), &m.subscribed_topic_names))
                .collect(),
            topics: &self.topics,
            previous: &self.target,
        };
        self.target = assignor::assign(&self.assignor_name, &spec);
        self.assignment_epoch = self.group_epoch;
    }

    /// The assignor most members ask for; ties and no preference go to the first configured.
    fn preferred_assignor(&self) -> &'static str {
        ASSIGNORS
            .iter()
            .copied()
            .max_by_key(|a| {
                let votes = self
                    .members
                    .values()
                    .filter(|m| m.server_assignor.as_deref() == Some(a))
                    .count();
                let rank = ASSIGNORS.len() - ASSIGNORS.iter().position(|x| x == a).unwrap_or(0);
                (votes, rank)
            })
            .unwrap_or(ASSIGNORS[0])
    }

    /// Removes members whose session or revocation timer fired (Kafka fences them); true if
    /// any was removed.
    pub fn tick(&mut self, now_ms: i64) -> bool {
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| m.has_expired(now_ms))
            .map(|m| m.member_id.clone())
            .collect();
        for id in &expired {
            self.remove_member(id);
        }
        self.update_target();
        !expired.is_empty()
    }
}

/// Applies what the heartbeat says changed; true if the subscription or assignor did (which
/// moves the group epoch).
fn update_member(m: &mut ConsumerMember, p: &ConsumerHeartbeat) -> bool {
    let mut changed = false;
    if let Some(names) = &p.subscribed_topic_names {
        let names: BTreeSet<String> = names.iter().cloned().collect();
        if names != m.subscribed_topic_names {
            m.subscribed_topic_names = names;
            changed = true;
        }
    }
    if p.server_assignor.is_some() && p.server_assignor != m.server_assignor {
        m.server_assignor = p.server_assignor.clone();
        changed = true;
    }
    if p.rebalance_timeout_ms >= 0 {
        m.rebalance_timeout_ms = p.rebalance_timeout_ms;
    }
    if p.rack_id.is_some() {
        m.rack_id = p.rack_id.clone();
    }
    m.client_id = p.client_id.clone();
    m.client_host = p.client_host.clone();
    changed
}

fn is_subset(a: &Assignment, b: &Assignment) -> bool {
    a.iter()
        .all(|(topic, ps)| ps.is_empty() || b.get(topic).is_some_and(|other| ps.is_subset(other)))
}
