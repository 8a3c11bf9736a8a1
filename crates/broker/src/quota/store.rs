//! The configured client quotas: which entity (user and/or client id, each named or `<default>`)
//! has which values, validated as Kafka validates AlterClientQuotas, resolved in Kafka's order of
//! precedence (KIP-55), and persisted atomically in `<data>/client-quotas.toml`.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const QUOTA_FILE: &str = "client-quotas.toml";
/// The quota keys this broker enforces (controller_mutation_rate and ip quotas are not).
pub const QUOTA_KEYS: [&str; 3] = ["producer_byte_rate", "consumer_byte_rate", "request_percentage"];
/// Entities with configured quotas, at most; AlterClientQuotas past it gets INVALID_REQUEST.
pub const MAX_QUOTA_ENTITIES: usize = 10_000;

/// One component of an entity: a name, or `<default>` (a null entity_name on the wire).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntityName {
    Default,
    Named(String),
}

/// A quota entity: a user, a client id, or both; None = that component is absent.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QuotaEntity {
    pub user: Option<EntityName>,
    pub client_id: Option<EntityName>,
}

pub type QuotaValues = BTreeMap<String, f64>;

#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    #[error("invalid quota request: {0}")]
    Invalid(String),
    #[error("I/O error on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("bad quota file {path}: {reason}")]
    BadFile { path: PathBuf, reason: String },
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct QuotaFile {
    #[serde(default)]
    entity: Vec<StoredEntity>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct StoredEntity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    user_default: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    client_id_default: bool,
    values: QuotaValues,
}

fn component(name: Option<String>, is_default: bool) -> Option<EntityName> {
    match (name, is_default) {
        (Some(n), _) => Some(EntityName::Named(n)),
        (None, true) => Some(EntityName::Default),
        (None, false) => None,
    }
}

fn split(c: &Option<EntityName>) -> (Option<String>, bool) {
    match c {
        Some(EntityName::Named(n)) => (Some(n.clone()), false),
        Some(EntityName::Default) => (None, true),
        None => (None, false),
    }
}

#[derive(Debug)]
pub struct QuotaStore {
    path: PathBuf,
    entries: BTreeMap<QuotaEntity, QuotaValues>,
}

