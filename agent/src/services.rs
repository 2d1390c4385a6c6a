//! HTTP(S) checks of the public-service applications: status, expected body
//! text, latency, and the days until the TLS certificate expires.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use reqwest::header::{HeaderValue, AUTHORIZATION};
use ronda_wire::Service;
use serde::Deserialize;

use crate::devconf::{self, RawCreds};
use crate::http::{base_builder, read_capped, Clients, Creds};
use crate::probe::{with_deadline, ProbeError};
use ronda_common::conf::{secret_in, Checker, Dur, Secret};

/// Default deadline for a service check: public apps on a slow link.
pub const DEFAULT_SERVICE_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_BODY: usize = 2 << 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    id: String,
    url: String,
    /// The status that means "up". Without it any 2xx or 3xx does.
    #[serde(default)]
    expect_status: Option<u16>,
    /// Text the page must contain, such as the application's name.
    #[serde(default)]
    expect_body: Option<String>,
    #[serde(default)]
    timeout: Option<Dur>,
    /// Basic auth.
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<Secret>,
    #[serde(default)]
    password_file: Option<PathBuf>,
    #[serde(default)]
    password_env: Option<String>,
    /// Bearer auth.
    #[serde(default)]
    bearer_token: Option<Secret>,
    #[serde(default)]
    bearer_token_file: Option<PathBuf>,
    #[serde(default)]
    bearer_token_env: Option<String>,
    /// `http://proxy:3128`: reach the application through this proxy.
    #[serde(default)]
    proxy: Option<String>,
    /// PEM file of a private CA that signed the application's certificate.
    #[serde(default)]
    ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
enum ServiceAuth {
    None,
    Basic(Creds),
    Bearer(Secret),
}

/// A checked service, with its own HTTP client (proxy and CA are per service).
#[derive(Clone)]
pub struct ServiceCheck {
    pub id: String,
    pub url: String,
    expect_status: Option<u16>,
    expect_body: Option<String>,
    timeout: Duration,
    auth: ServiceAuth,
    /// Its own client only with a proxy or a private CA; otherwise the
    /// agent's shared one.
    client: Option<reqwest::Client>,
}

impl std::fmt::Debug for ServiceCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceCheck")
            .field("id", &self.id)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl RawService {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn check(self, c: &mut Checker<'_>, path: &str) -> Option<ServiceCheck> {
        let id = devconf::device_id(c, &format!("{path}.id"), &self.id);
        let url = devconf::http_url(c, &format!("{path}.url"), Some(&self.url));
        let timeout = devconf::timeout(
            c,
            &format!("{path}.timeout"),
            self.timeout,
            DEFAULT_SERVICE_TIMEOUT,
        );
        let basic = RawCreds {
            username: self.username,
            password: self.password,
            password_file: self.password_file,
            password_env: self.password_env,
        }
        .check(c, path);
        let bearer = secret_in(
            c,
            &format!("{path}.bearer_token"),
            &self.bearer_token,
            &self.bearer_token_file,
            &self.bearer_token_env,
        );
        let auth = match (basic?, bearer) {
            (Some(_), Some(_)) => {
                c.fail(
                    &format!("{path}.bearer_token"),
                    "give either username/password or a bearer token",
                );
                None
            }
            (Some(b), None) => Some(ServiceAuth::Basic(b)),
            (None, Some(t)) => Some(ServiceAuth::Bearer(t)),
            (None, None) => Some(ServiceAuth::None),
        };
        let client = client(c, path, self.proxy.as_deref(), self.ca_file.as_deref());
        Some(ServiceCheck {
            id: id?,
            url: url?,
            expect_status: self.expect_status,
            expect_body: self.expect_body,
            timeout: timeout?,
            auth: auth?,
            client: client?,
        })
    }
}

fn client(
    c: &mut Checker<'_>,
    path: &str,
    proxy: Option<&str>,
    ca: Option<&std::path::Path>,
) -> Option<Option<reqwest::Client>> {
    if proxy.is_none() && ca.is_none() {
        return Some(None);
    }
    let mut b = base_builder();
    if let Some(p) = proxy {
        match reqwest::Proxy::all(p) {
            Ok(p) => b = b.proxy(p),
            Err(_) => {
                c.fail(
                    &format!("{path}.proxy"),
                    // A proxy's own credentials may sit in its URL (it is
                    // never shown on pages), but not in an error message.
                    format!(
                        "`{}` is not a proxy URL like http://proxy:3128",
                        ronda_common::url::redact_userinfo(p)
                    ),
                );
                return None;
            }
        }
    }
    if let Some(ca) = ca {
        let cert = std::fs::read(ca)
            .map_err(|e| e.to_string())
            .and_then(|pem| reqwest::Certificate::from_pem(&pem).map_err(|e| e.to_string()));
        match cert {
            Ok(cert) => b = b.add_root_certificate(cert),
            Err(e) => {
                c.fail(
                    &format!("{path}.ca_file"),
                    format!("cannot use {}: {e}", ca.display()),
                );
                return None;
            }
        }
    }
    b.build()
        .map(Some)
        .map_err(|e| c.fail(path, format!("cannot set up the HTTP client: {e}")))
        .ok()
}

