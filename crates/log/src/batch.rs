//! Kafka RecordBatch v2 header: parsing, validation and base-offset patching.
//!
//! The log stores batches exactly as received and never decompresses records, so
//! this file only reads the fixed 61-byte header and checks the CRC-32C. The CRC
//! covers bytes 21..end (attributes onwards), not baseOffset, batchLength,
//! partitionLeaderEpoch or magic, which is why the log can assign offsets by
//! patching baseOffset in place without recomputing it.
//!
//! Header layout (big-endian), see the Kafka protocol guide "RecordBatch":
//! baseOffset i64 @0, batchLength i32 @8, partitionLeaderEpoch i32 @12, magic i8 @16,
//! crc u32 @17, attributes i16 @21, lastOffsetDelta i32 @23, baseTimestamp i64 @27,
//! maxTimestamp i64 @35, producerId i64 @43, producerEpoch i16 @51,
//! baseSequence i32 @53, recordCount i32 @57.

use crate::error::LogError;

/// Size of the fixed RecordBatch v2 header.
pub const BATCH_HEADER_BYTES: usize = 61;
/// baseOffset (8) + batchLength (4): the bytes not counted by batchLength.
pub const LOG_OVERHEAD_BYTES: usize = 12;
/// The only record batch format this log accepts.
pub const MAGIC_V2: i8 = 2;

const BATCH_LENGTH_AT: usize = 8;
const LEADER_EPOCH_AT: usize = 12;
const MAGIC_AT: usize = 16;
const CRC_AT: usize = 17;
/// First byte covered by the CRC.
const ATTRIBUTES_AT: usize = 21;
const LAST_OFFSET_DELTA_AT: usize = 23;
const BASE_TIMESTAMP_AT: usize = 27;
const MAX_TIMESTAMP_AT: usize = 35;
const PRODUCER_ID_AT: usize = 43;
const PRODUCER_EPOCH_AT: usize = 51;
const BASE_SEQUENCE_AT: usize = 53;
const RECORD_COUNT_AT: usize = 57;

const _: () = assert!(RECORD_COUNT_AT + 4 == BATCH_HEADER_BYTES);

/// The decoded fixed header of one RecordBatch v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    /// Bytes after the batchLength field; the whole batch is `12 + batch_length`.
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub record_count: i32,
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    i32::from_be_bytes(a)
}
fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}

/// Reads the batchLength field and returns the whole batch size (`12 + batchLength`),
/// or `None` if fewer than 12 bytes are given or the length is too small to hold a header.
pub fn batch_size_at(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < LOG_OVERHEAD_BYTES {
        return None;
    }
    let len = be_i32(bytes, BATCH_LENGTH_AT);
    if len < (BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES) as i32 {
        return None;
    }
    Some(LOG_OVERHEAD_BYTES + len as usize)
}

impl BatchHeader {
    /// Decodes the header fields from the first 61 bytes. Checks only that enough
    /// bytes are present; use [`BatchHeader::validate`] for magic, lengths and CRC.
    pub fn parse(bytes: &[u8]) -> Result<BatchHeader, LogError> {
        if bytes.len() < BATCH_HEADER_BYTES {
            return Err(LogError::CorruptBatch {
                position: 0,
                reason: "shorter than a batch header",
            });
        }
        Ok(BatchHeader {
            base_offset: be_i64(bytes, 0),
            batch_length: be_i32(bytes, BATCH_LENGTH_AT),
            partition_leader_epoch: be_i32(bytes, LEADER_EPOCH_AT),
            magic: bytes[MAGIC_AT] as i8,
            crc: be_i32(bytes, CRC_AT) as u32,
            attributes: be_i16(bytes, ATTRIBUTES_AT),
            last_offset_delta: be_i32(bytes, LAST_OFFSET_DELTA_AT),
            base_timestamp: be_i64(bytes, BASE_TIMESTAMP_AT),
            max_timestamp: be_i64(bytes, MAX_TIMESTAMP_AT),
            producer_id: be_i64(bytes, PRODUCER_ID_AT),
            producer_epoch: be_i16(bytes, PRODUCER_EPOCH_AT),
            base_sequence: be_i32(bytes, BASE_SEQUENCE_AT),
            record_count: be_i32(bytes, RECORD_COUNT_AT),
        })
    }

