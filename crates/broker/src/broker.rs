//! The shared state every connection serves from: settings, the partition registry, the group
//! commit flusher, the long-poll budget, the group and transaction coordinators, and metrics.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Semaphore;
use wharf_log::{LogError, ProducerIdAllocator};

use crate::config::BrokerConfig;
use crate::flusher::Flusher;
use crate::groups::Groups;
use crate::metrics::Metrics;
use crate::offsets_topic::OffsetsTopicError;
use crate::quota::ClientQuotas;
use crate::registry::{Registry, RegistryError};
use crate::transactions::{Transactions, TRANSACTION_STATE_DIR};

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
    /// The transaction coordinator and its log.
    pub transactions: Arc<Transactions>,
    /// Producer ids for InitProducerId, reserved durably in blocks.
    producer_ids: Mutex<ProducerIdAllocator>,
    /// Client quotas (byte rates, request percentage) and their rate sensors.
    pub quotas: ClientQuotas,
    /// Counters for /metrics (crate::metrics); gauges are read at scrape time.
    pub metrics: Metrics,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("cannot start the flusher thread: {0}")]
    Flusher(std::io::Error),
    #[error(transparent)]
    OffsetsTopic(#[from] OffsetsTopicError),
    #[error("cannot open the client quotas: {0}")]
    Quotas(#[from] crate::quota::QuotaError),
    #[error("cannot open the producer id allocator: {0}")]
    ProducerIds(#[source] LogError),
}

impl Broker {
    pub fn open(config: BrokerConfig, bound: SocketAddr) -> Result<Arc<Broker>, StartError> {
        let registry = Arc::new(Registry::open(
            &config.data_dir,
            config.log_defaults.clone(),
            config.limits.max_topics,
            config.limits.max_partitions_per_topic,
            Arc::clone(&config.log_storage),
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
        let producer_ids =
            ProducerIdAllocator::open(&config.data_dir.join(TRANSACTION_STATE_DIR)).map_err(StartError::ProducerIds)?;
        let transactions = Arc::new(Transactions::open(
            &config.data_dir,
            &config.log_defaults,
            config.txn_limits.clone(),
            Arc::clone(&flusher),
        )?);
        let quotas = ClientQuotas::open(&config.data_dir)?;
        Ok(Arc::new(Broker {
            producer_ids: Mutex::new(producer_ids),
            transactions,
            quotas,
            config,
            registry,
            flusher,
            bound,
            delayed_fetches,
            groups,
            metrics: Metrics::default(),
        }))
    }

    /// The producer id allocator. A poisoned lock means a panic mid-allocation; the allocator's
    /// state is only ever advanced after its checkpoint is durable, so it is still safe to use.
    pub fn producer_ids(&self) -> MutexGuard<'_, ProducerIdAllocator> {
        self.producer_ids.lock().unwrap_or_else(|p| p.into_inner())
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
