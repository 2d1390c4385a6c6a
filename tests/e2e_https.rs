//! HTTPS on `http.listen` (`http.tls`), the plain-HTTP redirect listener,
//! and the limits every web listener has against slow clients: the request
//! head's deadline, the idle limit, the TLS handshake's deadline and the
//! connection cap.
//!
//! The limits are set small here; every wait on the server has only a
//! generous safety net ([`SAFETY`]), never an assertion on how fast.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::web::{add, PW};
use common::{spawn_with, TestApp, TestCa};
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use ronda_server::https::TlsFiles;
use ronda_server::serve::Limits;
use ronda_server::ServerConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

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
};

/// A server with HTTPS from the test CA's files and the redirect listener.
async fn spawn_https(ca: &TestCa, limits: Limits) -> (TestApp, tempfile::TempDir) {
    let files = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = ca.server_files(files.path());
    let app = spawn_with(|c: &mut ServerConfig| {
        c.http_tls = Some(TlsFiles {
            cert_file,
            key_file,
        });
        c.http_redirect_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        c.http_limits = limits;
    })
    .await;
    (app, files)
}

fn http_addr(app: &TestApp) -> SocketAddr {
    app.server.as_ref().unwrap().http_addr
}

fn https_url(app: &TestApp) -> String {
    format!("https://127.0.0.1:{}", http_addr(app).port())
}

/// A browser that trusts the office's CA and nothing else.
fn browser(ca: &TestCa, redirects: Policy) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.ca_pem.as_bytes()).unwrap())
        .redirect(redirects)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_office_logs_in_over_https_with_its_own_ca() {
    let ca = TestCa::new();
    let (app, _files) = spawn_https(&ca, Limits::DEFAULT).await;
    add(&app, "budi", "it", None);
    let base = https_url(&app);
    let client = browser(&ca, Policy::none());

    let res = client
        .post(format!("{base}/login"))
        .form(&[("name", "budi"), ("password", PW)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let set = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.starts_with("__Host-ronda=") && set.contains("Secure"),
        "{set}"
    );
    // The Secure cookie goes back over HTTPS, as a browser sends it.
    let cookie = set.split(';').next().unwrap();
    let me = client
        .get(format!("{base}/api/v1/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["user"]["name"], "budi");

    // The audit log still sees the peer through TLS.
    let conn = ronda_server::store::open(&app.db).unwrap();
    let source: Option<String> = conn
        .query_row(
            "SELECT source FROM audit WHERE action = 'login' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(source.as_deref(), Some("127.0.0.1"));

    // Plain HTTP on the HTTPS port gets no answer.
    let plain = reqwest::Client::new()
        .get(format!(
            "http://127.0.0.1:{}/healthz",
            http_addr(&app).port()
        ))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP was answered: {plain:?}");
    app.stop().await;
}

/// Send `request` as it is and read the answer until the server closes.
async fn raw(addr: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(SAFETY, s.read_to_end(&mut out)).await;
    read.expect("the server answers and closes").unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// The status and the `Location` of a raw answer.
fn status_and_location(answer: &str) -> (u16, Option<String>) {
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"));
    let location = answer.lines().take_while(|l| !l.is_empty()).find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("location")
            .then(|| value.trim().to_owned())
    });
    (status, location)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_is_redirected_to_https_on_the_same_host_only() {
    let ca = TestCa::new();
    let (app, _files) = spawn_https(&ca, Limits::DEFAULT).await;
    let redirect = app
        .server
        .as_ref()
        .unwrap()
        .redirect_addr
        .expect("a redirect listener");
    let tls = http_addr(&app).port();

    let get = |target: &str, host: Option<&str>| {
        let host = host.map(|h| format!("Host: {h}\r\n")).unwrap_or_default();
        format!("GET {target} HTTP/1.1\r\n{host}Connection: close\r\n\r\n")
    };
    let path = "/letters/kotim-idul-fitri-2018/report?office=dinkes&x=1";
    for (host, to) in [
        (format!("127.0.0.1:{}", redirect.port()), "127.0.0.1"),
        ("localhost".to_owned(), "localhost"),
        ("Ronda.Kotim.go.id:80".to_owned(), "ronda.kotim.go.id"),
        ("[::1]:80".to_owned(), "[::1]"),
    ] {
        let answer = raw(redirect, &get(path, Some(&host))).await;
        assert_eq!(
            status_and_location(&answer),
            (308, Some(format!("https://{to}:{tls}{path}"))),
            "{answer}"
        );
    }
    // An absolute-form target names another site: only its path is kept.
    let answer = raw(redirect, &get("http://evil.example/x?y", Some("localhost"))).await;
    assert_eq!(
        status_and_location(&answer),
        (308, Some(format!("https://localhost:{tls}/x?y"))),
    );
    // A Host that is not a plain host name or address: no redirect at all.
    for host in [
        Some("evil.example/.."),
        Some("evil.example/"),
        Some("localhost@evil.example"),
        Some("evil.example:80@localhost"),
        Some("localhost\\evil.example"),
        Some("localhost:80:80"),
        Some("0x7f.1"),
        Some(""),
        None,
    ] {
        let answer = raw(redirect, &get("/", host)).await;
        assert_eq!(
            status_and_location(&answer),
            (400, None),
            "{host:?}: {answer}"
        );
    }

    // A browser that follows the redirect lands on HTTPS.
    let res = browser(&ca, Policy::limited(2))
        .get(format!("http://127.0.0.1:{}/healthz", redirect.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.url().scheme(), "https");
    app.stop().await;
}

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
    let s = TcpStream::connect(http_addr(&app)).await.unwrap();
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
    let (app, _files) = spawn_https(&ca, limits).await;
    let tcp = TcpStream::connect(http_addr(&app)).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls = tls_connector(&ca).connect(name, tcp).await.unwrap();
    assert!(
        trickle(tls).await,
        "a slowloris client kept its TLS connection"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_the_tls_handshake_is_cut_off() {
    let ca = TestCa::new();
    let limits = Limits {
        tls_handshake: SHORT,
        ..RELAXED
    };
    let (app, _files) = spawn_https(&ca, limits).await;
    let mut s = TcpStream::connect(http_addr(&app)).await.unwrap();
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
    let mut s = TcpStream::connect(http_addr(&app)).await.unwrap();
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

/// True if a whole request on a new connection gets an answer.
async fn served(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return false;
    };
    let request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    // Closed before the request is written: a broken pipe, not an answer.
    let _ = s.write_all(request).await;
    let mut out = Vec::new();
    let read = tokio::time::timeout(SAFETY, s.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "a connection was neither served nor closed");
    String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200")
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
    let addr = http_addr(&app);
    // CAP clients that connect and say nothing hold every slot.
    let mut silent = Vec::new();
    for _ in 0..CAP {
        silent.push(TcpStream::connect(addr).await.unwrap());
    }
    assert!(
        !served(addr).await,
        "a connection beyond the cap was served"
    );
    drop(silent);
    common::eventually(
        "a connection to be served once the silent ones closed",
        || async { served(addr).await.then_some(()) },
    )
    .await;
    app.stop().await;
}
