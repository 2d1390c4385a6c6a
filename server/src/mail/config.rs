//! The `mail:` section of `server.yaml`: SMTP (or a capture folder), sender
//! addresses, language and the dashboard link.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use ronda_common::conf::{lazy_secret_in, Checker, Dur, LazySecret, Secret};
use serde::Deserialize;

use super::ca::SmtpCa;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMail {
    #[serde(default)]
    smtp: Option<RawSmtp>,
    /// Write each message as an `.eml` file here instead of sending it.
    #[serde(default)]
    capture: Option<PathBuf>,
    from: String,
    #[serde(default)]
    reply_to: Option<String>,
    /// `id` (Bahasa Indonesia, the default) or `en`.
    #[serde(default)]
    language: Option<String>,
    /// Base of the links in messages, such as `https://ronda.example.go.id`.
    #[serde(default)]
    dashboard_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: String,
    #[serde(default)]
    port: Option<u16>,
    /// `starttls` (default), `implicit` or `none`.
    #[serde(default)]
    tls: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<Secret>,
    #[serde(default)]
    password_file: Option<PathBuf>,
    #[serde(default)]
    password_env: Option<String>,
    /// Limit on one whole send: connect, every command and the data.
    #[serde(default)]
    timeout: Option<Dur>,
    /// PEM file with the CA that signed the mail server's certificate (a
    /// regency's private CA). Without it the system's roots are trusted.
    #[serde(default)]
    ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    pub transport: TransportConfig,
    pub from: Mailbox,
    pub reply_to: Option<Mailbox>,
    pub language: Lang,
    pub dashboard_url: String,
    /// Alerts to Telegram chats too (server.yaml's `telegram:` section).
    pub telegram: Option<crate::telegram::config::TelegramConfig>,
    /// Alerts to webhooks too (server.yaml's `webhook:` section).
    pub webhook: Option<crate::webhook::config::WebhookConfig>,
}

#[derive(Debug, Clone)]
pub enum TransportConfig {
    Smtp(SmtpConfig),
    Capture(PathBuf),
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub username: Option<String>,
    /// Read when mail is sent (and at `run` start-up), never at load.
    pub password: Option<LazySecret>,
    pub timeout: Duration,
    /// `ca_file`, read and checked at load: the only CA trusted for TLS.
    pub ca: Option<Arc<SmtpCa>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// TLS from the first byte (port 465).
    Implicit,
    /// Plain, then STARTTLS, which is required (port 587).
    StartTls,
    /// No TLS: only for a relay on the same machine or network.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Id,
    En,
}

pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(30);

impl RawMail {
    pub fn check(self, c: &mut Checker<'_>, base: &Path) -> Option<MailConfig> {
        let transport = match (self.smtp, self.capture) {
            (Some(_), Some(_)) => {
                c.fail("mail", "give either `smtp` or `capture`, not both");
                None
            }
            (None, None) => {
                c.fail(
                    "mail",
                    "give `smtp` (a server to send through) or `capture` (a folder)",
                );
                None
            }
            (None, Some(dir)) => Some(TransportConfig::Capture(base.join(dir))),
            (Some(s), None) => s.check(c, base).map(TransportConfig::Smtp),
        };
        let from = mailbox(c, "mail.from", &self.from);
        let reply_to = self
            .reply_to
            .as_deref()
            .and_then(|r| mailbox(c, "mail.reply_to", r));
        let language = match self.language.as_deref() {
            None | Some("id") => Some(Lang::Id),
            Some("en") => Some(Lang::En),
            Some(other) => {
                c.fail(
                    "mail.language",
                    format!("`{other}` is not a language: id or en"),
                );
                None
            }
        };
        let dashboard_url = self
            .dashboard_url
            .unwrap_or_else(|| "http://127.0.0.1:8080".into());
        if !(dashboard_url.starts_with("http://") || dashboard_url.starts_with("https://")) {
            c.fail("mail.dashboard_url", "must start with http:// or https://");
        }
        Some(MailConfig {
            transport: transport?,
            from: from?,
            reply_to,
            language: language?,
            dashboard_url: dashboard_url.trim_end_matches('/').to_owned(),
            telegram: None,
            webhook: None,
        })
    }
}

impl RawSmtp {
    fn check(self, c: &mut Checker<'_>, base: &Path) -> Option<SmtpConfig> {
        let tls = match self.tls.as_deref() {
            None | Some("starttls") => Some(Tls::StartTls),
            Some("implicit") => Some(Tls::Implicit),
            Some("none") => Some(Tls::None),
            Some(other) => {
                c.fail(
                    "mail.smtp.tls",
                    format!("`{other}` is not a TLS mode: starttls, implicit or none"),
                );
                None
            }
        }?;
        let password = lazy_secret_in(
            c,
            "mail.smtp.password",
            &self.password,
            &self.password_file,
            &self.password_env,
        );
        if password.is_some() && self.username.is_none() {
            c.fail("mail.smtp.username", "a password needs a username");
        }
        let ca = self.ca_file.as_ref().and_then(|f| {
            if tls == Tls::None {
                c.fail("mail.smtp.ca_file", "has no use with tls: none");
                return None;
            }
            super::ca::load(&base.join(f))
                .map_err(|e| c.fail("mail.smtp.ca_file", e.to_string()))
                .ok()
        });
        let default_port = match tls {
            Tls::Implicit => 465,
            Tls::StartTls => 587,
            Tls::None => 25,
        };
        Some(SmtpConfig {
            host: self.host,
            port: self.port.unwrap_or(default_port),
            tls,
            username: self.username,
            password,
            timeout: self.timeout.map_or(DEFAULT_SEND_TIMEOUT, |d| d.0),
            ca: ca.map(Arc::new),
        })
    }
}

fn mailbox(c: &mut Checker<'_>, path: &str, text: &str) -> Option<Mailbox> {
    text.parse()
        .map_err(|e| {
            c.fail(
                path,
                format!("`{text}` is not an address like `Ronda <ronda@example.go.id>`: {e}"),
            )
        })
        .ok()
}
