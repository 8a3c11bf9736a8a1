//! `GET /metrics`: Prometheus text exposition format (0.0.4). The broker's families come from
//! `wharf_broker::metrics::render` (names in docs/METRICS.md); families of the gateway itself
//! (push delivery) are appended after them with `wharf_broker::metrics::exposition`, which the
//! format allows since render writes no terminator.
//!
//! A scrape takes each partition's log lock briefly and the group coordinator's lock while the
//! lag lines are written, so it runs on the blocking pool rather than an async worker.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use wharf_broker::metrics::exposition::{header, sample, Kind};

use crate::error::{codes, ApiError};
use crate::push::counters::CountersSnapshot;
use crate::push::SubscriptionSnapshot;
use crate::state::AppState;

/// Prometheus' content type for the text format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

pub async fn metrics(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let broker = std::sync::Arc::clone(s.client.broker());
    let subscriptions = s.subscriptions.snapshot().await;
    let text = tokio::task::spawn_blocking(move || {
        let mut out = String::new();
        wharf_broker::metrics::render(&broker, &mut out);
        render_push(&subscriptions, &mut out);
        out
    })
    .await
    .map_err(|e| ApiError::new(codes::UNKNOWN_SERVER_ERROR, format!("rendering metrics failed: {e}")))?;
    Ok(([(CONTENT_TYPE, TEXT_FORMAT)], text))
}

/// Push delivery per subscription (docs/METRICS.md): counters since the broker started, and
/// the records not yet delivered as of each partition's last fetch.
fn render_push(subscriptions: &[SubscriptionSnapshot], out: &mut String) {
    type Field = fn(&CountersSnapshot) -> u64;
    let counters: [(&str, &str, Field); 4] = [
        (
            "wharf_push_delivered_records_total",
            "Records acknowledged (2xx) by the subscription's webhook.",
            |c| c.delivered_records,
        ),
        (
            "wharf_push_delivered_batches_total",
            "Batches acknowledged (2xx) by the subscription's webhook.",
            |c| c.delivered_batches,
        ),
        (
            "wharf_push_failed_attempts_total",
            "Webhook requests that failed (non-2xx, timeout, refused).",
            |c| c.failed_attempts,
        ),
        (
            "wharf_push_dead_lettered_total",
            "Records moved to the dead-letter topic after max_attempts failures.",
            |c| c.dead_lettered,
        ),
    ];
    for (name, help, field) in counters {
        header(out, name, Kind::Counter, help);
        for sub in subscriptions {
            sample(
                out,
                name,
                &[("subscription", &sub.name), ("topic", &sub.topic)],
                field(&sub.counters),
            );
        }
    }
    header(
        out,
        "wharf_push_lag",
        Kind::Gauge,
        "Records of the topic not yet delivered by the subscription.",
    );
    for sub in subscriptions {
        sample(
            out,
            "wharf_push_lag",
            &[("subscription", &sub.name), ("topic", &sub.topic)],
            sub.counters.lag,
        );
    }
    header(
        out,
        "wharf_push_paused",
        Kind::Gauge,
        "1 while the subscription is paused.",
    );
    for sub in subscriptions {
        sample(
            out,
            "wharf_push_paused",
            &[("subscription", &sub.name), ("topic", &sub.topic)],
            u64::from(sub.state == "paused"),
        );
    }
}
