//! `wharf-http`: the broker's HTTP face. A REST API for services that don't speak Kafka
//! (produce, fetch, topic and group administration, consuming as a group member), Server-Sent
//! Events, push delivery to webhooks, Prometheus metrics and the web console.
//!
//! Everything that touches records or groups goes through `local::LocalClient`, the broker's
//! own Kafka dispatch called in process, so HTTP users get Kafka's semantics exactly. What it
//! does not do: TLS or authentication (bind it to loopback or put a proxy in front).

// Issue #6: network-facing code never unwraps or panics.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod body;
pub mod config;
pub mod error;
pub mod local;
pub mod members;
pub mod push;
pub mod records;
pub mod requests;
pub mod routes;
pub mod server;
pub mod state;

pub use config::{HttpConfig, HttpLimits};
pub use server::{HttpError, HttpServer};
