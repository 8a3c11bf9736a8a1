//! Command-line flags of `wharf bench` and their validation.
//!
//! Parsing is clap's; this file adds what clap cannot say: how the flags combine (a run stops on
//! a record count or after a duration), and the bounds from [`crate::limits`]. Nothing here
//! touches the network.

use std::time::Duration;

use clap::{Args, ValueEnum};
use kafka_protocol::records::Compression;

use crate::error::BenchError;
use crate::limits;

/// Records produced when neither `--count` nor `--duration` is given.
pub const DEFAULT_COUNT: u64 = 1_000_000;

/// What the run measures.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Produce records as fast as the broker accepts them; reports produce latency per request.
    Produce,
    /// Fetch the topic from its start; reports read throughput and checks the record count.
    Consume,
    /// Produce and consume at once; latency is consume time minus the send time in each record.
    EndToEnd,
}

/// Compression codec of produced record batches.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompressionArg {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl CompressionArg {
    pub fn codec(self) -> Compression {
        match self {
            CompressionArg::None => Compression::None,
            CompressionArg::Gzip => Compression::Gzip,
            CompressionArg::Snappy => Compression::Snappy,
            CompressionArg::Lz4 => Compression::Lz4,
            CompressionArg::Zstd => Compression::Zstd,
        }
    }
}

/// `wharf bench`: a Kafka-protocol load generator for any Kafka-compatible broker.
///
/// Throughput is reported in records/s and MB/s, where 1 MB = 1,000,000 bytes: of record values
/// in produce and end-to-end modes, of record batches as fetched in consume mode. Latencies are
/// in milliseconds. Each record value starts with a 16-byte prefix (send time and
/// sequence number) followed by filler up to --message-size.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// produce: write records; consume: read the topic from its start; end-to-end: both at once,
    /// measuring the time from send to receipt of each record.
    #[arg(value_enum)]
    pub mode: Mode,

    /// Broker to bootstrap from; partition leaders are then found through Metadata.
    #[arg(long, default_value = "127.0.0.1:9092", env = "WHARF_BENCH_BOOTSTRAP")]
    pub bootstrap: String,

    /// Topic to produce to or consume from; created if missing (produce and end-to-end).
    #[arg(long, default_value = "wharf-bench")]
    pub topic: String,

    /// Partitions of the topic when the bench creates it.
    #[arg(long, default_value_t = 1)]
    pub partitions: i32,

    /// Bytes of each record value (at least 16, the timestamp prefix).
    #[arg(long, default_value_t = 100)]
    pub message_size: usize,

    /// Records to produce (or to read, in consume mode). Default 1,000,000 when --duration is
    /// not given either; consume mode without both reads up to the high watermark.
    #[arg(long, conflicts_with = "duration")]
    pub count: Option<u64>,

    /// Run for this many seconds instead of a fixed count.
    #[arg(long)]
    pub duration: Option<u64>,

    /// Maximum bytes of one record batch (one batch per partition per produce request).
    #[arg(long, default_value_t = 1_000_000)]
    pub batch_size: usize,

    /// Longest time a partly filled batch waits for more records. The generator is unthrottled
    /// unless --rate is given, so without --rate batches fill at once and this rarely applies.
    #[arg(long, default_value_t = 5)]
    pub linger_ms: u64,

    /// Total records per second to produce across all producers; unthrottled when absent.
    #[arg(long)]
    pub rate: Option<u64>,

    /// Produce acknowledgements: -1 (or all), 1, or 0 (no response; latency not measured).
    #[arg(long, default_value = "-1", value_parser = parse_acks, allow_hyphen_values = true)]
    pub acks: i16,

    /// Compression codec of produced batches.
    #[arg(long, value_enum, default_value_t = CompressionArg::None)]
    pub compression: CompressionArg,

    /// Concurrent producer connections (per partition leader).
    #[arg(long, default_value_t = 1)]
    pub producers: usize,

    /// Idempotent producing (KIP-98): a producer id from InitProducerId per connection and
    /// per-partition sequence numbers in every batch, as `enable.idempotence=true` clients send.
    #[arg(long)]
    pub idempotent: bool,

    /// Maximum outstanding produce requests per connection.
    #[arg(long, default_value_t = 5)]
    pub in_flight: usize,

    /// Maximum bytes of one Fetch response (also the per-partition maximum).
    #[arg(long, default_value_t = 52_428_800)]
    pub fetch_max_bytes: i32,

    /// Print the report as one JSON object instead of text (implies --no-progress).
    #[arg(long)]
    pub json: bool,

    /// Do not draw the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// When a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// After this many records (produced, or read in consume mode).
    Count(u64),
    /// After this much time.
    Duration(Duration),
    /// Consume mode only: once every partition is read up to the high watermark seen first.
    CaughtUp,
}

