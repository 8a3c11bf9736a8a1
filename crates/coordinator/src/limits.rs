//! The bounds on what clients can make the coordinator hold. Each has a doc comment saying why
//! the default and what happens at the bound; docs/LIMITS.md lists them too.

/// Bounds of one [`crate::GroupCoordinator`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLimits {
    /// group.max.size: members (joined or awaiting their KIP-394 rejoin) in one group. A new
    /// member past it gets GROUP_MAX_SIZE_REACHED; members already in the group are unaffected.
    pub max_members_per_group: usize,
    /// Groups held at once (with members or committed offsets). A JoinGroup or standalone
    /// OffsetCommit that would create one more gets COORDINATOR_NOT_AVAILABLE, which clients
    /// retry; DeleteGroups or expiry makes room.
    pub max_groups: usize,
    /// Distinct (topic, partition) offsets one group may have committed. A commit of a new
    /// partition past it gets INVALID_COMMIT_OFFSET_SIZE for that partition; recommitting an
    /// existing partition always works.
    pub max_offsets_per_group: usize,
    /// offset.metadata.max.bytes: the metadata string of one committed offset. Longer gets
    /// OFFSET_METADATA_TOO_LARGE for that partition.
    pub max_offset_metadata_bytes: usize,
    /// group.min.session.timeout.ms / group.max.session.timeout.ms: a JoinGroup outside them
    /// gets INVALID_SESSION_TIMEOUT, so a client cannot make the broker keep a dead member forever.
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    /// group.consumer.session.timeout.ms: KIP-848 members are removed (and their partitions
    /// reassigned) when no ConsumerGroupHeartbeat arrives for this long. The broker sets it; the
    /// member does not choose it.
    pub consumer_session_timeout_ms: i32,
    /// group.consumer.heartbeat.interval.ms: how often KIP-848 members are told to heartbeat;
    /// also how soon a member learns of partitions freed for it. Below the session timeout.
    pub consumer_heartbeat_interval_ms: i32,
}

impl Default for GroupLimits {
    fn default() -> Self {
        GroupLimits {
            // Kafka's default group.max.size is unbounded; 1000 members is far past any real
            // classic group (the leader's JoinGroup response lists every member's metadata).
            max_members_per_group: 1000,
            max_groups: 10_000,
            max_offsets_per_group: 100_000,
            max_offset_metadata_bytes: 4096,
            min_session_timeout_ms: 6000,
            max_session_timeout_ms: 1_800_000,
            consumer_session_timeout_ms: 45_000,
            consumer_heartbeat_interval_ms: 5_000,
        }
    }
}
