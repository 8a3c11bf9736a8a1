//! ListGroups (key 16): every group this coordinator holds, filtered by state (v4+, KIP-518) and
//! type (v5+, KIP-848: "classic" or "consumer").

use std::sync::Arc;

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};
use kafka_protocol::protocol::StrBytes;

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};

pub fn handle(broker: &Arc<Broker>, ctx: &RequestContext, req: ListGroupsRequest) -> Result<Answer, CloseReason> {
    let v = ctx.api_version;
    let states: Vec<String> = req.states_filter.iter().map(|s| s.to_string()).collect();
    let type_wanted =
        |t: &str| req.types_filter.is_empty() || req.types_filter.iter().any(|f| f.eq_ignore_ascii_case(t));
    let (listed, _) = broker.groups.with(|c, _, _| c.list_groups(&states));
    let groups = listed
        .into_iter()
        .filter(|g| type_wanted(g.group_type))
        .map(|g| {
            let mut l = ListedGroup::default()
                .with_group_id(GroupId(StrBytes::from_string(g.group_id)))
                .with_protocol_type(StrBytes::from_string(g.protocol_type));
            if v >= 4 {
                l = l.with_group_state(StrBytes::from_static_str(g.state.name()));
            }
            if v >= 5 {
                l = l.with_group_type(StrBytes::from_static_str(g.group_type));
            }
            l
        })
        .collect();
    encode(ctx, &ListGroupsResponse::default().with_groups(groups)).map(Answer::Ready)
}
