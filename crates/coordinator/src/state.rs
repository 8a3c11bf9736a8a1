//! The states a group reports, named as Kafka names them in DescribeGroups, ListGroups and
//! ConsumerGroupDescribe: the five of a classic group, and Assigning and Reconciling, which only
//! KIP-848 consumer groups are ever in.

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
    /// KIP-848: the target assignment is behind the group epoch.
    Assigning,
    /// KIP-848: some member has not yet reached its target assignment.
    Reconciling,
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
            GroupState::Assigning => "Assigning",
            GroupState::Reconciling => "Reconciling",
            GroupState::Dead => "Dead",
        }
    }
}
