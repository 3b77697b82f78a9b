//! The HTTP listener: HTTP/1.1 connections with a bound on their number and on how long a client may
//! take, so that slow or half-open clients cannot hold the service's file descriptors or tasks.
//!
//! * At most `max_connections` connections are served at once; beyond that the listener stops
//!   accepting (new clients wait in the kernel's backlog) until one closes.
//! * A client must send a request's headers within `header_timeout_ms`, counted from when the
//!   connection is ready for the next request — so an idle keep-alive connection is also closed then.
//! * A request body must arrive within `body_timeout_ms` (see [`crate::app::router`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// Limits of the listener (from [`crate::config::Config`]).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Time to receive a request's headers, idle keep-alive time included.
    pub header_timeout_ms: u64,
    /// Time open connections get to finish after shutdown was asked for.
    pub drain_timeout_ms: u64,
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets open connections finish their
/// current request (up to `drain_timeout_ms`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, _peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors or a connection reset before accept: wait, then go on.
                    tracing::warn!(error = %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let mut stopping = stopping.clone();
        let header_timeout = Duration::from_millis(limits.header_timeout_ms.max(1));
        tokio::spawn(async move {
            let _permit = permit;
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    let _ = stop.send(true);
    let all = u32::try_from(limits.max_connections.max(1)).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(
        Duration::from_millis(limits.drain_timeout_ms),
        permits.acquire_many(all),
    )
    .await;
    if drained.is_err() {
        tracing::warn!("connections still open after the drain timeout; closing them");
    }
}
