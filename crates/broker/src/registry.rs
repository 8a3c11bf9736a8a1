//! The topics and partitions this broker hosts, and their metadata on disk.
//!
//! Layout under the data dir: `<topic>/topic.toml` (topic id, partition count, config overrides)
//! and `<topic>/<partition>/` (the partition's log). topic.toml is replaced atomically (write a
//! temp file, fsync, rename, fsync the dir), so a crash leaves the old or the new one, never half.
//! A deleted topic's dir is first renamed to `.deleted-<topic id>` and removed after; start-up
//! finishes any removal a crash interrupted.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wharf_log::{Log, LogConfig, Storage};

use crate::backlog::BacklogPolicy;
use crate::partition::Partition;
use crate::topic_config::{self, TopicOverrides};

/// Kafka's legal topic names: 1..=249 of [a-zA-Z0-9._-], not "." or "..".
pub const TOPIC_NAME_MAX_CHARS: usize = 249;

const TOPIC_META_FILE: &str = "topic.toml";
const DELETED_PREFIX: &str = ".deleted-";

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("topic {0} already exists")]
    TopicExists(String),
    #[error("invalid topic name {0:?}: Kafka allows 1..=249 of [a-zA-Z0-9._-]")]
    InvalidTopicName(String),
    #[error("unknown topic {0}")]
    UnknownTopic(String),
    #[error("invalid partition count: {0}")]
    InvalidPartitions(String),
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    #[error("limit reached: {0}")]
    LimitReached(String),
    #[error("log error in {path}: {source}")]
    Log { path: PathBuf, source: wharf_log::LogError },
    #[error("I/O error on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("bad topic metadata in {path}: {reason}")]
    BadMetadata { path: PathBuf, reason: String },
}

#[derive(Debug, Serialize, Deserialize)]
struct TopicMeta {
    topic_id: String,
    partitions: i32,
    #[serde(default)]
    configs: TopicOverrides,
}

pub struct Topic {
    pub name: Arc<str>,
    pub id: Uuid,
    dir: PathBuf,
    state: RwLock<TopicState>,
}

struct TopicState {
    partitions: Vec<Arc<Partition>>,
    overrides: TopicOverrides,
    log_config: LogConfig,
    /// Parsed from `overrides` whenever they change, so Produce does not re-parse them.
    backlog: Option<BacklogPolicy>,
}

impl Topic {
    pub fn partitions(&self) -> Vec<Arc<Partition>> {
        self.read().partitions.clone()
    }

    pub fn partition(&self, index: i32) -> Option<Arc<Partition>> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.read().partitions.get(i).cloned())
    }

    pub fn partition_count(&self) -> i32 {
        self.read().partitions.len() as i32
    }

    pub fn overrides(&self) -> TopicOverrides {
        self.read().overrides.clone()
    }

    /// The topic's backlog cap (peak shaving), if it has one.
    pub fn backlog_policy(&self) -> Option<BacklogPolicy> {
        self.read().backlog.clone()
    }

    pub fn log_config(&self) -> LogConfig {
        self.read().log_config.clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, TopicState> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, TopicState> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }
}

pub struct Registry {
    data_dir: PathBuf,
    defaults: LogConfig,
    max_topics: usize,
    max_partitions_per_topic: i32,
    topics: RwLock<HashMap<Arc<str>, Arc<Topic>>>,
    /// The filesystem under every partition log (tests inject faults through it).
    storage: Arc<dyn Storage>,
}

pub fn validate_topic_name(name: &str) -> Result<(), RegistryError> {
    let legal = !name.is_empty()
        && name.len() <= TOPIC_NAME_MAX_CHARS
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if legal {
        Ok(())
    } else {
        Err(RegistryError::InvalidTopicName(name.to_string()))
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> RegistryError + '_ {
    move |source| RegistryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), RegistryError> {
    let tmp = path.with_extension("tmp");
    let mut f = fs::File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(bytes).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    fs::rename(&tmp, path).map_err(io_err(path))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

fn sync_dir(dir: &Path) -> Result<(), RegistryError> {
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))
}

