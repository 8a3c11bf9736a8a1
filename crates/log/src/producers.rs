//! The log's side of producer state: rebuilding it on open, snapshotting it at roll and close,
//! and idle expiry.
//!
//! On open (after segment recovery has fixed the log end offset): snapshots past the log end
//! offset describe data lost in a crash and are deleted (durably, before any append could make
//! the log reach their offset again with different data); the newest snapshot within
//! `[first segment base, log end offset]` that decodes is loaded; then the batch headers from its
//! offset to the log end are replayed. Without a usable snapshot every remaining segment is
//! replayed, so producers whose batches all went with deleted segments are forgotten, as in
//! Kafka. Replayed batches count as appended at open time: a rebuilt producer never expires
//! sooner than it would have without the crash.

use crate::error::LogError;
use crate::log::Log;
use crate::producer_snapshot::{list_snapshots, read_snapshot, snapshot_path, write_snapshot};
use crate::producer_state::ProducerState;

impl Log {
    /// This partition's idempotent-producer state.
    pub fn producer_state(&self) -> &ProducerState {
        &self.producers
    }

    /// Forgets producers idle for `producer.id.expiration.ms`; returns how many.
    pub fn expire_producers(&mut self, now_ms: i64) -> usize {
        self.producers.expire(now_ms)
    }

    /// Rebuilds `self.producers` from the newest usable snapshot plus the batches after it.
    pub(crate) fn load_producer_state(&mut self, now_ms: i64) -> Result<(), LogError> {
        let storage = std::sync::Arc::clone(&self.storage);
        let log_end_offset = self.log_end_offset();
        let first_base = self.segments[0].base_offset;
        let offsets = list_snapshots(&*storage, &self.dir)?;
        let (stale, usable): (Vec<i64>, Vec<i64>) = offsets.into_iter().partition(|o| *o > log_end_offset);
        for offset in &stale {
            let path = snapshot_path(&self.dir, *offset);
            tracing::info!(path = %path.display(), log_end_offset, "deleting producer snapshot past the recovered log end");
            storage.remove(&path).map_err(|e| LogError::io(&path, e))?;
        }
        if !stale.is_empty() {
            storage.sync_dir(&self.dir).map_err(|e| LogError::io(&self.dir, e))?;
        }
        let (max, expiration) = (self.config.max_producers, self.config.producer_id_expiration_ms);
        let mut loaded = None;
        for offset in usable.into_iter().rev().filter(|o| *o >= first_base) {
            match read_snapshot(&*storage, &self.dir, offset, max, expiration)? {
                Some(state) => {
                    loaded = Some((offset, state));
                    break;
                }
                None => tracing::warn!(dir = %self.dir.display(), offset, "ignoring unreadable producer snapshot"),
            }
        }
        let (from, mut state) = loaded.unwrap_or_else(|| (first_base, ProducerState::new(max, expiration)));
        for segment in self.segments.iter().filter(|s| s.next_offset > from) {
            segment.for_each_batch_from(from, |h| state.record(h, now_ms))?;
        }
        state.expire(now_ms);
        tracing::debug!(dir = %self.dir.display(), snapshot_offset = from, producers = state.len(), "producer state loaded");
        self.producers = state;
        Ok(())
    }

    /// Snapshots the producer state at the log end offset. Fails the log on an I/O error, like
    /// every other write.
    pub(crate) fn write_producer_snapshot(&self, durable: bool) -> Result<(), LogError> {
        let written = write_snapshot(
            &*self.storage,
            &self.dir,
            &self.producers,
            self.log_end_offset(),
            durable,
        );
        self.fail_on_io(written)
    }
}
