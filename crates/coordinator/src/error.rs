//! Why a group operation was refused. The broker's `errors.rs` turns each variant into the Kafka
//! error code the classic GroupCoordinator returns in the same situation.

/// A refused group operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    #[error("group id must not be empty")]
    InvalidGroupId,
    #[error("session timeout {0} ms is outside the broker's bounds")]
    InvalidSessionTimeout(i32),
    /// KIP-394: a JoinGroup (v4+) without a member id is given one and must rejoin with it.
    #[error("member id required; rejoin with {member_id}")]
    MemberIdRequired { member_id: String },
    #[error("unknown member id")]
    UnknownMemberId,
    #[error("illegal generation")]
    IllegalGeneration,
    #[error("rebalance in progress")]
    RebalanceInProgress,
    #[error("protocol type or protocols do not match the group's")]
    InconsistentGroupProtocol,
    /// KIP-345: a static member's instance id is now held by a newer member id.
    #[error("group instance id is held by another member id")]
    FencedInstanceId,
    #[error("group has reached its maximum number of members ({0})")]
    GroupMaxSizeReached(usize),
    #[error("coordinator holds its maximum number of groups ({0})")]
    GroupLimitReached(usize),
    #[error("group has reached its maximum number of committed offsets ({0})")]
    OffsetLimitReached(usize),
    #[error("offset metadata of {len} bytes exceeds {max}")]
    OffsetMetadataTooLarge { len: usize, max: usize },
    #[error("group not found")]
    GroupIdNotFound,
    #[error("group still has members")]
    NonEmptyGroup,
    #[error("group is subscribed to the topic")]
    GroupSubscribedToTopic,
    /// KIP-848: a member's epoch is ahead of the group's view, or behind it without being its
    /// previous epoch; the member must rejoin with epoch 0.
    #[error("the member epoch is fenced by the group epoch")]
    FencedMemberEpoch,
    /// KIP-848: an OffsetCommit carries an epoch other than the member's current (or previous).
    #[error("the member epoch is stale")]
    StaleMemberEpoch,
    /// KIP-848: a static member's instance id is still held by a live member.
    #[error("the instance id is still used by another member")]
    UnreleasedInstanceId,
    #[error("the server assignor {0} is not supported")]
    UnsupportedAssignor(String),
    /// ConsumerGroupHeartbeat to a classic group with members (Kafka: GROUP_ID_NOT_FOUND).
    #[error("group is not a consumer group")]
    NotConsumerGroup,
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The request was superseded or the coordinator is shutting down; the client retries.
    #[error("coordinator not available")]
    CoordinatorNotAvailable,
}
