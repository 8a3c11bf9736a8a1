//! KIP-848 consumer groups ("the next-generation consumer rebalance protocol"): members
//! heartbeat with ConsumerGroupHeartbeat, the broker computes the assignment with a server-side
//! assignor and moves each member to it without ever letting two members own a partition.
//!
//! Epochs: the group epoch grows whenever membership, a subscription or a subscribed topic's
//! partition count changes; the target assignment is recomputed for it at once (so the
//! assignment epoch catches up within the same call and the group is never seen "Assigning"
//! for long); each member's epoch reaches the assignment epoch through reconciliation
//! (reconcile.rs).
//!
//! Not durable: membership lives in memory. After a restart members get UNKNOWN_MEMBER_ID and
//! rejoin with epoch 0, as after a coordinator move in Kafka; committed offsets are in the
//! internal log like any group's. Regular-expression subscriptions (v1) are not supported.

mod assignor;
pub(crate) mod heartbeat;
mod member;
mod reconcile;

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

pub use assignor::{TopicMetadata, ASSIGNORS};
pub use heartbeat::{ConsumerHeartbeat, ConsumerHeartbeatResult, TopicLookup};
pub use member::{ConsumerMember, MemberState};

use crate::state::GroupState;

/// Partitions by topic id, as ConsumerGroupHeartbeat and ConsumerGroupDescribe carry them.
pub type Assignment = BTreeMap<Uuid, BTreeSet<i32>>;

/// The protocol type a consumer group reports in ListGroups and DescribeGroups.
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

#[derive(Debug, Default)]
pub struct ConsumerGroup {
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub members: BTreeMap<String, ConsumerMember>,
    /// instance id -> member id, for static members (including ones that left with epoch -2).
    pub static_members: BTreeMap<String, String>,
    /// The target assignment of each member at `assignment_epoch`.
    pub target: BTreeMap<String, Assignment>,
    /// The subscribed topics as last seen, by name.
    pub topics: BTreeMap<String, TopicMetadata>,
    pub assignor_name: String,
}

/// ConsumerGroupDescribe's view of one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerMemberDescription {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub member_epoch: i32,
    pub client_id: String,
    pub client_host: String,
    pub subscribed_topic_names: Vec<String>,
    pub assignment: Assignment,
    pub target_assignment: Assignment,
}

/// ConsumerGroupDescribe's view of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupDescription {
    pub group_id: String,
    pub state: GroupState,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub assignor_name: String,
    pub members: Vec<ConsumerMemberDescription>,
    /// Topic id -> name, for the topics in any assignment above.
    pub topic_names: BTreeMap<Uuid, String>,
}

impl ConsumerGroup {
    /// Kafka's ConsumerGroupState: Empty, Assigning (target behind the group epoch),
    /// Reconciling (some member not yet at its target) or Stable.
    pub fn state(&self) -> GroupState {
        if self.members.is_empty() {
            GroupState::Empty
        } else if self.assignment_epoch < self.group_epoch {
            GroupState::Assigning
        } else if self
            .members
            .values()
            .any(|m| m.member_epoch != self.assignment_epoch || m.state != MemberState::Stable)
        {
            GroupState::Reconciling
        } else {
            GroupState::Stable
        }
    }

    pub fn describe(&self, group_id: &str) -> ConsumerGroupDescription {
        let topic_names = self.topics.iter().map(|(n, m)| (m.topic_id, n.clone())).collect();
        ConsumerGroupDescription {
            group_id: group_id.to_string(),
            state: self.state(),
            group_epoch: self.group_epoch,
            assignment_epoch: self.assignment_epoch,
            assignor_name: self.assignor_name.clone(),
            members: self
                .members
                .values()
                .map(|m| ConsumerMemberDescription {
                    member_id: m.member_id.clone(),
                    instance_id: m.instance_id.clone(),
                    rack_id: m.rack_id.clone(),
                    member_epoch: m.member_epoch,
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    subscribed_topic_names: m.subscribed_topic_names.iter().cloned().collect(),
                    assignment: m.assigned.clone(),
                    target_assignment: self.target.get(&m.member_id).cloned().unwrap_or_default(),
                })
                .collect(),
            topic_names,
        }
    }

    /// Checks that no partition has two owners and that the static member map is exact
    /// (debug builds; every test runs them).
    pub fn debug_check_invariants(&self) {
        if cfg!(debug_assertions) {
            let mut seen = BTreeSet::new();
            for m in self.members.values() {
                for (topic, ps) in m.assigned.iter().chain(m.pending_revocation.iter()) {
                    for p in ps {
                        assert!(seen.insert((*topic, *p)), "partition {topic}/{p} has two owners");
                    }
                }
            }
            for (instance, id) in &self.static_members {
                let m = self.members.get(id).expect("static member map names a member");
                assert_eq!(m.instance_id.as_ref(), Some(instance), "static member map is stale");
            }
            assert!(
                self.assignment_epoch <= self.group_epoch,
                "assignment epoch ahead of the group"
            );
        }
    }
}