/// What one check saw.
struct Seen {
    status: u16,
    latency: Duration,
    body_matched: Option<bool>,
    tls_days_left: Option<i32>,
}

impl ServiceCheck {
    pub async fn probe(&self, shared: &Clients) -> Service {
        let client = self.client.clone().unwrap_or_else(|| shared.pick(false));
        let result = with_deadline(self.timeout, self.fetch(&client)).await;
        let mut s = Service {
            id: self.id.clone(),
            url: self.url.clone(),
            ..Service::default()
        };
        match result {
            Ok(seen) => {
                s.reachable = true;
                s.status = Some(seen.status);
                s.status_ok = Some(match self.expect_status {
                    Some(want) => seen.status == want,
                    None => (200..400).contains(&seen.status),
                });
                s.latency_ms = Some(u32::try_from(seen.latency.as_millis()).unwrap_or(u32::MAX));
                s.body_matched = seen.body_matched;
                s.tls_days_left = seen.tls_days_left;
            }
            Err(e) => s.error = Some(e.to_string()),
        }
        s
    }

    async fn fetch(&self, client: &reqwest::Client) -> Result<Seen, ProbeError> {
        let mut req = client.get(&self.url).timeout(self.timeout);
        match &self.auth {
            ServiceAuth::None => {}
            ServiceAuth::Basic(c) => req = req.basic_auth(&c.username, Some(c.password.expose())),
            ServiceAuth::Bearer(t) => {
                let mut v =
                    HeaderValue::from_str(&format!("Bearer {}", t.expose())).map_err(|_| {
                        ProbeError::Setup("bearer token is not a valid header value".into())
                    })?;
                v.set_sensitive(true);
                req = req.header(AUTHORIZATION, v);
            }
        }
        let start = Instant::now();
        let resp = req
            .send()
            .await
            .map_err(|e| ProbeError::from_reqwest(e, self.timeout))?;
        let latency = start.elapsed();
        let status = resp.status().as_u16();
        let tls_days_left = resp
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|i| i.peer_certificate())
            .and_then(|der| days_left(der, Timestamp::now()));
        let body_matched = match &self.expect_body {
            Some(text) => Some(
                read_capped(resp, MAX_BODY, self.timeout)
                    .await?
                    .contains(text.as_str()),
            ),
            None => None,
        };
        Ok(Seen {
            status,
            latency,
            body_matched,
            tls_days_left,
        })
    }
}

/// Whole days from `now` until the certificate's notAfter; negative once expired.
pub fn days_left(der: &[u8], now: Timestamp) -> Option<i32> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let not_after = cert.validity().not_after.timestamp();
    i32::try_from((not_after - now.as_second()).div_euclid(86_400)).ok()
}

#[cfg(test)]
mod tests {
    use crate::config::AgentConfig;

    fn load(services: &str) -> Result<AgentConfig, String> {
        let text = format!(
            "office: o\nagent: a\nbroker:\n  url: mqtt://127.0.0.1:1883\nservices:\n{services}"
        );
        AgentConfig::from_text(std::path::Path::new("agent.yaml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn a_service_url_with_credentials_is_refused_pointing_at_the_password_fields() {
        let err = load("  - id: sipd\n    url: http://admin:rahasia@10.0.0.9/\n").unwrap_err();
        assert!(err.contains("agent.yaml:7:10: services.0.url: "), "{err}");
        assert!(err.contains("`username`"), "{err}");
        assert!(err.contains("`password_file`"), "{err}");
        assert!(!err.contains("rahasia"), "{err}");
        // The same check, with the credentials where they belong, is fine
        // and its URL (the one pages show) holds no secret.
        let ok = load(
            "  - id: sipd\n    url: http://10.0.0.9/\n    username: admin\n    password: rahasia\n",
        )
        .unwrap();
        assert_eq!(ok.devices.services[0].url, "http://10.0.0.9");
        assert!(!format!("{:?}", ok.devices.services).contains("rahasia"));
        // A proxy may carry its own credentials, but a broken one is not
        // printed with them.
        let err =
            load("  - id: sipd\n    url: http://10.0.0.9/\n    proxy: http://u:rahasia@[bad\n")
                .unwrap_err();
        assert!(err.contains("services.0.proxy: `http://***@[bad`"), "{err}");
        assert!(!err.contains("rahasia"), "{err}");
    }
}
