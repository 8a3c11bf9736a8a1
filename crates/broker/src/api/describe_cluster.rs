//! DescribeCluster (key 60): this broker is the whole cluster and its controller.

use std::sync::Arc;

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, _req: DescribeClusterRequest) -> Result<Answer, CloseReason> {
    let (host, port) = broker.advertised();
    let node = BrokerId(broker.config.node_id);
    let resp = DescribeClusterResponse::default()
        .with_cluster_id(StrBytes::from_string(broker.config.cluster_id.clone()))
        .with_controller_id(node)
        .with_cluster_authorized_operations(i32::MIN)
        .with_brokers(vec![DescribeClusterBroker::default()
            .with_broker_id(node)
            .with_host(StrBytes::from_string(host))
            .with_port(port as i32)]);
    encode(ctx, &resp).map(Answer::Ready)
}
