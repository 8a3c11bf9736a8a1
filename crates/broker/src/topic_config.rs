//! Topic configs under Kafka's own names, mapped in one table to the log's settings.
//!
//! A topic stores only its overrides (what CreateTopics or IncrementalAlterConfigs set); the
//! effective value of a key is its override, else the broker default. Keys Kafka has but a single
//! broker cannot give meaning to (min.insync.replicas, ...) are accepted with their one valid value
//! so tools that always send them keep working. Unknown keys are refused with INVALID_CONFIG, as
//! Kafka does.

use std::collections::BTreeMap;

use wharf_log::{CleanupPolicy, LogConfig};

use crate::backlog;

/// DescribeConfigs config_type values (KIP-226 / DescribeConfigs v3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Long = 5,
    Double = 6,
    List = 7,
}

/// One key of the table: how its value is typed, checked and applied.
pub struct ConfigKey {
    pub name: &'static str,
    pub config_type: ConfigType,
    pub doc: &'static str,
    /// Broker default as text, given the broker's log defaults.
    default: fn(&LogConfig) -> String,
    /// Checks a value and applies it to `cfg`; returns the reason on a bad value.
    apply: fn(&str, &mut LogConfig) -> Result<(), String>,
}

fn parse_i64(v: &str, min: i64, max: i64) -> Result<i64, String> {
    let n: i64 = v.trim().parse().map_err(|_| format!("{v:?} is not an integer"))?;
    if n < min || n > max {
        return Err(format!("{n} is outside {min}..={max}"));
    }
    Ok(n)
}

fn one_of(v: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.contains(&v) {
        Ok(())
    } else {
        Err(format!("{v:?} is not one of {allowed:?}"))
    }
}

fn policy_name(p: CleanupPolicy) -> &'static str {
    match (p.delete, p.compact) {
        (true, true) => "compact,delete",
        (false, true) => "compact",
        _ => "delete",
    }
}

/// Smallest segment Kafka allows (LogConfig's segment.bytes validator: one batch header).
pub const SEGMENT_BYTES_MIN: i64 = 14;