fn parse_acks(text: &str) -> Result<i16, String> {
    match text {
        "all" | "-1" => Ok(-1),
        "1" => Ok(1),
        "0" => Ok(0),
        other => Err(format!("acks must be -1, all, 1 or 0, not {other:?}")),
    }
}

impl BenchArgs {
    /// How the run ends, from --count and --duration.
    pub fn stop(&self) -> Stop {
        match (self.count, self.duration) {
            (Some(count), _) => Stop::Count(count),
            (None, Some(secs)) => Stop::Duration(Duration::from_secs(secs)),
            (None, None) if self.mode == Mode::Consume => Stop::CaughtUp,
            (None, None) => Stop::Count(DEFAULT_COUNT),
        }
    }

    /// Whether the progress bar may be drawn (the caller still checks for a terminal).
    pub fn wants_progress(&self) -> bool {
        !(self.no_progress || self.json)
    }

    /// Checks what clap cannot: ranges and combinations. Called once before any connection.
    pub fn validate(&self) -> Result<(), BenchError> {
        let bad = |msg: String| Err(BenchError::InvalidArgs(msg));
        if !(1..=limits::PARTITIONS_MAX).contains(&self.partitions) {
            return bad(format!("--partitions must be 1..={}", limits::PARTITIONS_MAX));
        }
        if !(limits::MESSAGE_BYTES_MIN..=limits::MESSAGE_BYTES_MAX).contains(&self.message_size) {
            return bad(format!(
                "--message-size must be {}..={} bytes",
                limits::MESSAGE_BYTES_MIN,
                limits::MESSAGE_BYTES_MAX
            ));
        }
        if !(1..=limits::BATCH_BYTES_MAX).contains(&self.batch_size) {
            return bad(format!("--batch-size must be 1..={} bytes", limits::BATCH_BYTES_MAX));
        }
        if !(1..=limits::PRODUCERS_MAX).contains(&self.producers) {
            return bad(format!("--producers must be 1..={}", limits::PRODUCERS_MAX));
        }
        if !(1..=limits::IN_FLIGHT_MAX).contains(&self.in_flight) {
            return bad(format!("--in-flight must be 1..={}", limits::IN_FLIGHT_MAX));
        }
        if !(1..=limits::FETCH_BYTES_MAX).contains(&self.fetch_max_bytes) {
            return bad(format!("--fetch-max-bytes must be 1..={}", limits::FETCH_BYTES_MAX));
        }
        if self.count == Some(0) || self.duration == Some(0) {
            return bad("--count and --duration must be positive".to_owned());
        }
        if self.rate == Some(0) {
            return bad("--rate must be positive (omit it to run unthrottled)".to_owned());
        }
        if self.mode == Mode::EndToEnd && self.acks == 0 {
            // Without acknowledgements the producer cannot know how many records the consumer
            // should wait for, so the count check would be meaningless.
            return bad("end-to-end mode needs --acks 1 or -1".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        args: BenchArgs,
    }

    fn parse(line: &[&str]) -> Result<BenchArgs, clap::Error> {
        let argv = std::iter::once("bench").chain(line.iter().copied());
        Cli::try_parse_from(argv).map(|cli| cli.args)
    }

    #[test]
    fn parse_defaults_match_documentation() {
        let args = parse(&["produce"]).expect("valid");
        assert_eq!(args.mode, Mode::Produce);
        assert_eq!(args.bootstrap, "127.0.0.1:9092");
        assert_eq!(args.topic, "wharf-bench");
        assert_eq!(args.partitions, 1);
        assert_eq!(args.message_size, 100);
        assert_eq!(args.batch_size, 1_000_000);
        assert_eq!(args.linger_ms, 5);
        assert_eq!(args.acks, -1);
        assert_eq!(args.compression, CompressionArg::None);
        assert_eq!(args.producers, 1);
        assert_eq!(args.in_flight, 5);
        assert_eq!(args.stop(), Stop::Count(DEFAULT_COUNT));
        args.validate().expect("defaults are valid");
    }

    #[test]
    fn parse_acks_accepts_all_spellings() {
        for (text, want) in [("-1", -1), ("all", -1), ("1", 1), ("0", 0)] {
            let args = parse(&["produce", "--acks", text]).expect("valid acks");
            assert_eq!(args.acks, want, "{text}");
        }
        assert!(parse(&["produce", "--acks", "2"]).is_err());
    }

    #[test]
    fn parse_count_and_duration_conflict() {
        assert!(parse(&["produce", "--count", "5", "--duration", "3"]).is_err());
        let args = parse(&["produce", "--duration", "3"]).expect("valid");
        assert_eq!(args.stop(), Stop::Duration(Duration::from_secs(3)));
    }

    #[test]
    fn parse_consume_without_count_reads_to_high_watermark() {
        let args = parse(&["consume"]).expect("valid");
        assert_eq!(args.stop(), Stop::CaughtUp);
    }

    #[test]
    fn parse_end_to_end_and_compression() {
        let args = parse(&["end-to-end", "--compression", "zstd", "--json"]).expect("valid");
        assert_eq!(args.mode, Mode::EndToEnd);
        assert_eq!(args.compression.codec(), Compression::Zstd);
        assert!(!args.wants_progress());
    }

    #[test]
    fn validate_message_size_below_prefix_fails() {
        let args = parse(&["produce", "--message-size", "15"]).expect("parses");
        assert!(matches!(args.validate(), Err(BenchError::InvalidArgs(_))));
        let args = parse(&["produce", "--message-size", "16"]).expect("parses");
        args.validate().expect("exactly the prefix is allowed");
    }

    #[test]
    fn validate_in_flight_bound_is_inclusive() {
        let max = limits::IN_FLIGHT_MAX.to_string();
        let over = (limits::IN_FLIGHT_MAX + 1).to_string();
        parse(&["produce", "--in-flight", &max])
            .expect("parses")
            .validate()
            .expect("max ok");
        let args = parse(&["produce", "--in-flight", &over]).expect("parses");
        assert!(args.validate().is_err());
    }

    #[test]
    fn validate_every_bound_accepts_max_and_rejects_max_plus_one() {
        let bounds: [(&str, u64); 5] = [
            ("--partitions", limits::PARTITIONS_MAX as u64),
            ("--batch-size", limits::BATCH_BYTES_MAX as u64),
            ("--producers", limits::PRODUCERS_MAX as u64),
            ("--fetch-max-bytes", limits::FETCH_BYTES_MAX as u64),
            ("--message-size", limits::MESSAGE_BYTES_MAX as u64),
        ];
        for (flag, max) in bounds {
            let ok = max.to_string();
            let over = (max + 1).to_string();
            let args = parse(&["produce", flag, &ok]).expect("parses");
            args.validate().unwrap_or_else(|e| panic!("{flag} {ok}: {e}"));
            let args = parse(&["produce", flag, &over]).expect("parses");
            assert!(args.validate().is_err(), "{flag} {over} must fail");
        }
    }

    #[test]
    fn validate_end_to_end_without_acks_fails() {
        let args = parse(&["end-to-end", "--acks", "0"]).expect("parses");
        assert!(args.validate().is_err());
    }
}