    /// Validates one whole batch (`batch` must be exactly the batch's bytes) and
    /// returns its header: magic 2, a consistent length, the CRC-32C, a
    /// non-negative lastOffsetDelta and `0 <= recordCount <= lastOffsetDelta + 1`. An empty
    /// batch exists only in compacted segments (the cleaner keeps one to hold a segment's last
    /// offset); the append path refuses it (`validate_batches`).
    /// `position` is only used in the error.
    pub fn validate(batch: &[u8], position: u64) -> Result<BatchHeader, LogError> {
        let corrupt = |reason| Err(LogError::CorruptBatch { position, reason });
        let header = match BatchHeader::parse(batch) {
            Ok(h) => h,
            Err(_) => return corrupt("shorter than a batch header"),
        };
        if batch_size_at(batch) != Some(batch.len()) {
            return corrupt("batchLength does not match the batch bytes");
        }
        if header.magic != MAGIC_V2 {
            return corrupt("magic is not 2");
        }
        if crc32c::crc32c(&batch[ATTRIBUTES_AT..]) != header.crc {
            return corrupt("CRC-32C mismatch");
        }
        if header.last_offset_delta < 0 {
            return corrupt("negative lastOffsetDelta");
        }
        // Compacted batches may hold fewer records than offsets, never more.
        if header.record_count < 0 || i64::from(header.record_count) > header.offset_count() {
            return corrupt("recordCount out of range for lastOffsetDelta");
        }
        Ok(header)
    }

    /// Whole batch size in bytes, including the 12-byte log overhead.
    pub fn size(&self) -> usize {
        LOG_OVERHEAD_BYTES + self.batch_length.max(0) as usize
    }

    /// Offsets this batch occupies: lastOffsetDelta + 1.
    pub fn offset_count(&self) -> i64 {
        i64::from(self.last_offset_delta) + 1
    }

    /// Offset of the last record: base_offset + lastOffsetDelta.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    /// Compression codec id (attributes bits 0-2): 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    pub fn compression_codec(&self) -> u8 {
        (self.attributes & 0x07) as u8
    }

    /// Timestamp type (attributes bit 3): true for LogAppendTime, false for CreateTime.
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & 0x08 != 0
    }

    /// Attributes bit 4.
    pub fn is_transactional(&self) -> bool {
        self.attributes & 0x10 != 0
    }

    /// Attributes bit 5.
    pub fn is_control(&self) -> bool {
        self.attributes & 0x20 != 0
    }
}

/// Overwrites the baseOffset field of the batch starting at `batch[0]`. The CRC does
/// not cover baseOffset, so the batch stays valid.
#[cfg(test)]
pub(crate) fn patch_base_offset(batch: &mut [u8], base_offset: i64) {
    batch[..8].copy_from_slice(&base_offset.to_be_bytes());
}

/// Summary of a validated produce buffer of one or more batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchesInfo {
    /// Every batch header, in order (producer id/epoch/base sequence, attributes, ...).
    pub batches: Vec<BatchHeader>,
    /// Sum of recordCount over all batches.
    pub record_count: u64,
    /// Sum of lastOffsetDelta + 1 over all batches: how many offsets the append uses.
    pub offset_count: u64,
    /// Largest maxTimestamp of any batch (-1 if none carries a timestamp).
    pub max_timestamp: i64,
    /// Total bytes.
    pub bytes: u64,
}