pub static TOPIC_CONFIG_KEYS: &[ConfigKey] = &[
    ConfigKey {
        name: "cleanup.policy",
        config_type: ConfigType::List,
        doc: "delete: retention removes old segments. compact: the log cleaner keeps the newest record of each key. compact,delete: both.",
        default: |c| policy_name(c.cleanup_policy).into(),
        apply: |v, c| {
            let mut parts: Vec<&str> = v.split(',').map(str::trim).collect();
            parts.sort_unstable();
            c.cleanup_policy = match parts.as_slice() {
                ["delete"] => CleanupPolicy::DELETE,
                ["compact"] => CleanupPolicy::COMPACT,
                ["compact", "delete"] => CleanupPolicy {
                    delete: true,
                    compact: true,
                },
                _ => return Err(format!("{v:?} is not delete, compact or compact,delete")),
            };
            Ok(())
        },
    },
    ConfigKey {
        name: "min.cleanable.dirty.ratio",
        config_type: ConfigType::Double,
        doc: "Compact once the bytes written since the last pass are at least this share of the compactable log (0 to 1).",
        default: |c| format!("{}", f64::from(c.min_cleanable_dirty_permille) / 1000.0),
        apply: |v, c| {
            let r: f64 = v.trim().parse().map_err(|_| format!("{v:?} is not a number"))?;
            if !(0.0..=1.0).contains(&r) {
                return Err(format!("{r} is outside 0..=1"));
            }
            c.min_cleanable_dirty_permille = (r * 1000.0).round() as u32;
            Ok(())
        },
    },
    ConfigKey {
        name: "delete.retention.ms",
        config_type: ConfigType::Long,
        doc: "How long a tombstone stays readable after the cleaner first keeps it (KIP-534 delete horizon).",
        default: |c| c.delete_retention_ms.to_string(),
        apply: |v, c| {
            c.delete_retention_ms = parse_i64(v, 0, i64::MAX)?;
            Ok(())
        },
    },
    ConfigKey {
        name: "min.compaction.lag.ms",
        config_type: ConfigType::Long,
        doc: "A segment holding a record newer than this is not compacted yet.",
        default: |c| c.min_compaction_lag_ms.to_string(),
        apply: |v, c| {
            c.min_compaction_lag_ms = parse_i64(v, 0, i64::MAX)?;
            Ok(())
        },
    },
    ConfigKey {
        name: "retention.ms",
        config_type: ConfigType::Long,
        doc: "Delete whole segments whose newest record is older than this; -1 keeps forever.",
        default: |c| c.retention_ms.to_string(),
        apply: |v, c| {
            c.retention_ms = parse_i64(v, -1, i64::MAX)?;
            Ok(())
        },
    },
    ConfigKey {
        name: "retention.bytes",
        config_type: ConfigType::Long,
        doc: "Delete oldest whole segments while the partition is larger than this; -1 is unbounded.",
        default: |c| c.retention_bytes.to_string(),
        apply: |v, c| {
            c.retention_bytes = parse_i64(v, -1, i64::MAX)?;
            Ok(())
        },
    },
    ConfigKey {
        name: "segment.bytes",
        config_type: ConfigType::Int,
        doc: "Roll to a new segment file when the active one would exceed this size.",
        default: |c| c.segment_bytes.to_string(),
        apply: |v, c| {
            c.segment_bytes = parse_i64(v, SEGMENT_BYTES_MIN, i32::MAX as i64)? as u64;
            Ok(())
        },
    },
    ConfigKey {
        name: "segment.ms",
        config_type: ConfigType::Long,
        doc: "Roll to a new segment when the active one is older than this.",
        default: |c| c.segment_ms.to_string(),
        apply: |v, c| {
            c.segment_ms = parse_i64(v, 1, i64::MAX)?;
            Ok(())
        },
    },
    ConfigKey {
        name: "segment.index.bytes",
        config_type: ConfigType::Int,
        doc: "Largest offset index of one segment; a full index rolls the segment.",
        default: |c| c.segment_index_bytes.to_string(),
        apply: |v, c| {
            c.segment_index_bytes = parse_i64(v, 8, i32::MAX as i64)? as u32;
            Ok(())
        },
    },
    ConfigKey {
        name: "index.interval.bytes",
        config_type: ConfigType::Int,
        doc: "Bytes of batches between two entries of the sparse offset index.",
        default: |c| c.index_interval_bytes.to_string(),
        apply: |v, c| {
            c.index_interval_bytes = parse_i64(v, 0, i32::MAX as i64)? as u32;
            Ok(())
        },
    },
    ConfigKey {
        name: "max.message.bytes",
        config_type: ConfigType::Int,
        doc: "Largest record batch accepted; larger ones get MESSAGE_TOO_LARGE.",
        default: |c| c.max_message_bytes.to_string(),
        apply: |v, c| {
            c.max_message_bytes = parse_i64(v, 0, i32::MAX as i64)? as u32;
            Ok(())
        },
    },
    ConfigKey {
        name: "message.timestamp.type",
        config_type: ConfigType::String,
        doc: "CreateTime keeps the producer's timestamps. LogAppendTime is not yet implemented.",
        default: |_| "CreateTime".into(),
        apply: |v, _| one_of(v, &["CreateTime"]),
    },
    ConfigKey {
        name: "compression.type",
        config_type: ConfigType::String,
        doc: "producer: batches are stored with the codec the producer chose (the only mode).",
        default: |_| "producer".into(),
        apply: |v, _| one_of(v, &["producer"]),
    },
    ConfigKey {
        name: "min.insync.replicas",
        config_type: ConfigType::Int,
        doc: "A single broker is the only replica, so 1 is the only meaningful value.",
        default: |_| "1".into(),
        apply: |v, _| one_of(v, &["1"]),
    },
    ConfigKey {
        name: backlog::MAX_BACKLOG_MESSAGES,
        config_type: ConfigType::Long,
        doc: "Peak shaving: most records a partition may hold beyond backlog.group's committed offset; -1 is unbounded.",
        default: |_| "-1".into(),
        apply: |v, _| parse_i64(v, -1, i64::MAX).map(drop),
    },
    ConfigKey {
        name: backlog::MAX_BACKLOG_BYTES,
        config_type: ConfigType::Long,
        doc: "Peak shaving: most bytes a partition may hold beyond backlog.group's committed offset; -1 is unbounded.",
        default: |_| "-1".into(),
        apply: |v, _| parse_i64(v, -1, i64::MAX).map(drop),
    },
    ConfigKey {
        name: backlog::BACKLOG_GROUP,
        config_type: ConfigType::String,
        doc: "The consumer group the backlog is measured from; empty: the slowest group with a commit on the partition.",
        default: |_| String::new(),
        apply: |v, _| {
            if v.len() > 255 {
                return Err("a group id of at most 255 bytes".into());
            }
            Ok(())
        },
    },
    ConfigKey {
        name: backlog::BACKLOG_OVERFLOW_POLICY,
        config_type: ConfigType::String,
        doc: "reject: a produce past the cap fails with POLICY_VIOLATION. drop-oldest: the oldest records are dropped to keep the newest within the cap.",
        default: |_| "reject".into(),
        apply: |v, _| one_of(v, &backlog::OverflowPolicy::NAMES),
    },
    ConfigKey {
        name: "unclean.leader.election.enable",
        config_type: ConfigType::Boolean,
        doc: "No effect on a single broker.",
        default: |_| "false".into(),
        apply: |v, _| one_of(v, &["true", "false"]),
    },
];

