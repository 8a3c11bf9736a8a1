//! `wharf produce TOPIC`: one record per line of standard input, like
//! kafka-console-producer.sh. Prints nothing on success; the first broker error ends the run
//! with that error named and a non-zero exit.
//!
//! A thread reads lines (each bounded by [`LINE_BYTES_MAX`]) into a bounded channel; the async
//! side sends whatever lines have arrived as one Produce request per partition leader and waits
//! for its answer before the next. Interactive input so goes out line by line, piped input in
//! large batches, with no linger timer. The partition of a record is `--partition`, else
//! Kafka's default partitioner for keyed records (murmur2), else round-robin by line.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use bytes::{Bytes, BytesMut};
use clap::Args;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse};
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions};
use tokio::sync::mpsc;
use wharf_client::cluster::topic_name;
use wharf_client::records::{partition_for_key, plain_record};
use wharf_client::{check_response, versions, Cluster, PartitionLeader};

use crate::output::{ClientArgs, CLIENT_ID, REQUEST_TIMEOUT};

/// Longest input line (one record's key, separator and value). Kafka's default
/// message.max.bytes is about 1 MiB, so a longer line could not be stored anyway; the bound
/// keeps a stray binary file on stdin from being read into memory whole.
pub const LINE_BYTES_MAX: usize = 16 << 20;
/// Record bytes in one partition's batch before the rest of the waiting lines go in the next
/// request: half of Kafka's default message.max.bytes (1 MiB), leaving room for overhead.
const BATCH_BYTES_MAX: usize = 512 << 10;
/// Lines buffered between the reading thread and the sender.
const QUEUED_LINES_MAX: usize = 10_000;
/// How long the broker may hold a Produce waiting for acks.
const PRODUCE_TIMEOUT_MS: i32 = 30_000;

#[derive(Args, Debug)]
pub struct ProduceArgs {
    pub topic: String,
    /// Split each line into key and value at the first occurrence of this string.
    #[arg(long)]
    pub key_separator: Option<String>,
    /// Write every record to this partition.
    #[arg(long)]
    pub partition: Option<i32>,
    /// Acknowledgements to wait for: all (-1), 1 or 0.
    #[arg(long, default_value = "all", value_parser = parse_acks, allow_negative_numbers = true)]
    pub acks: i16,
}

fn parse_acks(s: &str) -> Result<i16, String> {
    match s {
        "all" | "-1" => Ok(-1),
        "1" => Ok(1),
        "0" => Ok(0),
        _ => Err(format!("{s:?}: acks is all, -1, 1 or 0")),
    }
}

/// One line, split.
struct Line {
    number: u64,
    key: Option<Bytes>,
    value: Bytes,
}

pub async fn run(client: &ClientArgs, args: ProduceArgs) -> Result<()> {
    let mut cluster = Cluster::connect(&client.bootstrap_server, CLIENT_ID, Some(REQUEST_TIMEOUT)).await?;
    let leaders = cluster.partition_leaders(&args.topic).await?;
    if let Some(p) = args.partition {
        if !leaders.iter().any(|l| l.partition == p) {
            bail!("topic {} has no partition {p}", args.topic);
        }
    }
    let (tx, mut rx) = mpsc::channel::<Result<Line>>(QUEUED_LINES_MAX);
    let separator = args.key_separator.clone();
    // Blocking reads of stdin belong on their own thread, not on the async runtime.
    std::thread::spawn(move || read_lines(std::io::stdin().lock(), separator.as_deref(), &tx));

    let mut round_robin = 0usize;
    while let Some(first) = rx.recv().await {
        let mut by_partition: BTreeMap<i32, Vec<Line>> = BTreeMap::new();
        let mut bytes = 0usize;
        let mut next = Some(first);
        while let Some(line) = next.take() {
            let line = line?;
            let partition = match (args.partition, &line.key) {
                (Some(p), _) => p,
                (None, Some(key)) => partition_for_key(key, leaders.len() as i32),
                (None, None) => {
                    let p = leaders[round_robin % leaders.len()].partition;
                    round_robin = round_robin.wrapping_add(1);
                    p
                }
            };
            bytes += line.value.len() + line.key.as_ref().map_or(0, Bytes::len);
            by_partition.entry(partition).or_default().push(line);
            if bytes < BATCH_BYTES_MAX {
                next = rx.try_recv().ok();
            }
        }
        send(&mut cluster, &args, &leaders, by_partition).await?;
    }
    Ok(())
}

/// Reads `input` line by line into `tx` until EOF or an error (which is sent, then reading
/// stops). A trailing "\n" or "\r\n" is not part of the record.
fn read_lines(mut input: impl BufRead, separator: Option<&str>, tx: &mpsc::Sender<Result<Line>>) {
    let mut number = 0u64;
    loop {
        number += 1;
        let mut buf = Vec::new();
        let read = (&mut input)
            .take(LINE_BYTES_MAX as u64 + 2)
            .read_until(b'\n', &mut buf)
            .context("reading standard input");
        let line = match read {
            Ok(0) => return,
            Ok(_) => split_line(buf, number, separator),
            Err(e) => Err(e),
        };
        let failed = line.is_err();
        if tx.blocking_send(line).is_err() || failed {
            return;
        }
    }
}

