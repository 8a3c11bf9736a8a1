//! A `Storage` over the real filesystem that can be told to fail: a failed or
//! torn write, ENOSPC, a failed fsync. Counts writes and syncs so tests can assert
//! the append path issues one write per append.

use crate::storage::{OsStorage, Storage, StorageFile};
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The fault applied to every subsequent file write or sync until changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Writes fail with EIO and write nothing.
    FailWrite,
    /// Writes store only their first N bytes, then fail with EIO.
    TornWrite(usize),
    /// Writes fail with ENOSPC.
    NoSpace,
    /// `sync_data` and directory syncs fail with EIO.
    FailSync,
}

#[derive(Debug)]
struct Shared {
    fault: Mutex<Fault>,
    writes: AtomicUsize,
    syncs: AtomicUsize,
}

impl Shared {
    fn fault(&self) -> Fault {
        *self
            .fault
            .lock()
            .expect("fault mutex is never poisoned: no panics while held")
    }
}

/// Fault-injecting storage; clones share the fault setting and counters.
#[derive(Debug, Clone)]
pub struct FaultyStorage {
    shared: Arc<Shared>,
}

impl Default for FaultyStorage {
    fn default() -> Self {
        FaultyStorage {
            shared: Arc::new(Shared {
                fault: Mutex::new(Fault::None),
                writes: AtomicUsize::new(0),
                syncs: AtomicUsize::new(0),
            }),
        }
    }
}

impl FaultyStorage {
    pub fn new() -> FaultyStorage {
        FaultyStorage::default()
    }

    pub fn set_fault(&self, fault: Fault) {
        *self
            .shared
            .fault
            .lock()
            .expect("fault mutex is never poisoned: no panics while held") = fault;
    }

    /// File writes issued so far (index and checkpoint writes included).
    pub fn write_count(&self) -> usize {
        self.shared.writes.load(Ordering::SeqCst)
    }

    /// File and directory syncs issued so far.
    pub fn sync_count(&self) -> usize {
        self.shared.syncs.load(Ordering::SeqCst)
    }

    fn wrap(&self, inner: Arc<dyn StorageFile>) -> Arc<dyn StorageFile> {
        Arc::new(FaultyFile {
            inner,
            shared: Arc::clone(&self.shared),
        })
    }

    fn check_sync(&self) -> io::Result<()> {
        self.shared.syncs.fetch_add(1, Ordering::SeqCst);
        match self.shared.fault() {
            Fault::FailSync => Err(io::Error::other("injected fsync failure")),
            _ => Ok(()),
        }
    }
}

#[derive(Debug)]
struct FaultyFile {
    inner: Arc<dyn StorageFile>,
    shared: Arc<Shared>,
}

impl StorageFile for FaultyFile {
    fn read_exact_at(&self, buf: &mut [u8], position: u64) -> io::Result<()> {
        self.inner.read_exact_at(buf, position)
    }
    fn write_all_at(&self, buf: &[u8], position: u64) -> io::Result<()> {
        self.shared.writes.fetch_add(1, Ordering::SeqCst);
        match self.shared.fault() {
            Fault::None | Fault::FailSync => self.inner.write_all_at(buf, position),
            Fault::FailWrite => Err(io::Error::other("injected write failure")),
            Fault::NoSpace => Err(io::Error::from_raw_os_error(28)),
            Fault::TornWrite(n) => {
                self.inner.write_all_at(&buf[..n.min(buf.len())], position)?;
                Err(io::Error::other("injected torn write"))
            }
        }
    }
    fn sync_data(&self) -> io::Result<()> {
        self.shared.syncs.fetch_add(1, Ordering::SeqCst);
        match self.shared.fault() {
            Fault::FailSync => Err(io::Error::other("injected fsync failure")),
            _ => self.inner.sync_data(),
        }
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
    fn file_len(&self) -> io::Result<u64> {
        self.inner.file_len()
    }
}

impl Storage for FaultyStorage {
    fn create(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>> {
        Ok(self.wrap(OsStorage.create(path)?))
    }
    fn open(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>> {
        Ok(self.wrap(OsStorage.open(path)?))
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        OsStorage.exists(path)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        OsStorage.remove(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        OsStorage.rename(from, to)
    }
    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        OsStorage.list_dir(dir)
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        OsStorage.create_dir_all(dir)
    }
    fn remove_dir_all(&self, dir: &Path) -> io::Result<()> {
        OsStorage.remove_dir_all(dir)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.check_sync()?;
        OsStorage.sync_dir(dir)
    }
}
