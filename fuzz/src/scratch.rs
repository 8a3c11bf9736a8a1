//! A fresh, empty directory per fuzz iteration, removed again when dropped.
//!
//! Prefers /dev/shm: the log fsyncs on open, flush and close, and on tmpfs an fsync costs
//! nothing, which is the difference between hundreds and tens of thousands of iterations a
//! minute. Not a general temp-dir crate: names are unique per process and iteration only, which
//! is all a single-threaded fuzz loop needs.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT: AtomicU64 = AtomicU64::new(0);
const PREFIX: &str = "wharf-fuzz-";

pub(crate) struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    pub(crate) fn new() -> ScratchDir {
        let shm = Path::new("/dev/shm");
        let root = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        if n == 0 {
            remove_dead_processes_dirs(&root);
        }
        let path = root.join(format!("{PREFIX}{}-{n}", std::process::id()));
        // A directory of this name can only be left over from an earlier process with our pid
        // that crashed mid-iteration; its contents would poison this iteration.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("the scratch root is writable");
        ScratchDir { path }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `bytes` as `name` inside the directory.
    pub(crate) fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.path.join(name), bytes).expect("the scratch dir is writable");
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // Best effort: a leftover directory wastes a little tmpfs but breaks nothing.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A crash aborts the process before `Drop` runs, so every crash (and every attempt of
/// `cargo fuzz tmin`) leaves its directory behind; the first scratch dir of each process removes
/// those whose process is gone, keeping tmpfs from filling up over long runs.
fn remove_dead_processes_dirs(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)?.split('-').next()) else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
