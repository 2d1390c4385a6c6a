//! The `webhook:` section of `server.yaml`: the key that signs every
//! webhook body, and how long one POST may take.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ronda_common::conf::{duration_in, lazy_secret_in, Checker, Dur, LazySecret, Secret};
use serde::Deserialize;

/// One POST (connect, send, answer) when the config does not say.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The shortest key accepted, in bytes: HMAC-SHA256's own output length, so
/// that the key is no weaker than the signature.
pub const MIN_KEY_LEN: usize = 32;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    /// The HMAC key, written inline (better kept in a file or variable).
    #[serde(default)]
    secret: Option<Secret>,
    #[serde(default)]
    secret_file: Option<PathBuf>,
    #[serde(default)]
    secret_env: Option<String>,
    /// Limit on one whole POST: connect, send and the answer.
    #[serde(default)]
    timeout: Option<Dur>,
}

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Read when the sender is made (at `run` start-up), never at load; a
    /// key shorter than [`MIN_KEY_LEN`] is refused then.
    pub key: LazySecret,
    pub timeout: Duration,
}

impl RawWebhook {
    /// `base` is unused: a key file, as every secret file in server.yaml,
    /// is named as it is (absolute, or `$CREDENTIALS_DIRECTORY/<name>`); the
    /// parameter keeps the shape of the other sections' `check`.
    pub fn check(self, c: &mut Checker<'_>, _base: &Path) -> Option<WebhookConfig> {
        let key = lazy_secret_in(
            c,
            "webhook.secret",
            &self.secret,
            &self.secret_file,
            &self.secret_env,
        );
        if key.is_none() && !c.has_problems() {
            c.fail(
                "webhook",
                "give the signing key: `secret_file` (best), `secret_env` or `secret`",
            );
        }
        let timeout = duration_in(c, "webhook.timeout", self.timeout, DEFAULT_TIMEOUT, 1..=300);
        Some(WebhookConfig {
            key: key?,
            timeout: timeout?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ronda_common::conf::Source;

    fn load(yaml: &str) -> Result<WebhookConfig, String> {
        let source = Source::from_text(Path::new("server.yaml"), yaml.to_owned());
        let raw: RawWebhook = source.parse().map_err(|e| e.to_string())?;
        let mut c = source.checker();
        let config = raw.check(&mut c, Path::new("/etc/ronda"));
        c.finish().map_err(|e| e.to_string())?;
        config.ok_or_else(|| "no config and no problem".to_owned())
    }

    #[test]
    fn file_key_and_default_timeout() {
        let config = load("secret_file: /etc/ronda/webhook-secret\n").unwrap();
        assert_eq!(config.timeout, DEFAULT_TIMEOUT);
        let debug = format!("{:?}", config.key);
        assert!(debug.contains("/etc/ronda/webhook-secret"), "{debug}");
    }

    #[test]
    fn inline_key_never_shows() {
        let config = load("secret: kunci-rahasia-yang-panjang-sekali-32b\ntimeout: 3s\n").unwrap();
        assert_eq!(config.timeout, Duration::from_secs(3));
        assert!(!format!("{config:?}").contains("kunci"));
        assert_eq!(
            config.key.resolve().unwrap().expose(),
            "kunci-rahasia-yang-panjang-sekali-32b"
        );
    }

    #[test]
    fn refused_settings() {
        let no_key = load("timeout: 3s\n").unwrap_err();
        assert!(no_key.contains("signing key"), "{no_key}");
        let two = load("secret: a\nsecret_env: B\n").unwrap_err();
        assert!(two.contains("only one"), "{two}");
        let slow = load("secret_env: B\ntimeout: 1h\n").unwrap_err();
        assert!(slow.contains("webhook.timeout"), "{slow}");
        let unknown = load("secret_env: B\nurl: http://x\n").unwrap_err();
        assert!(unknown.contains("url"), "{unknown}");
    }
}
