//! `wharf group reset-offsets`: move a group's committed offsets, as kafka-consumer-groups.sh
//! --reset-offsets does.
//!
//! The plan (current and new offset per partition) is always printed; it is committed only with
//! `--execute`. Like Kafka's tool, it refuses while the group has active members (state other
//! than Empty or unknown): their commits would overwrite ours, and brokers reject a standalone
//! commit for such a group anyway. New offsets are clamped into [log start, log end], so a
//! reset never points a consumer at an offset it would get OFFSET_OUT_OF_RANGE for.

use anyhow::{bail, Context, Result};
use clap::{ArgGroup, Args};
use serde::Serialize;
use wharf_client::cluster::{EARLIEST_TIMESTAMP, LATEST_TIMESTAMP};
use wharf_client::groups::{commit_offsets, committed_offsets, CommittedOffset, Committer};
use wharf_client::{ClientError, Cluster};

use crate::datetime::parse_timestamp_ms;
use crate::group::describe_group;
use crate::output::{or_dash, print, ClientArgs, Table};

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("strategy").required(true).args([
    "to_earliest", "to_latest", "to_datetime", "to_offset", "shift_by",
])))]
#[command(group(ArgGroup::new("scope").required(true).args(["topic", "all_topics"])))]
pub struct ResetArgs {
    #[arg(long)]
    pub group: String,
    /// TOPIC, or TOPIC:P,P,... for some partitions only; repeatable.
    #[arg(long, value_parser = parse_topic_spec)]
    pub topic: Vec<(String, Option<Vec<i32>>)>,
    /// Every topic the group has committed offsets for.
    #[arg(long)]
    pub all_topics: bool,
    /// To the log start offset.
    #[arg(long)]
    pub to_earliest: bool,
    /// To the log end offset.
    #[arg(long)]
    pub to_latest: bool,
    /// To the first offset whose timestamp is at or after this time: RFC 3339
    /// (2024-05-01T12:00:00Z, 2024-05-01T14:00:00.5+02:00) or milliseconds since the epoch.
    #[arg(long, value_parser = parse_timestamp_ms)]
    pub to_datetime: Option<i64>,
    /// To this offset (clamped into the log).
    #[arg(long)]
    pub to_offset: Option<i64>,
    /// By this many from the committed offset, negative to go back (clamped into the log).
    #[arg(long, allow_negative_numbers = true)]
    pub shift_by: Option<i64>,
    /// Commit the new offsets; without it this is a dry run that only prints the plan.
    #[arg(long, conflicts_with = "dry_run")]
    pub execute: bool,
    /// Only print the plan (the default).
    #[arg(long)]
    pub dry_run: bool,
}

/// `TOPIC` or `TOPIC:P,P,...`.
fn parse_topic_spec(s: &str) -> Result<(String, Option<Vec<i32>>), String> {
    let (topic, partitions) = match s.split_once(':') {
        None => (s, None),
        Some((topic, list)) => {
            let parsed: Result<Vec<i32>, _> = list.split(',').map(|p| p.trim().parse::<i32>()).collect();
            let parsed = parsed.map_err(|_| format!("{s:?}: partitions must be numbers, as TOPIC:0,1"))?;
            (topic, Some(parsed))
        }
    };
    if topic.is_empty() {
        return Err(format!("{s:?} names no topic"));
    }
    Ok((topic.to_owned(), partitions))
}

#[derive(Serialize)]
struct PlannedOffset {
    topic: String,
    partition: i32,
    current_offset: Option<i64>,
    new_offset: i64,
}

#[derive(Serialize)]
struct Plan {
    group: String,
    executed: bool,
    partitions: Vec<PlannedOffset>,
}

