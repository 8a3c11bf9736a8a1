//! `wharf consume TOPIC`: print record values one per line, like kafka-console-consumer.sh.
//!
//! Sessionless fetches (KIP-227 session id 0) of every chosen partition from its leader.
//! Which partitions: with `--group` (and neither `--partition` nor `--offset`) the ones the
//! group assigns this member — it joins the group like any Kafka consumer (`member.rs` in
//! wharf-client), heartbeats between fetches and rejoins on a rebalance; otherwise every
//! partition of the topic, or `--partition`. Where to start: `--offset`, else the group's
//! committed offset, else the log start (`--from-beginning`) or the log end. With `--group` the
//! positions reached are committed after every fetch that returned records, before a rejoin and
//! on exit (as a standalone consumer, generation -1, when it did not join). It stops after
//! `--max-messages`, after `--timeout-ms` without a new record, or on Ctrl-C, then leaves the
//! group.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::Args;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{ApiKey, FetchRequest, FetchResponse};
use kafka_protocol::records::RecordBatchDecoder;
use serde::Serialize;
use wharf_client::batches::{batch_offsets, next_batch};
use wharf_client::cluster::{topic_name, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP};
use wharf_client::groups::{commit_offsets, committed_offsets, CommittedOffset, Committer};
use wharf_client::member::{GroupMember, Heartbeat, MemberTimeouts};
use wharf_client::{check_code, versions, Cluster, PartitionLeader};

use crate::output::{ClientArgs, Format, CLIENT_ID, REQUEST_TIMEOUT};

/// Longest a fetch waits at the broker for a first record; also how often the timeout and
/// Ctrl-C are checked between records.
const FETCH_MAX_WAIT_MS: i32 = 500;
/// Record bytes asked for per partition and per response (Kafka's consumer defaults are 1 MiB
/// per partition and 50 MiB per response).
const PARTITION_MAX_BYTES: i32 = 1 << 20;
const FETCH_MAX_BYTES: i32 = 50 << 20;
const OFFSET_OUT_OF_RANGE: i16 = 1;

#[derive(Args, Debug)]
pub struct ConsumeArgs {
    pub topic: String,
    /// Start at the log start offset when there is no committed offset (default: log end).
    #[arg(long)]
    pub from_beginning: bool,
    /// Start at this offset (every chosen partition).
    #[arg(long, conflicts_with = "from_beginning")]
    pub offset: Option<i64>,
    /// Read only this partition.
    #[arg(long)]
    pub partition: Option<i32>,
    /// Start from this group's committed offsets and commit the positions reached.
    #[arg(long)]
    pub group: Option<String>,
    /// Stop after this many records.
    #[arg(long)]
    pub max_messages: Option<u64>,
    /// Stop after this long without a new record.
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Print each record's key before its value, separated by a tab.
    #[arg(long)]
    pub print_key: bool,
    /// Print PARTITION:OFFSET and a tab before each record.
    #[arg(long)]
    pub print_offset: bool,
}

/// One record as `--output json` prints it (one JSON object per line).
#[derive(Serialize)]
struct JsonRecord<'a> {
    partition: i32,
    offset: i64,
    timestamp: i64,
    key: Option<std::borrow::Cow<'a, str>>,
    value: Option<std::borrow::Cow<'a, str>>,
}

/// Where one partition is read next.
struct Position {
    leader: PartitionLeader,
    offset: i64,
    /// The offset last committed (or found committed), to commit only what moved.
    committed: Option<i64>,
}

/// Member timeouts of `consume --group`: Kafka's consumer defaults are a 45 s session and a
/// 3 s heartbeat; a shorter session lets partitions of a killed `wharf consume` move sooner.
const MEMBER_TIMEOUTS: MemberTimeouts = MemberTimeouts {
    session: Duration::from_secs(10),
    rebalance: Duration::from_secs(30),
    heartbeat: Duration::from_secs(3),
};

