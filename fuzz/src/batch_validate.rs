//! `batch_validate`: `wharf_log::validate_batches`, the check every produced buffer passes
//! before the log stores it, on arbitrary bytes.
//!
//! The input is the whole buffer; it is validated twice, with no effective size limit and with
//! a small one (the smallest legal `max_message_bytes`, 61, plus the first byte), so both the
//! too-large path and the full walk run on every input.
//!
//! Invariants when `Ok`: the batches tile the input exactly (their sizes sum to its length);
//! each one, cut out at its position, passes `BatchHeader::validate` on its own and parses to
//! the reported header; the record count, offset count and max timestamp are the sums and
//! maximum over the headers; no batch exceeds the limit; and a buffer accepted under the small
//! limit is accepted identically under the large one.

use wharf_log::{validate_batches, BatchHeader, BatchesInfo, LogError, MIN_MESSAGE_BYTES};

pub fn batch_validate(data: &[u8]) {
    let unlimited = validate_batches(data, u32::MAX);
    if let Ok(info) = &unlimited {
        check_info(data, info, u32::MAX);
    }
    let small_max = MIN_MESSAGE_BYTES + u32::from(data.first().copied().unwrap_or(0));
    match validate_batches(data, small_max) {
        Ok(info) => {
            check_info(data, &info, small_max);
            assert_eq!(unlimited.as_ref().ok(), Some(&info), "a smaller limit accepted more");
        }
        Err(LogError::MessageTooLarge { size, max }) => {
            assert_eq!(max, u64::from(small_max));
            assert!(size > max, "MessageTooLarge for {size} bytes under a limit of {max}");
        }
        Err(LogError::CorruptBatch { position, .. }) => {
            assert!(position <= data.len() as u64, "corruption reported past the input");
        }
        Err(e) => panic!("validate_batches returned an error it never should: {e}"),
    }
}

fn check_info(data: &[u8], info: &BatchesInfo, max: u32) {
    assert_eq!(info.bytes, data.len() as u64);
    let mut position = 0usize;
    let mut record_count = 0u64;
    let mut offset_count = 0u64;
    let mut max_timestamp = -1i64;
    for header in &info.batches {
        let size = header.size();
        assert!(
            size as u64 <= u64::from(max),
            "batch of {size} bytes accepted under {max}"
        );
        let end = position.checked_add(size).filter(|end| *end <= data.len());
        let end = end.unwrap_or_else(|| panic!("batch at {position} of {size} bytes overruns the input"));
        let bytes = &data[position..end];
        let revalidated = BatchHeader::validate(bytes, position as u64)
            .unwrap_or_else(|e| panic!("accepted batch at {position} fails validate alone: {e}"));
        assert_eq!(&revalidated, header);
        assert_eq!(BatchHeader::parse(bytes).ok().as_ref(), Some(header));
        assert!(header.record_count > 0 && i64::from(header.record_count) <= header.offset_count());
        record_count += header.record_count as u64;
        offset_count += header.offset_count() as u64;
        max_timestamp = max_timestamp.max(header.max_timestamp);
        position = end;
    }
    assert_eq!(position, data.len(), "accepted batches do not cover the input");
    assert_eq!(info.record_count, record_count);
    assert_eq!(info.offset_count, offset_count);
    assert_eq!(info.max_timestamp, max_timestamp);
}
