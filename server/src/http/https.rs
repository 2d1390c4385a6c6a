//! HTTPS on `http.listen`: the certificate and key of `http.tls`, loaded as
//! the embedded broker loads its own, and the plain-HTTP listener
//! (`http.redirect_listen`) that sends browsers over to HTTPS.
//!
//! The session cookie is `Secure`, so a browser keeps it only over HTTPS
//! (or on localhost): without a reverse proxy, this is how an office logs in.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ronda_broker::tls::{TlsError, TlsListener};
use serde::Deserialize;
use tokio_rustls::TlsAcceptor;

/// `http.tls`: the server certificate chain (PEM, leaf first, then any
/// intermediates) and its private key (PEM: PKCS#8, PKCS#1 or SEC1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

const CERT_KEY: &str = "http.tls.cert_file";
const KEY_KEY: &str = "http.tls.key_file";

impl TlsFiles {
    /// Read both files now. They are read once, at start: a renewed
    /// certificate is served after a restart.
    pub fn acceptor(&self, listen: SocketAddr) -> Result<TlsAcceptor, TlsError> {
        ronda_broker::tls::acceptor(&TlsListener {
            listen,
            cert_file: self.cert_file.clone(),
            key_file: self.key_file.clone(),
        })
    }

    /// The config key a loading error is about, and what to say about it.
    pub fn problem(&self, e: &TlsError) -> (&'static str, String) {
        match e {
            TlsError::Read { path, .. } if *path == self.cert_file => (CERT_KEY, e.to_string()),
            TlsError::NoCertificate(_) => (CERT_KEY, e.to_string()),
            TlsError::Config {
                cert,
                key,
                error: rustls::Error::InconsistentKeys(_),
            } => (
                KEY_KEY,
                format!(
                    "the private key in {} does not match the certificate in {}",
                    key.display(),
                    cert.display()
                ),
            ),
            TlsError::Read { .. } | TlsError::NoKey(_) | TlsError::Config { .. } => {
                (KEY_KEY, e.to_string())
            }
        }
    }
}

/// The plain-HTTP listener's app: every request gets a 308 to the same
/// path and query on `https://<host>:<https_port>`, where the host is the
/// request's `Host` once it has been checked to be a host name or an IP
/// address. Nothing else from the request goes into the `Location`.
pub fn redirect_app(https_port: u16) -> axum::Router {
    axum::Router::new().fallback(move |headers: HeaderMap, uri: Uri| async move {
        redirect(&headers, &uri, https_port)
    })
}

fn redirect(headers: &HeaderMap, uri: &Uri, https_port: u16) -> Response {
    let mut hosts = headers.get_all(header::HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (Some(h), None) => h.to_str().ok().and_then(hostname),
        _ => None,
    };
    let Some(host) = host else {
        let text = "This server speaks HTTPS only: open it with https:// and its name.\n";
        return (StatusCode::BAD_REQUEST, text).into_response();
    };
    // An absolute-form target (`GET http://elsewhere/`) keeps only its path;
    // `OPTIONS *` goes to `/`.
    let path = uri
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|p| p.starts_with('/'))
        .unwrap_or("/");
    let authority = match https_port {
        443 => host,
        port => format!("{host}:{port}"),
    };
    let location = format!("https://{authority}{path}");
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, location)],
    )
        .into_response()
}

/// The host of a `Host` header value, without its port, if it is a DNS
/// name or an IP address; written out anew, never copied through.
fn hostname(value: &str) -> Option<String> {
    if let Some(rest) = value.strip_prefix('[') {
        let (ip, port) = rest.split_once(']')?;
        let ip: Ipv6Addr = ip.parse().ok()?;
        return is_port(port).then(|| format!("[{ip}]"));
    }
    let (host, port) = value.split_at(value.find(':').unwrap_or(value.len()));
    if !is_port(port) {
        return None;
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Some(IpAddr::V4(ip).to_string());
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    is_dns_name(host).then(|| host.to_ascii_lowercase())
}

/// Nothing, or `:` and a port number.
fn is_port(s: &str) -> bool {
    s.is_empty()
        || s.strip_prefix(':')
            .is_some_and(|p| p.parse::<u16>().is_ok() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Letters, digits and inner hyphens in dot-separated labels. A last label
/// that reads as a number would make a browser take the whole name for an
/// IPv4 address in some other notation (`0x7f.1`): refused.
fn is_dns_name(host: &str) -> bool {
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let last = host.rsplit('.').next().unwrap_or(host);
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || last.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("0x"));
    host.len() <= 253 && host.split('.').all(label_ok) && !numeric
}

#[cfg(test)]
mod tests;