/// Validates a buffer of concatenated v2 batches that must be consumed exactly.
/// Each batch must be at most `max_message_bytes` (checked on the declared size,
/// before looking at the bytes, so an oversized batch is reported as too large
/// even if truncated).
pub fn validate_batches(records: &[u8], max_message_bytes: u32) -> Result<BatchesInfo, LogError> {
    if records.is_empty() {
        return Err(LogError::CorruptBatch {
            position: 0,
            reason: "no record batches",
        });
    }
    let mut info = BatchesInfo {
        batches: Vec::new(),
        record_count: 0,
        offset_count: 0,
        max_timestamp: -1,
        bytes: records.len() as u64,
    };
    let mut pos = 0usize;
    while pos < records.len() {
        let rest = &records[pos..];
        let position = pos as u64;
        if rest.len() < LOG_OVERHEAD_BYTES {
            return Err(LogError::CorruptBatch {
                position,
                reason: "truncated batch length",
            });
        }
        let declared = i64::from(be_i32(rest, BATCH_LENGTH_AT)) + LOG_OVERHEAD_BYTES as i64;
        if declared > i64::from(max_message_bytes) {
            return Err(LogError::MessageTooLarge {
                size: declared as u64,
                max: u64::from(max_message_bytes),
            });
        }
        let Some(size) = batch_size_at(rest) else {
            return Err(LogError::CorruptBatch {
                position,
                reason: "batchLength smaller than a header",
            });
        };
        if size > rest.len() {
            return Err(LogError::CorruptBatch {
                position,
                reason: "batch extends past the input",
            });
        }
        let header = BatchHeader::validate(&rest[..size], position)?;
        if header.record_count == 0 {
            return Err(LogError::CorruptBatch {
                position,
                reason: "batch holds no records",
            });
        }
        info.record_count += header.record_count as u64;
        info.offset_count += header.offset_count() as u64;
        info.max_timestamp = info.max_timestamp.max(header.max_timestamp);
        info.batches.push(header);
        pos += size;
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::BatchBuilder;

    #[test]
    fn validate_batches_valid_pair_returns_counts() {
        let mut buf = BatchBuilder::new(3).timestamp(100).build();
        buf.extend(BatchBuilder::new(2).timestamp(50).producer(7, 1, 10).build());
        let info = validate_batches(&buf, 1 << 20).expect("valid batches");
        assert_eq!(info.batches.len(), 2);
        assert_eq!(info.record_count, 5);
        assert_eq!(info.offset_count, 5);
        assert_eq!(info.batches[1].producer_id, 7);
        assert_eq!(info.batches[1].base_sequence, 10);
        assert!(info.max_timestamp >= 100);
    }

    #[test]
    fn validate_batches_flipped_crc_byte_is_corrupt() {
        let mut buf = BatchBuilder::new(1).build();
        let last = buf.len() - 1;
        buf[last] ^= 1;
        assert!(matches!(
            validate_batches(&buf, 1 << 20),
            Err(LogError::CorruptBatch { .. })
        ));
    }

    #[test]
    fn validate_batches_base_offset_patch_keeps_crc_valid() {
        let mut buf = BatchBuilder::new(1).build();
        patch_base_offset(&mut buf, 12345);
        let info = validate_batches(&buf, 1 << 20).expect("patched batch still valid");
        assert_eq!(info.batches[0].base_offset, 12345);
    }

    #[test]
    fn validate_batches_exact_max_passes_and_max_plus_one_is_too_large() {
        let buf = BatchBuilder::new(1).value_len(200).build();
        let max = buf.len() as u32;
        assert!(validate_batches(&buf, max).is_ok());
        assert!(matches!(
            validate_batches(&buf, max - 1),
            Err(LogError::MessageTooLarge { size, max: m }) if size == u64::from(max) && m == u64::from(max - 1)
        ));
    }

    #[test]
    fn validate_batches_trailing_bytes_or_truncation_is_corrupt() {
        let mut buf = BatchBuilder::new(1).build();
        buf.push(0);
        assert!(matches!(
            validate_batches(&buf, 1 << 20),
            Err(LogError::CorruptBatch { .. })
        ));
        let buf = BatchBuilder::new(1).build();
        for cut in 0..buf.len() {
            assert!(validate_batches(&buf[..cut], 1 << 20).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn validate_batches_bad_magic_or_counts_is_corrupt() {
        let mut buf = BatchBuilder::new(1).build();
        buf[MAGIC_AT] = 1;
        assert!(validate_batches(&buf, 1 << 20).is_err());
        let buf = BatchBuilder::new(2).record_count_override(3).build();
        assert!(validate_batches(&buf, 1 << 20).is_err());
        let buf = BatchBuilder::new(2).record_count_override(0).build();
        assert!(validate_batches(&buf, 1 << 20).is_err());
    }

    #[test]
    fn batch_header_attribute_accessors_decode_bits() {
        let buf = BatchBuilder::new(1).attributes(0x10 | 0x20 | 0x08 | 0x03).build();
        let h = BatchHeader::parse(&buf).expect("header");
        assert_eq!(h.compression_codec(), 3);
        assert!(h.is_transactional() && h.is_control() && h.is_log_append_time());
    }
}
