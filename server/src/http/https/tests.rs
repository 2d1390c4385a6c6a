//! The redirect's host check, and `http.tls` and `http.redirect_listen` as
//! `server.yaml` is loaded.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use super::*;
use crate::config::tests_support::load;

#[test]
fn hosts_are_names_or_addresses_and_nothing_else() {
    for (value, host) in [
        ("ronda.kotim.go.id", "ronda.kotim.go.id"),
        ("Ronda.Kotim.go.id:80", "ronda.kotim.go.id"),
        ("ronda.", "ronda"),
        ("10.0.0.5:8080", "10.0.0.5"),
        ("[::1]:80", "[::1]"),
        ("[fe80::1]", "[fe80::1]"),
    ] {
        assert_eq!(hostname(value).as_deref(), Some(host), "{value}");
    }
    for value in [
        "",
        "evil.example/..",
        "evil.example/",
        "good.example@evil.example",
        "evil.example:80@good.example",
        "good\\evil.example",
        "good.example:80:80",
        "good.example:",
        "good.example:99999",
        "good.example:+80",
        "-good.example",
        "a..b",
        "exa mple",
        "0x7f.1",
        "1.2.3",
        "[::1",
        "[::1]x",
        "[evil.example]",
        "good.example%2f@evil",
    ] {
        assert_eq!(hostname(value), None, "{value}");
    }
}

#[test]
fn the_redirect_keeps_path_and_query_only() {
    let mut h = HeaderMap::new();
    h.insert(header::HOST, "ronda.local:80".parse().unwrap());
    let uri: Uri = "http://evil.example//x/y?a=1".parse().unwrap();
    let r = redirect(&h, &uri, 8443);
    assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        r.headers()[header::LOCATION],
        "https://ronda.local:8443//x/y?a=1"
    );
    let r = redirect(&h, &"*".parse().unwrap(), 443);
    assert_eq!(r.headers()[header::LOCATION], "https://ronda.local/");
    h.append(header::HOST, "other.local".parse().unwrap());
    let r = redirect(&h, &uri, 443);
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get(header::LOCATION).is_none());
}

// `http.tls` and `http.redirect_listen` in `server.yaml`.

/// A self-signed certificate for localhost and its key, as PEM files.
fn pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (c, k) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&c, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    (c, k)
}

fn tls_yaml(cert: &Path, key: &Path, extra: &str) -> String {
    format!(
        "database:\n  path: r.db\nhttp:\n  listen: 0.0.0.0:8443\n  tls:\n    cert_file: {}\n    key_file: {}\n{extra}",
        cert.display(),
        key.display()
    )
}

#[test]
fn tls_files_are_read_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = pair(dir.path(), "server");
    let c = load(&tls_yaml(&cert, &key, "  redirect_listen: 0.0.0.0:8080\n")).unwrap();
    let tls = c.http_tls.unwrap();
    assert_eq!((tls.cert_file, tls.key_file), (cert, key));
    assert_eq!(
        c.http_redirect_listen,
        Some("0.0.0.0:8080".parse().unwrap())
    );
}

#[test]
fn a_missing_certificate_file_is_named_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = pair(dir.path(), "server");
    let missing = dir.path().join("nope.pem");
    let err = load(&tls_yaml(&missing, &key, "")).unwrap_err().to_string();
    let want = format!(
        ":6:16: http.tls.cert_file: cannot read {}",
        missing.display()
    );
    assert!(err.contains(&want), "{err}");
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = pair(dir.path(), "a");
    let (_, other_key) = pair(dir.path(), "b");
    let err = load(&tls_yaml(&cert, &other_key, ""))
        .unwrap_err()
        .to_string();
    assert!(err.contains(":7:15: http.tls.key_file: "), "{err}");
    assert!(
        err.contains(&cert.display().to_string()) && err.contains(&other_key.display().to_string()),
        "{err}"
    );
    assert!(err.contains("does not match the certificate"), "{err}");
}

#[test]
fn files_that_are_not_pem_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = pair(dir.path(), "server");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let err = load(&tls_yaml(&junk, &key, "")).unwrap_err().to_string();
    let want = format!(
        "http.tls.cert_file: {} holds no PEM certificate",
        junk.display()
    );
    assert!(err.contains(&want), "{err}");
    // The certificate given as the key: a PEM file, but no key in it.
    let err = load(&tls_yaml(&cert, &cert, "")).unwrap_err().to_string();
    let want = format!(
        "http.tls.key_file: {} holds no PEM private key",
        cert.display()
    );
    assert!(err.contains(&want), "{err}");
}

#[test]
fn redirect_listen_needs_tls() {
    let text =
        "database:\n  path: r.db\nhttp:\n  listen: 0.0.0.0:8080\n  redirect_listen: 0.0.0.0:80\n";
    let err = load(text).unwrap_err().to_string();
    assert!(
        err.contains(":5:20: http.redirect_listen: needs `http.tls`"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = pair(dir.path(), "server");
    let same = tls_yaml(&cert, &key, "  redirect_listen: 0.0.0.0:8443\n");
    let err = load(&same).unwrap_err().to_string();
    assert!(
        err.contains("http.redirect_listen: must differ from http.listen"),
        "{err}"
    );
}
