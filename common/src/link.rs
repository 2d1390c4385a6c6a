//! One MQTT connection done right: URL, credentials, TLS, TCP_NODELAY, backoff.
//!
//! Shared by the agent and the server's ingest so both avoid the same traps:
//! rumqttc leaves Nagle on (tens of ms of latency) and reconnects with no
//! backoff at all, so every connection Ronda opens goes through here.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, EventLoop, LastWill, MqttOptions, TlsConfiguration, Transport};
use serde::Deserialize;

use crate::conf::duration_in;
use crate::conf::{lazy_secret_in, Checker, Dur, LazySecret, Secret, SecretError};
use crate::url::redact_userinfo;

/// `broker:` section as written in a config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBroker {
    /// `mqtt://host:port` or `mqtts://host:port`.
    pub url: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub password_env: Option<String>,
    /// PEM file with the CA that signed the broker's certificate. Without it
    /// `mqtts://` trusts the system's roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub keepalive: Option<Dur>,
    /// Let a user name and password go over plain `mqtt://` to another
    /// machine, where anyone on the path can read them. Only for a closed
    /// network; `run` and `check` warn at start. Without it such a broker is
    /// refused.
    #[serde(default)]
    pub allow_plaintext: bool,
}

/// A checked broker connection setting.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub url: BrokerUrl,
    pub username: Option<String>,
    /// Read when a connection is set up: `probe` and `check` never need it.
    pub password: Option<LazySecret>,
    pub ca_file: Option<PathBuf>,
    pub keepalive: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl BrokerUrl {
    pub fn parse(url: &str) -> Result<BrokerUrl, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("mqtt://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("mqtts://") {
            (true, r)
        } else {
            return Err(format!(
                "`{}` must start with mqtt:// or mqtts://",
                redact_userinfo(url)
            ));
        };
        // `mqtt://user:password@host` would be taken for a host named
        // `user:password@host`, and printed wherever the URL is. A broker URL
        // has no path, query or fragment, so any `@` at all is user-info: a
        // password may hold `/`, `?` or `#` (`mqtt://u:pa/ss@h`).
        if rest.contains('@') {
            return Err(format!(
                "`{}` holds credentials; give them in `username` and \
                 `password_file` (or `password_env`) instead",
                redact_userinfo(url)
            ));
        }
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(':') => {
                let port = p
                    .parse()
                    .map_err(|_| format!("`{}` is not a port number", redact_userinfo(p)))?;
                (h, port)
            }
            _ => (rest, if tls { 8883 } else { 1883 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains('/') {
            return Err(format!("`{}` has no host", redact_userinfo(url)));
        }
        Ok(BrokerUrl {
            host: host.to_owned(),
            port,
            tls,
        })
    }

    /// This machine: `localhost`, 127.0.0.0/8 or ::1 (also as
    /// `::ffff:127.x.y.z`). Any other name, such as `127.0.0.1.example`, is
    /// another machine.
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.to_canonical().is_loopback())
    }
}

impl BrokerConfig {
    /// A user name or password goes to another machine over plain MQTT,
    /// readable by anyone on the path. `check` lets that through only with
    /// `allow_plaintext: true`.
    pub fn sends_password_in_clear(&self) -> bool {
        (self.username.is_some() || self.password.is_some())
            && !self.url.tls
            && !self.url.is_loopback()
    }

    /// Log a warning, naming the `setting`, when this connection sends its
    /// password in clear. Returns whether it does.
    pub fn warn_if_in_clear(&self, setting: &str) -> bool {
        let clear = self.sends_password_in_clear();
        if clear {
            tracing::warn!(
                setting,
                broker = %self.url,
                allow_plaintext = true,
                "the MQTT password travels in clear to a broker on another machine; \
                 anyone on the network path can read it: use mqtts://"
            );
        }
        clear
    }
}

impl std::fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(15);

