//! HTTPS on `http.listen` (`http.tls`) and the plain-HTTP redirect
//! listener. The limits every web listener has against slow clients are
//! tested in `web/slow_clients.rs`.
//!
//! Every wait on the server has only a generous safety net ([`SAFETY`]),
//! never an assertion on how fast.

use std::net::SocketAddr;
use std::time::Duration;

use crate::common::web::{add, PW};
use crate::common::{spawn_https, TestApp, TestCa};
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Only against a hung test: the server is expected to act long before.
const SAFETY: Duration = Duration::from_secs(30);

fn https_url(app: &TestApp) -> String {
    format!("https://127.0.0.1:{}", app.http_addr().port())
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
    let (app, _files) = spawn_https(&ca, |c| {
        c.http_redirect_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    })
    .await;
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
    let conn = crate::common::db::open(&app.db);
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
            app.http_addr().port()
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
    let (app, _files) = spawn_https(&ca, |c| {
        c.http_redirect_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    })
    .await;
    let redirect = app
        .server
        .as_ref()
        .unwrap()
        .redirect_addr
        .expect("a redirect listener");
    let tls = app.http_addr().port();

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
