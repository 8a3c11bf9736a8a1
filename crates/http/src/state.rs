//! What every HTTP handler shares: the in-process Kafka client, the limits, the partitioner
//! and the group members created over HTTP.

use std::sync::Arc;

use crate::config::HttpLimits;
use crate::local::LocalClient;
use crate::members::Members;
use crate::records::Partitioner;

#[derive(Clone)]
pub struct AppState {
    pub inner: Arc<Shared>,
}

pub struct Shared {
    pub client: LocalClient,
    pub limits: HttpLimits,
    pub partitioner: Partitioner,
    pub members: Arc<Members>,
    /// Open Server-Sent Events streams (HttpLimits::sse_streams_max).
    pub sse_streams: Arc<tokio::sync::Semaphore>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.inner
    }
}
