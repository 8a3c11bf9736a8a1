//! One partition of one subscription: fetch from the group's committed offset, batch up to
//! `batch_size` records (lingering up to `linger_ms` to fill a batch), POST each batch, commit
//! past it after a 2xx, and on failure retry / narrow / dead-letter (retry.rs decides).
//!
//! Invariants: a batch is sent only after every record before it in the partition was
//! acknowledged (2xx) or dead-lettered and that position committed, so ordering per partition
//! holds and the committed offset never passes an undelivered record. Nothing but the
//! committed offset is remembered: after a restart or a pause, delivery starts again from it,
//! so records after the last commit may be delivered twice (at-least-once).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::Uri;
use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, FetchResponse};
use kafka_protocol::records::Record;
use tokio::sync::watch;

use super::dead_letter::{self, Origin};
use super::retry::{after_failure, next_batch_len, should_send, Backoff, Step};
use super::spec::SubscriptionSpec;
use super::webhook::Webhook;
use super::Counters;
use crate::error::{codes, ApiError};
use crate::local::{versions, LocalClient};
use crate::members::committed_offsets;
use crate::records::{decode_records, show_record};
use crate::requests::{aborted_of, commit_offsets, fetch_request};
use crate::routes::fetch::{list_offset, EARLIEST, LATEST};

/// How long one fetch waits for records when none are pending (the broker's long poll; a
/// pause or stop interrupts it within this long).
const IDLE_POLL_MS: u64 = 500;

/// What the subscription's tasks should be doing; sent by the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Running,
    Paused,
    Stopped,
}

/// What the partition tasks of one subscription share.
pub struct Context {
    pub spec: SubscriptionSpec,
    pub url: Uri,
    pub client: LocalClient,
    pub webhook: Arc<Webhook>,
    pub counters: Arc<Counters>,
    pub fetch_bytes_max: i32,
}

impl Context {
    fn backoff(&self) -> Backoff {
        Backoff {
            initial_ms: self.spec.initial_backoff_ms,
            max_ms: self.spec.max_backoff_ms,
        }
    }
}

/// How one request ended.
enum Outcome {
    /// 2xx: commit past these records.
    Delivered,
    /// The record is in the dead-letter topic: commit past it.
    DeadLettered,
    /// The batch used up its attempts: send its records one at a time.
    Narrowed,
    /// Paused or stopped meanwhile: keep the records, send them later.
    Interrupted,
}

/// Waits until the subscription runs; false once it is stopped.
async fn running(control: &mut watch::Receiver<Control>) -> bool {
    loop {
        match *control.borrow_and_update() {
            Control::Running => return true,
            Control::Stopped => return false,
            Control::Paused => {}
        }
        if control.changed().await.is_err() {
            return false;
        }
    }
}

/// Sleeps `d`; false when the subscription is paused or stopped meanwhile.
async fn sleep_running(d: Duration, control: &mut watch::Receiver<Control>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => *control.borrow() == Control::Running,
        _ = control.changed() => false,
    }
}

/// Delivers partition `partition` until the subscription is stopped.
pub async fn run_partition(ctx: Arc<Context>, partition: i32, mut control: watch::Receiver<Control>) {
    let mut p = PartitionState {
        ctx,
        partition,
        position: None,
        next_fetch: 0,
        pending: VecDeque::new(),
        first_pending_at: None,
        narrow: 0,
    };
    let mut errors = 0u32;
    loop {
        if *control.borrow() != Control::Running {
            // Paused (or stopping): what was fetched is dropped, and delivery resumes from the
            // committed offset, re-read then — as after a restart, so a pause is no different.
            p.position = None;
        }
        if !running(&mut control).await {
            return;
        }
        match p.step(&mut control).await {
            Ok(()) => errors = 0,
            Err(e) => {
                // Fetch, commit or dead-letter write failed: forget what is pending (it is
                // re-read from the committed position) and back off.
                errors = errors.saturating_add(1);
                p.ctx.counters.set_error(&format!("{}: {}", e.name(), e.message));
                tracing::warn!(subscription = %p.ctx.spec.name, partition, error = %e.message, "push delivery step failed");
                p.position = None;
                let delay = p.ctx.backoff().delay(errors, fastrand::f64());
                sleep_running(delay.max(Duration::from_millis(10)), &mut control).await;
            }
        }
    }
}