fn split_line(mut buf: Vec<u8>, number: u64, separator: Option<&str>) -> Result<Line> {
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
    if buf.len() > LINE_BYTES_MAX {
        bail!("line {number} is longer than {LINE_BYTES_MAX} bytes");
    }
    let Some(sep) = separator else {
        return Ok(Line {
            number,
            key: None,
            value: Bytes::from(buf),
        });
    };
    let at = buf
        .windows(sep.len())
        .position(|w| w == sep.as_bytes())
        .with_context(|| format!("line {number} has no key separator {sep:?}"))?;
    let all = Bytes::from(buf);
    Ok(Line {
        number,
        key: Some(all.slice(..at)),
        value: all.slice(at + sep.len()..),
    })
}

/// One Produce request per leader for the lines of each partition; checks every answer.
async fn send(
    cluster: &mut Cluster,
    args: &ProduceArgs,
    leaders: &[PartitionLeader],
    lines: BTreeMap<i32, Vec<Line>>,
) -> Result<()> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let mut by_leader: BTreeMap<&str, Vec<PartitionProduceData>> = BTreeMap::new();
    let mut first_line: BTreeMap<i32, u64> = BTreeMap::new();
    for (partition, lines) in lines {
        let leader = leaders
            .iter()
            .find(|l| l.partition == partition)
            .context("partition chosen outside the topic")?;
        first_line.insert(partition, lines.first().map_or(0, |l| l.number));
        let records: Vec<Record> = lines
            .into_iter()
            .enumerate()
            .map(|(i, l)| plain_record(i, now_ms, l.key, Some(l.value)))
            .collect();
        let mut batch = BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        };
        RecordBatchEncoder::encode(&mut batch, &records, &options)
            .map_err(|e| anyhow::anyhow!("cannot encode a record batch: {e:#}"))?;
        by_leader.entry(leader.leader_addr.as_str()).or_default().push(
            PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(batch.freeze())),
        );
    }
    for (addr, partitions) in by_leader {
        let conn = cluster.connection(addr).await?;
        let version = conn.version(versions::PRODUCE)?;
        let request = ProduceRequest::default()
            .with_acks(args.acks)
            .with_timeout_ms(PRODUCE_TIMEOUT_MS)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(topic_name(&args.topic))
                .with_partition_data(partitions)]);
        if args.acks == 0 {
            conn.send_only(ApiKey::Produce, version, &request).await?;
            continue;
        }
        let response: ProduceResponse = conn.call(ApiKey::Produce, version, &request).await?;
        for p in response.responses.iter().flat_map(|t| t.partition_responses.iter()) {
            let line = first_line.get(&p.index).copied().unwrap_or(0);
            check_response(ApiKey::Produce, p.error_code, p.error_message.as_deref(), || {
                format!(" on {}-{} (batch from input line {line})", args.topic, p.index)
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_line_strips_newlines_and_splits_at_the_first_separator() {
        let l = split_line(b"k:v:w\r\n".to_vec(), 1, Some(":")).expect("splits");
        assert_eq!((l.key.as_deref(), &l.value[..]), (Some(&b"k"[..]), &b"v:w"[..]));
        let l = split_line(b"plain\n".to_vec(), 2, None).expect("plain");
        assert_eq!((l.key, &l.value[..]), (None, &b"plain"[..]));
        let err = split_line(b"nokey".to_vec(), 3, Some("::"))
            .err()
            .expect("no separator");
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    #[test]
    fn read_lines_bounds_each_line() {
        let (tx, mut rx) = mpsc::channel(4);
        let mut input = vec![b'x'; LINE_BYTES_MAX];
        input.extend_from_slice(b"\r\n");
        input.extend_from_slice(&vec![b'y'; LINE_BYTES_MAX + 1]);
        input.extend_from_slice(b"\nnever read\n");
        read_lines(&input[..], None, &tx);
        let at_max = rx
            .try_recv()
            .expect("first")
            .expect("a line of exactly the maximum passes");
        assert_eq!(at_max.value.len(), LINE_BYTES_MAX);
        let err = rx.try_recv().expect("second").err().expect("one byte more fails");
        assert!(err.to_string().contains("line 2 is longer"), "{err}");
        assert!(rx.try_recv().is_err(), "reading stopped");
    }

    #[test]
    fn parse_acks_accepts_kafka_spellings() {
        assert_eq!(parse_acks("all"), Ok(-1));
        assert_eq!(parse_acks("-1"), Ok(-1));
        assert_eq!(parse_acks("0"), Ok(0));
        assert!(parse_acks("2").is_err());
    }
}
