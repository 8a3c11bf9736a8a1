//! `LogConfig`: the per-partition tunables, their Kafka defaults and their bounds.
//!
//! Every bound is a named constant with the reason for its value; `validate` is the
//! only place they are enforced, so a `Log` never runs with a config outside them.

use crate::batch::BATCH_HEADER_BYTES;
use crate::error::LogError;
use crate::index::TIME_INDEX_ENTRY_BYTES;

/// Smallest `segment_bytes`: one batch header. Anything smaller would roll on every
/// append; tests use values just above this to make rolls frequent.
pub const MIN_SEGMENT_BYTES: u64 = BATCH_HEADER_BYTES as u64;

/// Largest `segment_bytes` (Kafka's `segment.bytes` is an int). Positions in the
/// `.index` file are u32; a segment is at most `segment_bytes` plus one append of
/// at most [`MAX_APPEND_BYTES`], which this bound keeps below 2^32.
pub const MAX_SEGMENT_BYTES: u64 = i32::MAX as u64;

/// Largest single `append` buffer (several batches together). Together with
/// [`MAX_SEGMENT_BYTES`] this keeps every file position representable as u32.
pub const MAX_APPEND_BYTES: u64 = i32::MAX as u64;

/// Smallest `segment_index_bytes`: two time index entries, because one slot is kept
/// free for the final entry written when the segment is rolled or closed.
pub const MIN_SEGMENT_INDEX_BYTES: u32 = 2 * TIME_INDEX_ENTRY_BYTES as u32;

/// Largest `segment_index_bytes`: indexes are held in memory, and Kafka caps the
/// setting at an int as well.
pub const MAX_SEGMENT_INDEX_BYTES: u32 = i32::MAX as u32;

/// Smallest `max_message_bytes`: a batch is never smaller than its header.
pub const MIN_MESSAGE_BYTES: u32 = BATCH_HEADER_BYTES as u32;

/// Kafka's default `message.max.bytes`: 1 MiB of records plus the 12-byte log overhead.
pub const DEFAULT_MAX_MESSAGE_BYTES: u32 = 1024 * 1024 + 12;

/// Seven days, Kafka's default for `segment.ms` and `retention.ms`.
pub const SEVEN_DAYS_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// Kafka's default `producer.id.expiration.ms`: one day.
pub const DEFAULT_PRODUCER_ID_EXPIRATION_MS: i64 = 24 * 60 * 60 * 1000;

/// Default `max_producers`: producer state is about 200 bytes a producer, so 2 MB a partition
/// at most, and a client that creates a new idempotent producer per request every few seconds
/// still stays below it within the one-day expiry.
pub const DEFAULT_MAX_PRODUCERS: usize = 10_000;

/// Largest `max_producers`; also bounds how much of a producer snapshot file is ever read.
pub const MAX_PRODUCERS_CEILING: usize = 100_000;

/// Kafka's default `delete.retention.ms`: tombstones stay readable for one day after the
/// cleaner first keeps them, so a consumer that reads the topic at least daily sees every delete.
pub const DEFAULT_DELETE_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// Kafka's default `min.cleanable.dirty.ratio` (0.5), in thousandths.
pub const DEFAULT_MIN_CLEANABLE_DIRTY_PERMILLE: u32 = 500;

/// `cleanup.policy`: what happens to old segments. Kafka allows delete, compact or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupPolicy {
    /// Retention (retention.ms / retention.bytes) deletes whole old segments.
    pub delete: bool,
    /// The cleaner keeps only the newest record of each key (log compaction).
    pub compact: bool,
}

impl CleanupPolicy {
    pub const DELETE: CleanupPolicy = CleanupPolicy {
        delete: true,
        compact: false,
    };
    pub const COMPACT: CleanupPolicy = CleanupPolicy {
        delete: false,
        compact: true,
    };
}

// A batch must always fit in a segment that is otherwise empty.
const _: () = assert!(MAX_SEGMENT_BYTES + MAX_APPEND_BYTES <= u32::MAX as u64 + 1);
const _: () = assert!(MIN_MESSAGE_BYTES as u64 <= MIN_SEGMENT_BYTES);

