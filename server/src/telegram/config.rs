//! The `telegram:` section of `server.yaml`: the bot token, the Bot API's
//! address, the time one call may take, and how updates (button presses,
//! replies) reach the server.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ronda_common::conf::{duration_in, lazy_secret_in, Checker, Dur, LazySecret, Secret};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelegram {
    /// Inline token: discouraged, as the file is often world-readable.
    #[serde(default)]
    token: Option<Secret>,
    #[serde(default)]
    token_file: Option<PathBuf>,
    #[serde(default)]
    token_env: Option<String>,
    /// `https://api.telegram.org` by default; a local Bot API server's URL.
    #[serde(default)]
    api_base: Option<String>,
    /// Limit on one API call (a long poll adds its own wait to it).
    #[serde(default)]
    timeout: Option<Dur>,
    /// `poll` (default), `webhook` or `off`.
    #[serde(default)]
    updates: Option<String>,
    #[serde(default)]
    webhook_secret: Option<Secret>,
    #[serde(default)]
    webhook_secret_file: Option<PathBuf>,
    #[serde(default)]
    webhook_secret_env: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TelegramConfig {
    /// Read when the client is made ([`super::api::BotApi::new`]), never at load.
    pub token: LazySecret,
    /// Without a trailing `/`: the client appends `/bot<token>/<method>`.
    pub api_base: String,
    pub timeout: Duration,
    pub updates: Updates,
}

/// How the server learns of button presses and replies.
#[derive(Debug, Clone)]
pub enum Updates {
    /// `getUpdates` long polling: works behind NAT, needs no public address.
    Poll,
    /// Telegram calls the server; it proves itself with this secret in the
    /// `X-Telegram-Bot-Api-Secret-Token` header.
    Webhook { secret: LazySecret },
    /// Send only: buttons and replies are not read.
    Off,
}

pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl RawTelegram {
    /// `_base` is unused: secret files are named as `mail.smtp.password_file`
    /// names its file, and nothing else here is a path.
    pub fn check(self, c: &mut Checker<'_>, _base: &Path) -> Option<TelegramConfig> {
        let token = lazy_secret_in(
            c,
            "telegram.token",
            &self.token,
            &self.token_file,
            &self.token_env,
        );
        if self.token.is_none() && self.token_file.is_none() && self.token_env.is_none() {
            c.fail(
                "telegram.token",
                "give the bot token: token_file, token_env or token",
            );
        }
        let api_base = self.api_base.unwrap_or_else(|| DEFAULT_API_BASE.to_owned());
        let api_ok = api_base.starts_with("http://") || api_base.starts_with("https://");
        if !api_ok {
            c.fail("telegram.api_base", "must start with http:// or https://");
        }
        let timeout = duration_in(
            c,
            "telegram.timeout",
            self.timeout,
            DEFAULT_TIMEOUT,
            1..=300,
        );
        let secret = lazy_secret_in(
            c,
            "telegram.webhook_secret",
            &self.webhook_secret,
            &self.webhook_secret_file,
            &self.webhook_secret_env,
        );
        let given = self.webhook_secret.is_some()
            || self.webhook_secret_file.is_some()
            || self.webhook_secret_env.is_some();
        let updates = match (self.updates.as_deref(), secret) {
            (Some("webhook"), Some(secret)) => Some(Updates::Webhook { secret }),
            (Some("webhook"), None) => {
                if !given {
                    c.fail(
                        "telegram.webhook_secret",
                        "updates: webhook needs webhook_secret_file, webhook_secret_env or webhook_secret",
                    );
                }
                None
            }
            (None | Some("poll" | "off"), _) if given => {
                c.fail(
                    "telegram.webhook_secret",
                    "has no use unless updates: webhook",
                );
                None
            }
            (None | Some("poll"), _) => Some(Updates::Poll),
            (Some("off"), _) => Some(Updates::Off),
            (Some(other), _) => {
                c.fail(
                    "telegram.updates",
                    format!("`{other}` is not a way to read updates: poll, webhook or off"),
                );
                None
            }
        };
        Some(TelegramConfig {
            token: token?,
            api_base: api_ok.then(|| api_base.trim_end_matches('/').to_owned())?,
            timeout: timeout?,
            updates: updates?,
        })
    }
}

/// Telegram's rule for `secret_token` (setWebhook): 1–256 characters, only
/// `A-Z`, `a-z`, `0-9`, `_` and `-`. Checked when the secret is read, since
/// a file or variable is read after load. The error never shows the value.
pub fn check_webhook_secret(secret: &str) -> Result<(), String> {
    let ok_char = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    if secret.is_empty() || secret.len() > 256 {
        return Err(format!(
            "the webhook secret has {} characters; Telegram takes 1 to 256",
            secret.chars().count()
        ));
    }
    if !secret.bytes().all(ok_char) {
        return Err("the webhook secret may hold only A-Z, a-z, 0-9, _ and -".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests;
