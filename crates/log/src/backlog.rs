//! How much of the log lies at or after an offset, for bounded backlogs (peak shaving): the
//! bytes a consumer positioned at that offset still has to read.

use crate::error::LogError;
use crate::log::Log;

impl Log {
    /// Bytes from the start of the batch containing `offset` (clamped to the log start) to the
    /// log end; 0 at or past the log end. Batch-exact: a consumer in the middle of a batch
    /// still has the whole batch to fetch.
    pub fn bytes_from(&self, offset: i64) -> Result<u64, LogError> {
        let offset = offset.max(self.log_start_offset);
        if offset >= self.log_end_offset() {
            return Ok(0);
        }
        let first = self.segment_index_for(offset);
        let mut total = 0;
        for (i, segment) in self.segments[first..].iter().enumerate() {
            total += if i == 0 {
                match segment.locate(offset.max(segment.base_offset))? {
                    Some((position, _)) => segment.size - position,
                    None => 0,
                }
            } else {
                segment.size
            };
        }
        Ok(total)
    }
}

impl Log {
    /// drop-oldest for bounded backlogs: moves the log start offset to `offset` (at most the log
    /// end; at or below the current start has no effect). Held in memory while it stays inside
    /// the oldest segment — a crash may then bring those records back, which only re-offers
    /// records that were accepted — and persisted like DeleteRecords once whole segments fall
    /// below it and are deleted. Returns the new log start offset.
    pub fn drop_before(&mut self, offset: i64) -> Result<i64, LogError> {
        self.check_not_failed()?;
        let offset = offset.min(self.log_end_offset());
        if offset <= self.log_start_offset {
            return Ok(self.log_start_offset);
        }
        if self.segments.len() > 1 && self.segments[0].next_offset <= offset {
            return self.delete_records_before(offset);
        }
        self.log_start_offset = offset;
        Ok(offset)
    }
}
