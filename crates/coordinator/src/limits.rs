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
    /// offsets.retention.minutes (in ms here): committed offsets of a group with no members are
    /// deleted (tombstoned) once this long has passed since both the commit and the moment the
    /// group was first seen empty; a live group loses only offsets of topics no member
    /// subscribes to, this long after their commit (KIP-211). Bounds what abandoned groups keep.
    pub offsets_retention_ms: i64,
    /// offsets.retention.check.interval.ms: how often expiry runs. An offset outlives its
    /// retention by at most this much.
    pub offsets_retention_check_interval_ms: i64,
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
            // Kafka's defaults: 7 days, checked every 10 minutes.
            offsets_retention_ms: 7 * 24 * 60 * 60 * 1000,
            offsets_retention_check_interval_ms: 600_000,
        }
    }
}
