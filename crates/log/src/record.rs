//! The records inside an uncompressed RecordBatch v2, read and written without decoding values.
//!
//! Only the cleaner (compaction) looks inside batches: it needs each record's offset delta, its
//! key and whether its value is null (a tombstone), and it writes retained records back byte for
//! byte. A record is (protocol guide, "Record"): length varint, attributes int8, timestampDelta
//! varlong, offsetDelta varint, keyLength varint, key, valueLength varint, value, headers. Every
//! length is checked against the bytes actually present before it is used, so a damaged batch is
//! an error, never a panic or an allocation sized by a length field.
//!
//! Also builds a batch around a list of records (header fields from the original batch, new
//! length, count and CRC-32C), which is how the cleaner writes a filtered batch.

use crate::batch::{BatchHeader, BATCH_HEADER_BYTES, LOG_OVERHEAD_BYTES, MAGIC_V2};

/// Attributes bit 6 (KIP-534): the batch's baseTimestamp holds the delete horizon of its
/// tombstones, the time after which the cleaner may remove them.
pub(crate) const DELETE_HORIZON_FLAG: i16 = 0x40;

/// One record, borrowed from its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawRecord<'a> {
    /// The whole record, including its length prefix.
    pub(crate) bytes: &'a [u8],
    pub(crate) timestamp_delta: i64,
    pub(crate) offset_delta: i32,
    /// `None` for a record without a key.
    pub(crate) key: Option<&'a [u8]>,
    /// `None` for a tombstone (null value).
    pub(crate) value: Option<&'a [u8]>,
    /// The record's attributes byte.
    attributes: u8,
    /// The record from offsetDelta to its end: what stays when the timestamp delta changes.
    after_timestamp: &'a [u8],
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn varlong(&mut self) -> Result<i64, &'static str> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.bytes.get(self.at) else {
                return Err("truncated varint");
            };
            self.at += 1;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
            }
        }
        Err("varint longer than 10 bytes")
    }

    fn varint(&mut self) -> Result<i32, &'static str> {
        i32::try_from(self.varlong()?).map_err(|_| "varint out of i32 range")
    }

    fn byte(&mut self) -> Result<u8, &'static str> {
        let b = *self.bytes.get(self.at).ok_or("truncated record")?;
        self.at += 1;
        Ok(b)
    }

    /// A nullable byte string: length -1 is null.
    fn nullable(&mut self) -> Result<Option<&'a [u8]>, &'static str> {
        let len = self.varint()?;
        if len < 0 {
            return if len == -1 { Ok(None) } else { Err("negative length") };
        }
        let end = self.at.checked_add(len as usize).ok_or("length overflow")?;
        let slice = self.bytes.get(self.at..end).ok_or("length past the record")?;
        self.at = end;
        Ok(Some(slice))
    }
}

/// Splits a batch's (uncompressed) records section into records. `expected` is the batch's
/// recordCount; a different number of records, or bytes left over, is an error.
pub(crate) fn parse_records(section: &[u8], expected: i32) -> Result<Vec<RawRecord<'_>>, &'static str> {
    let mut records = Vec::new();
    let mut at = 0usize;
    while at < section.len() {
        let mut r = Reader { bytes: section, at };
        let len = r.varint()?;
        if len < 0 {
            return Err("negative record length");
        }
        let end = r.at.checked_add(len as usize).ok_or("record length overflow")?;
        if end > section.len() {
            return Err("record extends past the batch");
        }
        let mut body = Reader {
            bytes: &section[..end],
            at: r.at,
        };
        let attributes = body.byte()?;
        let timestamp_delta = body.varlong()?;
        let after_timestamp_at = body.at;
        let offset_delta = body.varint()?;
        let key = body.nullable()?;
        let value = body.nullable()?;
        records.push(RawRecord {
            bytes: &section[at..end],
            timestamp_delta,
            offset_delta,
            key,
            value,
            attributes,
            after_timestamp: &section[after_timestamp_at..end],
        });
        at = end;
        if records.len() as i64 > i64::from(expected) {
            return Err("more records than recordCount");
        }
    }
    if records.len() as i64 != i64::from(expected) {
        return Err("fewer records than recordCount");
    }
    Ok(records)
}

/// Appends `v` as a zigzag varlong (protocol guide, "Record").
pub(crate) fn put_varlong(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn varlong_len(v: i64) -> usize {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    let mut n = 1;
    while z >= 0x80 {
        z >>= 7;
        n += 1;
    }
    n
}

impl RawRecord<'_> {
    /// Appends this record to `out` with its timestamp delta taken relative to
    /// `new_base_timestamp` instead of `old_base_timestamp` (same absolute timestamp).
    pub(crate) fn write_rebased(&self, out: &mut Vec<u8>, old_base_timestamp: i64, new_base_timestamp: i64) {
        if old_base_timestamp == new_base_timestamp {
            out.extend_from_slice(self.bytes);
            return;
        }
        let timestamp = old_base_timestamp.wrapping_add(self.timestamp_delta);
        let delta = timestamp.wrapping_sub(new_base_timestamp);
        let len = 1 + varlong_len(delta) + self.after_timestamp.len();
        put_varlong(out, len as i64);
        out.push(self.attributes);
        put_varlong(out, delta);
        out.extend_from_slice(self.after_timestamp);
    }
}

