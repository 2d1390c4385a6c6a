//! Serving the web app on a listener, plain or over TLS, with the limits
//! `axum::serve` does not set: a deadline for the request head, a cap on
//! open connections, an idle limit and a deadline for the TLS handshake.
//!
//! Without them a client that opens sockets and sends its headers a byte at
//! a time (slowloris) holds every socket it opens for as long as it likes.
//! Both the HTTPS listener and the plain one (and the redirect listener)
//! go through [`serve`], so each gets the same protections.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
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

/// How long a client may take, and how many sockets all clients may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open connections at most. A connection beyond it is closed as soon
    /// as it is accepted: a client holding many sockets gets no more, and
    /// everyone else's requests still go through once the slow ones time out.
    pub max_connections: u32,
    /// The whole request head (request line and headers) must arrive within
    /// this. hyper starts the clock whenever it waits for a request, so a
    /// keep-alive connection with no next request is closed after it too.
    pub header_read: Duration,
    /// A connection on which no byte moves either way for this long is
    /// closed: a stalled request body, a client that stops reading the
    /// answer. (A request the server takes longer than this to answer
    /// would be cut too; none comes close.)
    pub idle: Duration,
    /// The TLS handshake must be over within this.
    pub tls_handshake: Duration,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        max_connections: 512,
        header_read: Duration::from_secs(10),
        idle: Duration::from_secs(60),
        tls_handshake: Duration::from_secs(10),
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// What is spoken on an accepted socket.
#[derive(Clone)]
pub enum Transport {
    Plain,
    Tls(TlsAcceptor),
}

impl Transport {
    pub fn is_tls(&self) -> bool {
        matches!(self, Transport::Tls(_))
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
/// `into_make_service_with_connect_info`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    transport: Transport,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections as usize));
    let mut warned: Option<Instant> = None;
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
        let (app, transport, shutdown) = (app.clone(), transport.clone(), shutdown.clone());
        tokio::spawn(async move {
            connection(tcp, peer, transport, app, limits, shutdown, slot).await;
        });
    }
    drop(listener);
    // Every slot back means every connection has ended.
    let all = slots.acquire_many(limits.max_connections);
    if tokio::time::timeout(limits.idle, all).await.is_err() {
        tracing::debug!("HTTP connections still open at shutdown are dropped");
    }
}

/// One accepted socket, holding its `slot` until it closes.
async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    transport: Transport,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
    slot: OwnedSemaphorePermit,
) {
    let _slot = slot;
    let _ = tcp.set_nodelay(true);
    match transport {
        Transport::Plain => serve_connection(tcp, peer, app, limits, &shutdown).await,
        Transport::Tls(acceptor) => {
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
        app.call(req)
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
