//! The internal `__consumer_offsets` log: where the group coordinator's records (committed
//! offsets, group metadata, their tombstones) become durable, and what start-up replays.
//!
//! Layout: `<data dir>/__consumer_offsets/0/`, a wharf-log partition of RecordBatch v2 batches
//! whose records carry the coordinator's keys and values (docs/ON_DISK_FORMAT.md). It is not a
//! registry topic: Metadata does not list it, retention never deletes from it (it is compacted,
//! like Kafka's, so superseded commits and deleted groups go), and the name is reserved so
//! CreateTopics cannot collide with it. Synced through the shared group-commit flusher.

use std::path::Path;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record as KafkaRecord, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use wharf_coordinator::{GroupCoordinator, Record};
use wharf_log::{CleanupPolicy, Log, LogConfig, LogError};

use crate::partition::Partition;

/// Directory (and reserved topic name) of the internal log.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Largest batch of coordinator records: a group snapshot carries every member's subscription
/// and assignment, which can exceed a topic's 1 MiB default for a large group.
pub const OFFSETS_MAX_BATCH_BYTES: u32 = 64 * 1024 * 1024;

/// Kafka's offsets.topic.segment.bytes.
pub const OFFSETS_SEGMENT_BYTES: u64 = 100 * 1024 * 1024;

/// Bytes read per step while replaying at start-up.
const REPLAY_READ_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum OffsetsTopicError {
    #[error("internal offsets log: {0}")]
    Log(#[from] LogError),
    #[error("internal offsets log: cannot encode records: {0}")]
    Encode(String),
    #[error("internal offsets log: corrupt batch at offset {offset}: {reason}")]
    Corrupt { offset: i64, reason: String },
}

pub struct OffsetsTopic {
    pub partition: Arc<Partition>,
}

impl OffsetsTopic {
    /// Opens (recovering) the internal log and replays it into `coordinator`.
    pub fn open(
        data_dir: &Path,
        defaults: &LogConfig,
        coordinator: &mut GroupCoordinator,
        now_ms: i64,
    ) -> Result<OffsetsTopic, OffsetsTopicError> {
        let log = open_internal_log(&data_dir.join(OFFSETS_TOPIC).join("0"), defaults, now_ms)?;
        replay(&log, coordinator, now_ms)?;
        Ok(OffsetsTopic {
            partition: Arc::new(Partition::new(Arc::from(OFFSETS_TOPIC), 0, log)),
        })
    }

    /// Appends `records` as one batch; returns the last offset to wait for durability on.
    pub fn append(&self, records: &[Record], now_ms: i64) -> Result<Option<i64>, OffsetsTopicError> {
        if records.is_empty() {
            return Ok(None);
        }
        let batch = encode_batch(records, now_ms)?;
        let info = self.partition.log().append(&batch, now_ms)?;
        self.partition.publish_log_end(info.last_offset + 1);
        Ok(Some(info.last_offset))
    }
}

/// Opens an internal log as Kafka configures its offsets and transaction topics: compacted
/// (the newest record of each key is what replay needs), never deleted by retention, 100 MiB
/// segments (offsets.topic.segment.bytes) so old records become compactable in good time, and
/// batches up to [`OFFSETS_MAX_BATCH_BYTES`].
pub(crate) fn open_internal_log(dir: &Path, defaults: &LogConfig, now_ms: i64) -> Result<Log, LogError> {
    let config = LogConfig {
        cleanup_policy: CleanupPolicy::COMPACT,
        segment_bytes: defaults.segment_bytes.min(OFFSETS_SEGMENT_BYTES),
        retention_ms: -1,
        retention_bytes: -1,
        max_message_bytes: OFFSETS_MAX_BATCH_BYTES,
        ..defaults.clone()
    };
    Log::open(dir, config, now_ms)
}

fn encode_batch(records: &[Record], now_ms: i64) -> Result<BytesMut, OffsetsTopicError> {
    let pairs: Vec<(Bytes, Option<Bytes>)> = records.iter().map(|r| (r.key(), r.value())).collect();
    encode_key_values(&pairs, now_ms)
}

/// One RecordBatch v2 of key/value records with no producer: how every internal log
/// (`__consumer_offsets`, `__transaction_state`) stores its records.
pub(crate) fn encode_key_values(
    records: &[(Bytes, Option<Bytes>)],
    now_ms: i64,
) -> Result<BytesMut, OffsetsTopicError> {
    let kafka: Vec<KafkaRecord> = records
        .iter()
        .enumerate()
        .map(|(i, (key, value))| KafkaRecord {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder starts a new batch when offset - sequence changes; keeping them in
            // step gives one batch whose base sequence is -1 (no producer).
            sequence: i as i32 - 1,
            timestamp: now_ms,
            key: Some(key.clone()),
            value: value.clone(),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        kafka.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .map_err(|e| OffsetsTopicError::Encode(e.to_string()))?;
    Ok(buf)
}

fn replay(log: &Log, coordinator: &mut GroupCoordinator, now_ms: i64) -> Result<(), OffsetsTopicError> {
    let mut count = 0u64;
    replay_key_values(log, |offset, key, value| match Record::decode(key, value) {
        Ok(rec) => {
            coordinator.replay(rec, now_ms);
            count += 1;
        }
        // A record this version cannot read (written by a newer one) is skipped so the rest of
        // the groups still load.
        Err(e) => tracing::warn!(offset, error = %e, "skipping unreadable offsets record"),
    })?;
    coordinator.finish_replay();
    tracing::info!(
        records = count,
        groups = coordinator.group_count(),
        "consumer offsets loaded"
    );
    Ok(())
}

/// Calls `f(offset, key, value)` for every record of an internal log, in offset order.
pub(crate) fn replay_key_values(
    log: &Log,
    mut f: impl FnMut(i64, Option<&Bytes>, Option<&Bytes>),
) -> Result<(), OffsetsTopicError> {
    let end = log.log_end_offset();
    let mut offset = log.log_start_offset();
    while offset < end {
        let before = offset;
        let mut bytes: Bytes = log.read(offset, REPLAY_READ_BYTES, true, end)?;
        if bytes.is_empty() {
            break;
        }
        while bytes.has_remaining() {
            let set = RecordBatchDecoder::decode(&mut bytes).map_err(|e| OffsetsTopicError::Corrupt {
                offset,
                reason: e.to_string(),
            })?;
            for r in set.records {
                offset = offset.max(r.offset + 1);
                f(r.offset, r.key.as_ref(), r.value.as_ref());
            }
        }
        if offset == before {
            return Err(OffsetsTopicError::Corrupt {
                offset,
                reason: "no records past this offset".into(),
            });
        }
    }
    Ok(())
}
