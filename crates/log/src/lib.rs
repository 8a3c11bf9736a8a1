//! `wharf-log`: the durable, segmented log of one topic partition.
//!
//! Stores Kafka RecordBatch v2 bytes exactly as received (never decompressing),
//! assigns offsets, serves fetches and ListOffsets lookups, recovers after a crash,
//! applies DeleteRecords, retention and compaction, and keeps idempotent producers' sequence state
//! (duplicates answered with their original offsets, gaps and stale epochs refused). Synchronous and deterministic: time is
//! passed in as `now_ms`, and the filesystem sits behind [`Storage`] so tests can
//! inject faults. Knows nothing of sockets or Kafka error codes.
//!
//! The on-disk format is described in `docs/ON_DISK_FORMAT.md` at the repository root.

mod backlog;
mod batch;
mod checkpoint;
mod cleaner;
mod config;
mod error;
mod index;
mod live;
mod log;
mod open;
mod producer_ids;
mod producer_snapshot;
mod producer_state;
mod producers;
mod record;
mod retention;
mod scan;
mod segment;
mod storage;
mod sync;
mod transactions;
mod txn_index;

#[cfg(any(test, feature = "test-util"))]
pub mod testing;

#[cfg(test)]
mod tests;

pub use batch::{
    batch_size_at, validate_batches, BatchHeader, BatchesInfo, BATCH_HEADER_BYTES, LOG_OVERHEAD_BYTES, MAGIC_V2,
};
pub use cleaner::{
    AfterInstall, CleanStats, Cleaned, CleanerConfig, CleaningPlan, DEFAULT_DEDUPE_BUFFER_BYTES,
    MIN_DEDUPE_BUFFER_BYTES,
};
pub use config::{
    CleanupPolicy, LogConfig, DEFAULT_DELETE_RETENTION_MS, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_PRODUCERS,
    DEFAULT_MIN_CLEANABLE_DIRTY_PERMILLE, DEFAULT_PRODUCER_ID_EXPIRATION_MS, MAX_APPEND_BYTES, MAX_PRODUCERS_CEILING,
    MAX_SEGMENT_BYTES, MAX_SEGMENT_INDEX_BYTES, MIN_MESSAGE_BYTES, MIN_SEGMENT_BYTES, MIN_SEGMENT_INDEX_BYTES,
    SEVEN_DAYS_MS,
};
pub use error::LogError;
pub use index::{OFFSET_INDEX_ENTRY_BYTES, TIME_INDEX_ENTRY_BYTES};
pub use log::{AppendInfo, Log};
pub use producer_ids::{ProducerIdAllocator, PRODUCER_ID_BLOCK_FILE, PRODUCER_ID_BLOCK_SIZE};
pub use producer_state::{
    BatchMetadata, ProducerEntry, ProducerState, SequenceCheck, BATCHES_PER_PRODUCER, NO_PRODUCER_EPOCH,
};
pub use storage::{OsStorage, Storage, StorageFile};
pub use sync::SyncPoint;
pub use transactions::{control_batch, AbortedTxn, ControlType, TxnState, CONTROL_BATCH_ATTRIBUTES};
