//! The HTTP server around the routes: hyper's HTTP/1 connections with the
//! limits `axum::serve` does not set. A client that sends its headers too
//! slowly, holds a connection idle or trickles a body is cut off; the number
//! of open connections is bounded; and stopping waits for the requests in
//! flight only briefly, never for a slow client.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// How long a client has to send a request's headers, on a new connection
/// and between the requests of a kept-alive one (an idle connection).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one connection may stay open, whatever it does: bounds a body
/// sent a byte at a time and a connection kept busy forever.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(120);
/// The most connections open at once; more are closed as they arrive. High
/// enough that a crowd of idle connections (each closed after
/// [`HEADER_TIMEOUT`], each a few KB) leaves room for real clients; the
/// limit of open files is raised to fit it where the system allows.
pub const MAX_CONNECTIONS: usize = 4096;
/// Open files kept for what is not a connection (weights, pictures, logs).
const OTHER_FILES: u64 = 64;
/// How long stopping waits for the requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` until `stop` completes, then lets the
/// requests in flight finish for at most [`SHUTDOWN_GRACE`].
pub async fn serve(listener: TcpListener, app: Router, stop: impl Future<Output = ()>) {
    // Where the hard limit is lower, the connections fit what it allows.
    let files = rlimit::increase_nofile_limit(MAX_CONNECTIONS as u64 + OTHER_FILES).unwrap_or(1024);
    let limit = (files.saturating_sub(OTHER_FILES) as usize).clamp(1, MAX_CONNECTIONS);
    let connections = Arc::new(Semaphore::new(limit));
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors, or a reset before accept: the
                // next connection may fare better, after a pause rather
                // than a busy loop.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // Over the limit the connection is closed unanswered (dropped).
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            continue;
        };
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}