pub async fn run(client: &ClientArgs, args: ConsumeArgs) -> Result<()> {
    let mut cluster = Cluster::connect(&client.bootstrap_server, CLIENT_ID, Some(REQUEST_TIMEOUT)).await?;
    // As kafka-console-consumer.sh: a group without --partition or --offset subscribes (joins
    // the group and reads what it is assigned); otherwise the partitions are chosen here.
    let mut member = match &args.group {
        Some(group) if args.partition.is_none() && args.offset.is_none() => {
            let mut m = GroupMember::new(group, std::slice::from_ref(&args.topic), MEMBER_TIMEOUTS);
            m.join(&mut cluster).await?;
            Some(m)
        }
        _ => None,
    };
    let mut positions = positions_for(&mut cluster, &args, member.as_ref()).await?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut printed = 0u64;
    let mut last_record = Instant::now();
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let mut was_interrupted = false;
    let result: Result<()> = async {
        loop {
            if args.max_messages.is_some_and(|max| printed >= max) {
                return Ok(());
            }
            if let Some(m) = member.as_mut() {
                if m.heartbeat_if_due(&mut cluster).await? == Heartbeat::Rejoin {
                    // Commit what this generation read, then take the new assignment. The
                    // commit may already be refused (the group moved on); the next owner then
                    // re-reads from the last accepted commit: at least once, as Kafka.
                    if let Err(e) = commit(&mut cluster, &args, Some(m), &mut positions).await {
                        tracing::warn!("commit before rejoining {} failed: {e:#}", m.member_id());
                    }
                    m.join(&mut cluster).await?;
                    positions = positions_for(&mut cluster, &args, Some(m)).await?;
                }
            }
            let round = tokio::select! {
                r = fetch_round(&mut cluster, &args, client.output, &mut positions, &mut out, &mut printed) => r?,
                _ = &mut interrupted => {
                    was_interrupted = true;
                    return Ok(());
                }
            };
            out.flush().context("writing to stdout")?;
            if round > 0 {
                last_record = Instant::now();
                commit(&mut cluster, &args, member.as_ref(), &mut positions).await?;
            } else if args
                .timeout_ms
                .is_some_and(|t| last_record.elapsed() >= Duration::from_millis(t))
            {
                return Ok(());
            }
        }
    }
    .await;
    out.flush().context("writing to stdout")?;
    result?;
    if was_interrupted {
        // A fetch was abandoned mid-call; its answer would arrive on the connection the commit
        // uses, so commit over fresh connections.
        cluster = Cluster::connect(&client.bootstrap_server, CLIENT_ID, Some(REQUEST_TIMEOUT)).await?;
    }
    commit(&mut cluster, &args, member.as_ref(), &mut positions).await?;
    match member.as_mut() {
        Some(m) => Ok(m.leave(&mut cluster).await?),
        None => Ok(()),
    }
}

/// Where to read: the partitions the group assigned `member`, or (without one) every partition
/// of the topic or just `--partition`.
async fn positions_for(
    cluster: &mut Cluster,
    args: &ConsumeArgs,
    member: Option<&GroupMember>,
) -> Result<Vec<Position>> {
    let topic = args.topic.as_str();
    let mut leaders = cluster.partition_leaders(topic).await?;
    if let Some(m) = member {
        let mine: Vec<i32> = m
            .assignment()
            .iter()
            .filter(|(t, _)| t == topic)
            .flat_map(|(_, ps)| ps.iter().copied())
            .collect();
        leaders.retain(|l| mine.contains(&l.partition));
    } else if let Some(p) = args.partition {
        leaders.retain(|l| l.partition == p);
        if leaders.is_empty() {
            bail!("topic {topic} has no partition {p}");
        }
    }
    start_positions(cluster, args, leaders).await
}

async fn start_positions(
    cluster: &mut Cluster,
    args: &ConsumeArgs,
    leaders: Vec<PartitionLeader>,
) -> Result<Vec<Position>> {
    let topic = args.topic.as_str();
    let committed = match &args.group {
        Some(_) if leaders.is_empty() => Vec::new(),
        Some(group) => {
            let partitions = leaders.iter().map(|l| l.partition).collect();
            committed_offsets(cluster, group, Some(&[(topic.to_owned(), partitions)])).await?
        }
        None => Vec::new(),
    };
    let reset = if args.from_beginning {
        EARLIEST_TIMESTAMP
    } else {
        LATEST_TIMESTAMP
    };
    let fallback = cluster.list_offsets(topic, &leaders, reset).await?;
    Ok(leaders
        .into_iter()
        .zip(fallback)
        .map(|(leader, fallback)| {
            let committed = committed
                .iter()
                .find(|c| c.partition == leader.partition)
                .map(|c| c.offset);
            Position {
                offset: args.offset.or(committed).unwrap_or(fallback),
                committed,
                leader,
            }
        })
        .collect())
}

