//! CreatePartitions (key 37): grows a topic; shrinking is INVALID_PARTITIONS as in Kafka.

use std::sync::Arc;

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::registry_error;

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: CreatePartitionsRequest) -> Result<Answer, CloseReason> {
    let results = req
        .topics
        .into_iter()
        .map(|t| {
            let res = tokio::task::block_in_place(|| {
                broker
                    .registry
                    .create_partitions(t.name.0.as_str(), t.count, req.validate_only)
            });
            let out = CreatePartitionsTopicResult::default().with_name(t.name);
            match res {
                Ok(()) => out,
                Err(e) => out
                    .with_error_code(registry_error(&e).code())
                    .with_error_message(Some(StrBytes::from_string(e.to_string()))),
            }
        })
        .collect();
    encode(ctx, &CreatePartitionsResponse::default().with_results(results)).map(Answer::Ready)
}