/// The table entry for `name`.
pub fn key(name: &str) -> Option<&'static ConfigKey> {
    TOPIC_CONFIG_KEYS.iter().find(|k| k.name == name)
}

/// A topic's overrides, as set by the user, kept by key name.
pub type TopicOverrides = BTreeMap<String, String>;

/// Applies `overrides` on top of the broker defaults; fails on an unknown key or a bad value.
pub fn effective(defaults: &LogConfig, overrides: &TopicOverrides) -> Result<LogConfig, String> {
    let mut cfg = defaults.clone();
    for (name, value) in overrides {
        let k = key(name).ok_or_else(|| format!("unknown topic config {name}"))?;
        (k.apply)(value, &mut cfg).map_err(|e| format!("{name}: {e}"))?;
    }
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

/// The value shown for `k`: the override if set, else the default; and whether it is the default.
pub fn shown_value(k: &ConfigKey, defaults: &LogConfig, overrides: &TopicOverrides) -> (String, bool) {
    match overrides.get(k.name) {
        Some(v) => (v.clone(), false),
        None => ((k.default)(defaults), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_applies_override() {
        let mut o = TopicOverrides::new();
        o.insert("retention.ms".into(), "1000".into());
        o.insert("max.message.bytes".into(), "500".into());
        let c = effective(&LogConfig::default(), &o).expect("valid");
        assert_eq!(c.retention_ms, 1000);
        assert_eq!(c.max_message_bytes, 500);
    }

    #[test]
    fn effective_unknown_key_rejected() {
        let mut o = TopicOverrides::new();
        o.insert("no.such.key".into(), "1".into());
        assert_eq!(
            effective(&LogConfig::default(), &o).unwrap_err(),
            "unknown topic config no.such.key"
        );
    }

    #[test]
    fn effective_bad_value_rejected() {
        let mut o = TopicOverrides::new();
        o.insert("segment.bytes".into(), "13".into());
        assert!(effective(&LogConfig::default(), &o)
            .unwrap_err()
            .starts_with("segment.bytes:"));
        let mut p = TopicOverrides::new();
        p.insert("cleanup.policy".into(), "delete,compact".into());
        assert!(effective(&LogConfig::default(), &p).is_ok());
    }

    #[test]
    fn effective_maps_compaction_keys() {
        let mut o = TopicOverrides::new();
        o.insert("cleanup.policy".into(), "compact".into());
        o.insert("min.cleanable.dirty.ratio".into(), "0.25".into());
        o.insert("delete.retention.ms".into(), "100".into());
        o.insert("min.compaction.lag.ms".into(), "5".into());
        let c = effective(&LogConfig::default(), &o).expect("valid");
        assert_eq!(c.cleanup_policy, CleanupPolicy::COMPACT);
        assert_eq!(
            (
                c.min_cleanable_dirty_permille,
                c.delete_retention_ms,
                c.min_compaction_lag_ms
            ),
            (250, 100, 5)
        );
        o.insert("min.cleanable.dirty.ratio".into(), "1.01".into());
        assert!(effective(&LogConfig::default(), &o).is_err());
        let default = key("min.cleanable.dirty.ratio").expect("key");
        assert_eq!((default.default)(&LogConfig::default()), "0.5");
    }
}
