//! Swapping a cleaned segment in for the segments it replaces, safely across a crash.
//!
//! The protocol (Kafka's .cleaned/.swap scheme, with the replaced range in the swap file's name):
//! 1. the output is written to `{base}.cleaned`, its indexes to `{base}.cleaned-index` and
//!    `.cleaned-timeindex`, each fdatasynced (`rewrite.rs`, no lock);
//! 2. the output is renamed to `{base}.{end}.swap` and the directory fsynced (no lock) — from here
//!    the output is the truth for offsets `[base, end)`, whatever happens next;
//! 3. under the partition lock, if the replaced segments are all still there: their files are
//!    removed newest first (keeping `{base}.log`), the swap file is renamed over `{base}.log`, the
//!    index files are renamed into place and the in-memory segment list is updated. No fsync
//!    waits under the lock; the cleaner checkpoint written after it fsyncs the directory.
//!    If retention or DeleteRecords removed an input meanwhile, the swap and index files are
//!    removed instead.
//!
//! On open, [`complete_interrupted_swaps`] removes `.cleaned*` leftovers (a pass that never
//! reached step 2: the old segments are intact) and finishes step 3 for every `.swap` file, so a
//! crash anywhere leaves either the old segments or the cleaned one, never both or neither. One
//! accepted imprecision: if retention deleted an input between steps 2 and 3 and the process
//! crashes before the swap file's removal is durable, open swaps the compacted copy of that range
//! back in — records retention had already dropped reappear until its next pass. Nothing
//! acknowledged is ever lost, and DeleteRecords' persisted log start offset still hides its range.

