//! The listener's HTTP side, a small hyper 1 server: a cap on connections,
//! one request per connection, a deadline for the headers and one for the
//! whole request, and a cap on the body. Answers come from `handle.rs`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use jiff::Timestamp;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Duration;
use tokio_util::sync::CancellationToken;

use super::handle::{Reply, Shared, Verb};

/// Read buffer of a connection, which bounds the request line and headers
/// (hyper's minimum is 8 KiB). A device's request line is under 300 bytes.
const MAX_BUF: usize = 8192;
/// Most header lines in a request; a device sends about six.
const MAX_HEADERS: usize = 32;
/// Pause after a failed accept (out of file descriptors), so that the loop
/// does not spin.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Accept connections until `stop`, each served in its own task while a
/// slot is free; a connection beyond the cap is closed at once.
pub(super) async fn accept(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    let slots = Arc::new(Semaphore::new(shared.limits.connections));
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                if let Some(quiet) = shared.throttle.allow("accept") {
                    tracing::warn!(error = %e, quiet, "cannot accept a connection from an access controller");
                }
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(ACCEPT_PAUSE) => continue,
                }
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            if let Some(quiet) = shared.throttle.allow(&format!("full {}", peer.ip())) {
                tracing::warn!(%peer, cap = shared.limits.connections, quiet, "too many connections to the access listener; closing new ones");
            }
            drop(stream);
            continue;
        };
        let (shared, stop) = (shared.clone(), stop.clone());
        tokio::spawn(async move {
            serve_one(stream, peer, shared, stop).await;
            drop(slot);
        });
    }
}

/// One connection, one request: it ends when the answer is written, when
/// the headers take too long, or when the whole request does.
async fn serve_one(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    let limits = shared.limits;
    let service = service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(respond(&shared, peer, req).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header)
        .keep_alive(false)
        .max_buf_size(MAX_BUF)
        .max_headers(MAX_HEADERS);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        done = tokio::time::timeout(limits.request, connection) => match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(%peer, error = %e, "access controller connection failed"),
            Err(_) => tracing::debug!(%peer, "access controller request too slow; closed"),
        },
        _ = stop.cancelled() => {}
    }
}

async fn respond(
    shared: &Shared,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let arrival = Timestamp::now();
    let (parts, body) = req.into_parts();
    let verb = match parts.method {
        Method::GET => Verb::Get,
        Method::POST => Verb::Post,
        _ => Verb::Other,
    };
    let query = parts.uri.query().unwrap_or_default();
    let admitted = match shared.admit(peer, verb, parts.uri.path(), query) {
        Ok(a) => a,
        Err(reply) => return response(reply),
    };
    let cap = shared.limits.body;
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return response(too_large(shared, peer));
    }
    let body = match Limited::new(body, cap).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => return response(too_large(shared, peer)),
        Err(e) => {
            tracing::debug!(%peer, error = %e, "access controller body unreadable");
            return response(Reply::error(StatusCode::BAD_REQUEST, "body"));
        }
    };
    response(shared.run(admitted, &body, arrival).await)
}

fn too_large(shared: &Shared, peer: SocketAddr) -> Reply {
    if let Some(quiet) = shared.throttle.allow(&format!("body {}", peer.ip())) {
        tracing::warn!(%peer, cap = shared.limits.body, quiet, "access controller upload over the size cap; refused");
    }
    Reply::error(StatusCode::PAYLOAD_TOO_LARGE, "body too large")
}

/// Plain text, as the spec's examples answer [ATT §6]; hyper adds the
/// `Date` header the device sets its clock from.
fn response(reply: Reply) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(reply.body)));
    *r.status_mut() = reply.status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}
