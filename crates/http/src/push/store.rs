//! Where subscriptions survive restarts: one JSON file in the broker's data dir
//! (`push-subscriptions.json`), rewritten whole on every change — to a temporary file that is
//! fsynced, renamed over the old one, and the directory fsynced — so a crash leaves the old
//! list or the new one, never a torn file.
//!
//! Why a file and not a compacted internal topic: subscriptions are a few dozen small records
//! that change when a person edits them, never on the delivery path; a file is read once at
//! start-up with no log replay, holds the signing secrets out of reach of Kafka clients (an
//! internal topic can be fetched by any client), and is the same pattern the broker uses for
//! topic metadata and quotas. Delivery positions are not kept here: they are the group's
//! committed offsets in `__consumer_offsets`.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::spec::StoredSubscription;

pub const STORE_FILE: &str = "push-subscriptions.json";
/// Largest store file read at start-up: 100 subscriptions (http.subscriptions.max) of at most
/// about 3 KiB each (URL 2 KiB, secret 256 B, names) fit with room; a bigger file is refused
/// rather than read, so a damaged or foreign file cannot make start-up allocate without bound.
pub const STORE_BYTES_MAX: u64 = 4 << 20;
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("subscription store {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("subscription store {path} is {bytes} bytes; the limit is {STORE_BYTES_MAX}")]
    TooLarge { path: PathBuf, bytes: u64 },
    #[error("subscription store {path} is not valid: {reason}")]
    Corrupt { path: PathBuf, reason: String },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreFile {
    version: u32,
    subscriptions: Vec<StoredSubscription>,
}

/// The store file of one data dir.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
}

impl Store {
    pub fn new(data_dir: &Path) -> Store {
        Store {
            path: data_dir.join(STORE_FILE),
        }
    }

    fn io(&self, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.to_path_buf();
        move |source| StoreError::Io { path, source }
    }

    /// Every stored subscription; none when the file does not exist yet.
    pub fn load(&self) -> Result<Vec<StoredSubscription>, StoreError> {
        let file = match fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io(&self.path)(e)),
        };
        let bytes = file.metadata().map_err(self.io(&self.path))?.len();
        if bytes > STORE_BYTES_MAX {
            return Err(StoreError::TooLarge {
                path: self.path.clone(),
                bytes,
            });
        }
        let mut text = Vec::with_capacity(bytes as usize);
        file.take(STORE_BYTES_MAX + 1)
            .read_to_end(&mut text)
            .map_err(self.io(&self.path))?;
        let parsed: StoreFile = serde_json::from_slice(&text).map_err(|e| StoreError::Corrupt {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        if parsed.version != FORMAT_VERSION {
            return Err(StoreError::Corrupt {
                path: self.path.clone(),
                reason: format!("format version {} (this broker reads {FORMAT_VERSION})", parsed.version),
            });
        }
        Ok(parsed.subscriptions)
    }

    /// Replaces the stored list with `subscriptions`, durably, before returning.
    pub fn save(&self, subscriptions: &[StoredSubscription]) -> Result<(), StoreError> {
        let file = StoreFile {
            version: FORMAT_VERSION,
            subscriptions: subscriptions.to_vec(),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| StoreError::Corrupt {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        let tmp = self.path.with_extension("json.tmp");
        let mut f = fs::File::create(&tmp).map_err(self.io(&tmp))?;
        f.write_all(&bytes).map_err(self.io(&tmp))?;
        f.sync_all().map_err(self.io(&tmp))?;
        drop(f);
        fs::rename(&tmp, &self.path).map_err(self.io(&self.path))?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::File::open(dir).and_then(|d| d.sync_all()).map_err(self.io(dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::spec::SubscriptionSpec;

    fn stored(name: &str, paused: bool) -> StoredSubscription {
        let spec: SubscriptionSpec = serde_json::from_value(serde_json::json!({
            "name": name, "topic": "t", "url": "http://h/", "secret": "s"
        }))
        .unwrap();
        StoredSubscription { spec, paused }
    }

    #[test]
    fn load_without_file_is_empty_and_save_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert!(store.load().unwrap().is_empty());
        let list = vec![stored("a", false), stored("b", true)];
        store.save(&list).unwrap();
        assert_eq!(store.load().unwrap(), list);
        store.save(&list[1..]).unwrap();
        assert_eq!(store.load().unwrap(), list[1..].to_vec());
        assert!(!dir.path().join("push-subscriptions.json.tmp").exists());
    }

    #[test]
    fn load_of_oversized_or_garbage_file_fails() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        fs::write(dir.path().join(STORE_FILE), b"{not json").unwrap();
        assert!(matches!(store.load(), Err(StoreError::Corrupt { .. })));
        let f = fs::File::create(dir.path().join(STORE_FILE)).unwrap();
        f.set_len(STORE_BYTES_MAX + 1).unwrap();
        assert!(matches!(store.load(), Err(StoreError::TooLarge { .. })));
    }
}
