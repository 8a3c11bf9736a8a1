//! `wharf-coordinator`: consumer groups of the classic protocol (JoinGroup / SyncGroup /
//! Heartbeat / LeaveGroup) as a synchronous state machine per group, and committed offsets.
//!
//! Pure: no sockets, files, threads or clocks. Time comes in as `now_ms`, new member ids come in
//! from the caller (so tests are deterministic), and everything that must outlive the process is
//! handed back as [`Record`]s in [`Effects`] for the caller to append to its internal log before
//! it answers. Requests that must wait (a JoinGroup until the rebalance completes, a follower's
//! SyncGroup until the leader's assignment) are named by a caller-chosen [`WaiterId`] and
//! answered later through [`Effects`].
//!
//! KIP-848 consumer groups (ConsumerGroupHeartbeat, server-side assignors) live in `consumer/`;
//! a group is one or the other, and both keep their committed offsets the same way.
//!
//! The transaction coordinator (KIP-98) lives in `txn/`, in the same style: pure, clock passed
//! in, every state change a record for the caller's internal log.
//!
//! Does not: speak the wire protocol or decide error codes (the broker maps [`GroupError`]).

mod consumer;
mod coordinator;
mod effects;
mod error;
mod group;
mod limits;
mod member;
mod offsets;
mod rebalance;
mod record;
mod state;
mod txn;

#[cfg(test)]
mod tests;

pub use consumer::{
    Assignment, ConsumerGroupDescription, ConsumerHeartbeat, ConsumerHeartbeatResult, ConsumerMemberDescription,
    TopicLookup, TopicMetadata, ASSIGNORS, CONSUMER_PROTOCOL_TYPE,
};
pub use coordinator::{GroupCoordinator, GroupDescription, GroupListing, MemberDescription, CLASSIC_GROUP_TYPE};
pub use effects::{Effects, JoinParams, JoinResult, JoinedMember, SyncParams, SyncResult, WaiterId};
pub use error::GroupError;
pub use limits::GroupLimits;
pub use offsets::{CommittedOffset, Committer, OffsetCommit};
pub use record::{GroupSnapshot, MemberSnapshot, Record, RecordError};
pub use state::GroupState;
pub use txn::{
    record_key as txn_record_key, Completion, EndResult, InitResult, PendingOffset, TxnCoordinator, TxnError,
    TxnLimits, TxnMetadata, TxnStatus,
};
