//! Producer id allocation that never hands out an id twice, across restarts and kill -9.
//!
//! Ids are reserved in blocks of [`PRODUCER_ID_BLOCK_SIZE`]: before the first id of a block is
//! handed out, the block's end is written to the `producer-id-block` checkpoint (temp file,
//! fdatasync, rename, directory fsync, as every checkpoint). After a restart allocation resumes at
//! the persisted end, so at most one block is skipped and no id is ever repeated. Kafka's
//! ProducerIdManager does the same with blocks from its controller. A corrupt checkpoint fails
//! the open: guessing could hand out an id a live producer still uses. A failed write or fsync
//! fails the allocator for good (never retry an fsync).

use crate::checkpoint::{read_checkpoint, write_checkpoint};
use crate::error::LogError;
use crate::storage::{OsStorage, Storage};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Ids reserved per checkpoint write: one fsync per this many InitProducerId requests.
pub const PRODUCER_ID_BLOCK_SIZE: i64 = 1000;
/// The checkpoint file's name in its directory.
pub const PRODUCER_ID_BLOCK_FILE: &str = "producer-id-block";

/// Hands out producer ids. Not synchronized: the caller holds it behind a lock.
#[derive(Debug)]
pub struct ProducerIdAllocator {
    storage: Arc<dyn Storage>,
    dir: PathBuf,
    next: i64,
    /// Ids below this are reserved on disk.
    block_end: i64,
    failed: bool,
}

impl ProducerIdAllocator {
    /// Opens (or creates) the allocator whose checkpoint lives in `dir`.
    pub fn open(dir: &Path) -> Result<ProducerIdAllocator, LogError> {
        ProducerIdAllocator::open_with_storage(dir, Arc::new(OsStorage))
    }

    pub fn open_with_storage(dir: &Path, storage: Arc<dyn Storage>) -> Result<ProducerIdAllocator, LogError> {
        storage.create_dir_all(dir).map_err(|e| LogError::io(dir, e))?;
        let end = read_checkpoint(&*storage, dir, PRODUCER_ID_BLOCK_FILE)?.unwrap_or(0);
        Ok(ProducerIdAllocator {
            storage,
            dir: dir.to_path_buf(),
            next: end,
            block_end: end,
            failed: false,
        })
    }

    /// The next producer id, reserving (durably) a new block first when the current one is used.
    pub fn allocate(&mut self) -> Result<i64, LogError> {
        if self.failed {
            return Err(LogError::StorageFailed { dir: self.dir.clone() });
        }
        if self.next == self.block_end {
            let Some(end) = self.next.checked_add(PRODUCER_ID_BLOCK_SIZE) else {
                return Err(LogError::InvalidOffset {
                    offset: self.next,
                    reason: "producer ids exhausted",
                });
            };
            if let Err(e) = write_checkpoint(&*self.storage, &self.dir, PRODUCER_ID_BLOCK_FILE, end) {
                tracing::error!(dir = %self.dir.display(), error = %e, "cannot reserve producer ids; refusing further allocations");
                self.failed = true;
                return Err(e);
            }
            self.block_end = end;
        }
        let id = self.next;
        self.next += 1;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Fault, FaultyStorage};

    #[test]
    fn allocate_after_reopen_never_repeats_an_id() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut a = ProducerIdAllocator::open(dir.path()).expect("open");
        let first: Vec<i64> = (0..3).map(|_| a.allocate().expect("id")).collect();
        assert_eq!(first, vec![0, 1, 2]);
        drop(a); // as after kill -9: nothing but the checkpoint survives
        let mut a = ProducerIdAllocator::open(dir.path()).expect("reopen");
        assert_eq!(a.allocate().expect("id"), PRODUCER_ID_BLOCK_SIZE);
    }

    #[test]
    fn allocate_exactly_a_block_writes_one_checkpoint_and_the_next_id_reserves_another() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Arc::new(FaultyStorage::new());
        let mut a = ProducerIdAllocator::open_with_storage(dir.path(), storage.clone()).expect("open");
        for want in 0..PRODUCER_ID_BLOCK_SIZE {
            assert_eq!(a.allocate().expect("id"), want);
        }
        storage.set_fault(Fault::FailSync);
        assert!(a.allocate().is_err(), "a new block must be durable before its first id");
        storage.set_fault(Fault::None);
        assert!(
            matches!(a.allocate(), Err(LogError::StorageFailed { .. })),
            "never retried"
        );
        let mut a = ProducerIdAllocator::open(dir.path()).expect("reopen");
        assert_eq!(a.allocate().expect("id"), PRODUCER_ID_BLOCK_SIZE);
    }

    #[test]
    fn open_corrupt_checkpoint_fails() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(PRODUCER_ID_BLOCK_FILE), b"0\nx\n").expect("write");
        assert!(matches!(
            ProducerIdAllocator::open(dir.path()),
            Err(LogError::CheckpointCorrupt { .. })
        ));
    }
}
