//! The HTTP listener: binds, serves the router until told to stop, then finishes the
//! requests in flight (event streams end with the broker's shutdown).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;
use wharf_broker::broker::Broker;

use crate::config::HttpConfig;
use crate::local::LocalClient;
use crate::members::Members;
use crate::records::Partitioner;
use crate::routes;
use crate::state::{AppState, Shared};

/// The client id the broker sees for HTTP requests (quotas, DescribeGroups).
pub const CLIENT_ID: &str = "wharf-http";

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("invalid HTTP settings: {0}")]
    Config(String),
    #[error("cannot listen for HTTP on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

/// A running gateway.
pub struct HttpServer {
    pub local_addr: SocketAddr,
    pub state: AppState,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl HttpServer {
    /// Binds `config.listen` and starts serving.
    pub async fn start(broker: Arc<Broker>, config: HttpConfig, listen: SocketAddr) -> Result<HttpServer, HttpError> {
        config.limits.validate().map_err(HttpError::Config)?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| HttpError::Bind { addr: listen, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| HttpError::Bind { addr: listen, source })?;
        let state = AppState {
            inner: Arc::new(Shared {
                client: LocalClient::new(broker, CLIENT_ID),
                sse_streams: Arc::new(Semaphore::new(config.limits.sse_streams_max)),
                limits: config.limits,
                partitioner: Partitioner::new(),
                members: Arc::new(Members::default()),
            }),
        };
        let (stop, mut stopped) = watch::channel(false);
        let app = routes::router(state.clone());
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::error!(error = %e, "HTTP server failed");
            }
        });
        Ok(HttpServer {
            local_addr,
            state,
            stop,
            task,
        })
    }

    /// Stops accepting and waits for requests in flight (bounded by `grace`).
    pub async fn shutdown(self, grace: std::time::Duration) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            tracing::warn!("HTTP requests still running after the grace period; dropping them");
            task.abort();
        }
    }
}