use super::CleanedGroup;
use crate::error::LogError;
use crate::log::Log;
use crate::open::parse_segment_name;
use crate::segment::Segment;
use crate::segment::{segment_path, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
use crate::storage::Storage;
use crate::txn_index::TXN_INDEX_SUFFIX;
use std::path::{Path, PathBuf};

const CLEANED_SUFFIX: &str = "cleaned";
const CLEANED_INDEX_SUFFIXES: [&str; 2] = ["cleaned-index", "cleaned-timeindex"];
const SWAP_SUFFIX: &str = "swap";

pub(crate) fn cleaned_path(dir: &Path, base_offset: i64) -> PathBuf {
    segment_path(dir, base_offset, CLEANED_SUFFIX)
}

/// Where the output's offset and time index files are written before the swap.
pub(crate) fn cleaned_index_paths(dir: &Path, base_offset: i64) -> [PathBuf; 2] {
    CLEANED_INDEX_SUFFIXES.map(|suffix| segment_path(dir, base_offset, suffix))
}

pub(crate) fn swap_path(dir: &Path, base_offset: i64, end_offset: i64) -> PathBuf {
    dir.join(format!("{base_offset:020}.{end_offset:020}.{SWAP_SUFFIX}"))
}

/// Parses `{base:020}.{end:020}.swap`.
fn parse_swap_name(name: &str) -> Option<(i64, i64)> {
    let stem = name.strip_suffix(SWAP_SUFFIX)?.strip_suffix('.')?;
    let (base, end) = stem.split_once('.')?;
    let base = parse_segment_name(&format!("{base}.{LOG_SUFFIX}"), LOG_SUFFIX)?;
    let end = parse_segment_name(&format!("{end}.{LOG_SUFFIX}"), LOG_SUFFIX)?;
    (base < end).then_some((base, end))
}

fn remove_if_present(storage: &dyn Storage, path: &Path) -> Result<(), LogError> {
    match storage.remove(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(LogError::io(path, e)),
    }
}

/// Steps 3–4: removes every segment file with a base in `[base, end)` (newest first, keeping
/// `{base}.log` for the atomic rename over it), then renames the swap file into place.
fn finish_swap(storage: &dyn Storage, dir: &Path, replaced: &[i64], base: i64, end: i64) -> Result<(), LogError> {
    for &old in replaced.iter().rev().filter(|b| (base..end).contains(*b)) {
        // The .txnindex goes too: derived data, and the merged output's no longer matches.
        for suffix in [INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX, LOG_SUFFIX] {
            if old != base || suffix != LOG_SUFFIX {
                remove_if_present(storage, &segment_path(dir, old, suffix))?;
            }
        }
    }
    let from = swap_path(dir, base, end);
    let to = segment_path(dir, base, LOG_SUFFIX);
    storage.rename(&from, &to).map_err(|e| LogError::io(&to, e))
}

/// Run on open before segments are listed: see the module comment.
pub(crate) fn complete_interrupted_swaps(storage: &dyn Storage, dir: &Path) -> Result<(), LogError> {
    let names = storage.list_dir(dir).map_err(|e| LogError::io(dir, e))?;
    let mut changed = false;
    for name in &names {
        let leftover = [CLEANED_SUFFIX, CLEANED_INDEX_SUFFIXES[0], CLEANED_INDEX_SUFFIXES[1]]
            .iter()
            .any(|suffix| parse_segment_name(name, suffix).is_some());
        if leftover {
            tracing::info!(dir = %dir.display(), file = %name, "removing an unfinished cleaner output");
            remove_if_present(storage, &dir.join(name))?;
            changed = true;
        }
    }
    let bases: Vec<i64> = names.iter().filter_map(|n| parse_segment_name(n, LOG_SUFFIX)).collect();
    for (base, end) in names.iter().filter_map(|n| parse_swap_name(n)) {
        tracing::warn!(dir = %dir.display(), base_offset = base, end_offset = end, "completing an interrupted cleaner swap");
        let mut replaced: Vec<i64> = bases.iter().copied().filter(|b| (base..end).contains(b)).collect();
        replaced.sort_unstable();
        finish_swap(storage, dir, &replaced, base, end)?;
        changed = true;
    }
    if changed {
        storage.sync_dir(dir).map_err(|e| LogError::io(dir, e))?;
    }
    Ok(())
}

impl Log {
    /// Swaps one cleaned group in (under the partition lock) and returns the replaced segments,
    /// to be dropped after the lock is released. Ok(None): its inputs changed meanwhile and the
    /// output was discarded.
    pub(super) fn install_group(&mut self, group: CleanedGroup) -> Result<Option<Vec<Segment>>, LogError> {
        let storage = std::sync::Arc::clone(&self.storage);
        let n = group.replaced.len();
        let base = group.replaced[0].0;
        let start = self.segments.iter().position(|s| s.base_offset == base);
        let present = start.filter(|&i| {
            i + n < self.segments.len()
                && self.segments[i..i + n]
                    .iter()
                    .zip(&group.replaced)
                    .all(|(s, (b, size))| s.base_offset == *b && s.size == *size)
        });
        let Some(i) = present else {
            tracing::info!(dir = %self.dir.display(), base_offset = base, "segments changed during cleaning; discarding the output");
            for path in [
                &group.staged_path,
                &group.cleaned_index_paths[0],
                &group.cleaned_index_paths[1],
            ] {
                remove_if_present(&*storage, path)?;
            }
            return Ok(None);
        };
        let replaced: Vec<i64> = group.replaced.iter().map(|(b, _)| *b).collect();
        finish_swap(&*storage, &self.dir, &replaced, base, group.end_offset)?;
        let segment = group.segment;
        for (from, to) in group.cleaned_index_paths.iter().zip(segment.index_paths()) {
            storage.rename(from, to).map_err(|e| LogError::io(to, e))?;
        }
        // No directory fsync under the lock: until the cleaner checkpoint's (right after it is
        // released) a crash may leave the swap file or the old files, and open redoes step 3.
        tracing::debug!(dir = %self.dir.display(), base_offset = base, replaced = n, bytes = segment.size, "installed cleaned segment");
        Ok(Some(self.segments.splice(i..i + n, [segment]).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_swap_name;

    #[test]
    fn parse_swap_name_needs_two_offsets_in_order() {
        assert_eq!(
            parse_swap_name("00000000000000000010.00000000000000000042.swap"),
            Some((10, 42))
        );
        assert_eq!(parse_swap_name("00000000000000000042.00000000000000000010.swap"), None);
        assert_eq!(parse_swap_name("00000000000000000010.swap"), None);
        assert_eq!(parse_swap_name("00000000000000000010.00000000000000000042.log"), None);
    }
}
