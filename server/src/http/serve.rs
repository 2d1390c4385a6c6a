//! Serving the web app on a listener, plain or over TLS, with the limits
//! `axum::serve` does not set: a deadline for the request head, one for the
//! whole request (body included), a cap on open connections in all and per
//! address, an idle limit and a deadline for the TLS handshake.
//!
//! Without them a client that opens sockets and sends its headers or its
//! body a byte at a time (slowloris) holds every socket it opens for as
//! long as it likes.
//! Both the HTTPS listener and the plain one (and the redirect listener)
//! go through [`serve`], so each gets the same protections.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::http::proxy::{self, TrustedProxies};

/// How long a client may take, and how many sockets all clients, and each
/// address, may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open connections at most. A connection beyond it is closed as soon
    /// as it is accepted, until others end.
    pub max_connections: u32,
    /// The whole request head (request line and headers) must arrive within
    /// this. hyper starts the clock whenever it waits for a request, so a
    /// keep-alive connection with no next request is closed after it too.
    pub header_read: Duration,
    /// A connection on which no byte moves either way for this long is
    /// closed: a stalled request body, a client that stops reading the
    /// answer.
    pub idle: Duration,
    /// The TLS handshake must be over within this.
    pub tls_handshake: Duration,
    /// From its head on, a request (its body read by the handler) must have
    /// the head of its answer within this, or get `408 Request Timeout`
    /// and the connection closed. A trickled body restarts `idle`, not this.
    pub request: Duration,
    /// Like `max_connections`, for one IPv4 address or IPv6 /64. Trusted
    /// reverse proxies (`http.trusted_proxies`) are exempt.
    pub max_per_address: u32,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        max_connections: 512,
        header_read: Duration::from_secs(10),
        idle: Duration::from_secs(60),
        tls_handshake: Duration::from_secs(10),
        request: Duration::from_secs(30),
        max_per_address: 32,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Whether an accepted socket speaks TLS first.
#[derive(Clone)]
pub enum Encryption {
    Plain,
    Tls(TlsAcceptor),
}

impl Encryption {
    pub fn is_tls(&self) -> bool {
        matches!(self, Encryption::Tls(_))
    }
}

/// After a failed `accept` (out of file descriptors, say), wait this long.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Say that connections are being turned away at most this often.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Serve `app` on `listener` until `shutdown`; then let open connections
/// finish their requests (for at most `limits.idle`) and return.
///
/// Handlers see the peer as `ConnectInfo<SocketAddr>`, as with
/// `into_make_service_with_connect_info`. Connections from `proxies` are
/// not counted against `limits.max_per_address`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    encryption: Encryption,
    limits: Limits,
    proxies: TrustedProxies,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections as usize));
    let per_address = Arc::new(PerAddress::default());
    let mut warned: Option<Instant> = None;
    let mut warned_address: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            a = listener.accept() => a,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "cannot accept an HTTP connection");
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                }
            }
        };
        let address = if proxies.trusts(peer.ip()) {
            None
        } else {
            let network = proxy::host_network(peer.ip());
            let Some(taken) = per_address.take(network, limits.max_per_address) else {
                if warned_address.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
                    tracing::warn!(
                        %peer,
                        max = limits.max_per_address,
                        "too many open HTTP connections from one address: \
                         closing its new ones until some end"
                    );
                    warned_address = Some(Instant::now());
                }
                drop(tcp);
                continue;
            };
            Some(taken)
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            if warned.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
                tracing::warn!(
                    %peer,
                    max = limits.max_connections,
                    "too many open HTTP connections: closing new ones until some end"
                );
                warned = Some(Instant::now());
            }
            drop(tcp);
            continue;
        };
        let (app, encryption, shutdown) = (app.clone(), encryption.clone(), shutdown.clone());
        tokio::spawn(async move {
            let held = (slot, address);
            connection(tcp, peer, encryption, app, limits, shutdown, held).await;
        });
    }
    drop(listener);
    // Every slot back means every connection has ended.
    let all = slots.acquire_many(limits.max_connections);
    if tokio::time::timeout(limits.idle, all).await.is_err() {
        tracing::debug!("HTTP connections still open at shutdown are dropped");
    }
}

