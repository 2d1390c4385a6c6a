//! Service checks over real HTTP and HTTPS: status, body text, latency, the
//! days until the certificate expires, and a service that never answers.

use std::path::Path;
use std::sync::Arc;

use ronda_agent::AgentConfig;
use ronda_wire::Service;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A self-signed certificate for 127.0.0.1 that expires `days` from now.
fn cert_expiring_in(days: i64) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let end = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .checked_add(jiff::Span::new().days(days))
        .unwrap();
    params.not_after =
        rcgen::date_time_ymd(i32::from(end.year()), end.month() as u8, end.day() as u8);
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// An HTTPS server that answers every request with `body`.
async fn https_server(cert_pem: &str, key_pem: &str, body: &'static str) -> u16 {
    let certs = rustls_pemfile::certs(&mut cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls_pemfile::private_key(&mut key_pem.as_bytes())
        .unwrap()
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let head = format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                let _ = tls.write_all(head.as_bytes()).await;
                let _ = tls.write_all(body.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

async fn check(services_yaml: &str) -> Vec<Service> {
    let yaml = format!(
        "office: o\nagent: a\nbroker:\n  url: mqtt://127.0.0.1:1\nservices:\n{services_yaml}"
    );
    let config = AgentConfig::from_text(Path::new("services.yaml"), yaml).unwrap();
    ronda_agent::probe_once(&config).await.unwrap().services
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_check_reports_status_body_latency_and_certificate_days() {
    let (cert, key) = cert_expiring_in(30);
    let port = https_server(&cert, &key, "<title>SIMPEG</title> Masuk").await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &cert).unwrap();
    let s = check(&format!(
        "  - id: simpeg\n    url: https://127.0.0.1:{port}/\n    expect_body: SIMPEG\n    ca_file: {}\n",
        ca.display()
    ))
    .await;
    let s = &s[0];
    assert!(s.reachable, "{s:?}");
    assert_eq!(
        (s.status, s.status_ok, s.body_matched),
        (Some(200), Some(true), Some(true))
    );
    assert!(s.latency_ms.is_some());
    let days = s.tls_days_left.unwrap();
    assert!((29..=30).contains(&days), "certificate days left {days}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_an_error_that_says_so() {
    let (cert, key) = cert_expiring_in(30);
    let port = https_server(&cert, &key, "ok").await;
    let s = check(&format!(
        "  - id: simpeg\n    url: https://127.0.0.1:{port}/\n"
    ))
    .await;
    assert!(!s[0].reachable);
    let err = s[0].error.as_deref().unwrap();
    assert!(err.contains("certificate"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_status_wrong_body_and_a_hung_service_are_told_apart() {
    let stop = CancellationToken::new();
    let office = ronda_sim::layout::default_office()
        .into_iter()
        .filter(|d| d.id == "sipd")
        .collect();
    let sim = ronda_sim::start(office, ronda_sim::Options::default(), stop.clone())
        .await
        .unwrap();
    let sipd = sim.device("sipd").unwrap();
    let url = format!("http://{}/", sipd.addr.unwrap());
    // A service that answers gets a deadline no loaded CI machine misses;
    // the hung one a short one, since it only decides what the test costs.
    let yaml = format!("  - id: sipd\n    url: {url}\n    expect_body: Masuk\n    timeout: 30s\n");

    ronda_sim::state::lock(&sipd.state).status = 503;
    let s = &check(&yaml).await[0];
    assert_eq!(
        (s.reachable, s.status, s.status_ok),
        (true, Some(503), Some(false)),
        "{s:?}"
    );
    assert_eq!(s.body_matched, Some(false));

    ronda_sim::state::lock(&sipd.state).status = 200;
    let s = &check(&yaml.replace("Masuk", "Tidak ada")).await[0];
    assert_eq!(
        (s.status_ok, s.body_matched),
        (Some(true), Some(false)),
        "{s:?}"
    );

    ronda_sim::state::lock(&sipd.state).hang = true;
    let s = &check(&yaml.replace("30s", "500ms")).await[0];
    assert!(!s.reachable);
    assert_eq!(s.error.as_deref(), Some("no answer within 500ms"));
    stop.cancel();
}
