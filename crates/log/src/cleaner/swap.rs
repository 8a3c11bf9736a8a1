//! Swapping a cleaned segment in for the segments it replaces, safely across a crash.
//!
//! The protocol (Kafka's .cleaned/.swap scheme, with the replaced range in the swap file's name):
//! 1. the output is written to `{base}.cleaned` and fsynced (`rewrite.rs`);
//! 2. it is renamed to `{base}.{end}.swap` and the directory fsynced — from here the output is
//!    the truth for offsets `[base, end)`;
//! 3. the replaced segments' files are removed, newest first, except `{base}.log`;
//! 4. `{base}.{end}.swap` is renamed over `{base}.log` and the directory fsynced.
//!
//! On open, [`complete_interrupted_swaps`] removes `.cleaned` leftovers (a pass that never
//! reached step 2: the old segments are intact) and finishes steps 3–4 for every `.swap` file,
//! so a crash anywhere leaves either the old segments or the cleaned one, never both or neither.

use super::CleanedGroup;
use crate::error::LogError;
use crate::log::Log;
use crate::open::parse_segment_name;
use crate::segment::{segment_path, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
use crate::storage::Storage;
use std::path::{Path, PathBuf};

const CLEANED_SUFFIX: &str = "cleaned";
const SWAP_SUFFIX: &str = "swap";

pub(crate) fn cleaned_path(dir: &Path, base_offset: i64) -> PathBuf {
    segment_path(dir, base_offset, CLEANED_SUFFIX)
}

fn swap_path(dir: &Path, base_offset: i64, end_offset: i64) -> PathBuf {
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
        for suffix in [INDEX_SUFFIX, TIME_INDEX_SUFFIX, LOG_SUFFIX] {
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
        if parse_segment_name(name, CLEANED_SUFFIX).is_some() {
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
    /// Swaps one cleaned group in (under the partition lock). Ok(false): its inputs changed
    /// meanwhile and the output was discarded.
    pub(super) fn install_group(&mut self, group: CleanedGroup) -> Result<bool, LogError> {
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
            remove_if_present(&*storage, &group.cleaned_path)?;
            return Ok(false);
        };
        let swap = swap_path(&self.dir, base, group.end_offset);
        storage
            .rename(&group.cleaned_path, &swap)
            .map_err(|e| LogError::io(&swap, e))?;
        storage.sync_dir(&self.dir).map_err(|e| LogError::io(&self.dir, e))?;
        let replaced: Vec<i64> = group.replaced.iter().map(|(b, _)| *b).collect();
        finish_swap(&*storage, &self.dir, &replaced, base, group.end_offset)?;
        let mut segment = group.segment;
        for file in segment.write_index_files(&*storage)? {
            file.sync_data().map_err(|e| LogError::io(&self.dir, e))?;
        }
        storage.sync_dir(&self.dir).map_err(|e| LogError::io(&self.dir, e))?;
        tracing::debug!(dir = %self.dir.display(), base_offset = base, replaced = n, bytes = segment.size, "installed cleaned segment");
        self.segments.splice(i..i + n, [segment]);
        Ok(true)
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
