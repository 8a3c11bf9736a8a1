//! Push subscriptions: Wharf POSTs a topic's records to a webhook, in order per partition,
//! at least once, committing the subscription's consumer group only after a 2xx, retrying with
//! backoff, and moving a record that keeps failing to a dead-letter topic.
//!
//! Layout: `spec` (the fields and their checks), `store` (survives restarts), `deliver` (one
//! task per partition), `retry` (backoff and the retry/narrow/dead-letter decision), `webhook`
//! (the signed POST), `sign`, `dead_letter`, `counters`. This file is the registry: it starts a
//! supervisor task per subscription, which runs one delivery task per partition of the topic
//! and picks up partitions added later; pause, resume, delete and shutdown go through it.
//!
//! What it does not do: HTTPS webhooks, or sharing the group with Kafka consumers (the group
//! belongs to the subscription; see `spec::SubscriptionSpec::group`).

pub mod counters;
pub mod dead_letter;
pub mod deliver;
pub mod retry;
pub mod sign;
pub mod spec;
pub mod store;
pub mod webhook;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{watch, Mutex};
use tokio::task::{JoinHandle, JoinSet};

pub use counters::{Counters, CountersSnapshot};
use deliver::{run_partition, Context, Control};
use spec::{check_url, StoredSubscription, SubscriptionSpec};
use store::{Store, StoreError};
use webhook::Webhook;

use crate::config::HttpLimits;
use crate::error::{codes, ApiError};
use crate::local::LocalClient;

/// How often a subscription looks for partitions added to its topic.
const PARTITION_CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// One subscription's counters and state at a moment (for GET and for /metrics).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriptionSnapshot {
    pub name: String,
    pub topic: String,
    pub group: String,
    /// `running` or `paused`.
    pub state: &'static str,
    #[serde(flatten)]
    pub counters: CountersSnapshot,
}

