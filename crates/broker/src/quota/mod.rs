//! Client quotas (KIP-13 byte rates, KIP-124 request percentage, KIP-546 management through
//! DescribeClientQuotas / AlterClientQuotas): configured per user and/or client id, with defaults,
//! resolved in Kafka's order of precedence, enforced by throttling.
//!
//! Enforcement follows KIP-219: the request is served, its response carries throttle_time_ms,
//! and the connection is muted (no further request is read from it) for that long, so a client
//! that ignores the hint cannot exceed its quota either. Without authentication every client's
//! user principal is `ANONYMOUS`, as with Kafka's PLAINTEXT listener.
//!
//! Bounds: configured entities (MAX_QUOTA_ENTITIES) and live rate sensors (MAX_QUOTA_SENSORS; idle
//! sensors are dropped first, and a client that finds the table full of active ones is not
//! throttled rather than refused service). Quotas persist in `<data>/client-quotas.toml`.

mod rate;
mod store;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

pub use store::{EntityName, QuotaEntity, QuotaError, QuotaValues, MAX_QUOTA_ENTITIES, QUOTA_FILE, QUOTA_KEYS};

use rate::Rate;
use store::QuotaStore;

/// The user principal of every client (no authentication yet).
pub const ANONYMOUS_USER: &str = "ANONYMOUS";
/// Live (user, client id) rate sensors per quota type, at most.
pub const MAX_QUOTA_SENSORS: usize = 10_000;

/// What is measured against which quota key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaKind {
    /// Bytes produced per second: producer_byte_rate.
    Produce,
    /// Bytes fetched per second: consumer_byte_rate.
    Fetch,
    /// Broker time spent on the client's requests, as a percentage of one thread:
    /// request_percentage.
    Request,
}

impl QuotaKind {
    pub fn key(self) -> &'static str {
        match self {
            QuotaKind::Produce => "producer_byte_rate",
            QuotaKind::Fetch => "consumer_byte_rate",
            QuotaKind::Request => "request_percentage",
        }
    }
}

/// (kind, user part, client-id part) of the entity whose quota applies: clients sharing a
/// configured entity share its sensor; a default entity gives each client its own.
type SensorKey = (QuotaKind, Option<String>, Option<String>);

pub struct ClientQuotas {
    store: Mutex<QuotaStore>,
    sensors: Mutex<HashMap<SensorKey, Rate>>,
    /// False while no quota is configured: then recording costs one atomic load.
    any: AtomicBool,
}

impl ClientQuotas {
    pub fn open(data_dir: &Path) -> Result<ClientQuotas, QuotaError> {
        let store = QuotaStore::open(data_dir)?;
        let any = AtomicBool::new(!store.is_empty());
        Ok(ClientQuotas {
            store: Mutex::new(store),
            sensors: Mutex::new(HashMap::new()),
            any,
        })
    }

    fn store(&self) -> std::sync::MutexGuard<'_, QuotaStore> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// DescribeClientQuotas: every configured entity passing `filter`.
    pub fn describe(&self, filter: impl Fn(&QuotaEntity) -> bool) -> Vec<(QuotaEntity, QuotaValues)> {
        self.store().entries(filter)
    }

    /// AlterClientQuotas of one entity: `ops` are (key, Some(value) to set | None to remove).
    pub fn alter(
        &self,
        entity: QuotaEntity,
        ops: &[(String, Option<f64>)],
        validate_only: bool,
    ) -> Result<(), QuotaError> {
        let mut store = self.store();
        store.alter(entity, ops, validate_only)?;
        self.any.store(!store.is_empty(), Ordering::Release);
        if !validate_only {
            // Sensors were keyed by the entities that applied before; start afresh.
            self.sensors.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }
        Ok(())
    }

    /// Whether any quota is configured; when not, nothing needs measuring.
    pub fn is_active(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }

    /// Records `value` for the client and returns how long to throttle it (0 within quota).
    pub fn record(&self, kind: QuotaKind, client_id: &str, value: f64, now_ms: i64) -> i64 {
        if !self.is_active() {
            return 0;
        }
        let Some((entity, quota)) = self.store().resolve(kind.key(), ANONYMOUS_USER, client_id) else {
            return 0;
        };
        let key = (
            kind,
            entity.user.map(|_| ANONYMOUS_USER.to_string()),
            entity.client_id.map(|_| client_id.to_string()),
        );
        let mut sensors = self.sensors.lock().unwrap_or_else(|p| p.into_inner());
        if !sensors.contains_key(&key) && sensors.len() >= MAX_QUOTA_SENSORS {
            sensors.retain(|_, r| !r.is_idle(now_ms));
            if sensors.len() >= MAX_QUOTA_SENSORS {
                tracing::warn!(
                    max = MAX_QUOTA_SENSORS,
                    client_id,
                    "quota sensor table full; not throttling"
                );
                return 0;
            }
        }
        let rate = sensors.entry(key).or_default();
        rate.record(now_ms, value);
        // request_percentage is a percentage of one thread: 100 = 1,000 ms per second.
        let bound = if kind == QuotaKind::Request {
            quota * 10.0
        } else {
            quota
        };
        rate.throttle_ms(now_ms, bound)
    }
}
