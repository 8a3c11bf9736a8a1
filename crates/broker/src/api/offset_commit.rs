//! OffsetCommit (key 8): stores committed offsets for a group member (or a standalone consumer
//! while the group is Empty) and answers only once their records are fsynced in the internal
//! offsets log.

use std::sync::Arc;

use kafka_protocol::messages::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};

use wharf_coordinator::{Committer, OffsetCommit};

use crate::api::durable_answer::answer_when_durable;
use crate::broker::Broker;
use crate::dispatch::{Answer, CloseReason, RequestContext};
use crate::errors::group_error;

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: OffsetCommitRequest) -> Result<Answer, CloseReason> {
    let count: usize = req.topics.iter().map(|t| t.partitions.len()).sum();
    if count > broker.config.limits.max_partitions_per_request {
        return Err(CloseReason::Limit(format!(
            "{count} partitions in one OffsetCommit request"
        )));
    }
    let v = ctx.api_version;
    let commits: Vec<OffsetCommit> = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| OffsetCommit {
                topic: t.name.0.to_string(),
                partition: p.partition_index,
                offset: p.committed_offset,
                leader_epoch: if v >= 6 { p.committed_leader_epoch } else { -1 },
                metadata: p.committed_metadata.as_ref().map(|m| m.to_string()).unwrap_or_default(),
            })
        })
        .collect();
    let instance = req.group_instance_id.as_ref().map(|s| s.to_string());
    let (result, appended) = broker.groups.with(|c, now, fx| {
        let who = Committer::new(
            &req.group_id.0,
            &req.member_id,
            instance.as_deref(),
            req.generation_id_or_member_epoch,
        );
        c.commit_offsets(&who, commits, now, fx)
    });
    let codes: Vec<i16> = match &result {
        Ok(per_partition) => per_partition
            .iter()
            .map(|r| r.as_ref().err().map_or(0, |e| group_error(e).code()))
            .collect(),
        Err(e) => vec![group_error(e).code(); count],
    };
    let shape: Vec<(kafka_protocol::messages::TopicName, Vec<i32>)> = req
        .topics
        .into_iter()
        .map(|t| (t.name, t.partitions.iter().map(|p| p.partition_index).collect()))
        .collect();
    let build = move |codes: Vec<i16>| {
        let mut codes = codes.into_iter();
        let topics = shape
            .into_iter()
            .map(|(name, parts)| {
                OffsetCommitResponseTopic::default().with_name(name).with_partitions(
                    parts
                        .into_iter()
                        .map(|p| {
                            OffsetCommitResponsePartition::default()
                                .with_partition_index(p)
                                .with_error_code(codes.next().unwrap_or(0))
                        })
                        .collect(),
                )
            })
            .collect();
        OffsetCommitResponse::default().with_topics(topics)
    };
    answer_when_durable(&broker.groups, ctx, appended, codes, build)
}