pub async fn run(cluster: &mut Cluster, client: &ClientArgs, args: &ResetArgs) -> Result<()> {
    let group = args.group.as_str();
    match describe_group(cluster, group).await {
        Ok(g) if !g.members.is_empty() || !matches!(g.group_state.as_str(), "Empty" | "Dead") => bail!(
            "group {group} is {} with {} active member(s): offsets can only be reset while it is \
             inactive (stop its consumers first)",
            g.group_state.as_str(),
            g.members.len()
        ),
        Ok(_) | Err(ClientError::Broker { code: 69, .. }) => {} // Empty, or not known yet
        Err(e) => return Err(e.into()),
    }

    let committed = committed_offsets(cluster, group, None).await?;
    let specs: Vec<(String, Option<Vec<i32>>)> = if args.all_topics {
        let mut topics: Vec<String> = committed.iter().map(|c| c.topic.clone()).collect();
        topics.dedup();
        topics.into_iter().map(|t| (t, None)).collect()
    } else {
        args.topic.clone()
    };
    let mut planned = Vec::new();
    for (topic, only) in &specs {
        let mut leaders = cluster.partition_leaders(topic).await?;
        if let Some(only) = only {
            for p in only {
                if !leaders.iter().any(|l| l.partition == *p) {
                    bail!("topic {topic} has no partition {p}");
                }
            }
            leaders.retain(|l| only.contains(&l.partition));
        }
        let starts = cluster.list_offsets(topic, &leaders, EARLIEST_TIMESTAMP).await?;
        let ends = cluster.list_offsets(topic, &leaders, LATEST_TIMESTAMP).await?;
        let by_time = match args.to_datetime {
            Some(ts) => Some(cluster.list_offsets(topic, &leaders, ts).await?),
            None => None,
        };
        for (i, l) in leaders.iter().enumerate() {
            let current = committed
                .iter()
                .find(|c| c.topic == *topic && c.partition == l.partition)
                .map(|c| c.offset);
            let (start, end) = (starts[i], ends[i]);
            let target = if args.to_earliest {
                start
            } else if args.to_latest {
                end
            } else if let Some(found) = &by_time {
                // -1: no record at or after that time, so the consumer starts at the end.
                if found[i] < 0 {
                    end
                } else {
                    found[i]
                }
            } else if let Some(offset) = args.to_offset {
                offset
            } else if let Some(shift) = args.shift_by {
                let base = current
                    .with_context(|| format!("{topic}-{} has no committed offset to shift from", l.partition))?;
                base.saturating_add(shift)
            } else {
                unreachable!("clap requires one strategy")
            };
            planned.push(PlannedOffset {
                topic: topic.clone(),
                partition: l.partition,
                current_offset: current,
                new_offset: target.clamp(start, end.max(start)),
            });
        }
    }

    if args.execute {
        let offsets: Vec<CommittedOffset> = planned
            .iter()
            .map(|p| CommittedOffset {
                topic: p.topic.clone(),
                partition: p.partition,
                offset: p.new_offset,
            })
            .collect();
        commit_offsets(cluster, group, Committer::Standalone, &offsets).await?;
    }
    let plan = Plan {
        group: group.to_owned(),
        executed: args.execute,
        partitions: planned,
    };
    print(client.output, &plan, || {
        let mut t = Table::new(&["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "NEW-OFFSET"]);
        for p in &plan.partitions {
            t.row(vec![
                plan.group.clone(),
                p.topic.clone(),
                p.partition.to_string(),
                or_dash(p.current_offset),
                p.new_offset.to_string(),
            ]);
        }
        let mut out = t.render();
        if !plan.executed {
            out.push_str("Dry run: nothing was committed. Add --execute to commit these offsets.\n");
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_topic_spec_with_and_without_partitions() {
        assert_eq!(parse_topic_spec("t"), Ok(("t".into(), None)));
        assert_eq!(parse_topic_spec("t:0,2"), Ok(("t".into(), Some(vec![0, 2]))));
        assert!(parse_topic_spec("t:x").is_err());
        assert!(parse_topic_spec(":1").is_err());
    }
}
