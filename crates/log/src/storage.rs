//! The filesystem surface the log needs, behind a trait so tests can inject faults.
//!
//! `OsStorage` is the real implementation: positioned reads and writes
//! (`pread`/`pwrite` via `FileExt`), so one `Arc<File>` can be synced by another
//! thread while the log keeps appending to it. The trait is deliberately small;
//! everything the log does to disk goes through it.

use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

/// An open file. Positioned I/O only, so a handle can be shared between threads.
pub trait StorageFile: Send + Sync + Debug {
    /// Fills `buf` from `position`; fails with `UnexpectedEof` if the file is shorter.
    fn read_exact_at(&self, buf: &mut [u8], position: u64) -> io::Result<()>;
    /// Writes all of `buf` at `position`, in one `pwrite` unless the OS writes short.
    fn write_all_at(&self, buf: &[u8], position: u64) -> io::Result<()>;
    /// Writes the slices back to back from `position`. The default joins them and calls
    /// `write_all_at`; the real file uses `pwritev`, so the append path never copies a batch.
    fn write_all_vectored_at(&self, bufs: &[IoSlice<'_>], position: u64) -> io::Result<()> {
        let joined: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
        self.write_all_at(&joined, position)
    }
    /// `fdatasync`: makes written data durable.
    fn sync_data(&self) -> io::Result<()>;
    /// Truncates or extends the file.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Current file length.
    fn file_len(&self) -> io::Result<u64>;
}

/// Directory-level operations.
pub trait Storage: Send + Sync + Debug {
    /// Creates (or truncates) a file for reading and writing.
    fn create(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>>;
    /// Opens an existing file for reading and writing.
    fn open(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>>;
    /// Whether `path` exists.
    fn exists(&self, path: &Path) -> io::Result<bool>;
    /// Removes a file.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Atomically renames a file.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Names of the entries in `dir` (not full paths), in no particular order.
    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Creates `dir` and its parents if missing.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Removes `dir` and everything in it.
    fn remove_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// fsyncs the directory so creates, renames and removes in it are durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// Most slices one `pwritev` takes (Linux's UIO_MAXIOV); longer lists are written in chunks.
const IOV_MAX: usize = 1024;

/// The real filesystem.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsStorage;

#[derive(Debug)]
struct OsFile(File);

impl StorageFile for OsFile {
    fn read_exact_at(&self, buf: &mut [u8], position: u64) -> io::Result<()> {
        self.0.read_exact_at(buf, position)
    }
    fn write_all_at(&self, buf: &[u8], position: u64) -> io::Result<()> {
        self.0.write_all_at(buf, position)
    }
    fn write_all_vectored_at(&self, bufs: &[IoSlice<'_>], mut position: u64) -> io::Result<()> {
        for chunk in bufs.chunks(IOV_MAX) {
            let mut owned: Vec<IoSlice<'_>> = chunk.to_vec();
            let mut slices: &mut [IoSlice<'_>] = &mut owned;
            while !slices.is_empty() {
                let n = rustix::io::pwritev(&self.0, slices, position)?;
                if n == 0 {
                    return Err(io::Error::new(io::ErrorKind::WriteZero, "pwritev wrote nothing"));
                }
                position += n as u64;
                IoSlice::advance_slices(&mut slices, n);
            }
        }
        Ok(())
    }
    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn file_len(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
}

impl Storage for OsStorage {
    fn create(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>> {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        Ok(Arc::new(OsFile(f)))
    }
    fn open(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>> {
        let f = OpenOptions::new().read(true).write(true).open(path)?;
        Ok(Arc::new(OsFile(f)))
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        path.try_exists()
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }
    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            // Non-UTF-8 names cannot be ours; skipping them is safe.
            if let Ok(name) = entry.file_name().into_string() {
                names.push(name);
            }
        }
        Ok(names)
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }
    fn remove_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::remove_dir_all(dir)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}
