//! Wiring a run together: find leaders, open connections, start tasks, collect the report.
//!
//! Connections are opened before the clock starts, so elapsed time covers only producing and
//! consuming. Tasks run in `JoinSet`s: the first failure returns at once and dropping the set
//! aborts the rest, so one broker error ends the whole run with that error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indexmap::IndexMap;
use tokio::sync::watch;
use tokio::task::JoinSet;
use wharf_client::{Cluster, Connection, PartitionLeader};

use crate::args::{BenchArgs, Mode, Stop, DEFAULT_COUNT};
use crate::budget::Budget;
use crate::consume::{high_watermarks, run_consumer, ConsumeSettings, Goal};
use crate::error::BenchError;
use crate::produce::{run_producer, ProduceSettings};
use crate::report::{BenchReport, Progress};
use crate::stats::{latency_histogram, merge, Counters, LatencySummary};
use crate::topic::partition_leaders;
use crate::versions::CLIENT_ID;

type Tasks = JoinSet<Result<Histogram<u64>, BenchError>>;

/// Runs the benchmark described by `args` and prints its report (text or JSON) to stdout.
pub async fn run(args: BenchArgs) -> Result<BenchReport, BenchError> {
    args.validate()?;
    let mut bootstrap = Cluster::connect(&args.bootstrap, CLIENT_ID, None).await?;
    let create = (args.mode != Mode::Consume).then_some(args.partitions);
    let leaders = partition_leaders(&mut bootstrap, &args.topic, create).await?;
    drop(bootstrap);
    tracing::debug!(?leaders, "partition leaders");

    let report = match args.mode {
        Mode::Produce => produce(&args, &leaders).await?,
        Mode::Consume => consume(&args, &leaders).await?,
        Mode::EndToEnd => end_to_end(&args, &leaders).await?,
    };
    report.print(args.json)?;
    Ok(report)
}

async fn produce(args: &BenchArgs, leaders: &[PartitionLeader]) -> Result<BenchReport, BenchError> {
    let counters = Arc::new(Counters::default());
    let (mut tasks, expected) = start_producers(args, leaders, Arc::clone(&counters)).await?;
    let progress = Progress::start(args.wants_progress(), expected, Arc::clone(&counters));
    let started = Instant::now();
    let histogram = join_histograms(&mut tasks).await;
    let elapsed = started.elapsed();
    progress.finish();
    let histogram = histogram?;

    if let Some(expected) = expected {
        if counters.records() != expected {
            return Err(BenchError::CountMismatch {
                read: counters.records(),
                expected,
            });
        }
    }
    let mut report = BenchReport::new("produce", &args.topic, counters.records(), counters.bytes(), elapsed);
    report.produce_latency_ms = LatencySummary::from_histogram(&histogram);
    Ok(report)
}

async fn consume(args: &BenchArgs, leaders: &[PartitionLeader]) -> Result<BenchReport, BenchError> {
    let counters = Arc::new(Counters::default());
    let stop = args.stop();
    let (_keep_open, target) = watch::channel(match stop {
        Stop::Count(n) => Some(n),
        _ => None,
    });
    let goal = Goal {
        target,
        deadline: None,
        until_caught_up: stop == Stop::CaughtUp,
    };
    let groups = by_leader(leaders);
    let mut conns = Vec::with_capacity(groups.len());
    for (addr, partitions) in groups {
        let starts = partitions.iter().map(|&p| (p, 0)).collect();
        conns.push((Connection::connect(&addr, CLIENT_ID).await?, starts));
    }

    let expected = goal.target.borrow().as_ref().copied();
    let progress = Progress::start(args.wants_progress(), expected, Arc::clone(&counters));
    let started = Instant::now();
    let goal = Goal {
        deadline: match stop {
            Stop::Duration(d) => Some(started + d),
            _ => None,
        },
        ..goal
    };
    let mut tasks = Tasks::new();
    for (conn, starts) in conns {
        tasks.spawn(run_consumer(
            conn,
            starts,
            consume_settings(args, false),
            goal.clone(),
            Arc::clone(&counters),
        ));
    }
    let histogram = join_histograms(&mut tasks).await;
    let elapsed = started.elapsed();
    progress.finish();
    histogram?;

    let mut report = BenchReport::new("consume", &args.topic, counters.records(), counters.bytes(), elapsed);
    report.bytes_counted = "record batches as fetched";
    Ok(report)
}

