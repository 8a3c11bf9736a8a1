//! `wharf bench`: a Kafka-protocol load generator usable against any Kafka-compatible broker
//! (Apache Kafka, Redpanda, Wharf).
//!
//! It carries its own minimal async client: message types and record batches come from the
//! `kafka-protocol` crate; this crate owns framing, version negotiation, pipelining and
//! measurement. The binary calls [`run`] with [`BenchArgs`] (a `clap::Args` struct it flattens
//! into its `bench` subcommand) and gets a [`BenchReport`] back, already printed to stdout.
//!
//! Request path, by file: connections, framing and metadata come from `wharf-client`;
//! `versions` (what to speak); `topic` (Metadata, CreateTopics);
//! `produce` (pipelined Produce) with `batch` (record batches) and `budget` (count, duration,
//! rate); `consume` (Fetch loop) with `fetched` (counting fetched batches); `stats` and `report`
//! (histograms, output). What this crate does not do: idempotent or transactional producing,
//! consumer groups, SASL/TLS, or retries; any broker error fails the run.

// Issue #6: network-facing code never unwraps or panics; each `expect` left is a documented
// invariant, allowed where it stands.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod args;
mod batch;
mod budget;
mod consume;
mod error;
mod fetched;
mod limits;
mod produce;
mod report;
mod run;
mod stats;
mod topic;
mod versions;

pub use args::{BenchArgs, CompressionArg, Mode};
pub use error::BenchError;
pub use report::BenchReport;
pub use run::run;
pub use stats::LatencySummary;
