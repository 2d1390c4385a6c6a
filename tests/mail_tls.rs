//! Mail to a regency's own server whose certificate comes from a private
//! CA: a real TLS mail server (STARTTLS and implicit TLS) with the test
//! CA's certificate, and `mail.smtp.ca_file` read from a real `server.yaml`.

use std::path::Path;

use jiff::Timestamp;
use ronda_server::mail::{Context, MailConfig, Mailer};
use ronda_server::store::outbox::{self, NewMessage};
use ronda_testkit::smtp::{Smtp, TlsMode};
use ronda_testkit::TestCa;

/// The mail settings of a `server.yaml` naming `smtp` and maybe a CA file.
fn mail(dir: &Path, smtp: &Smtp, tls: &str, ca_file: Option<&Path>) -> MailConfig {
    let ca = ca_file.map_or(String::new(), |p| format!("    ca_file: {}\n", p.display()));
    let yaml = format!(
        "database:\n  path: ronda.db\nmail:\n  from: Ronda <ronda@kotim.example.go.id>\n  smtp:\n    \
         host: 127.0.0.1\n    port: {}\n    tls: {tls}\n    timeout: 10s\n{ca}",
        smtp.addr.port()
    );
    let path = dir.join("server.yaml");
    std::fs::write(&path, yaml).unwrap();
    ronda_server::ServerConfig::load(&path)
        .unwrap()
        .mail
        .unwrap()
}

/// Queue one message and run one mail pass; the outbox row's state and error.
async fn deliver_one(dir: &Path, config: MailConfig) -> (String, Option<String>) {
    let db = dir.join("ronda.db");
    let conn = ronda_server::store::open(&db).unwrap();
    let now = Timestamp::now();
    let m = NewMessage {
        channel: "email",
        target: None,
        kind: "test",
        office: None,
        recipients: r#"["it@dinkes.example.go.id"]"#.into(),
        subject: "Uji TLS",
        text: "Apakah sampai?",
        html: "<p>Apakah sampai?</p>",
        alert_ids: "[]".into(),
        dead: None,
        now_ms: now.as_millisecond(),
        domain: "kotim.example.go.id",
    };
    outbox::queue(&conn, &m).unwrap();
    let cx = Context {
        letters: Default::default(),
        registry: None,
        retired: Default::default(),
        config,
    };
    let mut mailer = Mailer::open(&db, cx).unwrap();
    mailer.step(now).await.unwrap();
    drop(mailer);
    conn.query_row("SELECT state, last_error FROM outbox", [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn starttls_to_a_private_ca_needs_its_ca_file() {
    let ca = TestCa::new();
    let smtp = Smtp::start_tls(&ca, TlsMode::StartTls);

    // Without ca_file the system's roots do not know the regency's CA.
    let dir = tempfile::tempdir().unwrap();
    let (state, error) = deliver_one(dir.path(), mail(dir.path(), &smtp, "starttls", None)).await;
    let error = error.unwrap_or_default();
    assert_eq!(state, "queued", "a failed handshake is retried");
    assert!(error.contains("UnknownIssuer"), "{error}");
    assert!(error.contains("mail.smtp.ca_file"), "the hint: {error}");
    assert!(smtp.received().is_empty());

    // With it, the message arrives, encrypted.
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write_ca(dir.path());
    let config = mail(dir.path(), &smtp, "starttls", Some(&ca_file));
    let (state, error) = deliver_one(dir.path(), config).await;
    assert_eq!((state.as_str(), error), ("sent", None));
    let got = smtp.received();
    assert_eq!(got.len(), 1);
    assert!(got[0].tls, "delivered after STARTTLS");
    assert_eq!(got[0].header("Subject").as_deref(), Some("Uji TLS"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ca_file_of_another_ca_is_refused() {
    let ca = TestCa::new();
    let smtp = Smtp::start_tls(&ca, TlsMode::StartTls);
    let dir = tempfile::tempdir().unwrap();
    let other = TestCa::new().write_ca(dir.path());
    let config = mail(dir.path(), &smtp, "starttls", Some(&other));
    let (state, error) = deliver_one(dir.path(), config).await;
    let error = error.unwrap_or_default();
    assert_eq!(state, "queued");
    // rcgen's test CAs share an (empty) name, so rustls finds the issuer by
    // name and then its signature wrong; a real other CA is UnknownIssuer.
    assert!(
        error.contains("invalid peer certificate") && error.contains("not signed by the CA in"),
        "{error}"
    );
    assert!(smtp.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn implicit_tls_to_a_private_ca_with_its_ca_file() {
    let ca = TestCa::new();
    let smtp = Smtp::start_tls(&ca, TlsMode::Implicit);
    let dir = tempfile::tempdir().unwrap();
    let (_, error) = deliver_one(dir.path(), mail(dir.path(), &smtp, "implicit", None)).await;
    assert!(error.unwrap_or_default().contains("UnknownIssuer"));

    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write_ca(dir.path());
    let config = mail(dir.path(), &smtp, "implicit", Some(&ca_file));
    let (state, error) = deliver_one(dir.path(), config).await;
    assert_eq!((state.as_str(), error), ("sent", None));
    assert!(smtp.received()[0].tls);
}