async fn end_to_end(args: &BenchArgs, leaders: &[PartitionLeader]) -> Result<BenchReport, BenchError> {
    let consumed = Arc::new(Counters::default());
    let produced = Arc::new(Counters::default());
    let (target_tx, target) = watch::channel(None);
    let goal = Goal {
        target,
        deadline: None,
        until_caught_up: false,
    };

    // Consumers learn where the log ends before any producer starts, so every record this run
    // produces is read and nothing older is.
    let mut consumer_conns = Vec::new();
    for (addr, partitions) in by_leader(leaders) {
        let mut conn = Connection::connect(&addr, CLIENT_ID).await?;
        let marks = high_watermarks(&mut conn, &args.topic, &partitions).await?;
        consumer_conns.push((conn, partitions.into_iter().zip(marks).collect::<Vec<_>>()));
    }
    let (mut producers, expected) = start_producers(args, leaders, Arc::clone(&produced)).await?;
    let progress = Progress::start(args.wants_progress(), expected, Arc::clone(&consumed));
    let started = Instant::now();
    let mut consumers = Tasks::new();
    for (conn, starts) in consumer_conns {
        consumers.spawn(run_consumer(
            conn,
            starts,
            consume_settings(args, true),
            goal.clone(),
            Arc::clone(&consumed),
        ));
    }

    let producer_side = async {
        let histogram = join_histograms(&mut producers).await?;
        // The consumers' goal is now known: every acknowledged record.
        let _ = target_tx.send(Some(produced.records()));
        Ok::<_, BenchError>(histogram)
    };
    let consumer_side = join_histograms(&mut consumers);
    tokio::pin!(consumer_side);
    let outcome = tokio::select! {
        p = producer_side => match p {
            Ok(produce_histogram) => consumer_side.await.map(|e2e| (produce_histogram, e2e)),
            Err(e) => Err(e),
        },
        // Consumers cannot meet their goal before it is known, so finishing first is a failure.
        c = &mut consumer_side => Err(c.err().unwrap_or_else(|| {
            BenchError::Task("consumers stopped before the producers finished".to_owned())
        })),
    };
    let elapsed = started.elapsed();
    progress.finish();
    let (produce_histogram, e2e_histogram) = outcome?;

    let (read, expected) = (consumed.records(), produced.records());
    if read != expected {
        return Err(BenchError::CountMismatch { read, expected });
    }
    let mut report = BenchReport::new("end-to-end", &args.topic, read, consumed.bytes(), elapsed);
    report.produced_records = Some(expected);
    report.produce_latency_ms = LatencySummary::from_histogram(&produce_histogram);
    report.end_to_end_latency_ms = LatencySummary::from_histogram(&e2e_histogram);
    Ok(report)
}

/// Connects every producer and spawns its task; returns the tasks and the record count they
/// will produce when it is fixed.
async fn start_producers(
    args: &BenchArgs,
    leaders: &[PartitionLeader],
    counters: Arc<Counters>,
) -> Result<(Tasks, Option<u64>), BenchError> {
    let plans = assign_producers(leaders, args.producers);
    let mut conns = Vec::with_capacity(plans.len());
    for (addr, partitions) in plans {
        conns.push((Connection::connect(&addr, CLIENT_ID).await?, partitions));
    }
    let (budget, expected) = match args.stop() {
        Stop::Count(n) => (Budget::count(n), Some(n)),
        Stop::Duration(d) => (Budget::until(Instant::now() + d), None),
        Stop::CaughtUp => (Budget::count(DEFAULT_COUNT), Some(DEFAULT_COUNT)),
    };
    let budget = Arc::new(budget);
    let settings = ProduceSettings {
        topic: args.topic.clone(),
        acks: args.acks,
        message_size: args.message_size,
        batch_bytes: args.batch_size,
        compression: args.compression.codec(),
        in_flight: args.in_flight,
        rate_per_connection: args.rate.map(|r| r as f64 / conns.len().max(1) as f64),
        linger: Duration::from_millis(args.linger_ms),
        idempotent: args.idempotent,
    };
    let mut tasks = Tasks::new();
    for (conn, partitions) in conns {
        tasks.spawn(run_producer(
            conn,
            partitions,
            settings.clone(),
            Arc::clone(&budget),
            Arc::clone(&counters),
        ));
    }
    Ok((tasks, expected))
}

