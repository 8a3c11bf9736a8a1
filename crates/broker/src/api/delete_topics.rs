//! DeleteTopics (key 20): by name (v0–5) or by topic id (v6+).

use std::sync::Arc;

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::errors::registry_error;

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: DeleteTopicsRequest) -> Result<Answer, CloseReason> {
    let mut wanted: Vec<(Option<String>, Uuid)> = req
        .topic_names
        .iter()
        .map(|n| (Some(n.0.to_string()), Uuid::nil()))
        .collect();
    wanted.extend(
        req.topics
            .iter()
            .map(|t| (t.name.as_ref().map(|n| n.0.to_string()), t.topic_id)),
    );
    let responses = wanted
        .into_iter()
        .map(|(name, id)| {
            let name = name.or_else(|| broker.registry.topic_by_id(id).map(|t| t.name.to_string()));
            let result = DeletableTopicResult::default()
                .with_name(name.clone().map(|n| TopicName(StrBytes::from_string(n))))
                .with_topic_id(id);
            let Some(name) = name else {
                return result.with_error_code(ResponseError::UnknownTopicId.code());
            };
            match tokio::task::block_in_place(|| broker.registry.delete_topic(&name)) {
                Ok(topic) => {
                    tracing::info!(topic = %name, "deleted topic");
                    // Wake parked fetches so they notice the partitions are gone.
                    for p in topic.partitions() {
                        p.publish_log_end(-1);
                    }
                    result.with_topic_id(topic.id)
                }
                Err(e) => result
                    .with_error_code(registry_error(&e).code())
                    .with_error_message(Some(StrBytes::from_string(e.to_string()))),
            }
        })
        .collect();
    encode(ctx, &DeleteTopicsResponse::default().with_responses(responses)).map(Answer::Ready)
}
