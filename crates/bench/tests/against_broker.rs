//! `wharf bench` driven end to end against the real broker (in-process) on 127.0.0.1:0.
//!
//! These check the whole client path (ApiVersions, Metadata, CreateTopics, pipelined Produce,
//! Fetch, counting and latency) with exact record counts.

mod support;

use clap::Parser;
use wharf_bench::{run, BenchArgs, BenchError};

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    args: BenchArgs,
}

fn args(addr: &str, line: &[&str]) -> BenchArgs {
    let argv = ["bench"]
        .into_iter()
        .chain(line.iter().copied())
        .chain(["--bootstrap", addr, "--no-progress"]);
    Cli::try_parse_from(argv).expect("valid flags").args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_then_consume_counts_exactly() {
    let broker = support::start().await;
    let addr = broker.addr.clone();
    let flags = ["--topic", "t1", "--partitions", "3", "--count", "20000"];
    let produce_flags: Vec<&str> = ["produce", "--producers", "2", "--batch-size", "16384"]
        .into_iter()
        .chain(flags)
        .collect();
    let produced = run(args(&addr, &produce_flags)).await.expect("produce run");
    assert_eq!(produced.records, 20_000);
    assert_eq!(produced.bytes, 20_000 * 100);
    let latency = produced.produce_latency_ms.expect("acks=-1 measures latency");
    assert!(latency.samples > 0);

    let consume_flags: Vec<&str> = ["consume", "--fetch-max-bytes", "65536"]
        .into_iter()
        .chain(flags)
        .collect();
    let consumed = run(args(&addr, &consume_flags)).await.expect("consume run");
    assert_eq!(consumed.records, 20_000);

    // Without --count, consume reads up to the high watermark.
    let caught_up = run(args(&addr, &["consume", "--topic", "t1"]))
        .await
        .expect("consume all");
    assert_eq!(caught_up.records, 20_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_idempotent_sequences_accepted_and_counted_exactly() {
    let broker = support::start().await;
    let addr = broker.addr.clone();
    // Two connections, each its own producer id, five requests in flight over three partitions:
    // any sequence the broker did not expect would fail the run with its error code.
    let flags = ["--topic", "idem", "--partitions", "3", "--count", "20000"];
    let produce_flags: Vec<&str> = ["produce", "--idempotent", "--producers", "2", "--batch-size", "16384"]
        .into_iter()
        .chain(flags)
        .collect();
    let produced = run(args(&addr, &produce_flags)).await.expect("idempotent produce run");
    assert_eq!(produced.records, 20_000);
    let consumed = run(args(&addr, &["consume", "--topic", "idem"]))
        .await
        .expect("consume all");
    assert_eq!(consumed.records, 20_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_reads_every_produced_record() {
    let broker = support::start().await;
    let addr = broker.addr.clone();
    // Old records in the topic must not count towards the end-to-end run.
    run(args(&addr, &["produce", "--topic", "e2e", "--count", "1000"]))
        .await
        .expect("seed");
    let report = run(args(
        &addr,
        &[
            "end-to-end",
            "--topic",
            "e2e",
            "--count",
            "5000",
            "--compression",
            "lz4",
            "--json",
        ],
    ))
    .await
    .expect("end-to-end run");
    assert_eq!(report.records, 5000);
    assert_eq!(report.produced_records, Some(5000));
    let e2e = report.end_to_end_latency_ms.expect("latency measured");
    assert_eq!(e2e.samples, 5000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_with_acks_zero_and_rate_limit() {
    let broker = support::start().await;
    let addr = broker.addr.clone();
    let report = run(args(
        &addr,
        &[
            "produce", "--topic", "a0", "--acks", "0", "--count", "300", "--rate", "3000",
        ],
    ))
    .await
    .expect("acks=0 run");
    assert_eq!(report.records, 300);
    assert!(report.produce_latency_ms.is_none());
    // 300 records at 3000/s take about 100 ms; well under that means the pacer did nothing.
    assert!(report.elapsed_secs >= 0.08, "{}", report.elapsed_secs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_broker_error_fails_naming_the_code() {
    // Batches of up to 100 kB against a broker whose message.max.bytes is 1,000.
    let broker = support::start_with(|c| c.log_defaults.max_message_bytes = 1000).await;
    let addr = broker.addr.clone();
    let err = run(args(
        &addr,
        &[
            "produce",
            "--topic",
            "fail-me",
            "--count",
            "10000",
            "--batch-size",
            "100000",
        ],
    ))
    .await
    .expect_err("broker rejects produce");
    assert!(matches!(err, BenchError::Broker { code: 10, .. }), "{err}");
    assert!(err.to_string().contains("MESSAGE_TOO_LARGE"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consume_missing_topic_fails() {
    let broker = support::start().await;
    let addr = broker.addr.clone();
    let err = run(args(&addr, &["consume", "--topic", "nope"]))
        .await
        .expect_err("no such topic");
    assert!(matches!(err, BenchError::Broker { code: 3, .. }), "{err}");
}

/// Throughput of the bench against the in-process broker; run by hand with
/// `cargo test --release -p wharf-bench --test against_broker -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check; slow in debug builds"]
async fn measure_produce_and_consume_throughput() {
    let broker = support::start().await;
    let addr = broker.addr.clone();
    for line in [
        &["produce", "--topic", "perf", "--count", "5000000"][..],
        &["consume", "--topic", "perf", "--count", "5000000"][..],
        &["end-to-end", "--topic", "perf", "--count", "2000000"][..],
    ] {
        let report = run(args(&addr, line)).await.expect("run");
        assert!(report.records >= 2_000_000);
    }
}
