//! OffsetDelete (key 47, KIP-496): deletes committed offsets of partitions the group no longer
//! consumes. Refused per partition (GROUP_SUBSCRIBED_TO_TOPIC) while a live member subscribes
//! to the topic; tombstones are fsynced before the answer.

use std::sync::Arc;

use kafka_protocol::messages::offset_delete_response::{OffsetDeleteResponsePartition, OffsetDeleteResponseTopic};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};

use crate::api::durable_answer::answer_when_durable;
use crate::broker::Broker;
use crate::dispatch::{Answer, CloseReason, RequestContext};
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
    let (top, codes) = match result {
        Ok(per) => (
            0,
            per.iter()
                .map(|r| r.as_ref().err().map_or(0, |e| group_error(e).code()))
                .collect(),
        ),
        Err(e) => (group_error(&e).code(), Vec::new()),
    };
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
    answer_when_durable(&broker.groups, ctx, appended, codes, build)
}