impl QuotaStore {
    pub fn open(data_dir: &Path) -> Result<QuotaStore, QuotaError> {
        let path = data_dir.join(QUOTA_FILE);
        let mut entries = BTreeMap::new();
        if path.exists() {
            let text = fs::read_to_string(&path).map_err(|source| QuotaError::Io {
                path: path.clone(),
                source,
            })?;
            let file: QuotaFile = toml::from_str(&text).map_err(|e| QuotaError::BadFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            for e in file.entity {
                let entity = QuotaEntity {
                    user: component(e.user, e.user_default),
                    client_id: component(e.client_id, e.client_id_default),
                };
                entries.insert(entity, e.values);
            }
        }
        Ok(QuotaStore { path, entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self, filter: impl Fn(&QuotaEntity) -> bool) -> Vec<(QuotaEntity, QuotaValues)> {
        self.entries
            .iter()
            .filter(|(e, _)| filter(e))
            .map(|(e, v)| (e.clone(), v.clone()))
            .collect()
    }

    /// The entity whose `key` applies to (user, client id) and its value, trying Kafka's order:
    /// user+client, user+default client, user, default user+client, default user+default
    /// client, default user, client, default client.
    pub fn resolve(&self, key: &str, user: &str, client_id: &str) -> Option<(QuotaEntity, f64)> {
        let named = |n: &str| Some(EntityName::Named(n.to_string()));
        let default = Some(EntityName::Default);
        let order = [
            (named(user), named(client_id)),
            (named(user), default.clone()),
            (named(user), None),
            (default.clone(), named(client_id)),
            (default.clone(), default.clone()),
            (default.clone(), None),
            (None, named(client_id)),
            (None, default),
        ];
        order.into_iter().find_map(|(user, client_id)| {
            let entity = QuotaEntity { user, client_id };
            let value = *self.entries.get(&entity)?.get(key)?;
            Some((entity, value))
        })
    }

    pub fn alter(
        &mut self,
        entity: QuotaEntity,
        ops: &[(String, Option<f64>)],
        validate_only: bool,
    ) -> Result<(), QuotaError> {
        if entity.user.is_none() && entity.client_id.is_none() {
            return Err(QuotaError::Invalid("an entity needs a user or a client-id".into()));
        }
        for (key, value) in ops {
            if !QUOTA_KEYS.contains(&key.as_str()) {
                return Err(QuotaError::Invalid(format!("unknown or unsupported quota key {key}")));
            }
            if value.is_some_and(|v| !(v.is_finite() && v > 0.0)) {
                return Err(QuotaError::Invalid(format!("{key} must be a positive number")));
            }
        }
        if !self.entries.contains_key(&entity) && self.entries.len() >= MAX_QUOTA_ENTITIES {
            return Err(QuotaError::Invalid(format!(
                "at most {MAX_QUOTA_ENTITIES} entities can have quotas"
            )));
        }
        if validate_only {
            return Ok(());
        }
        let values = self.entries.entry(entity.clone()).or_default();
        for (key, value) in ops {
            match value {
                Some(v) => values.insert(key.clone(), *v),
                None => values.remove(key),
            };
        }
        if values.is_empty() {
            self.entries.remove(&entity);
        }
        self.persist()
    }

    fn persist(&self) -> Result<(), QuotaError> {
        let file = QuotaFile {
            entity: self
                .entries
                .iter()
                .map(|(e, values)| {
                    let (user, user_default) = split(&e.user);
                    let (client_id, client_id_default) = split(&e.client_id);
                    StoredEntity {
                        user,
                        user_default,
                        client_id,
                        client_id_default,
                        values: values.clone(),
                    }
                })
                .collect(),
        };
        let text = toml::to_string(&file).map_err(|e| QuotaError::BadFile {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        let io = |source| QuotaError::Io {
            path: self.path.clone(),
            source,
        };
        let tmp = self.path.with_extension("tmp");
        let mut f = fs::File::create(&tmp).map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        fs::rename(&tmp, &self.path).map_err(io)?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(user: Option<EntityName>, client_id: Option<EntityName>) -> QuotaEntity {
        QuotaEntity { user, client_id }
    }

    fn named(n: &str) -> Option<EntityName> {
        Some(EntityName::Named(n.into()))
    }

    #[test]
    fn resolve_most_specific_entity_wins_and_survives_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = QuotaStore::open(dir.path()).expect("open");
        let set = |v: f64| vec![("producer_byte_rate".to_string(), Some(v))];
        s.alter(entity(None, Some(EntityName::Default)), &set(1.0), false)
            .expect("alter");
        s.alter(entity(None, named("app")), &set(2.0), false).expect("alter");
        s.alter(entity(named("ANONYMOUS"), None), &set(3.0), false)
            .expect("alter");
        assert_eq!(s.resolve("producer_byte_rate", "bob", "other").map(|r| r.1), Some(1.0));
        assert_eq!(s.resolve("producer_byte_rate", "bob", "app").map(|r| r.1), Some(2.0));
        assert_eq!(
            s.resolve("producer_byte_rate", "ANONYMOUS", "app").map(|r| r.1),
            Some(3.0)
        );
        assert_eq!(s.resolve("consumer_byte_rate", "ANONYMOUS", "app"), None);
        let reopened = QuotaStore::open(dir.path()).expect("reopen");
        assert_eq!(reopened.entries, s.entries);
    }

    #[test]
    fn alter_invalid_keys_values_and_empty_entity_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = QuotaStore::open(dir.path()).expect("open");
        let e = entity(None, named("c"));
        let bad = |k: &str, v: f64| vec![(k.to_string(), Some(v))];
        assert!(s
            .alter(e.clone(), &bad("controller_mutation_rate", 1.0), false)
            .is_err());
        assert!(s.alter(e.clone(), &bad("producer_byte_rate", 0.0), false).is_err());
        assert!(s
            .alter(entity(None, None), &bad("producer_byte_rate", 1.0), false)
            .is_err());
        s.alter(e.clone(), &bad("producer_byte_rate", 5.0), true)
            .expect("validate only");
        assert!(s.is_empty(), "validate_only changes nothing");
        s.alter(e.clone(), &bad("producer_byte_rate", 5.0), false).expect("set");
        s.alter(e, &[("producer_byte_rate".into(), None)], false)
            .expect("remove");
        assert!(s.is_empty(), "an entity with no values left is gone");
    }
}
