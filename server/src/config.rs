//! `server.yaml`: broker, database, HTTP and ingest settings.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Arc;

use ronda_common::conf::duration_in;
use ronda_common::conf::{
    lazy_secret_in, read_all, Checker, ConfigError, Dur, LazySecret, Secret, SecretError, Source,
};
use ronda_common::link::{BrokerConfig, RawBroker};
use ronda_policy::{Letter, Registry};
use serde::Deserialize;

use crate::http::https::TlsFiles;
use crate::http::proxy::TrustedProxies;
use crate::http::serve::Limits;
use crate::store::{sql::PgConfig, Location};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    broker: RawBrokerChoice,
    database: RawDatabase,
    #[serde(default)]
    ingest: RawIngest,
    /// Folder of letter files (`*.yaml`), relative to this file.
    #[serde(default)]
    policies: Option<PathBuf>,
    /// The office registry, relative to this file.
    #[serde(default)]
    offices: Option<PathBuf>,
    #[serde(default)]
    api: RawApi,
    /// Email; without it alerts are only shown, not sent.
    #[serde(default)]
    mail: Option<crate::mail::config::RawMail>,
    /// Alerts to Telegram chats of the registry, through the Bot API.
    #[serde(default)]
    telegram: Option<crate::telegram::config::RawTelegram>,
    /// Alerts to webhooks of the registry, signed.
    #[serde(default)]
    webhook: Option<crate::webhook::config::RawWebhook>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApi {
    /// Bearer token for the API's admin actions until user accounts exist.
    #[serde(default)]
    admin_token: Option<Secret>,
    #[serde(default)]
    admin_token_file: Option<PathBuf>,
    #[serde(default)]
    admin_token_env: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    listen: SocketAddr,
    /// Reverse proxies allowed to name the client in `X-Forwarded-For`.
    #[serde(default)]
    trusted_proxies: TrustedProxies,
    /// Speak HTTPS on `listen`, with this certificate and key.
    #[serde(default)]
    tls: Option<TlsFiles>,
    /// Plain HTTP here answers with a redirect to HTTPS (needs `tls`).
    #[serde(default)]
    redirect_listen: Option<SocketAddr>,
}

impl Default for RawHttp {
    fn default() -> Self {
        RawHttp {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            trusted_proxies: TrustedProxies::default(),
            tls: None,
            redirect_listen: None,
        }
    }
}

/// `broker:` holds either `embedded:` or `external:`. (A map rather than a
/// serde enum: yaml_serde would want enums written as `!tags`.)
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBrokerChoice {
    #[serde(default)]
    embedded: Option<EmbeddedBroker>,
    #[serde(default)]
    external: Option<RawBroker>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    /// A SQLite file, relative to the config file.
    #[serde(default)]
    path: Option<PathBuf>,
    /// Or a PostgreSQL database: `postgres://user@host/db?sslmode=require`.
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    password: Option<Secret>,
    #[serde(default)]
    password_file: Option<PathBuf>,
    #[serde(default)]
    password_env: Option<String>,
    /// The CA of the PostgreSQL server's certificate, when it is private.
    #[serde(default)]
    ca_file: Option<PathBuf>,
    #[serde(default)]
    report_retention: Option<Dur>,
    #[serde(default)]
    alert_retention: Option<Dur>,
    #[serde(default)]
    door_event_retention: Option<Dur>,
}

impl RawDatabase {
    /// The file or the PostgreSQL database, exactly one.
    fn check(&self, c: &mut Checker<'_>, base: &Path) -> Option<Location> {
        match (&self.path, &self.url) {
            (Some(path), None) => {
                if self.password.is_some()
                    || self.password_file.is_some()
                    || self.password_env.is_some()
                    || self.ca_file.is_some()
                {
                    c.fail(
                        "database",
                        "`password` and `ca_file` belong to a PostgreSQL `url`, not a `path`",
                    );
                }
                Some(Location::File(base.join(path)))
            }
            (None, Some(url)) => {
                let password = lazy_secret_in(
                    c,
                    "database.password",
                    &self.password,
                    &self.password_file,
                    &self.password_env,
                );
                match check_pg_url(url) {
                    Ok(()) => Some(Location::Postgres(PgConfig {
                        url: url.clone(),
                        password,
                        ca_file: self.ca_file.as_ref().map(|p| base.join(p)),
                    })),
                    Err(e) => {
                        c.fail("database.url", e);
                        None
                    }
                }
            }
            (Some(_), Some(_)) => {
                c.fail(
                    "database",
                    "give either `path` (SQLite) or `url` (PostgreSQL), not both",
                );
                None
            }
            (None, None) => {
                c.fail(
                    "database",
                    "give `path` (a SQLite file) or `url` (postgres://...)",
                );
                None
            }
        }
    }
}

