//! What a subscription is: the fields `POST /v1/subscriptions` takes, their defaults, and the
//! checks that run once before a subscription is stored. Pure: no I/O, so every bound has a
//! unit test. What it does not check: that the topic exists (the handler asks the broker).

use axum::http::Uri;
use serde::{Deserialize, Serialize};

use crate::config::HttpLimits;
use crate::error::ApiError;
use crate::records::Format;

/// Longest subscription name, as Kafka bounds topic names (and for the same reason: it appears
/// in logs, headers and the console).
pub const NAME_BYTES_MAX: usize = 249;
/// Longest group id a subscription may name; Kafka sets no bound, the gateway does.
pub const GROUP_BYTES_MAX: usize = 255;

/// A subscription as registered and stored. The API never shows it whole: `view` leaves the
/// secret out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionSpec {
    pub name: String,
    pub topic: String,
    /// The consumer group whose committed offsets are the delivery position. The subscription
    /// owns it: it commits as a "simple" consumer (generation -1, no member id), which the
    /// coordinator accepts only while the group has no members — a Kafka consumer joining the
    /// same group makes every commit fail until it leaves.
    #[serde(default)]
    pub group: Option<String>,
    pub url: String,
    pub secret: String,
    #[serde(default = "defaults::batch_size")]
    pub batch_size: usize,
    #[serde(default = "defaults::linger_ms")]
    pub linger_ms: u64,
    #[serde(default = "defaults::max_attempts")]
    pub max_attempts: u32,
    #[serde(default = "defaults::initial_backoff_ms")]
    pub initial_backoff_ms: u64,
    #[serde(default = "defaults::max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// Default `<topic>.dlq`, created (with the topic's partition count) if missing.
    #[serde(default)]
    pub dead_letter_topic: Option<String>,
    /// How keys and values are shown in the webhook's JSON (records.rs).
    #[serde(default)]
    pub format: Format,
    /// Where delivery starts on a partition the group has no offset for: `earliest` (the
    /// default: a new subscription delivers what the topic holds) or `latest`.
    #[serde(default = "defaults::auto_offset_reset")]
    pub auto_offset_reset: String,
}

/// What the store keeps: the spec (with its secret) and whether it is paused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredSubscription {
    pub spec: SubscriptionSpec,
    #[serde(default)]
    pub paused: bool,
}

pub mod defaults {
    pub fn batch_size() -> usize {
        100
    }
    pub fn linger_ms() -> u64 {
        100
    }
    pub fn max_attempts() -> u32 {
        5
    }
    pub fn initial_backoff_ms() -> u64 {
        200
    }
    pub fn max_backoff_ms() -> u64 {
        30_000
    }
    pub fn auto_offset_reset() -> String {
        "earliest".to_owned()
    }
}

impl SubscriptionSpec {
    /// The subscription as the API shows it: every setting, defaults filled in, no secret.
    pub fn view(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "topic": self.topic,
            "group": self.group(),
            "url": self.url,
            "batch_size": self.batch_size,
            "linger_ms": self.linger_ms,
            "max_attempts": self.max_attempts,
            "initial_backoff_ms": self.initial_backoff_ms,
            "max_backoff_ms": self.max_backoff_ms,
            "dead_letter_topic": self.dead_letter_topic(),
            "format": self.format,
            "auto_offset_reset": self.auto_offset_reset,
        })
    }

    /// The group, defaulting to `wharf-push-<name>`.
    pub fn group(&self) -> String {
        self.group
            .clone()
            .unwrap_or_else(|| format!("wharf-push-{}", self.name))
    }

    pub fn dead_letter_topic(&self) -> String {
        self.dead_letter_topic
            .clone()
            .unwrap_or_else(|| format!("{}.dlq", self.topic))
    }

    /// Checks every field against `limits`; the first problem is the error.
    pub fn validate(&mut self, limits: &HttpLimits) -> Result<(), ApiError> {
        check_name("name", &self.name, NAME_BYTES_MAX)?;
        check_name("topic", &self.topic, NAME_BYTES_MAX)?;
        if let Some(g) = &self.group {
            if g.is_empty() || g.len() > GROUP_BYTES_MAX || g.chars().any(char::is_control) {
                return Err(ApiError::invalid(format!(
                    "group must be 1 to {GROUP_BYTES_MAX} bytes without control characters"
                )));
            }
        }
        let dlq = self.dead_letter_topic();
        check_name("dead_letter_topic", &dlq, NAME_BYTES_MAX)?;
        if dlq == self.topic {
            return Err(ApiError::invalid("dead_letter_topic must differ from topic"));
        }
        check_url(&self.url, limits.push_url_bytes_max)?;
        if self.secret.is_empty() || self.secret.len() > limits.push_secret_bytes_max {
            return Err(ApiError::invalid(format!(
                "secret must be 1 to {} bytes (http.push.secret.bytes.max)",
                limits.push_secret_bytes_max
            )));
        }
        in_range(
            "batch_size",
            self.batch_size as u64,
            1,
            limits.push_batch_records_max as u64,
        )?;
        in_range("linger_ms", self.linger_ms, 0, limits.push_linger_ms_max)?;
        in_range(
            "max_attempts",
            u64::from(self.max_attempts),
            1,
            u64::from(limits.push_attempts_max),
        )?;
        in_range(
            "initial_backoff_ms",
            self.initial_backoff_ms,
            1,
            limits.push_backoff_ms_max,
        )?;
        in_range(
            "max_backoff_ms",
            self.max_backoff_ms,
            self.initial_backoff_ms,
            limits.push_backoff_ms_max,
        )?;
        if !matches!(self.auto_offset_reset.as_str(), "earliest" | "latest") {
            return Err(ApiError::invalid("auto_offset_reset must be earliest or latest"));
        }
        Ok(())
    }
}

