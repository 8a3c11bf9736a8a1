//! TxnOffsetCommit (key 28): offsets a consume-transform-produce loop commits inside its
//! transaction (KIP-98; member id and generation from v3, KIP-447). The group checks them like an
//! OffsetCommit; the transaction coordinator holds them until EndTxn, and only a commit makes them
//! the group's committed offsets (OffsetFetch never sees pending ones). Answers once durable.

use std::sync::Arc;

use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};
use kafka_protocol::ResponseError;
use wharf_coordinator::{Committer, PendingOffset};

use crate::broker::{now_ms, Broker};
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::{group_error, txn_error};

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: TxnOffsetCommitRequest) -> Result<Answer, CloseReason> {
    let count: usize = req.topics.iter().map(|t| t.partitions.len()).sum();
    if count > broker.config.limits.max_partitions_per_request {
        return Err(CloseReason::Limit(format!(
            "{count} partitions in one TxnOffsetCommit request"
        )));
    }
    let group_id = req.group_id.0.to_string();
    let max_metadata = broker.config.group_limits.max_offset_metadata_bytes;
    let v = ctx.api_version;
    let offsets: Vec<PendingOffset> = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| PendingOffset {
                group_id: group_id.clone(),
                topic: t.name.0.to_string(),
                partition: p.partition_index,
                offset: p.committed_offset,
                leader_epoch: if v >= 2 { p.committed_leader_epoch } else { -1 },
                metadata: p.committed_metadata.as_ref().map(|m| m.to_string()).unwrap_or_default(),
            })
        })
        .collect();
    let (member_id, generation_id) = if v >= 3 {
        (req.member_id.to_string(), req.generation_id)
    } else {
        (String::new(), -1)
    };
    let instance = req.group_instance_id.as_ref().map(|s| s.to_string());
    let who = Committer::new(&group_id, &member_id, instance.as_deref(), generation_id);
    let checked = broker.groups.with(|g, _, _| g.validate_txn_commit(&who)).0;
    let too_large = offsets.iter().any(|o| o.metadata.len() > max_metadata);
    let (code, appended) = match checked {
        Err(e) => (group_error(&e).code(), Ok(None)),
        Ok(()) if too_large => (ResponseError::OffsetMetadataTooLarge.code(), Ok(None)),
        Ok(()) => {
            let (r, appended) = broker.transactions.with(|inner, out| {
                inner.coordinator.commit_offsets(
                    &req.transactional_id.0,
                    req.producer_id.0,
                    req.producer_epoch,
                    offsets,
                    now_ms(),
                    out,
                )
            });
            (r.err().map_or(0, |e| txn_error(&e, v >= 3).code()), appended)
        }
    };
    let shape: Vec<(kafka_protocol::messages::TopicName, Vec<i32>)> = req
        .topics
        .into_iter()
        .map(|t| (t.name, t.partitions.iter().map(|p| p.partition_index).collect()))
        .collect();
    let (broker, ctx) = (Arc::clone(broker), ctx.clone());
    Ok(Answer::Later(Box::pin(async move {
        let durable = broker.transactions.wait_durable(appended).await;
        let code = if code == 0 && !durable {
            ResponseError::CoordinatorNotAvailable.code()
        } else {
            code
        };
        let topics = shape
            .into_iter()
            .map(|(name, parts)| {
                TxnOffsetCommitResponseTopic::default().with_name(name).with_partitions(
                    parts
                        .into_iter()
                        .map(|p| {
                            TxnOffsetCommitResponsePartition::default()
                                .with_partition_index(p)
                                .with_error_code(code)
                        })
                        .collect(),
                )
            })
            .collect();
        encode(&ctx, &TxnOffsetCommitResponse::default().with_topics(topics))
    })))
}
