//! The webhook client: one signed JSON POST per batch, with a connect timeout and a total
//! timeout on every request, and at most `push_response_bytes_max` of the answer read. Plain
//! HTTP only (no TLS in the gateway; see README). A 2xx answer is success; anything else —
//! another status, a refused connection, a timeout — is a failed attempt. Redirects are not
//! followed (a 3xx is a failure), so a signed body never goes somewhere the subscription did not
//! name.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{header, Method, Request, Uri};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::sign::{signature, SIGNATURE_HEADER, SUBSCRIPTION_HEADER, TIMESTAMP_HEADER};
use crate::config::HttpLimits;

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The webhook answered with a status outside 2xx; `body` is the start of its answer.
    Status { status: u16, body: String },
    /// No answer: connection refused or reset, bad address.
    Transport(String),
    /// No complete answer within the request timeout.
    Timeout,
}

impl Failure {
    /// The HTTP status, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Failure::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Failure::Status { status, body } if body.is_empty() => format!("webhook answered {status}"),
            Failure::Status { status, body } => format!("webhook answered {status}: {body}"),
            Failure::Transport(e) => format!("webhook unreachable: {e}"),
            Failure::Timeout => "webhook did not answer in time".to_owned(),
        }
    }
}

/// The client every subscription shares (its connection pool keeps connections to each
/// webhook alive between batches).
pub struct Webhook {
    client: Client<HttpConnector, Full<Bytes>>,
    request_timeout: Duration,
    response_bytes_max: usize,
}

impl Webhook {
    pub fn new(limits: &HttpLimits) -> Webhook {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_millis(limits.push_connect_timeout_ms)));
        connector.set_nodelay(true);
        Webhook {
            client: Client::builder(TokioExecutor::new()).build(connector),
            request_timeout: Duration::from_millis(limits.push_request_timeout_ms),
            response_bytes_max: limits.push_response_bytes_max,
        }
    }

    /// POSTs `body` to `url`, signed with `secret`.
    pub async fn post(&self, url: &Uri, subscription: &str, secret: &[u8], body: Bytes) -> Result<(), Failure> {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let request = Request::builder()
            .method(Method::POST)
            .uri(url.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, concat!("wharf/", env!("CARGO_PKG_VERSION")))
            .header(SUBSCRIPTION_HEADER, subscription)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature(secret, timestamp, &body))
            .body(Full::new(body))
            .map_err(|e| Failure::Transport(e.to_string()))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| Failure::Transport(error_chain(&e)))?;
            let status = response.status();
            // Read (a bounded part of) the answer so the connection can be reused, and so a
            // failure can quote it.
            let answer = match Limited::new(response.into_body(), self.response_bytes_max)
                .collect()
                .await
            {
                Ok(collected) => collected.to_bytes(),
                Err(_) => Bytes::new(),
            };
            if status.is_success() {
                Ok(())
            } else {
                Err(Failure::Status {
                    status: status.as_u16(),
                    body: String::from_utf8_lossy(&answer).trim().to_owned(),
                })
            }
        };
        match tokio::time::timeout(self.request_timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Timeout),
        }
    }
}

/// The error and its sources on one line ("client error (Connect): connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
