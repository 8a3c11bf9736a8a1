//! Splitting the records of one fetched partition into whole v2 record batches.
//!
//! A Fetch response carries a partition's records as concatenated batches. The broker may cut
//! the last one short at the size limit (KIP-74), so a trailing partial batch is not an error:
//! it is left for the next fetch, which starts at the offset after the last whole batch. Only
//! the framing (base offset, length, magic, last offset delta) is read here; CRCs and records
//! are `kafka_protocol::records::RecordBatchDecoder`'s job.

use bytes::{Buf, Bytes};

/// Bytes before a batch's length field ends: base offset (8) and batch length (4).
const LOG_OVERHEAD_BYTES: usize = 12;
/// Position of the magic byte (record batch format version) in a batch.
const MAGIC_OFFSET: usize = 16;
/// Position of the last offset delta (i32) in a v2 batch.
const LAST_OFFSET_DELTA_OFFSET: usize = 23;
/// Fixed header of a v2 record batch, from base offset through record count.
pub const BATCH_HEADER_BYTES: usize = 61;

/// Takes the next whole batch off `records`; `None` when nothing or only a partial batch is
/// left. Errors name what is malformed.
pub fn next_batch(records: &mut Bytes) -> Result<Option<Bytes>, String> {
    let Some(header) = records.get(..LOG_OVERHEAD_BYTES) else {
        return Ok(None);
    };
    let length = i32::from_be_bytes([header[8], header[9], header[10], header[11]]);
    let length = usize::try_from(length).map_err(|_| format!("negative batch length {length}"))?;
    let total = LOG_OVERHEAD_BYTES + length;
    if total < BATCH_HEADER_BYTES {
        return Err(format!("batch length {length} is shorter than a batch header"));
    }
    if records.len() < total {
        return Ok(None);
    }
    let batch = records.split_to(total);
    if batch[MAGIC_OFFSET] != 2 {
        return Err(format!(
            "record format v{} is not supported (only v2 batches)",
            batch[MAGIC_OFFSET]
        ));
    }
    Ok(Some(batch))
}

/// Base offset and last offset of a whole v2 batch (as returned by [`next_batch`]).
pub fn batch_offsets(batch: &Bytes) -> Result<(i64, i64), String> {
    let mut head = batch.slice(..);
    let base_offset = head.get_i64();
    let mut delta_bytes = batch.slice(LAST_OFFSET_DELTA_OFFSET..LAST_OFFSET_DELTA_OFFSET + 4);
    let last_offset_delta = delta_bytes.get_i32();
    if last_offset_delta < 0 {
        return Err(format!("negative last offset delta in batch at {base_offset}"));
    }
    Ok((base_offset, base_offset + i64::from(last_offset_delta)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::{BufMut, BytesMut};

    /// A syntactically whole batch header (no records) with the given offsets.
    fn header(base: i64, last_delta: i32) -> BytesMut {
        let mut b = BytesMut::new();
        b.put_i64(base);
        b.put_i32((BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES) as i32);
        b.put_i32(0); // partition leader epoch
        b.put_u8(2); // magic
        b.put_u32(0); // crc
        b.put_i16(0); // attributes
        b.put_i32(last_delta);
        b.put_bytes(0, BATCH_HEADER_BYTES - b.len());
        b
    }

    #[test]
    fn next_batch_splits_whole_batches_and_leaves_a_partial_tail() {
        let mut all = header(0, 4);
        all.put_slice(&header(5, 0));
        all.put_slice(&header(6, 1)[..20]);
        let mut records = all.freeze();
        let first = next_batch(&mut records).expect("ok").expect("whole");
        assert_eq!(batch_offsets(&first).expect("offsets"), (0, 4));
        let second = next_batch(&mut records).expect("ok").expect("whole");
        assert_eq!(batch_offsets(&second).expect("offsets"), (5, 5));
        assert_eq!(next_batch(&mut records).expect("ok"), None, "partial tail");
    }

    #[test]
    fn next_batch_rejects_negative_length_and_old_magic() {
        let mut b = BytesMut::new();
        b.put_i64(0);
        b.put_i32(-5);
        assert!(next_batch(&mut b.freeze()).is_err());
        let mut old = header(0, 0);
        old[MAGIC_OFFSET] = 1;
        assert!(next_batch(&mut old.freeze()).is_err());
    }
}