/// A whole batch with `original`'s baseOffset, lastOffsetDelta, maxTimestamp, producer fields and
/// leader epoch, the given attributes and baseTimestamp, and `records` (already encoded,
/// `record_count` of them) as its uncompressed records section. Keeping lastOffsetDelta and the
/// base sequence is what Kafka's cleaner does too: the batch still ends where the producer's
/// sequence says it does.
pub(crate) fn build_batch(
    original: &BatchHeader,
    attributes: i16,
    base_timestamp: i64,
    records: &[u8],
    record_count: i32,
) -> Vec<u8> {
    let mut b = Vec::with_capacity(BATCH_HEADER_BYTES + records.len());
    let batch_length = (BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES + records.len()) as i32;
    b.extend_from_slice(&original.base_offset.to_be_bytes());
    b.extend_from_slice(&batch_length.to_be_bytes());
    b.extend_from_slice(&original.partition_leader_epoch.to_be_bytes());
    b.push(MAGIC_V2 as u8);
    b.extend_from_slice(&[0; 4]); // CRC, filled in below
    b.extend_from_slice(&attributes.to_be_bytes());
    b.extend_from_slice(&original.last_offset_delta.to_be_bytes());
    b.extend_from_slice(&base_timestamp.to_be_bytes());
    b.extend_from_slice(&original.max_timestamp.to_be_bytes());
    b.extend_from_slice(&original.producer_id.to_be_bytes());
    b.extend_from_slice(&original.producer_epoch.to_be_bytes());
    b.extend_from_slice(&original.base_sequence.to_be_bytes());
    b.extend_from_slice(&record_count.to_be_bytes());
    debug_assert_eq!(b.len(), BATCH_HEADER_BYTES);
    b.extend_from_slice(records);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// Encodes one record (for tests and the batch builder): attributes 0, no headers.
#[cfg(any(test, feature = "test-util"))]
pub(crate) fn encode_record(
    out: &mut Vec<u8>,
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) {
    let mut body = vec![0u8];
    put_varlong(&mut body, timestamp_delta);
    put_varlong(&mut body, i64::from(offset_delta));
    for field in [key, value] {
        match field {
            Some(bytes) => {
                put_varlong(&mut body, bytes.len() as i64);
                body.extend_from_slice(bytes);
            }
            None => put_varlong(&mut body, -1),
        }
    }
    put_varlong(&mut body, 0);
    put_varlong(out, body.len() as i64);
    out.extend_from_slice(&body);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (timestamp delta, offset delta, key, value) per record.
    type Spec<'a> = (i64, i32, Option<&'a [u8]>, Option<&'a [u8]>);

    fn section(records: &[Spec<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        for (ts, off, k, v) in records {
            encode_record(&mut out, *ts, *off, *k, *v);
        }
        out
    }

    #[test]
    fn parse_records_reads_keys_offsets_and_tombstones() {
        let s = section(&[
            (0, 0, Some(b"a"), Some(b"1")),
            (5, 2, Some(b"b"), None),
            (-3, 3, None, Some(b"x")),
        ]);
        let r = parse_records(&s, 3).expect("valid records");
        assert_eq!(r.len(), 3);
        assert_eq!(
            (r[0].offset_delta, r[0].key, r[0].value),
            (0, Some(&b"a"[..]), Some(&b"1"[..]))
        );
        assert_eq!((r[1].offset_delta, r[1].timestamp_delta, r[1].value), (2, 5, None));
        assert_eq!((r[2].key, r[2].timestamp_delta), (None, -3));
        let joined: Vec<u8> = r.iter().flat_map(|x| x.bytes.iter().copied()).collect();
        assert_eq!(joined, s, "records tile the section exactly");
    }

    #[test]
    fn parse_records_wrong_count_or_truncation_is_an_error() {
        let s = section(&[(0, 0, Some(b"a"), Some(b"1")), (0, 1, Some(b"b"), Some(b"2"))]);
        assert!(parse_records(&s, 1).is_err());
        assert!(parse_records(&s, 3).is_err());
        for cut in 1..s.len() {
            assert!(parse_records(&s[..cut], 2).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn write_rebased_keeps_the_absolute_timestamp() {
        let s = section(&[(7, 4, Some(b"key"), None)]);
        let r = parse_records(&s, 1).expect("valid")[0];
        let mut out = Vec::new();
        r.write_rebased(&mut out, 1_000, 1_000_000_000_000);
        let moved = parse_records(&out, 1).expect("still valid")[0];
        assert_eq!(1_000_000_000_000 + moved.timestamp_delta, 1_007);
        assert_eq!(
            (moved.offset_delta, moved.key, moved.value),
            (4, Some(&b"key"[..]), None)
        );
    }

    #[test]
    fn build_batch_validates_and_keeps_the_offset_span() {
        let s = section(&[(0, 3, Some(b"k"), Some(b"v"))]);
        let original = BatchHeader {
            base_offset: 100,
            batch_length: 0,
            partition_leader_epoch: 0,
            magic: MAGIC_V2,
            crc: 0,
            attributes: 0,
            last_offset_delta: 3,
            base_timestamp: 5,
            max_timestamp: 9,
            producer_id: 7,
            producer_epoch: 1,
            base_sequence: 40,
            record_count: 4,
        };
        let b = build_batch(&original, 0, 5, &s, 1);
        let h = BatchHeader::validate(&b, 0).expect("valid batch");
        assert_eq!((h.base_offset, h.last_offset(), h.record_count), (100, 103, 1));
        assert_eq!((h.producer_id, h.base_sequence, h.max_timestamp), (7, 40, 9));
    }
}
