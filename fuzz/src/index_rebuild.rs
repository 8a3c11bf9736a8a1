//! `index_rebuild`: reopening a cleanly closed log whose index files were damaged afterwards.
//!
//! Input (read front to back; missing bytes read as 0):
//! * batch plan: a count byte (1..=40 batches), then per batch four bytes: records (1..=6),
//!   value length (0..=255), base timestamp, and a byte whose bits pick the timestamp step
//!   (-1, 0 or +1 ms per record) and whether the batch joins the previous append;
//! * index damage: per segment, oldest first, a mode byte for the `.index` and one for the
//!   `.timeindex`, each followed by its operand: keep, delete, replace with N arbitrary bytes,
//!   flip one bit, truncate, or append N arbitrary bytes.
//!
//! The batches are appended with `tiny_config` (1024-byte segments, an index entry every 128
//! bytes, room for 12 offset entries), so a plan spans several segments with several index
//! entries each, and `Log::close` writes real indexes and the clean-shutdown marker. The damage
//! is then applied and the log reopened: the trusted path runs, which skips CRC checks and must
//! notice index files that do not match the data and rebuild them.
//!
//! Invariants: the reopen succeeds; `log_start_offset` and `log_end_offset` are unchanged; the
//! log reads back exactly the batches appended; for every offset, a one-byte read returns the
//! batch that contains it; timestamp lookups succeed and return one of the log's batches; an
//! appended batch reads back.

use crate::log_check::{append_and_read_back, read_all, ReadBatch, NOW_MS};
use crate::scratch::ScratchDir;
use std::path::Path;
use wharf_log::testing::{tiny_config, BatchBuilder};
use wharf_log::{BatchHeader, Log};

/// Most batches one input appends: enough for several full segments under `tiny_config`.
const MAX_BATCHES: u8 = 40;
/// Most records per batch; with values up to 255 bytes a batch stays under one segment.
const MAX_RECORDS: u8 = 6;

/// Reads the input front to back; past its end every byte is 0, so any input is a whole plan.
struct Cursor<'a> {
    data: &'a [u8],
}

impl Cursor<'_> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let (taken, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        taken.to_vec()
    }
}

pub fn index_rebuild(data: &[u8]) {
    let mut input = Cursor { data };
    let dir = ScratchDir::new();
    let written = append_plan(&mut input, dir.path());
    let expected_end = written.last().map_or(0, |b| b.header.last_offset() + 1);
    for base in segment_bases(dir.path()) {
        for suffix in ["index", "timeindex"] {
            damage(&mut input, &dir.path().join(format!("{base:020}.{suffix}")));
        }
    }

    let mut log = Log::open(dir.path(), tiny_config(), NOW_MS)
        .unwrap_or_else(|e| panic!("reopening a cleanly closed log with damaged indexes failed: {e}"));
    assert_eq!(log.log_start_offset(), 0);
    assert_eq!(
        log.log_end_offset(),
        expected_end,
        "log_end_offset changed across the reopen"
    );
    assert_eq!(
        read_all(&log),
        written,
        "the log reads back differently after the reopen"
    );
    for offset in 0..expected_end {
        let read = log
            .read(offset, 1, true, i64::MAX)
            .unwrap_or_else(|e| panic!("read at offset {offset} failed: {e}"));
        let first = BatchHeader::parse(&read).unwrap_or_else(|e| panic!("read at offset {offset} returned {e}"));
        let holder = written
            .iter()
            .find(|b| b.header.base_offset <= offset && offset <= b.header.last_offset())
            .expect("every offset below log_end_offset was appended");
        assert_eq!(
            first.base_offset, holder.header.base_offset,
            "read at offset {offset} returned the batch at {} instead of the one containing it",
            first.base_offset
        );
        assert_eq!(
            &read[..],
            &holder.bytes[..],
            "read at offset {offset} returned different bytes"
        );
    }
    check_timestamp_lookups(&log, &written);
    append_and_read_back(&mut log);
}

