//! One client connection: read frames, dispatch each in arrival order, write answers in the same
//! order.
//!
//! The reader dispatches synchronously, so a request's side effects (appends) happen in the order
//! the client sent them; what needs waiting (fsync, long poll) travels as a future to the writer,
//! which awaits answers one by one and so writes them in request order. The channel between the
//! two is bounded by a semaphore of `max_in_flight_per_connection` permits: a request takes a
//! permit before it is dispatched and gives it back once its answer is written, so at most that
//! many requests are dispatched but unanswered; at the bound the reader stops reading and TCP
//! pushes back on the client.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

use crate::broker::{now_ms, Broker};
use crate::dispatch::{self, Answer, ConnectionState};
use crate::frame::FrameDecoder;

/// Bytes asked of the socket per read; frames larger than this are read across several reads.
const READ_CHUNK_BYTES: usize = 64 * 1024;

pub async fn serve(broker: Arc<Broker>, stream: TcpStream, peer: SocketAddr, mut shutdown: watch::Receiver<bool>) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(%peer, error = %e, "set_nodelay failed");
    }
    let (mut rd, mut wr) = stream.into_split();
    let max_in_flight = broker.config.limits.max_in_flight_per_connection;
    let in_flight = Arc::new(Semaphore::new(max_in_flight));
    let (tx, mut rx) = mpsc::channel::<(Answer, OwnedSemaphorePermit)>(max_in_flight);
    let writer = tokio::spawn(async move {
        while let Some((answer, _permit)) = rx.recv().await {
            let bytes = match answer {
                Answer::Ready(b) => b,
                Answer::Later(f) => match f.await {
                    Ok(b) => b,
                    Err(reason) => {
                        tracing::warn!(%peer, %reason, "closing connection");
                        return;
                    }
                },
                Answer::Nothing => continue,
            };
            if let Err(e) = wr.write_all(&bytes).await {
                tracing::debug!(%peer, error = %e, "write failed; closing");
                return;
            }
        }
        let _ = wr.shutdown().await;
    });

    let state = Arc::new(ConnectionState::default());
    let decoder = FrameDecoder {
        max_frame_bytes: broker.config.limits.max_frame_bytes,
    };
    let mut buf = BytesMut::with_capacity(READ_CHUNK_BYTES);
    'read: loop {
        loop {
            // KIP-219: a throttled client's connection is muted — no request is read from it —
            // until its throttle time has passed.
            let wait_ms = state.muted_until_ms() - now_ms();
            if wait_ms > 0 {
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_millis(wait_ms as u64)) => {}
                    _ = shutdown.changed() => break 'read,
                }
            }
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => {
                    let permit = tokio::select! {
                        p = Arc::clone(&in_flight).acquire_owned() => match p {
                            Ok(p) => p,
                            Err(_) => break 'read,
                        },
                        _ = shutdown.changed() => break 'read,
                    };
                    match dispatch::dispatch(&broker, &state, peer, frame) {
                        Ok(answer) => {
                            if tx.send((answer, permit)).await.is_err() {
                                break 'read;
                            }
                        }
                        Err(reason) => {
                            tracing::warn!(%peer, %reason, "closing connection");
                            break 'read;
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "closing connection");
                    break 'read;
                }
            }
        }
        if buf.capacity() - buf.len() < READ_CHUNK_BYTES / 4 {
            buf.reserve(READ_CHUNK_BYTES);
        }
        tokio::select! {
            res = rd.read_buf(&mut buf) => match res {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "read failed");
                    break;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
    drop(tx);
    if writer.await.is_err() {
        tracing::error!(%peer, "connection writer panicked");
    }
}
