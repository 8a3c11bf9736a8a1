//! One member of a KIP-848 consumer group: identity, subscription, its current assignment and
//! where it is in reconciliation, and its two timers (session, revocation).

use std::collections::BTreeSet;

use super::Assignment;

/// Where a member is in reconciliation (Kafka's MemberState).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    /// Owns exactly its target at the target epoch.
    Stable,
    /// Told to give up `pending_revocation`; keeps its epoch until it does.
    UnrevokedPartitions,
    /// At the target epoch, still waiting for partitions other members hold.
    UnreleasedPartitions,
}

/// The member epoch of a static member that left temporarily (KIP-848: -2) and may come back
/// with the same instance id within its session timeout, keeping its assignment.
pub const LEAVE_GROUP_STATIC_MEMBER_EPOCH: i32 = -2;
/// The member epoch that leaves the group for good.
pub const LEAVE_GROUP_MEMBER_EPOCH: i32 = -1;

#[derive(Debug, Clone)]
pub struct ConsumerMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub member_epoch: i32,
    /// Lets a member whose last heartbeat response was lost carry on (Kafka accepts the previous
    /// epoch when the member owns nothing it should not).
    pub previous_member_epoch: i32,
    pub state: MemberState,
    pub rebalance_timeout_ms: i32,
    pub subscribed_topic_names: BTreeSet<String>,
    pub server_assignor: Option<String>,
    pub assigned: Assignment,
    pub pending_revocation: Assignment,
    /// Removed (fenced) when no heartbeat arrives by this time.
    pub session_deadline_ms: i64,
    /// Fenced if it still holds `pending_revocation` at this time.
    pub revocation_deadline_ms: Option<i64>,
}

impl ConsumerMember {
    pub fn new(member_id: String) -> ConsumerMember {
        ConsumerMember {
            member_id,
            instance_id: None,
            rack_id: None,
            client_id: String::new(),
            client_host: String::new(),
            member_epoch: 0,
            previous_member_epoch: 0,
            state: MemberState::Stable,
            rebalance_timeout_ms: 0,
            subscribed_topic_names: BTreeSet::new(),
            server_assignor: None,
            assigned: Assignment::new(),
            pending_revocation: Assignment::new(),
            session_deadline_ms: 0,
            revocation_deadline_ms: None,
        }
    }

    /// A static member that left with epoch -2 and has not come back yet.
    pub fn has_left_temporarily(&self) -> bool {
        self.member_epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH
    }

    pub fn has_expired(&self, now_ms: i64) -> bool {
        now_ms >= self.session_deadline_ms || self.revocation_deadline_ms.is_some_and(|d| now_ms >= d)
    }
}
