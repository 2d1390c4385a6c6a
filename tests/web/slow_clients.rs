//! The limits every web listener has against slow and greedy clients: the
//! request head's deadline, the whole request's deadline (which bounds a
//! trickled body), the idle limit, the TLS handshake's deadline, the
//! connection cap and the cap per address.
//!
//! The limits are set small here; every wait on the server has only a
//! generous safety net ([`SAFETY`]), never an assertion on how fast.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::common::{spawn_https, spawn_with, TestCa};
use ronda_server::http::proxy::TrustedProxies;
use ronda_server::http::serve::Limits;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Only against a hung test: the server is expected to act long before.
const SAFETY: Duration = Duration::from_secs(30);
/// A limit no test reaches.
const NEVER: Duration = Duration::from_secs(3600);
/// A limit a test reaches soon; long enough that a slow machine still
/// sends a prompt client's request within it.
const SHORT: Duration = Duration::from_secs(1);

/// Limits that never act, for a test to lower one of them.
const RELAXED: Limits = Limits {
    max_connections: 512,
    header_read: NEVER,
    idle: NEVER,
    tls_handshake: NEVER,
    request: NEVER,
    max_per_address: 512,
};

/// Send a request head a byte at a time without ever finishing it (a
/// slowloris client); true once the server has closed the connection.
async fn trickle<S>(stream: S) -> bool
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rx, mut tx) = tokio::io::split(stream);
    let writer = tokio::spawn(async move {
        let head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
        if tx.write_all(head).await.is_err() {
            return;
        }
        // Pacing only: one more byte of the same header every 100 ms, so
        // the head stays far below hyper's size and header-count limits.
        let mut every = tokio::time::interval(Duration::from_millis(100));
        loop {
            every.tick().await;
            if tx.write_all(b"a").await.is_err() {
                return;
            }
        }
    });
    let mut buf = [0u8; 256];
    let closed = loop {
        match tokio::time::timeout(SAFETY, rx.read(&mut buf)).await {
            Err(_) => break false,
            Ok(Ok(0) | Err(_)) => break true,
            // hyper may answer 408 before it closes.
            Ok(Ok(_)) => continue,
        }
    };
    writer.abort();
    closed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_trickles_its_headers_is_cut_off() {
    let app = spawn_with(|c| {
        c.http_limits = Limits {
            header_read: SHORT,
            ..RELAXED
        }
    })
    .await;
    let s = TcpStream::connect(app.http_addr()).await.unwrap();
    assert!(trickle(s).await, "a slowloris client kept its connection");
    app.stop().await;
}

/// A TLS client that trusts the test CA.
fn tls_connector(ca: &TestCa) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut ca.ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickling_headers_over_tls_is_cut_off_too() {
    let ca = TestCa::new();
    let limits = Limits {
        header_read: SHORT,
        ..RELAXED
    };
    let (app, _files) = spawn_https(&ca, |c| c.http_limits = limits).await;
    let tcp = TcpStream::connect(app.http_addr()).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls = tls_connector(&ca).connect(name, tcp).await.unwrap();
    assert!(
        trickle(tls).await,
        "a slowloris client kept its TLS connection"
    );
    app.stop().await;
}

/// Send a whole request head for a 100-byte login form, then its body a
/// byte every 100 ms, and keep the connection open after. What the server
/// sent before it closed the connection; `None` if it kept it open.
async fn trickle_body(stream: TcpStream) -> Option<String> {
    let (mut rx, mut tx) = stream.into_split();
    let writer = tokio::spawn(async move {
        let head = "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                    Content-Type: application/x-www-form-urlencoded\r\n\
                    Content-Length: 100\r\n\r\n";
        if tx.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let mut every = tokio::time::interval(Duration::from_millis(100));
        for _ in 0..100 {
            every.tick().await;
            if tx.write_all(b"a").await.is_err() {
                return;
            }
        }
        // Holding the write half: the server sees no end of stream.
        std::future::pending::<()>().await;
    });
    let mut out = Vec::new();
    let read = tokio::time::timeout(SAFETY, rx.read_to_end(&mut out)).await;
    writer.abort();
    // A reset (the server closed with body bytes unread) is a close too.
    read.ok()
        .map(|_| String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_trickles_its_body_is_cut_off() {
    // No idle limit: each byte would restart it anyway.
    let app = spawn_with(|c| {
        c.http_limits = Limits {
            request: SHORT,
            ..RELAXED
        }
    })
    .await;
    let s = TcpStream::connect(app.http_addr()).await.unwrap();
    let answer = trickle_body(s)
        .await
        .expect("a client trickling its body kept its connection");
    // Told 408, or cut off before the answer could be read; never served.
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    // The server still serves others.
    assert!(served(TcpStream::connect(app.http_addr()).await.unwrap()).await);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_the_tls_handshake_is_cut_off() {
    let ca = TestCa::new();
    let limits = Limits {
        tls_handshake: SHORT,
        ..RELAXED
    };
    let (app, _files) = spawn_https(&ca, |c| c.http_limits = limits).await;
    let mut s = TcpStream::connect(app.http_addr()).await.unwrap();
    // The first bytes of a ClientHello record, then nothing.
    s.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(SAFETY, s.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0) | Err(_))),
        "a silent TLS client kept its connection: {read:?}"
    );
    app.stop().await;
}