/// A PostgreSQL URL that the driver reads, without a password in it (the
/// config is not a secret; `password_file` is).
fn check_pg_url(url: &str) -> Result<(), String> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err("expected postgres://user@host[:port]/database".into());
    }
    let config: postgres::Config = url.parse().map_err(|e| format!("{e}"))?;
    if config.get_password().is_some() {
        return Err(
            "the URL holds a password; put it in `password_file` (or `password_env`) instead"
                .into(),
        );
    }
    if config.get_dbname().is_none() {
        return Err("the URL names no database (postgres://user@host/DATABASE)".into());
    }
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIngest {
    #[serde(default)]
    max_payload_bytes: Option<usize>,
}

/// Where the server gets its MQTT traffic from.
#[derive(Debug, Clone)]
pub enum BrokerChoice {
    Embedded(EmbeddedBroker),
    External(BrokerConfig),
}

/// A checked server configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub http_listen: SocketAddr,
    /// `http.trusted_proxies`: whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
    /// `http.tls`: HTTPS on `http_listen`; paths resolved against the
    /// config file's folder. Checked at load, read again at start.
    pub http_tls: Option<TlsFiles>,
    /// `http.redirect_listen`: plain HTTP that redirects to the HTTPS one.
    pub http_redirect_listen: Option<SocketAddr>,
    /// Timeouts and the connection cap of the web listeners. Not in the
    /// file: tests set small ones.
    pub http_limits: Limits,
    pub broker: BrokerChoice,
    pub database: Location,
    /// How long history is kept: reports and presence (the latest state
    /// is always kept), closed alerts, door events. See `store::prune`.
    pub retention: crate::store::prune::Retention,
    /// Reports larger than this are rejected as `too_large`.
    pub max_payload_bytes: usize,
    pub policies_dir: Option<PathBuf>,
    pub offices_file: Option<PathBuf>,
    /// The letters to enforce and the registry, read by [`crate::letters::load`].
    pub letters: Arc<Vec<Letter>>,
    pub registry: Option<Arc<Registry>>,
    /// Read at `run` start-up: `user` commands and `check` never need it.
    pub admin_token: Option<LazySecret>,
    pub mail: Option<crate::mail::MailConfig>,
}

/// Telegram and webhooks go through the mail outbox, and take its
/// language and dashboard link: they need the `mail:` section.
fn channels(
    c: &mut Checker<'_>,
    mail: Option<crate::mail::MailConfig>,
    telegram: Option<crate::telegram::config::TelegramConfig>,
    webhook: Option<crate::webhook::config::WebhookConfig>,
) -> Option<crate::mail::MailConfig> {
    let Some(mut mail) = mail else {
        for (set, name) in [
            (telegram.is_some(), "telegram"),
            (webhook.is_some(), "webhook"),
        ] {
            if set {
                c.fail(name, "needs a `mail:` section too: every channel takes its `language` and `dashboard_url` (a `capture:` folder will do without an SMTP server)");
            }
        }
        return None;
    };
    mail.telegram = telegram;
    mail.webhook = webhook;
    Some(mail)
}

/// An admin token shorter than this is refused: it could be guessed.
pub const MIN_TOKEN_LEN: usize = 16;

pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 86_400);
/// Closed alerts and door events are evidence: two years by default.
pub const DEFAULT_EVIDENCE_RETENTION: Duration = Duration::from_secs(730 * 86_400);
/// Evidence is kept at least this long: the report after a holiday is read
/// weeks later, and questions about it come months later.
pub const MIN_EVIDENCE_DAYS: u64 = 90;
/// At most about a century: `36500d` means "keep".
pub const MAX_RETENTION_DAYS: u64 = 36_500;
pub const DEFAULT_MAX_PAYLOAD: usize = 256 * 1024;
/// The broker accepts a little more than ingest does, so that an oversized
/// report reaches ingest and is counted instead of cutting the agent off.
pub use ronda_broker::{EmbeddedBroker, MAX_PAYLOAD as BROKER_MAX_PAYLOAD};

impl ServerConfig {
    /// An office the registry does not know (when there is one) could never
    /// sign or report: refuse it by name, listing the known ones.
    pub fn known_office(&self, office: &str) -> Result<(), String> {
        match &self.registry {
            Some(r) if !r.offices.contains_key(office) => {
                let known: Vec<&str> = r.offices.keys().map(String::as_str).collect();
                Err(format!(
                    "unknown office `{office}`; the registry has {}",
                    known.join(", ")
                ))
            }
            _ => Ok(()),
        }
    }