impl Registry {
    /// Loads every topic under `data_dir`, recovering each partition's log.
    pub fn open(
        data_dir: &Path,
        defaults: LogConfig,
        max_topics: usize,
        max_partitions_per_topic: i32,
        storage: Arc<dyn Storage>,
    ) -> Result<Registry, RegistryError> {
        fs::create_dir_all(data_dir).map_err(io_err(data_dir))?;
        let reg = Registry {
            data_dir: data_dir.to_path_buf(),
            defaults,
            max_topics,
            max_partitions_per_topic,
            topics: RwLock::new(HashMap::new()),
            storage,
        };
        let entries = fs::read_dir(data_dir).map_err(io_err(data_dir))?;
        let mut loaded = HashMap::new();
        for entry in entries {
            let entry = entry.map_err(io_err(data_dir))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(DELETED_PREFIX) {
                fs::remove_dir_all(&path).map_err(io_err(&path))?;
                continue;
            }
            if !path.join(TOPIC_META_FILE).exists() {
                continue;
            }
            let topic = reg.load_topic(&name, &path)?;
            loaded.insert(Arc::clone(&topic.name), Arc::new(topic));
        }
        *reg.topics.write().unwrap_or_else(|p| p.into_inner()) = loaded;
        Ok(reg)
    }

    fn load_topic(&self, name: &str, dir: &Path) -> Result<Topic, RegistryError> {
        let meta_path = dir.join(TOPIC_META_FILE);
        let text = fs::read_to_string(&meta_path).map_err(io_err(&meta_path))?;
        let bad = |reason: String| RegistryError::BadMetadata {
            path: meta_path.clone(),
            reason,
        };
        let meta: TopicMeta = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let id = Uuid::parse_str(&meta.topic_id).map_err(|e| bad(e.to_string()))?;
        let log_config = topic_config::effective(&self.defaults, &meta.configs).map_err(bad)?;
        let name: Arc<str> = Arc::from(name);
        let mut partitions = Vec::with_capacity(meta.partitions.max(0) as usize);
        for i in 0..meta.partitions {
            partitions.push(self.open_partition(&name, dir, i, &log_config)?);
        }
        Ok(Topic {
            name,
            id,
            dir: dir.to_path_buf(),
            state: RwLock::new(TopicState {
                partitions,
                backlog: BacklogPolicy::from_overrides(&meta.configs),
                overrides: meta.configs,
                log_config,
            }),
        })
    }