/// Tunables for one partition log, named after Kafka's topic configs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes`: roll when the active segment would exceed this. A single
    /// append larger than this still goes into a fresh segment, alone.
    pub segment_bytes: u64,
    /// `segment.ms`: roll when the active segment's first append is older than this.
    pub segment_ms: i64,
    /// `index.interval.bytes`: one sparse index entry per this many bytes appended.
    pub index_interval_bytes: u32,
    /// `segment.index.bytes`: maximum size of one offset/time index; roll when full.
    pub segment_index_bytes: u32,
    /// `max.message.bytes`: maximum size of one record batch.
    pub max_message_bytes: u32,
    /// `retention.ms`: -1 = unlimited; otherwise delete whole non-active segments
    /// whose largest timestamp is older than `now - retention_ms`.
    pub retention_ms: i64,
    /// `retention.bytes`: -1 = unlimited; otherwise delete the oldest whole segments
    /// while the log would still hold at least this many bytes without them.
    pub retention_bytes: i64,
    /// `producer.id.expiration.ms`: an idempotent producer that has not appended to this
    /// partition for this long is forgotten (its next batch is accepted at any sequence).
    pub producer_id_expiration_ms: i64,
    /// Producer ids whose state one partition keeps. At the bound a new producer evicts the one
    /// that appended longest ago, which is then treated as unknown (as if expired).
    pub max_producers: usize,
    /// `cleanup.policy`.
    pub cleanup_policy: CleanupPolicy,
    /// `min.cleanable.dirty.ratio` in thousandths: the cleaner compacts a log once the bytes
    /// written since its last pass are at least this share of the cleanable bytes.
    pub min_cleanable_dirty_permille: u32,
    /// `delete.retention.ms`: how long a tombstone stays after the cleaner first keeps it.
    pub delete_retention_ms: i64,
    /// `min.compaction.lag.ms`: segments with a record newer than this are not compacted yet.
    pub min_compaction_lag_ms: i64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: SEVEN_DAYS_MS,
            index_interval_bytes: 4096,
            segment_index_bytes: 10 * 1024 * 1024,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            retention_ms: SEVEN_DAYS_MS,
            retention_bytes: -1,
            producer_id_expiration_ms: DEFAULT_PRODUCER_ID_EXPIRATION_MS,
            max_producers: DEFAULT_MAX_PRODUCERS,
            cleanup_policy: CleanupPolicy::DELETE,
            min_cleanable_dirty_permille: DEFAULT_MIN_CLEANABLE_DIRTY_PERMILLE,
            delete_retention_ms: DEFAULT_DELETE_RETENTION_MS,
            min_compaction_lag_ms: 0,
        }
    }
}

impl LogConfig {
    /// Checks every field against its bound.
    pub fn validate(&self) -> Result<(), LogError> {
        let invalid = |name, value: i64, reason| Err(LogError::InvalidConfig { name, value, reason });
        if !(MIN_SEGMENT_BYTES..=MAX_SEGMENT_BYTES).contains(&self.segment_bytes) {
            return invalid("segment_bytes", self.segment_bytes as i64, "must be in [61, 2^31-1]");
        }
        if self.segment_ms < 1 {
            return invalid("segment_ms", self.segment_ms, "must be at least 1");
        }
        if self.index_interval_bytes > i32::MAX as u32 {
            return invalid(
                "index_interval_bytes",
                i64::from(self.index_interval_bytes),
                "must be at most 2^31-1",
            );
        }
        if !(MIN_SEGMENT_INDEX_BYTES..=MAX_SEGMENT_INDEX_BYTES).contains(&self.segment_index_bytes) {
            return invalid(
                "segment_index_bytes",
                i64::from(self.segment_index_bytes),
                "must be in [24, 2^31-1]",
            );
        }
        if self.max_message_bytes < MIN_MESSAGE_BYTES || u64::from(self.max_message_bytes) > MAX_APPEND_BYTES {
            return invalid(
                "max_message_bytes",
                i64::from(self.max_message_bytes),
                "must be in [61, 2^31-1]",
            );
        }
        if self.retention_ms < -1 {
            return invalid("retention_ms", self.retention_ms, "must be -1 or non-negative");
        }
        if self.retention_bytes < -1 {
            return invalid("retention_bytes", self.retention_bytes, "must be -1 or non-negative");
        }
        if self.producer_id_expiration_ms < 1 {
            return invalid(
                "producer_id_expiration_ms",
                self.producer_id_expiration_ms,
                "must be at least 1",
            );
        }
        if !(1..=MAX_PRODUCERS_CEILING).contains(&self.max_producers) {
            return invalid("max_producers", self.max_producers as i64, "must be in [1, 100000]");
        }
        if self.min_cleanable_dirty_permille > 1000 {
            return invalid(
                "min_cleanable_dirty_permille",
                i64::from(self.min_cleanable_dirty_permille),
                "must be in [0, 1000]",
            );
        }
        if self.delete_retention_ms < 0 {
            return invalid("delete_retention_ms", self.delete_retention_ms, "must be non-negative");
        }
        if self.min_compaction_lag_ms < 0 {
            return invalid(
                "min_compaction_lag_ms",
                self.min_compaction_lag_ms,
                "must be non-negative",
            );
        }
        Ok(())
    }

