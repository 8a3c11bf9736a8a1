//! The result of a run, how it is printed, and the progress bar shown while it runs.
//!
//! Throughput is in records/s and MB/s with 1 MB = 1,000,000 bytes (as Kafka's perf tools do).
//! What "bytes" counts is named in the report: produce and end-to-end count record value bytes
//! (end-to-end decodes every record anyway); consume counts record-batch bytes as received
//! (after compression, including batch overhead), because it only reads batch headers.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tokio::task::JoinHandle;

use crate::error::BenchError;
use crate::stats::{Counters, LatencySummary};

/// Bytes in a megabyte, for MB/s.
pub const BYTES_PER_MB: f64 = 1_000_000.0;

/// What one `wharf bench` run measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// "produce", "consume" or "end-to-end".
    pub mode: &'static str,
    pub topic: String,
    /// Records produced (produce) or read (consume, end-to-end).
    pub records: u64,
    pub bytes: u64,
    /// What `bytes` counts: "record values" or "record batches as fetched".
    pub bytes_counted: &'static str,
    pub elapsed_secs: f64,
    pub msgs_per_sec: f64,
    /// Megabytes per second, 1 MB = 1,000,000 bytes.
    pub mb_per_sec: f64,
    /// Records the producers had acknowledged (end-to-end only).
    pub produced_records: Option<u64>,
    /// Produce request latency, sent to response, per request.
    pub produce_latency_ms: Option<LatencySummary>,
    /// Send time embedded in each record to the time it was fetched, per record.
    pub end_to_end_latency_ms: Option<LatencySummary>,
}

impl BenchReport {
    /// Fills in rates from counts and elapsed time.
    pub fn new(mode: &'static str, topic: &str, records: u64, bytes: u64, elapsed: Duration) -> Self {
        let secs = elapsed.as_secs_f64();
        let per_sec = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        BenchReport {
            mode,
            topic: topic.to_owned(),
            records,
            bytes,
            bytes_counted: "record values",
            elapsed_secs: secs,
            msgs_per_sec: per_sec(records),
            mb_per_sec: per_sec(bytes) / BYTES_PER_MB,
            produced_records: None,
            produce_latency_ms: None,
            end_to_end_latency_ms: None,
        }
    }

    /// Prints the report to stdout: one JSON object, or a few aligned lines.
    pub fn print(&self, json: bool) -> Result<(), BenchError> {
        if json {
            let text = serde_json::to_string_pretty(self).map_err(|e| BenchError::Report(e.to_string()))?;
            println!("{text}");
        } else {
            print!("{}", self.to_text());
        }
        Ok(())
    }

    /// The human-readable summary.
    pub fn to_text(&self) -> String {
        let mut out = format!("wharf bench {} on topic {}\n", self.mode, self.topic);
        if let Some(produced) = self.produced_records {
            out += &format!("  produced    {produced} records\n");
        }
        out += &format!("  records     {}\n", self.records);
        out += &format!("  bytes       {} ({})\n", self.bytes, self.bytes_counted);
        out += &format!("  elapsed     {:.3} s\n", self.elapsed_secs);
        out += &format!(
            "  throughput  {:.0} msgs/s, {:.2} MB/s (1 MB = 1,000,000 bytes)\n",
            self.msgs_per_sec, self.mb_per_sec
        );
        for (name, summary) in [
            ("produce latency (per request)", &self.produce_latency_ms),
            ("end-to-end latency (per record)", &self.end_to_end_latency_ms),
        ] {
            if let Some(s) = summary {
                out += &format!(
                    "  {name}: p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms, mean {:.3} ms over {} samples\n",
                    s.p50_ms, s.p99_ms, s.p999_ms, s.max_ms, s.mean_ms, s.samples
                );
            }
        }
        out
    }
}

/// A progress bar on stdout fed from shared counters, or nothing when it must stay hidden.
pub struct Progress {
    bar: Option<ProgressBar>,
    ticker: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts drawing when `wanted` and stdout is a terminal; `total` is the expected record
    /// count when known.
    pub fn start(wanted: bool, total: Option<u64>, counters: Arc<Counters>) -> Self {
        if !wanted || !std::io::stdout().is_terminal() {
            return Progress {
                bar: None,
                ticker: None,
            };
        }
        let (bar, template) = match total {
            Some(n) => (
                ProgressBar::new(n),
                "{bar:40} {human_pos}/{human_len} records {per_sec} eta {eta}",
            ),
            None => (
                ProgressBar::new_spinner(),
                "{spinner} {human_pos} records {per_sec} {elapsed}",
            ),
        };
        bar.set_draw_target(ProgressDrawTarget::stdout());
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        let ticking = bar.clone();
        let ticker = tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_millis(200));
            loop {
                interval.tick().await;
                ticking.set_position(counters.records());
            }
        });
        Progress {
            bar: Some(bar),
            ticker: Some(ticker),
        }
    }

    /// Stops updating and erases the bar so the summary prints on a clean line.
    pub fn finish(self) {
        if let Some(ticker) = self.ticker {
            ticker.abort();
        }
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_rates_use_decimal_megabytes() {
        let r = BenchReport::new("produce", "t", 1_000_000, 100_000_000, Duration::from_secs(2));
        assert_eq!(r.msgs_per_sec, 500_000.0);
        assert_eq!(r.mb_per_sec, 50.0);
        assert!(r.to_text().contains("1 MB = 1,000,000 bytes"));
    }

    #[test]
    fn report_json_has_documented_fields() {
        let r = BenchReport::new("consume", "t", 10, 1000, Duration::from_millis(500));
        let v: serde_json::Value = serde_json::to_value(&r).expect("serializes");
        assert_eq!(v["records"], 10);
        assert_eq!(v["msgs_per_sec"], 20.0);
        assert!(v["produce_latency_ms"].is_null());
    }

    #[test]
    fn report_zero_elapsed_does_not_divide_by_zero() {
        let r = BenchReport::new("produce", "t", 10, 10, Duration::ZERO);
        assert_eq!(r.msgs_per_sec, 0.0);
    }
}