fn consume_settings(args: &BenchArgs, measure_latency: bool) -> ConsumeSettings {
    ConsumeSettings {
        topic: args.topic.clone(),
        fetch_max_bytes: args.fetch_max_bytes,
        measure_latency,
    }
}

/// Waits for every task, merging histograms; the first error aborts the rest.
async fn join_histograms(tasks: &mut Tasks) -> Result<Histogram<u64>, BenchError> {
    let mut all = latency_histogram();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(h)) => merge(&mut all, &h),
            Ok(Err(e)) => {
                tasks.abort_all();
                return Err(e);
            }
            Err(join) => {
                tasks.abort_all();
                return Err(BenchError::Task(join.to_string()));
            }
        }
    }
    Ok(all)
}

/// Partitions grouped by leader address, in partition order.
fn by_leader(leaders: &[PartitionLeader]) -> Vec<(String, Vec<i32>)> {
    let mut groups: IndexMap<String, Vec<i32>> = IndexMap::new();
    for l in leaders {
        groups.entry(l.leader_addr.clone()).or_default().push(l.partition);
    }
    groups.into_iter().collect()
}

/// Which partitions each producer connection writes. With at least as many partitions as
/// producers, producer `i` takes every partition `p` with `p % producers == i`; with fewer,
/// producers share partitions round-robin. A producer whose partitions have different leaders
/// opens one connection per leader.
pub fn assign_producers(leaders: &[PartitionLeader], producers: usize) -> Vec<(String, Vec<i32>)> {
    let mut plans = Vec::new();
    if leaders.is_empty() {
        return plans;
    }
    for i in 0..producers {
        let mine: Vec<PartitionLeader> = if leaders.len() >= producers {
            leaders.iter().skip(i).step_by(producers).cloned().collect()
        } else {
            vec![leaders[i % leaders.len()].clone()]
        };
        plans.extend(by_leader(&mine));
    }
    plans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaders(spec: &[(i32, &str)]) -> Vec<PartitionLeader> {
        spec.iter()
            .map(|&(partition, addr)| PartitionLeader {
                partition,
                leader_addr: addr.to_owned(),
            })
            .collect()
    }

    #[test]
    fn assign_producers_spreads_partitions() {
        let l = leaders(&[(0, "a"), (1, "a"), (2, "a"), (3, "a")]);
        let plans = assign_producers(&l, 2);
        assert_eq!(plans, vec![("a".to_owned(), vec![0, 2]), ("a".to_owned(), vec![1, 3])]);
    }

    #[test]
    fn assign_producers_more_producers_than_partitions_share() {
        let l = leaders(&[(0, "a"), (1, "b")]);
        let plans = assign_producers(&l, 3);
        let parts: Vec<_> = plans.iter().map(|(_, p)| p.clone()).collect();
        assert_eq!(parts, vec![vec![0], vec![1], vec![0]]);
    }

    #[test]
    fn assign_producers_splits_by_leader() {
        let l = leaders(&[(0, "a"), (1, "b"), (2, "a")]);
        let plans = assign_producers(&l, 1);
        assert_eq!(plans, vec![("a".to_owned(), vec![0, 2]), ("b".to_owned(), vec![1])]);
    }
}