/// Appends the planned batches, closes the log cleanly and returns what was written, each batch
/// with the base offset the log assigned.
fn append_plan(input: &mut Cursor<'_>, dir: &Path) -> Vec<ReadBatch> {
    let mut log = Log::open(dir, tiny_config(), NOW_MS).expect("a new log in an empty directory opens");
    let mut written = Vec::new();
    let mut pending: Vec<Vec<u8>> = Vec::new();
    let count = 1 + input.byte() % MAX_BATCHES;
    for i in 0..count {
        let records = 1 + input.byte() % MAX_RECORDS;
        let value_len = usize::from(input.byte());
        let timestamp = 1_000 + 10 * i64::from(input.byte());
        let shape = input.byte();
        let step = i64::from(shape % 3) - 1;
        let batch = BatchBuilder::new(u32::from(records))
            .value_len(value_len)
            .timestamp(timestamp)
            .timestamp_step(step)
            .fill(b'a' + i % 26)
            .build();
        if shape & 0x80 == 0 {
            flush_append(&mut log, &mut pending, &mut written);
        }
        pending.push(batch);
    }
    flush_append(&mut log, &mut pending, &mut written);
    log.close().expect("closing a healthy log succeeds");
    written
}

/// Appends the pending batches as one produce buffer and records them with their new offsets.
fn flush_append(log: &mut Log, pending: &mut Vec<Vec<u8>>, written: &mut Vec<ReadBatch>) {
    if pending.is_empty() {
        return;
    }
    let buffer: Vec<u8> = pending.concat();
    let info = log.append(&buffer, NOW_MS).expect("appending valid batches succeeds");
    let mut next = info.base_offset;
    for mut bytes in pending.drain(..) {
        bytes[..8].copy_from_slice(&next.to_be_bytes());
        let header = BatchHeader::validate(&bytes, 0).expect("a built batch with a new base offset is valid");
        next = header.last_offset() + 1;
        written.push(ReadBatch { header, bytes });
    }
    assert_eq!(next, info.last_offset + 1);
}

/// Base offsets of the segments in `dir`, ascending, from their `.log` file names.
fn segment_bases(dir: &Path) -> Vec<i64> {
    let mut bases: Vec<i64> = std::fs::read_dir(dir)
        .expect("the scratch dir is readable")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".log")?.parse().ok()
        })
        .collect();
    bases.sort_unstable();
    bases
}

/// Applies one damage mode from the input to an index file (which may be absent).
fn damage(input: &mut Cursor<'_>, path: &Path) {
    let mut bytes = std::fs::read(path).unwrap_or_default();
    match input.byte() % 6 {
        0 => return,
        1 => {
            let _ = std::fs::remove_file(path);
            return;
        }
        2 => {
            let len = usize::from(input.byte());
            bytes = input.bytes(len);
        }
        3 => {
            let bit = usize::from(u16::from_be_bytes([input.byte(), input.byte()]));
            if !bytes.is_empty() {
                let bit = bit % (bytes.len() * 8);
                bytes[bit / 8] ^= 1 << (bit % 8);
            }
        }
        4 => {
            let len = usize::from(input.byte()) % (bytes.len() + 1);
            bytes.truncate(len);
        }
        _ => {
            let len = usize::from(input.byte());
            bytes.extend(input.bytes(len));
        }
    }
    std::fs::write(path, bytes).expect("the scratch dir is writable");
}

/// ListOffsets by timestamp and by max timestamp read through the time index. After a clean
/// shutdown the index content is trusted the way Kafka trusts it, so a damaged but plausible
/// time index can change which batch is found; what must hold is that the lookup succeeds and
/// returns one of the log's own batches, whole and valid.
fn check_timestamp_lookups(log: &Log, written: &[ReadBatch]) {
    let is_own_batch = |found: &[u8], what: &str| {
        assert!(
            written.iter().any(|b| b.bytes == found),
            "{what} returned bytes that are not one of the log's batches"
        );
    };
    let mut probes: Vec<i64> = written.iter().map(|b| b.header.max_timestamp).collect();
    probes.extend([i64::MIN, -1, 0, i64::MAX]);
    for timestamp in probes {
        let found = log
            .batch_at_timestamp(timestamp)
            .unwrap_or_else(|e| panic!("batch_at_timestamp({timestamp}) failed: {e}"));
        if let Some(found) = found {
            is_own_batch(&found, "batch_at_timestamp");
        }
    }
    let found = log
        .max_timestamp_batch()
        .unwrap_or_else(|e| panic!("max_timestamp_batch failed: {e}"));
    if let Some(found) = found {
        is_own_batch(&found, "max_timestamp_batch");
    }
}