impl RawBroker {
    /// Check the section found at `path` (e.g. `broker`); report all problems.
    pub fn check(&self, path: &str, c: &mut Checker<'_>) -> Option<BrokerConfig> {
        let url = BrokerUrl::parse(&self.url)
            .map_err(|e| c.fail(&format!("{path}.url"), e))
            .ok();
        let password = lazy_secret_in(
            c,
            &format!("{path}.password"),
            &self.password,
            &self.password_file,
            &self.password_env,
        );
        if password.is_some() && self.username.is_none() {
            c.fail(&format!("{path}.username"), "a password needs a username");
        }
        let credentials = self.username.is_some()
            || self.password.is_some()
            || self.password_file.is_some()
            || self.password_env.is_some();
        if let Some(u) = &url {
            if credentials && !u.tls && !u.is_loopback() && !self.allow_plaintext {
                c.fail(
                    &format!("{path}.url"),
                    format!(
                        "`{u}` is plain MQTT to another machine: the password would \
                         travel in clear. Use mqtts://, or set `allow_plaintext: true` \
                         if the network is closed"
                    ),
                );
            }
        }
        if let Some(ca) = &self.ca_file {
            if !ca.is_file() {
                c.fail(
                    &format!("{path}.ca_file"),
                    format!("{} is not a file", ca.display()),
                );
            }
        }
        let keepalive = duration_in(
            c,
            &format!("{path}.keepalive"),
            self.keepalive,
            DEFAULT_KEEPALIVE,
            1..=65_535,
        );
        Some(BrokerConfig {
            url: url?,
            username: self.username.clone(),
            password,
            ca_file: self.ca_file.clone(),
            keepalive: keepalive?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot read CA file {path}: {error}")]
    CaFile {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("CA file {0} holds no usable certificate")]
    NoCertificate(PathBuf),
    #[error("TLS setup failed: {0}")]
    Tls(#[from] rustls::Error),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// Build options for one connection. `max_packet` bounds both directions.
pub fn options(
    client_id: &str,
    cfg: &BrokerConfig,
    will: Option<LastWill>,
    max_packet: usize,
) -> Result<MqttOptions, LinkError> {
    let mut o = MqttOptions::new(client_id, cfg.url.host.clone(), cfg.url.port);
    o.set_keep_alive(cfg.keepalive);
    o.set_max_packet_size(max_packet, max_packet);
    if let Some(user) = &cfg.username {
        let pass = cfg.password.as_ref().map(LazySecret::resolve).transpose()?;
        o.set_credentials(user.clone(), pass.as_ref().map_or("", Secret::expose));
    }
    if let Some(will) = will {
        o.set_last_will(will);
    }
    if cfg.url.tls {
        o.set_transport(Transport::tls_with_config(tls_config(cfg)?));
    }
    Ok(o)
}

/// rustls with the small `ring` provider (aws-lc would double the agent's size).
fn tls_config(cfg: &BrokerConfig) -> Result<TlsConfiguration, LinkError> {
    let mut roots = rustls::RootCertStore::empty();
    match &cfg.ca_file {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|error| LinkError::CaFile {
                path: path.clone(),
                error,
            })?;
            for cert in rustls_pemfile::certs(&mut pem.as_slice()).flatten() {
                roots.add(cert)?;
            }
            if roots.is_empty() {
                return Err(LinkError::NoCertificate(path.clone()));
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // A broken system certificate must not stop the others.
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConfiguration::Rustls(Arc::new(config)))
}

/// Create the client and its event loop, with TCP_NODELAY on.
pub fn connect(options: MqttOptions, capacity: usize) -> (AsyncClient, EventLoop) {
    let (client, mut eventloop) = AsyncClient::new(options, capacity);
    let mut net = eventloop.network_options();
    net.set_tcp_nodelay(true);
    net.set_connection_timeout(10);
    eventloop.set_network_options(net);
    (client, eventloop)
}

/// Capped exponential backoff with full jitter, so that a fleet that lost its
/// broker at the same moment does not come back at the same moment.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            base,
            cap,
            attempt: 0,
        }
    }

    /// The ceiling for the next wait, before jitter.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(16)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Next wait: uniform in `[ceiling/2, ceiling]`, then the ceiling doubles.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let half = ceiling / 2;
        half + half.mul_f64(fastrand::f64())
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests;
