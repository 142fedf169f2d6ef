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
//!   flood), and pings idle peers; a connection with no request in progress for
//!   [`H2_IDLE_TIMEOUT`] is sent `GOAWAY` and closed ([`H2_CLOSE_GRACE`] later at the
//!   latest, whether or not the client answers).
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
/// Longest time an HTTP/2 connection stays open with no request in progress (as
/// [`HEADER_READ_TIMEOUT`] bounds an idle HTTP/1.1 keep-alive).
pub const H2_IDLE_TIMEOUT: Duration = HEADER_READ_TIMEOUT;
/// After `GOAWAY` for idleness, the connection is dropped this long later at the latest.
pub const H2_CLOSE_GRACE: Duration = Duration::from_secs(2);
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
        let conn_stop = stop.clone();
        tokio::spawn(async move {
            let _slot = permit;
            connection(tcp, peer, tls, app, watcher, conn_stop).await;
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
    stop: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let via_tls = tls.is_some();
    let idle = Arc::new(Idle::new());
    let busy = idle.clone();
    // The router as a hyper service; each request marked with its peer (and TLS), and
    // counted while in progress (the HTTP/2 idle timer).
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        if via_tls {
            req.extensions_mut().insert(ViaTls);
        }
        let guard = busy.begin();
        let call = app.clone().oneshot(req);
        async move {
            let r = call.await;
            drop(guard);
            r
        }
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
        serve_h2(conn, &idle, stop).await;
        // Held until the connection ends, so that the shutdown drain waits for it.
        drop(watcher);
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

/// Requests in progress on one connection, and since when there has been none.
struct Idle {
    state: std::sync::Mutex<(usize, tokio::time::Instant)>,
}

/// Ends one request's count when dropped.
struct Busy(Arc<Idle>);

impl Drop for Busy {
    fn drop(&mut self) {
        if let Ok(mut st) = self.0.state.lock() {
            st.0 = st.0.saturating_sub(1);
            if st.0 == 0 {
                st.1 = tokio::time::Instant::now();
            }
        }
    }
}

impl Idle {
    fn new() -> Self {
        Idle {
            state: std::sync::Mutex::new((0, tokio::time::Instant::now())),
        }
    }

    fn begin(self: &Arc<Self>) -> Busy {
        if let Ok(mut st) = self.state.lock() {
            st.0 += 1;
        }
        Busy(self.clone())
    }

    /// Time left before the connection counts as idle for [`H2_IDLE_TIMEOUT`]; a
    /// connection with a request in progress gets the whole timeout again.
    fn remaining(&self) -> Duration {
        match self.state.lock() {
            Ok(st) if st.0 == 0 => {
                (st.1 + H2_IDLE_TIMEOUT).saturating_duration_since(tokio::time::Instant::now())
            }
            _ => H2_IDLE_TIMEOUT,
        }
    }

    /// Resolves once no request has been in progress for [`H2_IDLE_TIMEOUT`].
    async fn expired(&self) {
        loop {
            let left = self.remaining();
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left).await;
        }
    }
}

/// Serves an HTTP/2 connection until it ends: on idleness or on shutdown it is sent
/// `GOAWAY` (requests in progress finish) and dropped [`H2_CLOSE_GRACE`] after idleness
/// or [`DRAIN_TIMEOUT`] after shutdown at the latest.
async fn serve_h2<F>(conn: F, idle: &Idle, mut stop: watch::Receiver<bool>)
where
    F: hyper_util::server::graceful::GracefulConnection,
    F::Error: std::fmt::Display,
{
    let mut conn = std::pin::pin!(conn);
    let mut deadline: Option<tokio::time::Instant> = None;
    let mut stopping = *stop.borrow();
    if stopping {
        conn.as_mut().graceful_shutdown();
        deadline = Some(tokio::time::Instant::now() + DRAIN_TIMEOUT);
    }
    loop {
        let until = deadline.unwrap_or_else(|| tokio::time::Instant::now() + DRAIN_TIMEOUT);
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "HTTP/2 connection ended with an error");
                }
                return;
            }
            () = idle.expired(), if deadline.is_none() => {
                conn.as_mut().graceful_shutdown();
                deadline = Some(tokio::time::Instant::now() + H2_CLOSE_GRACE);
            }
            r = stop.changed(), if !stopping => {
                stopping = true;
                if r.is_err() || *stop.borrow() {
                    if deadline.is_none() {
                        conn.as_mut().graceful_shutdown();
                    }
                    let drain = tokio::time::Instant::now() + DRAIN_TIMEOUT;
                    deadline = Some(deadline.map_or(drain, |d| d.min(drain)));
                } else {
                    stopping = false;
                }
            }
            () = tokio::time::sleep_until(until), if deadline.is_some() => {
                tracing::debug!("HTTP/2 connection dropped after GOAWAY");
                return;
            }
        }
    }
}