struct Entry {
    stored: StoredSubscription,
    control: watch::Sender<Control>,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl Entry {
    fn snapshot(&self) -> SubscriptionSnapshot {
        SubscriptionSnapshot {
            name: self.stored.spec.name.clone(),
            topic: self.stored.spec.topic.clone(),
            group: self.stored.spec.group(),
            state: if self.stored.paused { "paused" } else { "running" },
            counters: self.counters.snapshot(),
        }
    }

    /// The subscription as the API shows it: settings (no secret), state and counters.
    fn view(&self) -> Value {
        let mut v = self.stored.spec.view();
        if let (Value::Object(out), Ok(Value::Object(s))) = (&mut v, serde_json::to_value(self.snapshot())) {
            for (k, x) in s {
                out.insert(k, x);
            }
        }
        v
    }

    fn stop(&self) {
        // No receiver left means the tasks ended already.
        let _ = self.control.send(Control::Stopped);
        self.task.abort();
    }
}

/// Every subscription of this broker.
pub struct Subscriptions {
    client: LocalClient,
    limits: HttpLimits,
    store: Store,
    webhook: Arc<Webhook>,
    /// Held across the store write, so the file always matches the map.
    entries: Mutex<BTreeMap<String, Entry>>,
}

impl Subscriptions {
    /// Loads the stored subscriptions of `data_dir` and starts delivering the running ones.
    pub async fn open(
        client: LocalClient,
        limits: HttpLimits,
        data_dir: &Path,
    ) -> Result<Arc<Subscriptions>, StoreError> {
        let store = Store::new(data_dir);
        let loaded = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.load())
                .await
                .map_err(|e| StoreError::Io {
                    path: data_dir.join(store::STORE_FILE),
                    source: std::io::Error::other(e.to_string()),
                })??
        };
        let subs = Arc::new(Subscriptions {
            webhook: Arc::new(Webhook::new(&limits)),
            client,
            limits,
            store,
            entries: Mutex::new(BTreeMap::new()),
        });
        {
            let mut entries = subs.entries.lock().await;
            for stored in loaded {
                match subs.start(stored.clone()) {
                    Ok(entry) => {
                        entries.insert(stored.spec.name.clone(), entry);
                    }
                    Err(e) => {
                        tracing::error!(subscription = %stored.spec.name, error = %e.message, "stored subscription not started")
                    }
                }
            }
            tracing::info!(count = entries.len(), "push subscriptions loaded");
        }
        Ok(subs)
    }

    fn start(&self, stored: StoredSubscription) -> Result<Entry, ApiError> {
        let url = check_url(&stored.spec.url, self.limits.push_url_bytes_max)?;
        let counters = Arc::new(Counters::default());
        let initial = if stored.paused {
            Control::Paused
        } else {
            Control::Running
        };
        let (control, receiver) = watch::channel(initial);
        let ctx = Arc::new(Context {
            spec: stored.spec.clone(),
            url,
            client: self.client.clone(),
            webhook: Arc::clone(&self.webhook),
            counters: Arc::clone(&counters),
            fetch_bytes_max: self.limits.fetch_bytes_max,
        });
        let task = tokio::spawn(supervise(ctx, receiver));
        Ok(Entry {
            stored,
            control,
            counters,
            task,
        })
    }

    async fn save(&self, entries: &BTreeMap<String, Entry>) -> Result<(), ApiError> {
        let list: Vec<StoredSubscription> = entries.values().map(|e| e.stored.clone()).collect();
        let store = self.store.clone();
        let saved = tokio::task::spawn_blocking(move || store.save(&list))
            .await
            .map_err(|e| ApiError::new(codes::UNKNOWN_SERVER_ERROR, e.to_string()))?;
        saved.map_err(|e| {
            tracing::error!(error = %e, "cannot write the subscription store");
            ApiError::new(codes::KAFKA_STORAGE_ERROR, e.to_string())
        })
    }

    /// Registers `spec` (validated here), stores it durably, creates its dead-letter topic and
    /// starts delivering.
    pub async fn create(&self, mut spec: SubscriptionSpec) -> Result<Value, ApiError> {
        spec.validate(&self.limits)?;
        let partitions = self
            .client
            .broker()
            .registry
            .topic(&spec.topic)
            .map(|t| t.partition_count())
            .ok_or_else(|| {
                ApiError::new(
                    codes::UNKNOWN_TOPIC_OR_PARTITION,
                    format!("topic '{}' does not exist", spec.topic),
                )
            })?;
        let mut entries = self.entries.lock().await;
        if entries.contains_key(&spec.name) {
            return Err(
                ApiError::invalid(format!("subscription '{}' exists already", spec.name))
                    .with_status(StatusCode::CONFLICT),
            );
        }
        if let Some(other) = entries.values().find(|e| e.stored.spec.group() == spec.group()) {
            return Err(ApiError::invalid(format!(
                "group '{}' belongs to subscription '{}' already",
                spec.group(),
                other.stored.spec.name
            ))
            .with_status(StatusCode::CONFLICT));
        }
        if entries.len() >= self.limits.subscriptions_max {
            return Err(ApiError::new(
                codes::THROTTLING_QUOTA_EXCEEDED,
                format!(
                    "{} subscriptions exist already (http.subscriptions.max)",
                    self.limits.subscriptions_max
                ),
            ));
        }
        dead_letter::ensure_topic(&self.client, &spec.dead_letter_topic(), partitions).await?;
        let stored = StoredSubscription { spec, paused: false };
        let entry = self.start(stored.clone())?;
        let name = stored.spec.name.clone();
        entries.insert(name.clone(), entry);
        if let Err(e) = self.save(&entries).await {
            if let Some(entry) = entries.remove(&name) {
                entry.stop();
            }
            return Err(e);
        }
        tracing::info!(subscription = %name, "push subscription created");
        Ok(entries.get(&name).map(Entry::view).unwrap_or(Value::Null))
    }

    pub async fn list(&self) -> Vec<Value> {
        self.entries.lock().await.values().map(Entry::view).collect()
    }

    pub async fn get(&self, name: &str) -> Result<Value, ApiError> {
        self.entries
            .lock()
            .await
            .get(name)
            .map(Entry::view)
            .ok_or_else(|| unknown(name))
    }

    /// Pauses or resumes delivery; the state is stored, so it survives a restart. Pausing
    /// keeps the position: delivery resumes from the last committed offset.
    pub async fn set_paused(&self, name: &str, paused: bool) -> Result<Value, ApiError> {
        let mut entries = self.entries.lock().await;
        let entry = entries.get_mut(name).ok_or_else(|| unknown(name))?;
        let before = entry.stored.paused;
        entry.stored.paused = paused;
        if let Err(e) = self.save(&entries).await {
            if let Some(entry) = entries.get_mut(name) {
                entry.stored.paused = before;
            }
            return Err(e);
        }
        let entry = entries.get(name).ok_or_else(|| unknown(name))?;
        let _ = entry
            .control
            .send(if paused { Control::Paused } else { Control::Running });
        Ok(entry.view())
    }

    /// Stops delivery and forgets the subscription. The group's offsets stay (delete the group
    /// to drop them); the dead-letter topic stays.
    pub async fn delete(&self, name: &str) -> Result<(), ApiError> {
        let mut entries = self.entries.lock().await;
        let entry = entries.remove(name).ok_or_else(|| unknown(name))?;
        if let Err(e) = self.save(&entries).await {
            entries.insert(name.to_owned(), entry);
            return Err(e);
        }
        entry.stop();
        tracing::info!(subscription = %name, "push subscription deleted");
        Ok(())
    }

    /// Every subscription's state and counters, by name (for /metrics).
    pub async fn snapshot(&self) -> Vec<SubscriptionSnapshot> {
        self.entries.lock().await.values().map(Entry::snapshot).collect()
    }

    /// Stops every delivery task (gateway shutdown); the stored subscriptions stay.
    pub async fn shutdown(&self) {
        let mut entries = self.entries.lock().await;
        for entry in entries.values() {
            entry.stop();
        }
        for (_, entry) in std::mem::take(&mut *entries) {
            let _ = entry.task.await;
        }
    }
}

fn unknown(name: &str) -> ApiError {
    ApiError::invalid(format!("no subscription named '{name}'")).with_status(StatusCode::NOT_FOUND)
}

/// Runs one delivery task per partition of the subscription's topic, starting tasks for
/// partitions added later, until stopped. Dropping the JoinSet (on abort) ends the tasks.
async fn supervise(ctx: Arc<Context>, mut control: watch::Receiver<Control>) {
    let mut tasks = JoinSet::new();
    let mut started = 0;
    loop {
        let partitions = ctx
            .client
            .broker()
            .registry
            .topic(&ctx.spec.topic)
            .map(|t| t.partition_count())
            .unwrap_or(started);
        for partition in started..partitions {
            tasks.spawn(run_partition(Arc::clone(&ctx), partition, control.clone()));
        }
        started = started.max(partitions);
        tokio::select! {
            _ = tokio::time::sleep(PARTITION_CHECK_INTERVAL) => {}
            changed = control.changed() => {
                if changed.is_err() || *control.borrow() == Control::Stopped {
                    break;
                }
            }
        }
    }
    tasks.shutdown().await;
}
