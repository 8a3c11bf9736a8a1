//! The Kafka listener: accept loop with a connection limit, start-up and clean shutdown.
//!
//! Shutdown order: stop accepting, tell connections to stop reading, let each answer what it
//! already read (bounded by a grace period), then flush and close every log.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::broker::{now_ms, Broker, StartError};
use crate::config::BrokerConfig;
use crate::connection;
use crate::connection_limits::{ConnectionLimits, Refusal};

/// How long in-flight requests get to finish at shutdown (long polls are bounded by their
/// max_wait_ms, which clients keep well below this).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("invalid configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Start(#[from] StartError),
}

/// A started broker: its bound address, and the handle that stops it.
pub struct Server {
    pub broker: Arc<Broker>,
    listener: TcpListener,
}

impl Server {
    /// Validates the config, recovers the data dir and binds the listener.
    pub async fn start(config: BrokerConfig) -> Result<Server, ServeError> {
        config.validate()?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| ServeError::Bind {
                addr: config.listen,
                source,
            })?;
        let bound = listener.local_addr().map_err(|source| ServeError::Bind {
            addr: config.listen,
            source,
        })?;
        let broker = tokio::task::block_in_place(|| Broker::open(config, bound))?;
        Ok(Server { broker, listener })
    }

    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.broker.bound
    }

    /// Serves until `stop` resolves, then shuts down cleanly.
    pub async fn run(self, stop: impl std::future::Future<Output = ()>) {
        let broker = self.broker;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let limits = &broker.config.limits;
        let slots = ConnectionLimits::new(limits.max_connections, limits.max_connections_per_ip);
        let mut conns = JoinSet::new();
        let housekeeping = tokio::spawn(housekeeping(Arc::clone(&broker), shutdown_rx.clone()));
        let group_timer = tokio::spawn(group_timer(Arc::clone(&broker), shutdown_rx.clone()));
        let log_cleaner = tokio::spawn(crate::log_cleaner::run(Arc::clone(&broker), shutdown_rx.clone()));
        let txn_timer = tokio::spawn(txn_timer(Arc::clone(&broker), shutdown_rx.clone()));
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                accepted = self.listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    };
                    let slot = match slots.try_admit(peer.ip()) {
                        Ok(slot) => slot,
                        Err(Refusal::Total(max)) => {
                            tracing::warn!(%peer, max, "max.connections reached; closing new connection");
                            continue;
                        }
                        Err(Refusal::PerIp(max)) => {
                            tracing::warn!(%peer, max, "max.connections.per.ip reached; closing new connection");
                            continue;
                        }
                    };
                    let (b, rx) = (Arc::clone(&broker), shutdown_rx.clone());
                    conns.spawn(async move {
                        let open = b.metrics.connection_opened();
                        connection::serve(Arc::clone(&b), stream, peer, rx).await;
                        drop(open);
                        drop(slot);
                    });
                }
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
        tracing::info!("shutting down: answering in-flight requests");
        drop(self.listener);
        let _ = shutdown_tx.send(true);
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async { while conns.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tracing::warn!("shutdown grace period elapsed; dropping remaining connections");
            conns.abort_all();
        }
        let _ = housekeeping.await;
        let _ = group_timer.await;
        let _ = log_cleaner.await;
        let _ = txn_timer.await;
        let b = Arc::clone(&broker);
        let closed = tokio::task::spawn_blocking(move || {
            b.flusher.shutdown();
            let mut errors = b.registry.close_all();
            if let Err(source) = b.groups.close() {
                errors.push(crate::registry::RegistryError::Log {
                    path: std::path::PathBuf::from(crate::offsets_topic::OFFSETS_TOPIC),
                    source,
                });
            }
            if let Err(source) = b.transactions.close() {
                errors.push(crate::registry::RegistryError::Log {
                    path: std::path::PathBuf::from(crate::transactions::TRANSACTION_STATE_DIR),
                    source,
                });
            }
            errors
        })
        .await;
        match closed {
            Ok(errors) if errors.is_empty() => tracing::info!("all logs flushed and closed"),
            Ok(errors) => {
                for e in errors {
                    tracing::error!(error = %e, "closing log failed");
                }
            }
            Err(e) => tracing::error!(error = %e, "closing logs panicked"),
        }
    }
}

/// Time-based segment rolls, retention and idle producer-id expiry, checked every
/// retention_check_interval_ms.
async fn housekeeping(broker: Arc<Broker>, mut shutdown: watch::Receiver<bool>) {
    let every = Duration::from_millis(broker.config.retention_check_interval_ms);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        let b = Arc::clone(&broker);
        let res = tokio::task::spawn_blocking(move || {
            let now = now_ms();
            for p in b.registry.all_partitions() {
                let mut log = p.log();
                let expired = log.expire_producers(now);
                if expired > 0 {
                    tracing::debug!(topic = %p.topic, partition = p.index, producers = expired, "expired idle producer ids");
                }
                if let Err(e) = log.maybe_roll(now) {
                    tracing::error!(topic = %p.topic, partition = p.index, error = %e, "segment roll failed");
                }
                match log.enforce_retention(now) {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(topic = %p.topic, partition = p.index, segments = n, "retention deleted segments"),
                    Err(e) => tracing::error!(topic = %p.topic, partition = p.index, error = %e, "retention failed"),
                }
            }
        })
        .await;
        if res.is_err() {
            tracing::error!("housekeeping panicked");
        }
    }
}

/// How often group timers (session expiry, rebalance deadlines) are checked. Session timeouts
/// are at least group.min.session.timeout.ms (6 s by default), so 100 ms is well inside them.
pub const GROUP_TIMER_TICK: Duration = Duration::from_millis(100);

/// Drives the group coordinator's clock; at shutdown answers every parked JoinGroup/SyncGroup
/// (COORDINATOR_NOT_AVAILABLE) so connections can drain instead of waiting out the grace period.
async fn group_timer(broker: Arc<Broker>, mut shutdown: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(GROUP_TIMER_TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => broker.groups.tick(),
            _ = shutdown.changed() => {
                broker.groups.fail_all_waiters();
                return;
            }
        }
    }
}

/// How often transaction timeouts are checked and interrupted completions retried (Kafka's
/// transaction.abort.timed.out.transaction.cleanup.interval.ms is 10 s; a shorter tick lets a
/// hung transaction hold back read_committed consumers for less past its timeout).
pub const TXN_TIMER_TICK: Duration = Duration::from_secs(1);

/// Drives the transaction coordinator's clock. Its first tick, right after start-up, finishes
/// every transaction decided before a crash.
async fn txn_timer(broker: Arc<Broker>, mut shutdown: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(TXN_TIMER_TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => crate::transactions::tick(&broker),
            _ = shutdown.changed() => return,
        }
    }
}
