//! DescribeClientQuotas (key 48, KIP-546): the configured quotas of every entity matching the
//! filter. A component filter matches one entity type exactly by name (match_type 0), its
//! `<default>` (1) or any specified value (2); `strict` also excludes entities with components
//! the filter does not name. Entity types are `user` and `client-id`.

use std::sync::Arc;

use kafka_protocol::messages::describe_client_quotas_request::ComponentData;
use kafka_protocol::messages::describe_client_quotas_response::{EntityData, EntryData, ValueData};
use kafka_protocol::messages::{DescribeClientQuotasRequest, DescribeClientQuotasResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::quota::{EntityName, QuotaEntity};

pub const USER: &str = "user";
pub const CLIENT_ID: &str = "client-id";
const MATCH_EXACT: i8 = 0;
const MATCH_DEFAULT: i8 = 1;
const MATCH_ANY: i8 = 2;

pub fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: DescribeClientQuotasRequest,
) -> Result<Answer, CloseReason> {
    let mut resp = DescribeClientQuotasResponse::default();
    if let Some(why) = invalid_filter(&req.components) {
        resp.error_code = ResponseError::InvalidRequest.code();
        resp.error_message = Some(StrBytes::from_string(why));
        return encode(ctx, &resp).map(Answer::Ready);
    }
    let found = broker.quotas.describe(|e| matches(e, &req.components, req.strict));
    resp.entries = Some(
        found
            .into_iter()
            .map(|(entity, values)| {
                EntryData::default().with_entity(entity_data(&entity)).with_values(
                    values
                        .into_iter()
                        .map(|(k, v)| ValueData::default().with_key(StrBytes::from_string(k)).with_value(v))
                        .collect(),
                )
            })
            .collect(),
    );
    encode(ctx, &resp).map(Answer::Ready)
}

fn invalid_filter(components: &[ComponentData]) -> Option<String> {
    for (i, c) in components.iter().enumerate() {
        if c.entity_type.as_str() != USER && c.entity_type.as_str() != CLIENT_ID {
            return Some(format!("unknown entity type {}", c.entity_type.as_str()));
        }
        if components[..i].iter().any(|o| o.entity_type == c.entity_type) {
            return Some(format!("entity type {} named twice", c.entity_type.as_str()));
        }
        let ok = match c.match_type {
            MATCH_EXACT => c._match.is_some(),
            MATCH_DEFAULT | MATCH_ANY => c._match.is_none(),
            _ => false,
        };
        if !ok {
            return Some(format!(
                "bad match type {} for {}",
                c.match_type,
                c.entity_type.as_str()
            ));
        }
    }
    None
}

fn component<'a>(entity: &'a QuotaEntity, entity_type: &str) -> &'a Option<EntityName> {
    if entity_type == USER {
        &entity.user
    } else {
        &entity.client_id
    }
}

fn matches(entity: &QuotaEntity, filter: &[ComponentData], strict: bool) -> bool {
    let each = filter
        .iter()
        .all(|c| match (component(entity, &c.entity_type), c.match_type) {
            (Some(EntityName::Named(n)), MATCH_EXACT) => c._match.as_deref() == Some(n.as_str()),
            (Some(EntityName::Default), MATCH_DEFAULT) => true,
            (Some(_), MATCH_ANY) => true,
            _ => false,
        });
    let named = |t: &str| filter.iter().any(|c| c.entity_type.as_str() == t);
    let extra = (entity.user.is_some() && !named(USER)) || (entity.client_id.is_some() && !named(CLIENT_ID));
    each && !(strict && extra)
}

/// An entity on the wire: one EntityData per component, a null name for `<default>`.
pub fn entity_data(entity: &QuotaEntity) -> Vec<EntityData> {
    [(USER, &entity.user), (CLIENT_ID, &entity.client_id)]
        .into_iter()
        .filter_map(|(t, c)| {
            let name = match c.as_ref()? {
                EntityName::Default => None,
                EntityName::Named(n) => Some(StrBytes::from_string(n.clone())),
            };
            Some(
                EntityData::default()
                    .with_entity_type(StrBytes::from_static_str(t))
                    .with_entity_name(name),
            )
        })
        .collect()
}
