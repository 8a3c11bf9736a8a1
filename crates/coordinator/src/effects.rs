//! What callers pass into the state machine and what it hands back: request parameters, the
//! answers owed to waiting requests, and the records to make durable.
//!
//! Invariant: every [`WaiterId`] a caller passes in is answered exactly once, through
//! [`Effects::joins`] or [`Effects::syncs`], unless the call itself returned an error.

use bytes::Bytes;

use crate::error::GroupError;
use crate::record::Record;

/// Names one waiting JoinGroup or SyncGroup; chosen by the caller, unique among its waiters.
pub type WaiterId = u64;

/// A JoinGroup, in the coordinator's terms.
#[derive(Debug, Clone)]
pub struct JoinParams {
    pub group_id: String,
    /// Empty for a member joining for the first time.
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    /// (protocol name, metadata) in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    /// KIP-394: JoinGroup v4+ must rejoin with the id the broker generated.
    pub require_known_member_id: bool,
    /// The id given to the member if this join creates one; the caller makes it unique.
    pub new_member_id: String,
    pub waiter: WaiterId,
}

/// The answer to a JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResult {
    pub generation_id: i32,
    pub protocol_type: String,
    pub protocol_name: String,
    pub leader: String,
    pub member_id: String,
    /// KIP-814: the leader must not run the assignment (a static leader rejoined unchanged).
    pub skip_assignment: bool,
    /// Every member's metadata for the chosen protocol; only the leader gets them.
    pub members: Vec<JoinedMember>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinedMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub metadata: Bytes,
}

/// A SyncGroup, in the coordinator's terms.
#[derive(Debug, Clone)]
pub struct SyncParams {
    pub group_id: String,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub generation_id: i32,
    /// v5+: checked against the group's when present.
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    /// The leader's assignment per member id; empty from followers.
    pub assignments: Vec<(String, Bytes)>,
    pub waiter: WaiterId,
}

/// The answer to a SyncGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncResult {
    pub protocol_type: String,
    pub protocol_name: String,
    pub assignment: Bytes,
}

/// Answers owed and records to persist, produced by one call.
#[derive(Debug, Default)]
pub struct Effects {
    pub joins: Vec<(WaiterId, Result<JoinResult, GroupError>)>,
    pub syncs: Vec<(WaiterId, Result<SyncResult, GroupError>)>,
    /// To append to the internal log, in this order, before the answers above are sent.
    pub records: Vec<Record>,
}

impl Effects {
    pub fn is_empty(&self) -> bool {
        self.joins.is_empty() && self.syncs.is_empty() && self.records.is_empty()
    }
}
