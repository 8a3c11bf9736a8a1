//! OffsetFetch (key 9): committed offsets of a group, -1 with empty metadata for partitions
//! without one. Null topics means every partition the group has committed. v8+ asks for several
//! groups at once (KIP-709). There are no pending transactional offsets, so require_stable
//! never waits.

use std::sync::Arc;

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions, OffsetFetchResponseTopic,
    OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use wharf_coordinator::CommittedOffset;

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};

type Fetched = Vec<(String, i32, Option<CommittedOffset>)>;
/// One group asked for: its id and (topic, partitions), or `None` for all it committed.
type Ask = (String, Option<Vec<(String, Vec<i32>)>>);

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: OffsetFetchRequest) -> Result<Answer, CloseReason> {
    let v = ctx.api_version;
    let asks: Vec<Ask> = if v >= 8 {
        req.groups
            .into_iter()
            .map(|g| {
                let topics = g.topics.map(|ts| {
                    ts.into_iter()
                        .map(|t| (t.name.0.to_string(), t.partition_indexes))
                        .collect()
                });
                (g.group_id.0.to_string(), topics)
            })
            .collect()
    } else {
        let topics = req.topics.map(|ts| {
            ts.into_iter()
                .map(|t| (t.name.0.to_string(), t.partition_indexes))
                .collect()
        });
        vec![(req.group_id.0.to_string(), topics)]
    };
    let count: usize = asks
        .iter()
        .flat_map(|(_, t)| t.iter().flatten())
        .map(|(_, p)| p.len())
        .sum();
    if count > broker.config.limits.max_partitions_per_request {
        return Err(CloseReason::Limit(format!(
            "{count} partitions in one OffsetFetch request"
        )));
    }
    let (fetched, _) = broker.groups.with(|c, _, _| {
        asks.iter()
            .map(|(g, topics)| (g.clone(), c.fetch_offsets(g, topics.as_deref())))
            .collect::<Vec<_>>()
    });
    let resp = if v >= 8 {
        let groups = fetched
            .into_iter()
            .map(|(g, f)| {
                OffsetFetchResponseGroup::default()
                    .with_group_id(kafka_protocol::messages::GroupId(StrBytes::from_string(g)))
                    .with_topics(
                        by_topic(f, |(p, o)| {
                            let (offset, epoch, meta) = fields(o);
                            OffsetFetchResponsePartitions::default()
                                .with_partition_index(p)
                                .with_committed_offset(offset)
                                .with_committed_leader_epoch(epoch)
                                .with_metadata(Some(meta))
                        })
                        .into_iter()
                        .map(|(t, ps)| OffsetFetchResponseTopics::default().with_name(t).with_partitions(ps))
                        .collect(),
                    )
            })
            .collect();
        OffsetFetchResponse::default().with_groups(groups)
    } else {
        let f = fetched.into_iter().next().map(|(_, f)| f).unwrap_or_default();
        let topics = by_topic(f, |(p, o)| {
            let (offset, epoch, meta) = fields(o);
            OffsetFetchResponsePartition::default()
                .with_partition_index(p)
                .with_committed_offset(offset)
                .with_committed_leader_epoch(if v >= 5 { epoch } else { -1 })
                .with_metadata(Some(meta))
        })
        .into_iter()
        .map(|(t, ps)| OffsetFetchResponseTopic::default().with_name(t).with_partitions(ps))
        .collect();
        OffsetFetchResponse::default().with_topics(topics)
    };
    encode(ctx, &resp).map(Answer::Ready)
}

fn fields(o: Option<CommittedOffset>) -> (i64, i32, StrBytes) {
    match o {
        Some(o) => (o.offset, o.leader_epoch, StrBytes::from_string(o.metadata)),
        None => (-1, -1, StrBytes::default()),
    }
}

/// Groups consecutive partitions of the same topic (fetch_offsets keeps each topic together).
fn by_topic<P>(f: Fetched, part: impl Fn((i32, Option<CommittedOffset>)) -> P) -> Vec<(TopicName, Vec<P>)> {
    let mut out: Vec<(String, Vec<P>)> = Vec::new();
    for (t, p, o) in f {
        match out.last_mut() {
            Some((name, ps)) if *name == t => ps.push(part((p, o))),
            _ => out.push((t, vec![part((p, o))])),
        }
    }
    out.into_iter()
        .map(|(t, ps)| (TopicName(StrBytes::from_string(t)), ps))
        .collect()
}
