//! FindCoordinator (key 10): this single broker coordinates every group (key type 0) and every
//! transactional id (key type 1). v4+ batches keys (KIP-699). Any other key type is
//! INVALID_REQUEST, as Kafka answers an unknown coordinator type.

use std::sync::Arc;

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};

/// FindCoordinator key_type of a consumer group.
pub const KEY_TYPE_GROUP: i8 = 0;
/// FindCoordinator key_type of a transactional id.
pub const KEY_TYPE_TRANSACTION: i8 = 1;

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: FindCoordinatorRequest) -> Result<Answer, CloseReason> {
    let (host, port) = broker.advertised();
    let node_id = BrokerId(broker.config.node_id);
    let error = if matches!(req.key_type, KEY_TYPE_GROUP | KEY_TYPE_TRANSACTION) {
        0
    } else {
        ResponseError::InvalidRequest.code()
    };
    let ok = error == 0;
    let host = StrBytes::from_string(if ok { host } else { String::new() });
    let (node_id, port) = if ok {
        (node_id, i32::from(port))
    } else {
        (BrokerId(-1), -1)
    };
    let resp = if ctx.api_version >= 4 {
        let coordinators = req
            .coordinator_keys
            .into_iter()
            .map(|key| {
                Coordinator::default()
                    .with_key(key)
                    .with_node_id(node_id)
                    .with_host(host.clone())
                    .with_port(port)
                    .with_error_code(error)
            })
            .collect();
        FindCoordinatorResponse::default().with_coordinators(coordinators)
    } else {
        FindCoordinatorResponse::default()
            .with_error_code(error)
            .with_node_id(node_id)
            .with_host(host)
            .with_port(port)
    };
    encode(ctx, &resp).map(Answer::Ready)
}