    fn open_partition(
        &self,
        topic: &Arc<str>,
        topic_dir: &Path,
        index: i32,
        cfg: &LogConfig,
    ) -> Result<Arc<Partition>, RegistryError> {
        let dir = topic_dir.join(index.to_string());
        let opened = Log::open_with_storage(&dir, cfg.clone(), now_ms(), Arc::clone(&self.storage));
        let log = opened.map_err(|source| RegistryError::Log {
            path: dir.clone(),
            source,
        })?;
        Ok(Arc::new(Partition::new(Arc::clone(topic), index, log)))
    }

    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics.read().unwrap_or_else(|p| p.into_inner()).get(name).cloned()
    }

    pub fn topic_by_id(&self, id: Uuid) -> Option<Arc<Topic>> {
        self.topics
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .find(|t| t.id == id)
            .cloned()
    }

    /// Every topic, sorted by name so Metadata answers are stable.
    pub fn topics(&self) -> Vec<Arc<Topic>> {
        let mut v: Vec<_> = self
            .topics
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    pub fn all_partitions(&self) -> Vec<Arc<Partition>> {
        self.topics().iter().flat_map(|t| t.partitions()).collect()
    }

    pub fn defaults(&self) -> &LogConfig {
        &self.defaults
    }

    /// Checks a CreateTopics request without creating anything (validate_only uses this alone).
    pub fn check_create(
        &self,
        name: &str,
        partitions: i32,
        overrides: &TopicOverrides,
    ) -> Result<LogConfig, RegistryError> {
        validate_topic_name(name)?;
        // Internal state lives under these names (offsets_topic.rs, init_producer_id.rs, quota/).
        if self.topic(name).is_some()
            || name == crate::offsets_topic::OFFSETS_TOPIC
            || name == crate::transactions::TRANSACTION_STATE_DIR
            || name == crate::quota::QUOTA_FILE
        {
            return Err(RegistryError::TopicExists(name.to_string()));
        }
        if partitions < 1 || partitions > self.max_partitions_per_topic {
            return Err(RegistryError::InvalidPartitions(format!(
                "{partitions} is outside 1..={}",
                self.max_partitions_per_topic
            )));
        }
        if self.topics.read().unwrap_or_else(|p| p.into_inner()).len() >= self.max_topics {
            return Err(RegistryError::LimitReached(format!("max topics {}", self.max_topics)));
        }
        topic_config::effective(&self.defaults, overrides).map_err(RegistryError::InvalidConfig)
    }

    pub fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        overrides: TopicOverrides,
    ) -> Result<Arc<Topic>, RegistryError> {
        let log_config = self.check_create(name, partitions, &overrides)?;
        let mut topics = self.topics.write().unwrap_or_else(|p| p.into_inner());
        if topics.contains_key(name) {
            return Err(RegistryError::TopicExists(name.to_string()));
        }
        let dir = self.data_dir.join(name);
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let id = Uuid::new_v4();
        let name: Arc<str> = Arc::from(name);
        let mut parts = Vec::with_capacity(partitions as usize);
        for i in 0..partitions {
            parts.push(self.open_partition(&name, &dir, i, &log_config)?);
        }
        let topic = Topic {
            name: Arc::clone(&name),
            id,
            dir,
            state: RwLock::new(TopicState {
                partitions: parts,
                backlog: BacklogPolicy::from_overrides(&overrides),
                overrides,
                log_config,
            }),
        };
        Self::persist(&topic)?;
        sync_dir(&self.data_dir)?;
        let topic = Arc::new(topic);
        topics.insert(name, Arc::clone(&topic));
        Ok(topic)
    }

    fn persist(topic: &Topic) -> Result<(), RegistryError> {
        let st = topic.read();
        let meta = TopicMeta {
            topic_id: topic.id.to_string(),
            partitions: st.partitions.len() as i32,
            configs: st.overrides.clone(),
        };
        drop(st);
        let path = topic.dir.join(TOPIC_META_FILE);
        let text = toml::to_string(&meta).map_err(|e| RegistryError::BadMetadata {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_atomically(&path, text.as_bytes())
    }

    /// CreatePartitions: grows `name` to `total` partitions.
    pub fn create_partitions(&self, name: &str, total: i32, validate_only: bool) -> Result<(), RegistryError> {
        let topic = self
            .topic(name)
            .ok_or_else(|| RegistryError::UnknownTopic(name.to_string()))?;
        let current = topic.partition_count();
        if total <= current {
            return Err(RegistryError::InvalidPartitions(format!(
                "topic currently has {current} partitions, which is higher than the requested {total}"
            )));
        }
        if total > self.max_partitions_per_topic {
            return Err(RegistryError::InvalidPartitions(format!(
                "{total} exceeds the limit of {}",
                self.max_partitions_per_topic
            )));
        }
        if validate_only {
            return Ok(());
        }
        let cfg = topic.log_config();
        let mut added = Vec::new();
        for i in current..total {
            added.push(self.open_partition(&topic.name, &topic.dir, i, &cfg)?);
        }
        topic.write().partitions.extend(added);
        Self::persist(&topic)
    }

    /// Replaces a topic's overrides after validating them; live logs take the new settings.
    pub fn set_overrides(
        &self,
        name: &str,
        overrides: TopicOverrides,
        validate_only: bool,
    ) -> Result<(), RegistryError> {
        let topic = self
            .topic(name)
            .ok_or_else(|| RegistryError::UnknownTopic(name.to_string()))?;
        let cfg = topic_config::effective(&self.defaults, &overrides).map_err(RegistryError::InvalidConfig)?;
        if validate_only {
            return Ok(());
        }
        {
            let mut st = topic.write();
            st.backlog = BacklogPolicy::from_overrides(&overrides);
            st.overrides = overrides;
            st.log_config = cfg.clone();
            for p in &st.partitions {
                if let Err(e) = p.log().set_config(cfg.clone()) {
                    tracing::error!(topic = %p.topic, partition = p.index, error = %e, "config rejected by the log");
                }
            }
        }
        Self::persist(&topic)
    }

    /// Removes a topic: out of the registry at once, then its files.
    pub fn delete_topic(&self, name: &str) -> Result<Arc<Topic>, RegistryError> {
        let topic = self
            .topics
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name)
            .ok_or_else(|| RegistryError::UnknownTopic(name.to_string()))?;
        let graveyard = self.data_dir.join(format!("{DELETED_PREFIX}{}", topic.id));
        fs::rename(&topic.dir, &graveyard).map_err(io_err(&topic.dir))?;
        sync_dir(&self.data_dir)?;
        fs::remove_dir_all(&graveyard).map_err(io_err(&graveyard))?;
        Ok(topic)
    }

    /// Flushes and closes every log (clean shutdown).
    pub fn close_all(&self) -> Vec<RegistryError> {
        let mut errors = Vec::new();
        for p in self.all_partitions() {
            let mut log = p.log();
            if let Err(source) = log.close_in_place() {
                errors.push(RegistryError::Log {
                    path: PathBuf::from(format!("{}/{}", p.topic, p.index)),
                    source,
                });
            }
        }
        errors
    }
}
