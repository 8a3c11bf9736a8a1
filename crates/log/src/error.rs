//! `LogError`: every way a log operation can fail.
//!
//! The broker maps these to Kafka error codes in one exhaustive match:
//! `MessageTooLarge` -> MESSAGE_TOO_LARGE, `CorruptBatch` -> CORRUPT_MESSAGE,
//! `InvalidRecord` -> INVALID_RECORD, `OutOfOrderSequence` -> OUT_OF_ORDER_SEQUENCE_NUMBER,
//! `InvalidProducerEpoch` -> INVALID_PRODUCER_EPOCH,
//! `OffsetOutOfRange` -> OFFSET_OUT_OF_RANGE, `InvalidOffset` -> the request-specific
//! OFFSET_OUT_OF_RANGE / INVALID_REQUEST, and `StorageFailed`, `Io`, `SegmentCorrupt`,
//! `CheckpointCorrupt` -> KAFKA_STORAGE_ERROR. Variants name the failure; none carry
//! a Kafka code themselves so this crate stays protocol-agnostic.

use std::io;
use std::path::PathBuf;

/// Errors returned by [`crate::Log`] and the batch validators.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A batch (or a whole append) is larger than the configured maximum.
    #[error("record batch of {size} bytes exceeds the maximum of {max} bytes")]
    MessageTooLarge { size: u64, max: u64 },

    /// Input bytes are not a valid sequence of RecordBatch v2; nothing was written.
    #[error("corrupt record batch at byte {position} of the input: {reason}")]
    CorruptBatch { position: u64, reason: &'static str },

    /// A batch the log refuses whole, though well formed (Kafka's INVALID_RECORD).
    #[error("invalid record batch: {reason}")]
    InvalidRecord { reason: &'static str },

    /// An idempotent batch whose sequence does not continue its producer's last batch.
    #[error("out of order sequence {sequence} for producer {producer_id} epoch {producer_epoch} (last sequence {last_sequence})")]
    OutOfOrderSequence {
        producer_id: i64,
        producer_epoch: i16,
        sequence: i32,
        last_sequence: i32,
    },

    /// An idempotent batch from an older epoch than its producer's latest.
    #[error("producer {producer_id} epoch {producer_epoch} is older than the last seen epoch {current_epoch}")]
    InvalidProducerEpoch {
        producer_id: i64,
        producer_epoch: i16,
        current_epoch: i16,
    },

    /// A fetch or ListOffsets position outside `[log_start_offset, log_end_offset]`.
    #[error("offset {offset} is out of range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start_offset: i64,
        log_end_offset: i64,
    },

    /// An offset argument that can never be valid for this operation.
    #[error("invalid offset {offset}: {reason}")]
    InvalidOffset { offset: i64, reason: &'static str },

    /// A `LogConfig` field is outside its documented bounds.
    #[error("invalid log config {name} = {value}: {reason}")]
    InvalidConfig {
        name: &'static str,
        value: i64,
        reason: &'static str,
    },

    /// Data already on disk failed its CRC or length check when read back.
    #[error("segment {path} is corrupt at byte {position}: {reason}")]
    SegmentCorrupt {
        path: PathBuf,
        position: u64,
        reason: &'static str,
    },

    /// A checkpoint file exists but cannot be parsed; guessing its value could
    /// resurrect deleted records, so opening the log fails instead.
    #[error("checkpoint file {path} is corrupt")]
    CheckpointCorrupt { path: PathBuf },

    /// An earlier write, fsync or truncate failed; the log refuses all further
    /// writes until it is reopened (fail-stop, never retry an fsync).
    #[error("log directory {dir} has failed after an earlier I/O error")]
    StorageFailed { dir: PathBuf },

    /// A filesystem operation failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl LogError {
    /// Wraps an `io::Error` with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> LogError {
        LogError::Io {
            path: path.into(),
            source,
        }
    }
}