struct PartitionState {
    ctx: Arc<Context>,
    partition: i32,
    /// The committed delivery position; `None` until read from the group (and after an error).
    position: Option<i64>,
    next_fetch: i64,
    pending: VecDeque<Record>,
    first_pending_at: Option<Instant>,
    /// Records of a failed batch still to be sent one at a time.
    narrow: usize,
}

impl PartitionState {
    /// Fetches more records, or sends one request and commits after it.
    async fn step(&mut self, control: &mut watch::Receiver<Control>) -> Result<(), ApiError> {
        let position = match self.position {
            Some(p) => p,
            None => {
                let p = self.initial_position().await?;
                self.reset_to(p);
                p
            }
        };
        let spec = &self.ctx.spec;
        let wanted = next_batch_len(spec.batch_size, usize::MAX, self.narrow);
        let waited_ms = self
            .first_pending_at
            .map(|t| t.elapsed().as_millis() as u64)
            .unwrap_or(0);
        if !should_send(self.pending.len(), wanted, waited_ms, spec.linger_ms) {
            let wait_ms = if self.pending.is_empty() {
                IDLE_POLL_MS
            } else {
                spec.linger_ms.saturating_sub(waited_ms).max(1)
            };
            return self.fetch(position, wait_ms).await;
        }
        let n = next_batch_len(spec.batch_size, self.pending.len(), self.narrow);
        let batch: Vec<Record> = self.pending.iter().take(n).cloned().collect();
        match self.send(&batch, control).await? {
            Outcome::Interrupted => return Ok(()),
            Outcome::Narrowed => {
                self.narrow = n;
                return Ok(());
            }
            Outcome::Delivered | Outcome::DeadLettered => {}
        }
        let last = batch.last().map(|r| r.offset).unwrap_or(position - 1);
        self.commit(last + 1).await?;
        self.position = Some(last + 1);
        self.pending.drain(..n);
        self.narrow = self.narrow.saturating_sub(n);
        if self.pending.is_empty() {
            self.first_pending_at = None;
        }
        Ok(())
    }

    fn reset_to(&mut self, position: i64) {
        self.position = Some(position);
        self.next_fetch = position;
        self.pending.clear();
        self.first_pending_at = None;
        self.narrow = 0;
    }

    /// The group's committed offset for this partition, else the reset point.
    async fn initial_position(&self) -> Result<i64, ApiError> {
        let spec = &self.ctx.spec;
        let committed = committed_offsets(&self.ctx.client, &spec.group()).await?;
        match committed.get(&(spec.topic.clone(), self.partition)) {
            Some(&o) if o >= 0 => Ok(o),
            _ => list_offset(&self.ctx.client, &spec.topic, self.partition, self.reset()).await,
        }
    }

    fn reset(&self) -> i64 {
        if self.ctx.spec.auto_offset_reset == "latest" {
            LATEST
        } else {
            EARLIEST
        }
    }

    /// One Fetch of this partition from `next_fetch`, waiting up to `wait_ms` for records.
    async fn fetch(&mut self, position: i64, wait_ms: u64) -> Result<(), ApiError> {
        let spec = &self.ctx.spec;
        // Webhooks see what a read_committed consumer sees: no aborted transactions.
        let request = fetch_request(
            [(spec.topic.as_str(), self.partition, self.next_fetch)],
            wait_ms,
            self.ctx.fetch_bytes_max,
        );
        let response: FetchResponse = self.ctx.client.call(ApiKey::Fetch, versions::FETCH, &request).await?;
        ApiError::check(response.error_code, None, || "fetch failed".to_owned())?;
        let Some(p) = response.responses.first().and_then(|t| t.partitions.first()) else {
            return Err(ApiError::new(
                codes::UNKNOWN_SERVER_ERROR,
                "Fetch answered no partition",
            ));
        };
        match p.error_code {
            0 => {}
            codes::OFFSET_OUT_OF_RANGE => {
                // Retention removed records never delivered: start again where the reset says,
                // as a Kafka consumer does.
                let to = list_offset(&self.ctx.client, &spec.topic, self.partition, self.reset()).await?;
                tracing::warn!(subscription = %spec.name, partition = self.partition, from = position, to, "delivery position out of range; reset");
                self.reset_to(to);
                return Ok(());
            }
            code => {
                return Err(ApiError::new(
                    code,
                    format!("fetching {}-{}", spec.topic, self.partition),
                ))
            }
        }
        self.ctx.counters.set_lag(self.partition, p.high_watermark - position);
        let bytes = p.records.clone().unwrap_or_default();
        let (records, next) = decode_records(bytes, &aborted_of(p), self.next_fetch, usize::MAX)?;
        self.next_fetch = next;
        if !records.is_empty() && self.first_pending_at.is_none() {
            self.first_pending_at = Some(Instant::now());
        }
        self.pending.extend(records);
        Ok(())
    }

