//! AlterClientQuotas (key 49, KIP-546): sets or removes quota values per entity (user and/or
//! client-id, each named or `<default>`), persisted before the answer. Each entry succeeds or
//! fails alone: INVALID_REQUEST for an unknown entity type or quota key or a non-positive value.

use std::sync::Arc;

use kafka_protocol::messages::alter_client_quotas_response::{EntityData, EntryData};
use kafka_protocol::messages::{AlterClientQuotasRequest, AlterClientQuotasResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::api::describe_client_quotas::{CLIENT_ID, USER};
use crate::broker::Broker;
use crate::dispatch::{encode, Answer, CloseReason, RequestContext};
use crate::quota::{EntityName, QuotaEntity, QuotaError};

pub fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext,
    req: AlterClientQuotasRequest,
) -> Result<Answer, CloseReason> {
    let entries = req
        .entries
        .into_iter()
        .map(|e| {
            let echoed: Vec<EntityData> = e
                .entity
                .iter()
                .map(|d| {
                    EntityData::default()
                        .with_entity_type(d.entity_type.clone())
                        .with_entity_name(d.entity_name.clone())
                })
                .collect();
            let ops: Vec<(String, Option<f64>)> = e
                .ops
                .iter()
                .map(|o| (o.key.to_string(), (!o.remove).then_some(o.value)))
                .collect();
            let outcome = entity(&e.entity).and_then(|entity| broker.quotas.alter(entity, &ops, req.validate_only));
            let entry = EntryData::default().with_entity(echoed);
            match outcome {
                Ok(()) => entry,
                Err(err) => {
                    let code = match err {
                        QuotaError::Invalid(_) => ResponseError::InvalidRequest,
                        QuotaError::Io { .. } | QuotaError::BadFile { .. } => ResponseError::UnknownServerError,
                    };
                    tracing::info!(error = %err, "AlterClientQuotas entry refused");
                    entry
                        .with_error_code(code.code())
                        .with_error_message(Some(StrBytes::from_string(err.to_string())))
                }
            }
        })
        .collect();
    encode(ctx, &AlterClientQuotasResponse::default().with_entries(entries)).map(Answer::Ready)
}

fn entity(
    data: &[kafka_protocol::messages::alter_client_quotas_request::EntityData],
) -> Result<QuotaEntity, QuotaError> {
    let mut entity = QuotaEntity {
        user: None,
        client_id: None,
    };
    for d in data {
        let name = match &d.entity_name {
            None => EntityName::Default,
            Some(n) => EntityName::Named(n.to_string()),
        };
        let slot = match d.entity_type.as_str() {
            USER => &mut entity.user,
            CLIENT_ID => &mut entity.client_id,
            other => return Err(QuotaError::Invalid(format!("unsupported entity type {other}"))),
        };
        if slot.replace(name).is_some() {
            return Err(QuotaError::Invalid(format!(
                "entity type {} named twice",
                d.entity_type.as_str()
            )));
        }
    }
    Ok(entity)
}