/// Kafka's topic-name rule (legal characters `[a-zA-Z0-9._-]`), used for subscription names
/// too so a name is safe in a URL path and a header.
fn check_name(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if value.is_empty() || value.len() > max || !value.chars().all(legal) || value == "." || value == ".." {
        return Err(ApiError::invalid(format!(
            "{field} must be 1 to {max} characters of [a-zA-Z0-9._-], not '{value}'"
        )));
    }
    Ok(())
}

fn in_range(field: &str, value: u64, min: u64, max: u64) -> Result<(), ApiError> {
    if value < min || value > max {
        return Err(ApiError::invalid(format!(
            "{field} must be between {min} and {max}, not {value}"
        )));
    }
    Ok(())
}

/// Plain `http://host[:port]/path` only: the webhook client has no TLS (see README).
pub fn check_url(url: &str, max: usize) -> Result<Uri, ApiError> {
    if url.len() > max {
        return Err(ApiError::invalid(format!(
            "url is {} bytes; the limit is {max} (http.push.url.bytes.max)",
            url.len()
        )));
    }
    let uri: Uri = url
        .parse()
        .map_err(|e| ApiError::invalid(format!("url is not a valid URL: {e}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(ApiError::invalid(
            "url must start with http:// (the webhook client speaks plain HTTP only)",
        ));
    }
    match uri.authority() {
        Some(a) if !a.host().is_empty() && !a.as_str().contains('@') => Ok(uri),
        _ => Err(ApiError::invalid("url must name a host, without user information")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SubscriptionSpec {
        serde_json::from_value(serde_json::json!({
            "name": "sms", "topic": "signups", "url": "http://127.0.0.1:9000/hook", "secret": "s"
        }))
        .unwrap()
    }

    #[test]
    fn validate_defaults_pass_and_fill_group_and_dead_letter_topic() {
        let mut s = spec();
        s.validate(&HttpLimits::default()).unwrap();
        assert_eq!(s.group(), "wharf-push-sms");
        assert_eq!(s.dead_letter_topic(), "signups.dlq");
        assert_eq!((s.batch_size, s.max_attempts), (100, 5));
    }

    #[test]
    fn validate_batch_size_at_max_passes_and_max_plus_one_fails() {
        let limits = HttpLimits::default();
        let mut s = spec();
        s.batch_size = limits.push_batch_records_max;
        s.validate(&limits).unwrap();
        s.batch_size += 1;
        assert!(s.validate(&limits).unwrap_err().message.contains("batch_size"));
        s.batch_size = 0;
        assert!(s.validate(&limits).is_err());
    }

    #[test]
    fn validate_url_at_max_passes_and_max_plus_one_fails() {
        let limits = HttpLimits::default();
        let mut s = spec();
        let base = "http://h/";
        s.url = format!("{base}{}", "a".repeat(limits.push_url_bytes_max - base.len()));
        s.validate(&limits).unwrap();
        s.url.push('a');
        assert!(s
            .validate(&limits)
            .unwrap_err()
            .message
            .contains("http.push.url.bytes.max"));
    }

    #[test]
    fn validate_non_http_urls_fail() {
        let limits = HttpLimits::default();
        for url in ["https://h/x", "ftp://h/", "/relative", "http://user:pw@h/", "not a url"] {
            let mut s = spec();
            s.url = url.to_owned();
            assert!(s.validate(&limits).is_err(), "{url} passed");
        }
    }

    #[test]
    fn validate_secret_attempts_backoff_and_names_are_bounded() {
        let limits = HttpLimits::default();
        type Change = Box<dyn Fn(&mut SubscriptionSpec)>;
        let cases: Vec<Change> = vec![
            Box::new(|s| s.secret.clear()),
            Box::new(|s| s.secret = "x".repeat(257)),
            Box::new(|s| s.max_attempts = 0),
            Box::new(|s| s.max_attempts = 101),
            Box::new(|s| s.max_backoff_ms = 600_001),
            Box::new(|s| s.initial_backoff_ms = 0),
            Box::new(|s| {
                s.initial_backoff_ms = 500;
                s.max_backoff_ms = 499
            }),
            Box::new(|s| s.linger_ms = 60_001),
            Box::new(|s| s.name = "a/b".into()),
            Box::new(|s| s.name = "x".repeat(250)),
            Box::new(|s| s.dead_letter_topic = Some("signups".into())),
            Box::new(|s| s.auto_offset_reset = "middle".into()),
            Box::new(|s| s.group = Some(String::new())),
        ];
        for (i, change) in cases.iter().enumerate() {
            let mut s = spec();
            change(&mut s);
            assert!(s.validate(&limits).is_err(), "case {i} passed");
        }
        let mut s = spec();
        s.secret = "x".repeat(256);
        s.max_attempts = 100;
        s.name = "x".repeat(249);
        s.validate(&limits).unwrap();
    }

    #[test]
    fn view_has_no_secret() {
        let v = spec().view();
        assert!(v.get("secret").is_none());
        assert_eq!(v["dead_letter_topic"], "signups.dlq");
    }
}