    /// Sends `batch` until it is acknowledged, narrowed, dead-lettered or interrupted.
    async fn send(&self, batch: &[Record], control: &mut watch::Receiver<Control>) -> Result<Outcome, ApiError> {
        let ctx = &self.ctx;
        let spec = &ctx.spec;
        let body = self.payload(batch)?;
        let mut attempts = 0u32;
        loop {
            let result = ctx
                .webhook
                .post(&ctx.url, &spec.name, spec.secret.as_bytes(), body.clone())
                .await;
            let failure = match result {
                Ok(()) => {
                    ctx.counters.delivered(batch.len());
                    return Ok(Outcome::Delivered);
                }
                Err(f) => f,
            };
            attempts += 1;
            ctx.counters.failed(&failure.describe());
            match after_failure(attempts, spec.max_attempts, batch.len()) {
                Step::Retry => {
                    let delay = ctx.backoff().delay(attempts, fastrand::f64());
                    if !sleep_running(delay, control).await {
                        return Ok(Outcome::Interrupted);
                    }
                }
                Step::Narrow => return Ok(Outcome::Narrowed),
                Step::DeadLetter => {
                    let Some(record) = batch.first() else {
                        return Ok(Outcome::Delivered);
                    };
                    let origin = Origin {
                        subscription: &spec.name,
                        topic: &spec.topic,
                        partition: self.partition,
                        failure: &failure,
                        attempts,
                    };
                    let letter = dead_letter::dead_letter(record, &origin);
                    dead_letter::write(&ctx.client, &spec.dead_letter_topic(), self.partition, letter).await?;
                    ctx.counters.dead_lettered();
                    tracing::warn!(subscription = %spec.name, partition = self.partition, offset = record.offset, reason = %failure.describe(), "record moved to the dead-letter topic");
                    return Ok(Outcome::DeadLettered);
                }
            }
        }
    }

    /// `{"subscription", "topic", "partition", "records": [RecordJson...]}`.
    fn payload(&self, batch: &[Record]) -> Result<Bytes, ApiError> {
        let spec = &self.ctx.spec;
        let records: Vec<_> = batch
            .iter()
            .map(|r| show_record(&spec.topic, self.partition, r, spec.format))
            .collect();
        let body = serde_json::json!({
            "subscription": spec.name,
            "topic": spec.topic,
            "partition": self.partition,
            "records": records,
        });
        serde_json::to_vec(&body)
            .map(Bytes::from)
            .map_err(|e| ApiError::new(codes::UNKNOWN_SERVER_ERROR, e.to_string()))
    }

    /// Commits `offset` for this partition as a simple consumer of the subscription's group
    /// (generation -1, no member id: accepted while the group has no members).
    async fn commit(&self, offset: i64) -> Result<(), ApiError> {
        let spec = &self.ctx.spec;
        let entry = [(spec.topic.as_str(), self.partition, offset)];
        let response = commit_offsets(&self.ctx.client, &spec.group(), -1, "", entry).await?;
        for t in &response.topics {
            for p in &t.partitions {
                ApiError::check(p.error_code, None, || {
                    format!(
                        "cannot commit {}-{} for group '{}' (is a Kafka consumer using the subscription's group?)",
                        spec.topic,
                        p.partition_index,
                        spec.group()
                    )
                })?;
            }
        }
        Ok(())
    }
}