    /// Every secret not read at load: the external broker's and the SMTP
    /// password, the admin token, the bot token and the webhook key.
    pub fn secrets(&mut self) -> impl Iterator<Item = &mut LazySecret> {
        let broker = match &mut self.broker {
            BrokerChoice::External(b) => b.password.as_mut(),
            BrokerChoice::Embedded(_) => None,
        };
        let mut mail: Vec<&mut LazySecret> = Vec::new();
        if let Some(m) = self.mail.as_mut() {
            if let crate::mail::config::TransportConfig::Smtp(s) = &mut m.transport {
                mail.extend(s.password.as_mut());
            }
            if let Some(t) = m.telegram.as_mut() {
                mail.push(&mut t.token);
                if let crate::telegram::config::Updates::Webhook { secret } = &mut t.updates {
                    mail.push(secret);
                }
            }
            mail.extend(m.webhook.as_mut().map(|w| &mut w.key));
        }
        let database = match &mut self.database {
            Location::Postgres(pg) => pg.password.as_mut(),
            Location::File(_) => None,
        };
        broker
            .into_iter()
            .chain(mail)
            .chain(database)
            .chain(self.admin_token.as_mut())
    }

    /// Read every secret now, as `run` does at start-up before anything
    /// else, so a missing variable stops it with the setting's name.
    pub fn read_secrets(&mut self) -> Result<(), Vec<SecretError>> {
        read_all(self.secrets())?;
        match self.admin_token.as_ref().and_then(short_token) {
            Some(e) => Err(vec![e]),
            None => Ok(()),
        }
    }

    /// The secrets that cannot be read now, for `check` to warn about.
    pub fn unreadable_secrets(&mut self) -> Vec<SecretError> {
        let mut errors: Vec<SecretError> =
            self.secrets().filter_map(|s| s.resolve().err()).collect();
        errors.extend(self.admin_token.as_ref().and_then(short_token));
        errors
    }

    pub fn load(path: &Path) -> Result<ServerConfig, ConfigError> {
        let source = Source::read(path)?;
        let raw: RawConfig = source.parse()?;
        let mut c = source.checker();
        let config = raw.check(&mut c, path.parent().unwrap_or(Path::new(".")));
        c.finish()?;
        config.ok_or_else(|| source.error(Vec::new()))
    }

    /// Settings for tests and the demo: embedded broker and HTTP on free ports.
    pub fn local(database: PathBuf) -> ServerConfig {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        ServerConfig {
            http_listen: any,
            trusted_proxies: TrustedProxies::default(),
            http_tls: None,
            http_redirect_listen: None,
            http_limits: Limits::DEFAULT,
            broker: BrokerChoice::Embedded(EmbeddedBroker {
                listen: any,
                ..EmbeddedBroker::default()
            }),
            database: Location::File(database),
            retention: crate::store::prune::Retention {
                reports: DEFAULT_RETENTION,
                alerts: DEFAULT_EVIDENCE_RETENTION,
                door_events: DEFAULT_EVIDENCE_RETENTION,
            },
            max_payload_bytes: DEFAULT_MAX_PAYLOAD,
            policies_dir: None,
            offices_file: None,
            letters: Arc::default(),
            registry: None,
            admin_token: None,
            mail: None,
        }
    }
}