/// What an open connection counts against (no [`AddressSlot`] for a
/// trusted proxy), given back when it closes.
type Held = (OwnedSemaphorePermit, Option<AddressSlot>);

/// Open connections per [`proxy::host_network`].
#[derive(Default)]
struct PerAddress(Mutex<HashMap<IpAddr, u32>>);

impl PerAddress {
    /// One more connection from `network`, unless it has `max` already.
    fn take(self: &Arc<Self>, network: IpAddr, max: u32) -> Option<AddressSlot> {
        let mut open = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.get(&network).copied().unwrap_or(0);
        if n >= max {
            return None;
        }
        open.insert(network, n + 1);
        Some(AddressSlot {
            counts: self.clone(),
            network,
        })
    }
}

/// One connection counted in [`PerAddress`] until dropped.
struct AddressSlot {
    counts: Arc<PerAddress>,
    network: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.counts.0.lock().unwrap_or_else(PoisonError::into_inner);
        match open.get(&self.network) {
            Some(&n) if n > 1 => open.insert(self.network, n - 1),
            _ => open.remove(&self.network),
        };
    }
}

/// One accepted socket, holding its slots until it closes.
async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    encryption: Encryption,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
    held: Held,
) {
    let _held = held;
    let _ = tcp.set_nodelay(true);
    match encryption {
        Encryption::Plain => serve_connection(tcp, peer, app, limits, &shutdown).await,
        Encryption::Tls(acceptor) => {
            let handshake = tokio::time::timeout(limits.tls_handshake, acceptor.accept(tcp));
            let tls = tokio::select! {
                () = shutdown.cancelled() => return,
                r = handshake => r,
            };
            match tls {
                Ok(Ok(tls)) => serve_connection(tls, peer, app, limits, &shutdown).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
    }
}

/// HTTP/1.1 on one connection, whatever carries it (TCP, TLS over TCP).
async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    shutdown: &CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let seen = Arc::new(LastSeen::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        seen: seen.clone(),
    });
    let app = TowerToHyperService::new(app);
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        // The login throttle and the audit log read the peer from here.
        req.extensions_mut().insert(ConnectInfo(peer));
        // The handler reads the body inside this call, so the deadline
        // bounds a trickled body too. Past it the handler and the body are
        // dropped: hyper stops reading the body and, the answer saying
        // `Connection: close`, closes the connection once it is written.
        let answer = tokio::time::timeout(limits.request, app.call(req));
        async move {
            match answer.await {
                Ok(answer) => answer,
                Err(_) => {
                    tracing::debug!(%peer, "HTTP request timed out");
                    Ok(request_timeout())
                }
            }
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%peer, error = %e, "HTTP connection ended");
                }
                return;
            }
            () = seen.stalled(limits.idle) => {
                tracing::debug!(%peer, "idle HTTP connection closed");
                return;
            }
            // Finish the request in progress, then close.
            () = shutdown.cancelled(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// The answer to a request not done within [`Limits::request`].
fn request_timeout() -> Response {
    let text = "The request took too long.\n";
    let close = [(header::CONNECTION, "close")];
    (StatusCode::REQUEST_TIMEOUT, close, text).into_response()
}

/// When a byte last moved on a connection.
struct LastSeen {
    start: Instant,
    /// Milliseconds after `start`.
    at_ms: AtomicU64,
}

impl LastSeen {
    fn new() -> LastSeen {
        LastSeen {
            start: Instant::now(),
            at_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.at_ms.store(ms, Ordering::Relaxed);
    }

    /// Ready once nothing has moved for `idle`.
    async fn stalled(&self, idle: Duration) {
        loop {
            let last = self.start + Duration::from_millis(self.at_ms.load(Ordering::Relaxed));
            let deadline = last + idle;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A stream that notes in [`LastSeen`] every read or write that moved bytes.
struct Watched<S> {
    inner: S,
    seen: Arc<LastSeen>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.seen.touch();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            this.seen.touch();
        }
        r
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            this.seen.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
