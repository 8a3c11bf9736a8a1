//! The five states of a classic group, named as Kafka names them in DescribeGroups and
//! ListGroups.

/// Where a group is in its rebalance cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// No members; may still hold committed offsets.
    Empty,
    /// Waiting for every member to (re)join, until the rebalance timeout.
    PreparingRebalance,
    /// Joined; waiting for the leader's SyncGroup with the assignment.
    CompletingRebalance,
    /// Every member has its assignment and heartbeats.
    Stable,
    /// Deleted; never seen by clients (removed from the coordinator at once).
    Dead,
}

impl GroupState {
    /// The name clients see (DescribeGroups, ListGroups states_filter).
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}