    /// Maximum entries in one offset index (8 bytes each).
    pub(crate) fn max_offset_index_entries(&self) -> usize {
        self.segment_index_bytes as usize / crate::index::OFFSET_INDEX_ENTRY_BYTES
    }

    /// Maximum entries in one time index (12 bytes each).
    pub(crate) fn max_time_index_entries(&self) -> usize {
        self.segment_index_bytes as usize / TIME_INDEX_ENTRY_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_default_config_passes() {
        assert!(LogConfig::default().validate().is_ok());
        assert_eq!(LogConfig::default().max_message_bytes, 1_048_588);
    }

    #[test]
    fn validate_segment_bytes_at_bounds_passes_and_beyond_fails() {
        let mut c = LogConfig {
            segment_bytes: MIN_SEGMENT_BYTES,
            ..LogConfig::default()
        };
        assert!(c.validate().is_ok());
        c.segment_bytes = MIN_SEGMENT_BYTES - 1;
        assert!(matches!(
            c.validate(),
            Err(LogError::InvalidConfig {
                name: "segment_bytes",
                ..
            })
        ));
        c.segment_bytes = MAX_SEGMENT_BYTES;
        assert!(c.validate().is_ok());
        c.segment_bytes = MAX_SEGMENT_BYTES + 1;
        assert!(c.validate().is_err());
    }

    #[test]
    fn validate_index_and_message_bounds_fail_beyond_limits() {
        let base = LogConfig::default();
        let c = LogConfig {
            segment_index_bytes: MIN_SEGMENT_INDEX_BYTES,
            ..base.clone()
        };
        assert!(c.validate().is_ok());
        let c = LogConfig {
            segment_index_bytes: MIN_SEGMENT_INDEX_BYTES - 1,
            ..base.clone()
        };
        assert!(c.validate().is_err());
        let c = LogConfig {
            max_message_bytes: MIN_MESSAGE_BYTES - 1,
            ..base.clone()
        };
        assert!(c.validate().is_err());
        let c = LogConfig {
            retention_ms: -2,
            ..base.clone()
        };
        assert!(c.validate().is_err());
        let c = LogConfig {
            retention_bytes: -2,
            ..base.clone()
        };
        assert!(c.validate().is_err());
        let c = LogConfig {
            max_producers: MAX_PRODUCERS_CEILING,
            ..base.clone()
        };
        assert!(c.validate().is_ok());
        let c = LogConfig {
            max_producers: MAX_PRODUCERS_CEILING + 1,
            ..base.clone()
        };
        assert!(c.validate().is_err());
        let c = LogConfig {
            max_producers: 0,
            ..base.clone()
        };
        assert!(c.validate().is_err());
        let c = LogConfig {
            producer_id_expiration_ms: 0,
            ..base.clone()
        };
        assert!(c.validate().is_err());
        let c = LogConfig { segment_ms: 0, ..base };
        assert!(c.validate().is_err());
    }
}
