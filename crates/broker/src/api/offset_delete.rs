//! OffsetDelete (key 47, KIP-496): deletes committed offsets of partitions the group no longer
//! consumes. Refused per partition (GROUP_SUBSCRIBED_TO_TOPIC) while a live member subscribes
//! to the topic; tombstones are fsynced before the answer.

use std::sync::Arc;

use kafka_protocol::messages::offset_delete_response::{OffsetDeleteResponsePartition, OffsetDeleteResponseTopic};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};
use kafka_protocol::ResponseError;

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::group_error;

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: OffsetDeleteRequest) -> Result<Answer, CloseReason> {
    let partitions: Vec<(String, i32)> = req
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (t.name.0.to_string(), p.partition_index)))
        .collect();
    if partitions.len() > broker.config.limits.max_partitions_per_request {
        return Err(CloseReason::Limit(format!(
            "{} partitions in one OffsetDelete",
            partitions.len()
        )));
    }
    let (result, appended) = broker
        .groups
        .with(|c, _, fx| c.delete_offsets(&req.group_id.0, &partitions, fx));
    let (top, mut codes) = match result {
        Ok(per) => (
            0,
            per.iter()
                .map(|r| r.as_ref().err().map_or(0, |e| group_error(e).code()))
                .collect(),
        ),
        Err(e) => (group_error(&e).code(), Vec::new()),
    };
    let fail = |codes: &mut Vec<i16>| {
        for c in codes.iter_mut().filter(|c| **c == 0) {
            *c = ResponseError::KafkaStorageError.code();
        }
    };
    let last = appended.unwrap_or_else(|_| {
        fail(&mut codes);
        None
    });
    let topics = req.topics;
    let build = move |codes: Vec<i16>| {
        let mut it = codes.into_iter();
        let topics = if top != 0 {
            Vec::new()
        } else {
            topics
                .into_iter()
                .map(|t| {
                    OffsetDeleteResponseTopic::default().with_name(t.name).with_partitions(
                        t.partitions
                            .iter()
                            .map(|p| {
                                OffsetDeleteResponsePartition::default()
                                    .with_partition_index(p.partition_index)
                                    .with_error_code(it.next().unwrap_or(0))
                            })
                            .collect(),
                    )
                })
                .collect()
        };
        OffsetDeleteResponse::default().with_error_code(top).with_topics(topics)
    };
    let Some(last) = last else {
        return encode(ctx, &build(codes)).map(Answer::Ready);
    };
    let (groups, ctx) = (Arc::clone(&broker.groups), ctx.clone());
    Ok(Answer::Later(Box::pin(async move {
        if !groups.wait_durable(last).await {
            fail(&mut codes);
        }
        encode(&ctx, &build(codes))
    })))
}
