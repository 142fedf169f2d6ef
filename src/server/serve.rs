//! Connections of every listener (HTTP, HTTPS, metrics): how long a client may take,
//! how many may be open, and the drain on shutdown. Slow clients and floods are bounded
//! here, before any request reaches the router:
//!
//! - a client has [`HEADER_READ_TIMEOUT`] to send a request's headers, counted from
//!   when the connection (or keep-alive) starts waiting for them: a client trickling
//!   one byte every few seconds, or keeping an idle connection, is disconnected;
//! - a TLS handshake has [`HANDSHAKE_TIMEOUT`];
//! - every body frame must arrive within [`BODY_READ_TIMEOUT`], and a whole request is
//!   answered (or cut with 408) within [`REQUEST_TIMEOUT`];
//! - at most [`MAX_CONNECTIONS`] are open; past that the listener stops accepting (the
//!   kernel's backlog holds new ones) until one closes;
//! - HTTP/2 (offered on TLS by ALPN) allows [`H2_MAX_STREAMS`] concurrent streams, a
//!   bounded header list and a bounded number of reset streams (the "rapid reset"
//!   flood), and pings idle peers.
//!
//! Each request carries the peer's address (`ConnectInfo`) for the rate limits.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use crate::http::ViaTls;

/// Time to send a request's headers (and the longest idle keep-alive on HTTP/1.1).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Time to finish a TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for the next piece of a request body.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest time to answer one request (upstream calls have their own 10 s bound each;
/// a callback makes a few of them in a row).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Open connections at most, per listener.
pub const MAX_CONNECTIONS: usize = 4096;
/// Concurrent HTTP/2 streams per connection.
pub const H2_MAX_STREAMS: u32 = 100;
/// Largest HTTP/2 header list (the HTTP/1.1 parser's own cap is about as large).
const H2_MAX_HEADER_LIST: u32 = 64 * 1024;
/// Streams a client may reset before the connection is closed (CVE-2023-44487).
const H2_MAX_PENDING_RESETS: usize = 20;
/// In-flight requests get this long to finish on shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The timeouts on requests, around the whole application.
pub fn with_request_timeouts(app: Router) -> Router {
    app.layer(RequestBodyTimeoutLayer::new(BODY_READ_TIMEOUT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
}

/// How a listener's connections are served.
#[derive(Clone)]
pub struct Listener {
    /// TLS in front (the HTTPS listener); HTTP/2 is offered by ALPN there.
    pub tls: Option<TlsAcceptor>,
    pub max_connections: usize,
}

/// Serves `app` on `listener` until `stop` turns true, then drains.
pub async fn serve(
    listener: TcpListener,
    how: Listener,
    app: Router,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(how.max_connections.max(1)));
    loop {
        // A free slot first: at the cap, nothing more is accepted until one frees.
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            r = stop.changed() => {
                if r.is_err() || *stop.borrow() { break } else { continue }
            }
        };
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            r = stop.changed() => {
                if r.is_err() || *stop.borrow() { break } else { continue }
            }
        };
        let (app, tls, watcher) = (app.clone(), how.tls.clone(), graceful.watcher());
        tokio::spawn(async move {
            let _slot = permit;
            connection(tcp, peer, tls, app, watcher).await;
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout; closing");
    }
}

async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    app: Router,
    watcher: Watcher,
) {
    let _ = tcp.set_nodelay(true);
    let via_tls = tls.is_some();
    // The router as a hyper service; each request marked with its peer (and TLS).
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        if via_tls {
            req.extensions_mut().insert(ViaTls);
        }
        app.clone().oneshot(req)
    });
    let Some(acceptor) = tls else {
        let conn = http1().serve_connection(TokioIo::new(tcp), svc);
        if let Err(e) = watcher.watch(conn).await {
            tracing::debug!(error = %e, "connection ended with an error");
        }
        return;
    };
    let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => return,
    };
    if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
        let mut b = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
        b.timer(TokioTimer::new())
            .max_concurrent_streams(H2_MAX_STREAMS)
            .max_header_list_size(H2_MAX_HEADER_LIST)
            .max_pending_accept_reset_streams(H2_MAX_PENDING_RESETS)
            .keep_alive_interval(Some(Duration::from_secs(30)))
            .keep_alive_timeout(Duration::from_secs(10));
        let conn = b.serve_connection(TokioIo::new(stream), svc);
        if let Err(e) = watcher.watch(conn).await {
            tracing::debug!(error = %e, "HTTP/2 connection ended with an error");
        }
    } else {
        let conn = http1().serve_connection(TokioIo::new(stream), svc);
        if let Err(e) = watcher.watch(conn).await {
            tracing::debug!(error = %e, "TLS connection ended with an error");
        }
    }
}

fn http1() -> hyper::server::conn::http1::Builder {
    let mut b = hyper::server::conn::http1::Builder::new();
    // With a timer hyper bounds how long a client may take to send its headers,
    // counted from when the connection starts waiting for them (idle keep-alive too).
    b.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true);
    b
}
