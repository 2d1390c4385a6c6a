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

use crate::conffile::{lazy_secret_in, Checker, Dur, LazySecret, Secret, SecretError};
use crate::config::duration_in;
use crate::devconf::{has_userinfo, redact_userinfo};

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
        // `user:password@host`, and printed wherever the URL is.
        if has_userinfo(url) {
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
                    .map_err(|_| format!("`{p}` is not a port number"))?;
                (h, port)
            }
            _ => (rest, if tls { 8883 } else { 1883 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains('/') {
            return Err(format!("`{url}` has no host"));
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
mod tests {
    use super::*;

    #[test]
    fn parses_broker_urls() {
        let u = BrokerUrl::parse("mqtt://127.0.0.1:1884").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.tls), ("127.0.0.1", 1884, false));
        assert_eq!(
            BrokerUrl::parse("mqtts://broker.example").unwrap().port,
            8883
        );
        assert_eq!(BrokerUrl::parse("mqtt://[::1]:1883").unwrap().host, "::1");
        assert!(BrokerUrl::parse("http://x").is_err());
        assert!(BrokerUrl::parse("mqtt://x:notaport").is_err());
        assert!(BrokerUrl::parse("mqtt://").is_err());
    }

    fn broker(password_line: &str) -> BrokerConfig {
        let text =
            format!("broker:\n  url: mqtt://127.0.0.1:1\n  username: u\n  {password_line}\n");
        let source = crate::conffile::Source::from_text(std::path::Path::new("a.yaml"), text);
        let raw: std::collections::BTreeMap<String, RawBroker> = source.parse().unwrap();
        let mut c = source.checker();
        let b = raw["broker"].check("broker", &mut c).unwrap();
        c.finish().unwrap();
        b
    }

    #[test]
    fn the_password_is_read_when_the_connection_is_set_up() {
        let unset = broker("password_env: RONDA_TEST_LINK_NEVER_SET");
        let err = options("c", &unset, None, 1024).unwrap_err().to_string();
        assert_eq!(
            err,
            "a.yaml: broker.password: environment variable RONDA_TEST_LINK_NEVER_SET is not set"
        );
        let literal = broker("password: hunter2");
        assert!(!format!("{literal:?}").contains("hunter2"), "{literal:?}");
        let o = options("c", &literal, None, 1024).unwrap();
        assert_eq!(o.credentials().map(|l| l.password), Some("hunter2".into()));
    }

    /// Check a `broker:` section (or any section at `path`) written as YAML.
    fn check_at(path: &str, body: &str) -> Result<BrokerConfig, String> {
        let mut text = String::new();
        let mut indent = String::new();
        for key in path.split('.') {
            text += &format!("{indent}{key}:\n");
            indent += "  ";
        }
        for line in body.lines() {
            text += &format!("{indent}{line}\n");
        }
        let source = crate::conffile::Source::from_text(std::path::Path::new("a.yaml"), text);
        let raw: serde_json::Value = source.parse().map_err(|e| e.to_string())?;
        let raw = path.split('.').fold(&raw, |v, k| &v[k]);
        let raw: RawBroker = serde_json::from_value(raw.clone()).map_err(|e| e.to_string())?;
        let mut c = source.checker();
        let b = raw.check(path, &mut c);
        c.finish().map_err(|e| e.to_string())?;
        Ok(b.unwrap())
    }

    fn check(body: &str) -> Result<BrokerConfig, String> {
        check_at("broker", body)
    }

    const WITH_PASSWORD: &str = "username: dinkes/kantor-utama\npassword: rahasia-mqtt";

    #[test]
    fn a_password_over_plain_mqtt_to_another_host_is_refused_naming_broker_url() {
        for url in [
            "mqtt://10.0.0.5:1883",
            "mqtt://10.0.0.5",
            "mqtt://broker.kotim.go.id:1883",
            // Looks like loopback, is a name anyone can register.
            "mqtt://127.0.0.1.evil.example",
            "mqtt://localhost.evil.example:1883",
            "mqtt://[fe80::1]:1883",
            "mqtt://0.0.0.0:1883",
        ] {
            let err = check(&format!("url: {url}\n{WITH_PASSWORD}")).unwrap_err();
            assert!(err.contains("a.yaml:2:8: broker.url: "), "{url}: {err}");
            assert!(err.contains("mqtts://"), "{url}: {err}");
            assert!(err.contains("allow_plaintext: true"), "{url}: {err}");
            assert!(!err.contains("rahasia"), "{url}: {err}");
        }
        // A user name alone is a credential too (the broker may take any
        // password, but the name is the office's identity).
        let err = check("url: mqtt://10.0.0.5:1883\nusername: dinkes/kantor-utama").unwrap_err();
        assert!(err.contains("broker.url: "), "{err}");
        // So is a password read from a file or the environment.
        let err =
            check("url: mqtt://10.0.0.5:1883\nusername: u\npassword_env: RONDA_TEST_NEVER_SET")
                .unwrap_err();
        assert!(err.contains("broker.url: "), "{err}");
    }

    #[test]
    fn the_caller_s_path_prefix_is_kept() {
        let err = check_at(
            "broker.external",
            &format!("url: mqtt://10.0.0.5:1883\n{WITH_PASSWORD}"),
        )
        .unwrap_err();
        assert!(err.contains(": broker.external.url: "), "{err}");
    }

    #[test]
    fn loopback_tls_and_anonymous_brokers_are_fine() {
        for url in [
            "mqtt://localhost:1883",
            "mqtt://LocalHost",
            "mqtt://127.0.0.1",
            "mqtt://127.0.0.1:1884",
            "mqtt://127.8.9.10:1883",
            "mqtt://[::1]:1883",
            "mqtt://[::1]",
            "mqtts://10.0.0.5:8883",
            "mqtts://broker.kotim.go.id",
        ] {
            let b = check(&format!("url: {url}\n{WITH_PASSWORD}"))
                .unwrap_or_else(|e| panic!("{url}: {e}"));
            assert!(!b.sends_password_in_clear(), "{url}");
        }
        // No credential, nothing to leak.
        let b = check("url: mqtt://10.0.0.5:1883").unwrap();
        assert!(!b.sends_password_in_clear());
    }

    #[test]
    fn allow_plaintext_lets_it_through_and_says_so_at_start() {
        let b = check(&format!(
            "url: mqtt://10.0.0.5:1883\n{WITH_PASSWORD}\nallow_plaintext: true"
        ))
        .unwrap();
        assert!(b.sends_password_in_clear());
        let logs = capture_logs(|| assert!(b.warn_if_in_clear("broker")));
        assert!(logs.contains("WARN"), "{logs}");
        assert!(logs.contains("in clear"), "{logs}");
        assert!(logs.contains("setting=\"broker\""), "{logs}");
        assert!(logs.contains("broker=mqtt://10.0.0.5:1883"), "{logs}");
        assert!(!logs.contains("rahasia"), "{logs}");
        // Over TLS, or to this machine, there is nothing to say.
        let tls = check(&format!("url: mqtts://10.0.0.5\n{WITH_PASSWORD}")).unwrap();
        assert!(capture_logs(|| assert!(!tls.warn_if_in_clear("broker"))).is_empty());
        // `false` is the default and refuses.
        let err = check(&format!(
            "url: mqtt://10.0.0.5:1883\n{WITH_PASSWORD}\nallow_plaintext: false"
        ))
        .unwrap_err();
        assert!(err.contains("broker.url: "), "{err}");
    }

    #[test]
    fn credentials_inside_the_broker_url_are_refused_and_not_echoed() {
        for url in [
            "mqtt://dinkes:rahasia@10.0.0.5:1883",
            "mqtt://dinkes:rahasia@127.0.0.1",
            "mqtts://:rahasia@broker.example",
            "mqtt://@10.0.0.5",
        ] {
            let err = check(&format!("url: {url}")).unwrap_err();
            assert!(err.contains("broker.url: "), "{url}: {err}");
            assert!(err.contains("username"), "{url}: {err}");
            assert!(!err.contains("rahasia"), "{url}: {err}");
        }
        let err = BrokerUrl::parse("http://dinkes:rahasia@x").unwrap_err();
        assert!(!err.contains("rahasia"), "{err}");
    }

    /// What `f` logs, as the agent's log format prints it.
    fn capture_logs(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buf(Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = buf.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn backoff_grows_to_its_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let waits: Vec<_> = (0..8).map(|_| b.next_delay()).collect();
        assert!(waits[0] >= Duration::from_millis(50) && waits[0] <= Duration::from_millis(100));
        assert!(waits.iter().all(|w| *w <= Duration::from_secs(2)));
        assert!(waits[7] >= Duration::from_secs(1), "{waits:?}");
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }
}
