//! `log_recovery`: opening a partition directory after a crash, whatever the crash left in it.
//!
//! Input: `[flags, sections..., log bytes...]`. The log bytes become segment
//! `00000000000000000000.log`. Flag bit 0: a length byte and that many bytes follow, written as
//! its `.index`; bit 1: likewise for its `.timeindex`; bit 2: a base-offset byte B and a u16 split
//! point follow, and the log bytes from the split point on become a second segment `{B:020}.log`
//! (when B is not 0), so gap and truncation handling across segments runs too. No clean-shutdown
//! marker and no recovery-point checkpoint are written, so every segment is recovered: each
//! batch's length, CRC and offset are checked and the first bad one ends the log.
//!
//! Invariants: `Log::open` succeeds (garbage is truncated, never an error); the log starts at 0;
//! reading it end to end gives valid, ascending batches ending at `log_end_offset` (0 when
//! empty); what survives is a prefix of what was written (recovery only cuts); an appended batch
//! reads back; and after a clean close the log reopens with the same contents.

use crate::log_check::{append_and_read_back, read_all, NOW_MS};
use crate::scratch::ScratchDir;
use wharf_log::testing::tiny_config;
use wharf_log::Log;

const FIRST_SEGMENT: &str = "00000000000000000000";

/// The files an input describes.
struct CrashedDir<'a> {
    log: &'a [u8],
    index: Option<&'a [u8]>,
    time_index: Option<&'a [u8]>,
    /// Base offset and bytes of a second segment.
    second: Option<(i64, &'a [u8])>,
}

impl<'a> CrashedDir<'a> {
    fn parse(data: &'a [u8]) -> CrashedDir<'a> {
        let Some((&flags, mut rest)) = data.split_first() else {
            return CrashedDir {
                log: &[],
                index: None,
                time_index: None,
                second: None,
            };
        };
        let mut section = |on: bool| -> Option<&'a [u8]> {
            if !on {
                return None;
            }
            let (&len, after) = rest.split_first()?;
            let (bytes, after) = after.split_at(usize::from(len).min(after.len()));
            rest = after;
            Some(bytes)
        };
        let index = section(flags & 1 != 0);
        let time_index = section(flags & 2 != 0);
        let mut second = None;
        if flags & 4 != 0 {
            if let [base, hi, lo, after @ ..] = rest {
                let split = usize::from(u16::from_be_bytes([*hi, *lo])).min(after.len());
                let (first, tail) = after.split_at(split);
                rest = first;
                if *base != 0 {
                    second = Some((i64::from(*base), tail));
                }
            }
        }
        CrashedDir {
            log: rest,
            index,
            time_index,
            second,
        }
    }

    fn write_to(&self, dir: &ScratchDir) {
        dir.write(&format!("{FIRST_SEGMENT}.log"), self.log);
        if let Some(index) = self.index {
            dir.write(&format!("{FIRST_SEGMENT}.index"), index);
        }
        if let Some(time_index) = self.time_index {
            dir.write(&format!("{FIRST_SEGMENT}.timeindex"), time_index);
        }
        if let Some((base, bytes)) = self.second {
            dir.write(&format!("{base:020}.log"), bytes);
        }
    }
}

pub fn log_recovery(data: &[u8]) {
    let crashed = CrashedDir::parse(data);
    let dir = ScratchDir::new();
    crashed.write_to(&dir);

    let mut log =
        Log::open(dir.path(), tiny_config(), NOW_MS).unwrap_or_else(|e| panic!("open after a crash failed: {e}"));
    assert_eq!(log.log_start_offset(), 0);
    let recovered = read_all(&log);
    let kept: Vec<u8> = recovered.iter().flat_map(|b| b.bytes.iter().copied()).collect();
    assert_is_written_prefix(&kept, &crashed);

    append_and_read_back(&mut log);
    let before_close = read_all(&log);
    log.close().unwrap_or_else(|e| panic!("close failed: {e}"));
    let log = Log::open(dir.path(), tiny_config(), NOW_MS).unwrap_or_else(|e| panic!("reopen after close failed: {e}"));
    assert_eq!(read_all(&log), before_close, "a clean close and reopen changed the log");
}

/// Recovery may only cut: what it kept is a prefix of the first segment, or the whole first
/// segment followed by a prefix of the second.
fn assert_is_written_prefix(kept: &[u8], crashed: &CrashedDir<'_>) {
    let first = crashed.log;
    if kept.len() <= first.len() {
        assert!(
            first.starts_with(kept),
            "recovered bytes are not a prefix of the segment"
        );
        return;
    }
    assert!(
        kept.starts_with(first),
        "recovered more than the first segment without all of it"
    );
    let second = crashed.second.map_or(&[][..], |(_, bytes)| bytes);
    assert!(
        second.starts_with(&kept[first.len()..]),
        "recovered bytes not written to the second segment"
    );
}
