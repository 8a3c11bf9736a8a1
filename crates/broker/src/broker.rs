//! The shared state every connection serves from: settings, the partition registry, the group
//! commit flusher and the long-poll budget.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::config::BrokerConfig;
use crate::flusher::Flusher;
use crate::groups::Groups;
use crate::offsets_topic::OffsetsTopicError;
use crate::registry::{Registry, RegistryError};

pub struct Broker {
    pub config: BrokerConfig,
    pub registry: Arc<Registry>,
    pub flusher: Arc<Flusher>,
    /// The address the listener actually bound (port 0 resolved).
    pub bound: SocketAddr,
    /// Permits for fetches parked in long poll (Limits::max_delayed_fetches).
    pub delayed_fetches: Arc<Semaphore>,
    /// Consumer groups and committed offsets (classic protocol).
    pub groups: Arc<Groups>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("cannot start the flusher thread: {0}")]
    Flusher(std::io::Error),
    #[error(transparent)]
    OffsetsTopic(#[from] OffsetsTopicError),
}

impl Broker {
    pub fn open(config: BrokerConfig, bound: SocketAddr) -> Result<Arc<Broker>, StartError> {
        let registry = Arc::new(Registry::open(
            &config.data_dir,
            config.log_defaults.clone(),
            config.limits.max_topics,
            config.limits.max_partitions_per_topic,
        )?);
        let all = Arc::clone(&registry);
        let flusher = Flusher::start(
            Duration::from_millis(config.flush_interval_ms),
            Arc::new(move || all.all_partitions()),
        )
        .map_err(StartError::Flusher)?;
        let delayed_fetches = Arc::new(Semaphore::new(config.limits.max_delayed_fetches));
        let groups = Arc::new(Groups::open(
            &config.data_dir,
            &config.log_defaults,
            config.group_limits.clone(),
            Arc::clone(&flusher),
        )?);
        Ok(Arc::new(Broker {
            config,
            registry,
            flusher,
            bound,
            delayed_fetches,
            groups,
        }))
    }

    /// host and port clients are told to connect to.
    pub fn advertised(&self) -> (String, u16) {
        self.config.advertised(self.bound)
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