/// Answer one keep-alive request, then wait for the server to close the
/// idle connection.
async fn keep_alive_is_closed(limits: Limits) {
    let app = spawn_with(|c| c.http_limits = limits).await;
    let mut s = TcpStream::connect(app.http_addr()).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(SAFETY, s.read_to_end(&mut out)).await;
    let answer = String::from_utf8_lossy(&out);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        matches!(read, Ok(Ok(_))),
        "an idle keep-alive connection stayed open with {limits:?}: {read:?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed() {
    // By the idle limit...
    keep_alive_is_closed(Limits {
        idle: SHORT,
        ..RELAXED
    })
    .await;
    // ...and by the head's deadline, which runs while hyper waits for the
    // next request.
    keep_alive_is_closed(Limits {
        header_read: SHORT,
        ..RELAXED
    })
    .await;
}

/// True if a whole request on the connection `s` gets an answer.
async fn served(mut s: TcpStream) -> bool {
    let request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    // Closed before the request is written: a broken pipe, not an answer.
    let _ = s.write_all(request).await;
    let mut out = Vec::new();
    let read = tokio::time::timeout(SAFETY, s.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "a connection was neither served nor closed");
    String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200")
}

/// A connection to `addr` from the local address `from`.
async fn connect_from(from: Ipv4Addr, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::V4(from), 0)).unwrap();
    socket.connect(addr).await.unwrap()
}

/// True if a whole request on a new connection from `from` gets an answer.
async fn served_from(from: Ipv4Addr, addr: SocketAddr) -> bool {
    served(connect_from(from, addr).await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_closed_until_others_end() {
    const CAP: u32 = 4;
    let app = spawn_with(|c| {
        c.http_limits = Limits {
            max_connections: CAP,
            ..RELAXED
        }
    })
    .await;
    let addr = app.http_addr();
    let local = Ipv4Addr::LOCALHOST;
    // CAP clients that connect and say nothing hold every slot.
    let mut silent = Vec::new();
    for _ in 0..CAP {
        silent.push(TcpStream::connect(addr).await.unwrap());
    }
    assert!(
        !served_from(local, addr).await,
        "a connection beyond the cap was served"
    );
    drop(silent);
    crate::common::eventually(
        "a connection to be served once the silent ones closed",
        || async { served_from(local, addr).await.then_some(()) },
    )
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_address_are_capped_except_for_trusted_proxies() {
    const PER_ADDRESS: u32 = 2;
    let (one, other) = (Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(127, 0, 0, 2));
    let limits = Limits {
        max_per_address: PER_ADDRESS,
        ..RELAXED
    };
    let app = spawn_with(|c| c.http_limits = limits).await;
    let addr = app.http_addr();
    // Silent clients from one address hold all it may have.
    let mut silent = Vec::new();
    for _ in 0..PER_ADDRESS {
        silent.push(connect_from(one, addr).await);
    }
    assert!(
        !served_from(one, addr).await,
        "a connection beyond the per-address cap was served"
    );
    assert!(
        served_from(other, addr).await,
        "another address was shut out by one address's connections"
    );
    drop(silent);
    crate::common::eventually(
        "the address to be served once its silent connections closed",
        || async { served_from(one, addr).await.then_some(()) },
    )
    .await;
    app.stop().await;

    // A trusted reverse proxy carries every user's connections: no cap.
    let app = spawn_with(|c| {
        c.http_limits = limits;
        c.trusted_proxies = TrustedProxies::new(&["127.0.0.1"]).unwrap();
    })
    .await;
    let addr = app.http_addr();
    let mut silent = Vec::new();
    for _ in 0..2 * PER_ADDRESS {
        silent.push(connect_from(one, addr).await);
    }
    assert!(
        served_from(one, addr).await,
        "a trusted proxy was capped like a single client"
    );
    drop(silent);
    app.stop().await;
}