impl RawConfig {
    fn check(self, c: &mut Checker<'_>, base: &Path) -> Option<ServerConfig> {
        let broker = match (self.broker.embedded, self.broker.external) {
            (Some(_), Some(_)) => {
                c.fail("broker", "give either `embedded` or `external`, not both");
                None
            }
            (_, Some(raw)) => raw.check("broker.external", c).map(BrokerChoice::External),
            (e, None) => {
                let e = e.unwrap_or_default();
                if e.segment_bytes < 1 << 20 || e.segments < 2 {
                    c.fail(
                        "broker.embedded",
                        "segment_bytes must be at least 1048576 and segments at least 2",
                    );
                }
                Some(BrokerChoice::Embedded(e))
            }
        };
        let retention = check_retention(c, &self.database);
        let database = self.database.check(c, base);
        let max_payload = self.ingest.max_payload_bytes.unwrap_or(DEFAULT_MAX_PAYLOAD);
        if !(1024..=BROKER_MAX_PAYLOAD).contains(&max_payload) {
            c.fail(
                "ingest.max_payload_bytes",
                format!("expected 1024 to {BROKER_MAX_PAYLOAD}"),
            );
        }
        let api = &self.api;
        let admin_token = lazy_secret_in(
            c,
            "api.admin_token",
            &api.admin_token,
            &api.admin_token_file,
            &api.admin_token_env,
        );
        // One written in the file is checked now; one kept elsewhere when read.
        if api
            .admin_token
            .as_ref()
            .is_some_and(|t| t.expose().len() < MIN_TOKEN_LEN)
        {
            c.fail(
                "api.admin_token",
                format!("use at least {MIN_TOKEN_LEN} characters"),
            );
        }
        let telegram = self.telegram.and_then(|t| t.check(c, base));
        let webhook = self.webhook.and_then(|w| w.check(c, base));
        let mail = match self.mail {
            Some(m) => Some(m.check(c, base)?),
            None => None,
        };
        let mail = channels(c, mail, telegram, webhook);
        let http_tls = check_https(&self.http, c, base);
        Some(ServerConfig {
            mail,
            policies_dir: self.policies.map(|p| base.join(p)),
            offices_file: self.offices.map(|p| base.join(p)),
            letters: Arc::default(),
            registry: None,
            admin_token,
            http_listen: self.http.listen,
            trusted_proxies: self.http.trusted_proxies,
            http_tls,
            http_redirect_listen: self.http.redirect_listen,
            http_limits: Limits::DEFAULT,
            broker: broker?,
            // A relative database path is relative to the config file.
            database: database?,
            retention: retention?,
            max_payload_bytes: max_payload,
        })
    }
}

/// The three `database.*_retention` keys, each checked on its own.
fn check_retention(
    c: &mut Checker<'_>,
    db: &RawDatabase,
) -> Option<crate::store::prune::Retention> {
    let reports = duration_in(
        c,
        "database.report_retention",
        db.report_retention,
        DEFAULT_RETENTION,
        3_600..=10 * 365 * 86_400,
    );
    let mut evidence = |key: &str, value: Option<Dur>| {
        let Some(Dur(d)) = value else {
            return Some(DEFAULT_EVIDENCE_RETENTION);
        };
        let days = |n: u64| Duration::from_secs(n * 86_400);
        if d < days(MIN_EVIDENCE_DAYS) || d > days(MAX_RETENTION_DAYS) {
            c.fail(
                key,
                format!(
                    "expected {MIN_EVIDENCE_DAYS}d to {MAX_RETENTION_DAYS}d, like `730d` (two years, the default); \
                     this is evidence, kept at least {MIN_EVIDENCE_DAYS} days"
                ),
            );
            return None;
        }
        Some(d)
    };
    let alerts = evidence("database.alert_retention", db.alert_retention);
    let door_events = evidence("database.door_event_retention", db.door_event_retention);
    Some(crate::store::prune::Retention {
        reports: reports?,
        alerts: alerts?,
        door_events: door_events?,
    })
}

/// `http.tls` and `http.redirect_listen`. The certificate and key are read
/// now, so `check` and `run` name a missing file, a file without PEM in it
/// or a key that does not match the certificate.
fn check_https(http: &RawHttp, c: &mut Checker<'_>, base: &Path) -> Option<TlsFiles> {
    let tls = http.tls.as_ref().map(|t| TlsFiles {
        cert_file: base.join(&t.cert_file),
        key_file: base.join(&t.key_file),
    });
    if let Some(t) = &tls {
        if let Err(e) = t.acceptor(http.listen) {
            let (key, message) = t.problem(&e);
            c.fail(key, message);
        }
    }
    if let Some(r) = http.redirect_listen {
        let l = http.listen;
        let overlap = r.ip() == l.ip() || r.ip().is_unspecified() || l.ip().is_unspecified();
        if tls.is_none() {
            c.fail(
                "http.redirect_listen",
                "needs `http.tls`: it sends browsers to HTTPS on `http.listen`",
            );
        } else if r.port() == l.port() && r.port() != 0 && overlap {
            c.fail("http.redirect_listen", "must differ from http.listen");
        }
    }
    tls
}

/// A readable admin token that is too short.
fn short_token(token: &LazySecret) -> Option<SecretError> {
    let value = token.resolve().ok()?;
    (value.expose().len() < MIN_TOKEN_LEN).then(|| SecretError {
        at: token.at().map(str::to_owned),
        reason: format!("use at least {MIN_TOKEN_LEN} characters"),
    })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) use tests::tests_support;
