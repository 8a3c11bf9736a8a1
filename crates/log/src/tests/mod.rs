//! Log-level tests: behaviour across segments, recovery, faults and a model-based
//! property test. Unit tests of single files live beside them.

mod append_read;
mod compaction;
mod compaction_model;
mod faults;
mod model;
mod producers;
mod recovery;
mod retention;
mod roll_index;
mod timestamps;

use crate::testing::{tiny_config, BatchBuilder};
use crate::{AppendInfo, BatchHeader, Log, LogConfig};
use std::path::Path;

pub(crate) fn open(dir: &Path, config: LogConfig) -> Log {
    Log::open(dir, config, 0).expect("open log")
}

pub(crate) fn open_tiny(dir: &Path) -> Log {
    open(dir, tiny_config())
}

pub(crate) fn append(log: &mut Log, builder: BatchBuilder) -> AppendInfo {
    let bytes = builder.build();
    log.append(&bytes, 0).expect("append")
}

/// Headers of the concatenated batches in `bytes` (asserting it is well formed).
pub(crate) fn headers(bytes: &[u8]) -> Vec<BatchHeader> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let size = crate::batch_size_at(&bytes[pos..]).expect("whole batch");
        out.push(BatchHeader::validate(&bytes[pos..pos + size], pos as u64).expect("valid batch"));
        pos += size;
    }
    out
}

/// Everything readable from the log start, as batch headers.
pub(crate) fn read_all(log: &Log) -> Vec<BatchHeader> {
    let bytes = log
        .read(log.log_start_offset(), usize::MAX, true, i64::MAX)
        .expect("read all");
    headers(&bytes)
}
