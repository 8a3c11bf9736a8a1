//! DeleteRecords (key 21): moves a partition's log start offset; offset -1 means the high
//! watermark. Whole segments below the new start are deleted; the start survives restarts.

use std::sync::Arc;

use kafka_protocol::messages::delete_records_response::{DeleteRecordsPartitionResult, DeleteRecordsTopicResult};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};
use kafka_protocol::ResponseError;

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::log_error;

/// DeleteRecords offset meaning "up to the high watermark".
const HIGH_WATERMARK: i64 = -1;

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: DeleteRecordsRequest) -> Result<Answer, CloseReason> {
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let topic = broker.registry.topic(t.name.0.as_str());
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let out = DeleteRecordsPartitionResult::default().with_partition_index(p.partition_index);
                    let Some(part) = topic.as_ref().and_then(|tp| tp.partition(p.partition_index)) else {
                        return out
                            .with_low_watermark(-1)
                            .with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    };
                    let res = tokio::task::block_in_place(|| {
                        let mut log = part.log();
                        let end = log.log_end_offset();
                        let target = if p.offset == HIGH_WATERMARK { end } else { p.offset };
                        if target < 0 || target > end {
                            return Err(ResponseError::OffsetOutOfRange);
                        }
                        log.delete_records_before(target).map_err(|e| log_error(&e))
                    });
                    match res {
                        Ok(low) => out.with_low_watermark(low),
                        Err(code) => out.with_low_watermark(-1).with_error_code(code.code()),
                    }
                })
                .collect();
            DeleteRecordsTopicResult::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    encode(ctx, &DeleteRecordsResponse::default().with_topics(topics)).map(Answer::Ready)
}