/// One fetch from each leader; prints the records and returns how many it printed.
async fn fetch_round(
    cluster: &mut Cluster,
    args: &ConsumeArgs,
    format: Format,
    positions: &mut [Position],
    out: &mut impl Write,
    printed: &mut u64,
) -> Result<u64> {
    let topic = args.topic.as_str();
    let mut addrs: Vec<String> = positions.iter().map(|p| p.leader.leader_addr.clone()).collect();
    addrs.sort();
    addrs.dedup();
    let before = *printed;
    if addrs.is_empty() {
        // Nothing assigned (more members than partitions): wait as long as a fetch would.
        tokio::time::sleep(Duration::from_millis(FETCH_MAX_WAIT_MS as u64)).await;
    }
    for addr in addrs {
        let conn = cluster.connection(&addr).await?;
        let version = conn.version(versions::FETCH)?;
        let partitions = positions
            .iter()
            .filter(|p| p.leader.leader_addr == addr)
            .map(|p| {
                FetchPartition::default()
                    .with_partition(p.leader.partition)
                    .with_fetch_offset(p.offset)
                    .with_partition_max_bytes(PARTITION_MAX_BYTES)
            })
            .collect();
        let request = FetchRequest::default()
            .with_replica_id((-1).into())
            .with_max_wait_ms(FETCH_MAX_WAIT_MS)
            .with_min_bytes(1)
            .with_max_bytes(FETCH_MAX_BYTES)
            .with_isolation_level(0)
            .with_session_id(0)
            .with_session_epoch(-1)
            .with_topics(vec![FetchTopic::default()
                .with_topic(topic_name(topic))
                .with_partitions(partitions)]);
        let response: FetchResponse = conn.call(ApiKey::Fetch, version, &request).await?;
        check_code(ApiKey::Fetch, response.error_code, String::new)?;
        for pd in response.responses.into_iter().flat_map(|t| t.partitions) {
            let Some(pos) = positions.iter_mut().find(|p| p.leader.partition == pd.partition_index) else {
                continue;
            };
            if pd.error_code == OFFSET_OUT_OF_RANGE {
                // Retention moved past us, or --offset pointed outside the log: start over
                // where auto.offset.reset would.
                let reset = if args.from_beginning {
                    EARLIEST_TIMESTAMP
                } else {
                    LATEST_TIMESTAMP
                };
                let leader = [pos.leader.clone()];
                pos.offset = cluster.list_offsets(topic, &leader, reset).await?[0];
                continue;
            }
            check_code(ApiKey::Fetch, pd.error_code, || {
                format!(" on {topic}-{}", pd.partition_index)
            })?;
            let Some(records) = pd.records else { continue };
            print_records(args, format, pos, records, out, printed)?;
            if args.max_messages.is_some_and(|max| *printed >= max) {
                break;
            }
        }
        if args.max_messages.is_some_and(|max| *printed >= max) {
            break;
        }
    }
    Ok(*printed - before)
}

/// Prints the records of one partition from its position on, stopping at --max-messages;
/// moves the position past every batch read (or to just after the last record printed).
fn print_records(
    args: &ConsumeArgs,
    format: Format,
    pos: &mut Position,
    mut records: Bytes,
    out: &mut impl Write,
    printed: &mut u64,
) -> Result<()> {
    let partition = pos.leader.partition;
    let malformed = |m: String| anyhow::anyhow!("malformed record batch in {}-{partition}: {m}", args.topic);
    while let Some(batch) = next_batch(&mut records).map_err(malformed)? {
        let (_, last_offset) = batch_offsets(&batch).map_err(malformed)?;
        if last_offset < pos.offset {
            continue;
        }
        let set = RecordBatchDecoder::decode(&mut batch.clone()).map_err(|e| malformed(format!("{e:#}")))?;
        let from = pos.offset;
        for r in set.records.iter().filter(|r| r.offset >= from && !r.control) {
            if args.max_messages.is_some_and(|max| *printed >= max) {
                return Ok(());
            }
            write_record(args, format, partition, r, out).context("writing to stdout")?;
            *printed += 1;
            pos.offset = r.offset + 1;
        }
        // Control records (transaction markers) and compacted-away offsets are skipped too.
        pos.offset = pos.offset.max(last_offset + 1);
    }
    Ok(())
}

fn write_record(
    args: &ConsumeArgs,
    format: Format,
    partition: i32,
    r: &kafka_protocol::records::Record,
    out: &mut impl Write,
) -> Result<()> {
    if format == Format::Json {
        let record = JsonRecord {
            partition,
            offset: r.offset,
            timestamp: r.timestamp,
            key: r.key.as_deref().map(String::from_utf8_lossy),
            value: r.value.as_deref().map(String::from_utf8_lossy),
        };
        let mut line = serde_json::to_vec(&record)?;
        line.push(b'\n');
        out.write_all(&line)?;
        return Ok(());
    }
    if args.print_offset {
        write!(out, "{partition}:{}\t", r.offset)?;
    }
    if args.print_key {
        out.write_all(r.key.as_deref().unwrap_or(b"null"))?;
        out.write_all(b"\t")?;
    }
    out.write_all(r.value.as_deref().unwrap_or(b"null"))?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Commits every position that moved since the last commit (with --group), as `member` when
/// the group assigned the partitions.
async fn commit(
    cluster: &mut Cluster,
    args: &ConsumeArgs,
    member: Option<&GroupMember>,
    positions: &mut [Position],
) -> Result<()> {
    let Some(group) = &args.group else {
        return Ok(());
    };
    let moved: Vec<CommittedOffset> = positions
        .iter()
        .filter(|p| p.committed != Some(p.offset))
        .map(|p| CommittedOffset {
            topic: args.topic.clone(),
            partition: p.leader.partition,
            offset: p.offset,
        })
        .collect();
    if moved.is_empty() {
        return Ok(());
    }
    let committer = match member {
        Some(m) => Committer::Member {
            generation_id: m.generation_id(),
            member_id: m.member_id(),
        },
        None => Committer::Standalone,
    };
    commit_offsets(cluster, group, committer, &moved).await?;
    for p in positions.iter_mut() {
        p.committed = Some(p.offset);
    }
    Ok(())
}
