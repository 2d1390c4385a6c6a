//! Pieces shared by the device sections of `agent.yaml`: ids, URLs,
//! credentials and per-device timeouts.

use ronda_common::url::{has_userinfo, redact_userinfo};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::http::Creds;
use ronda_common::conf::duration_in;
use ronda_common::conf::{secret_in, Checker, Dur, Secret};

/// Default deadline for one device's whole probe.
pub const DEFAULT_DEVICE_TIMEOUT: Duration = Duration::from_secs(5);

/// A device's credentials as written: a username and one password source.
/// Device sections repeat these four keys (serde cannot flatten a struct into
/// one that denies unknown fields) and hand them over in this struct.
#[derive(Debug, Clone, Default)]
pub struct RawCreds {
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
    pub password_env: Option<String>,
}

impl RawCreds {
    pub fn check(&self, c: &mut Checker<'_>, path: &str) -> Option<Option<Creds>> {
        let password = secret_in(
            c,
            &format!("{path}.password"),
            &self.password,
            &self.password_file,
            &self.password_env,
        );
        match (&self.username, password) {
            (Some(u), p) => Some(Some(Creds {
                username: u.clone(),
                password: p.unwrap_or_else(|| Secret::new("")),
            })),
            (None, Some(_)) => {
                c.fail(&format!("{path}.username"), "a password needs a username");
                None
            }
            (None, None) => Some(None),
        }
    }
}

/// A device id: the same rule as office and agent ids, so it can be used in
/// topics and URLs as it is.
pub fn device_id(c: &mut Checker<'_>, path: &str, id: &str) -> Option<String> {
    ronda_wire::Id::new(id.to_owned())
        .map(|i| i.as_str().to_owned())
        .map_err(|e| c.fail(path, e.to_string()))
        .ok()
}

/// Refuse a second use of the same id within one section.
pub fn unique(c: &mut Checker<'_>, path: &str, seen: &mut Vec<String>, id: &str) {
    if seen.iter().any(|s| s == id) {
        c.fail(path, format!("`{id}` is used twice; ids must be unique"));
    } else {
        seen.push(id.to_owned());
    }
}

/// An `http://` or `https://` base URL, required for HTTP devices.
pub fn http_url(c: &mut Checker<'_>, path: &str, url: Option<&str>) -> Option<String> {
    match url {
        None => {
            c.fail(path, "this kind needs a url, like http://192.168.1.64");
            None
        }
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
            let Ok(parsed) = reqwest::Url::parse(u) else {
                c.fail(path, format!("`{}` is not a valid URL", redact_userinfo(u)));
                return None;
            };
            // The URL is shown on pages and in reports: no secret in it.
            if has_userinfo(u) || !parsed.username().is_empty() || parsed.password().is_some() {
                c.fail(
                    path,
                    format!(
                        "`{}` carries a `user:password@` part, and the URL is shown on \
                         pages; take it out and use the `username` and \
                         `password_file` (or `password_env`) keys",
                        redact_userinfo(u)
                    ),
                );
                return None;
            }
            Some(u.trim_end_matches('/').to_owned())
        }
        Some(u) => {
            c.fail(
                path,
                format!(
                    "`{}` must start with http:// or https://",
                    redact_userinfo(u)
                ),
            );
            None
        }
    }
}

/// A per-device deadline, from 100 ms to 2 minutes.
pub fn timeout(
    c: &mut Checker<'_>,
    path: &str,
    value: Option<Dur>,
    default: Duration,
) -> Option<Duration> {
    if let Some(d) = value {
        if d.0 < Duration::from_millis(100) {
            c.fail(path, "expected at least 100ms");
            return None;
        }
    }
    duration_in(c, path, value, default, 0..=120)
}

/// Channel ids are often numbers in YAML (`id: 1`); take either.
pub fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        S(String),
        N(u64),
    }
    Ok(match Either::deserialize(d)? {
        Either::S(s) => s,
        Either::N(n) => n.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `http_url` on `url`, as if written at `plugs.0.url`; the error text.
    fn url(url: &str) -> Result<String, String> {
        let text = format!("plugs:\n  - id: p\n    url: {url}\n");
        let source = ronda_common::conf::Source::from_text(std::path::Path::new("a.yaml"), text);
        let mut c = source.checker();
        let out = http_url(&mut c, "plugs.0.url", Some(url));
        c.finish().map_err(|e| e.to_string())?;
        Ok(out.unwrap())
    }

    #[test]
    fn credentials_in_a_device_url_are_refused_and_never_echoed() {
        for u in [
            "http://admin:rahasia@10.0.0.9/",
            "https://admin:rahasia@10.0.0.9:8443/ISAPI",
            "http://:rahasia@10.0.0.9",
            "http://admin:rahasia@10.0.0.9@10.0.0.10/",
        ] {
            let err = url(u).unwrap_err();
            assert!(err.contains("a.yaml:3:10: plugs.0.url: "), "{u}: {err}");
            assert!(err.contains("`username`"), "{u}: {err}");
            assert!(err.contains("`password_file`"), "{u}: {err}");
            assert!(!err.contains("rahasia"), "{u}: {err}");
            assert!(!err.contains("admin"), "{u}: {err}");
        }
        // A user name alone, and an empty user-info part: still refused, as
        // the text would be shown as written.
        for u in [
            "http://admin@10.0.0.9/",
            "http://@10.0.0.9",
            "http://@10.0.0.9/x",
        ] {
            let err = url(u).unwrap_err();
            assert!(err.contains("plugs.0.url: "), "{u}: {err}");
        }
    }

    #[test]
    fn a_refused_url_is_shown_without_its_password() {
        // The scheme is wrong and the URL cannot be parsed: neither message
        // may print what is before the `@`.
        for u in [
            "ftp://admin:rahasia@10.0.0.9/",
            "HTTP://admin:rahasia@10.0.0.9/",
            "admin:rahasia@10.0.0.9",
            "http://admin:rah asia@10.0.0.9/",
            "http://admin:rahasia@[not-an-ip/",
        ] {
            let err = url(u).unwrap_err();
            assert!(!err.contains("rah"), "{u}: {err}");
            assert!(err.contains("***@"), "{u}: {err}");
        }
    }

    #[test]
    fn an_at_sign_after_the_host_is_not_a_credential() {
        assert_eq!(
            url("http://10.0.0.9/mail/a@b").unwrap(),
            "http://10.0.0.9/mail/a@b"
        );
        assert_eq!(
            url("http://10.0.0.9?to=a@b").unwrap(),
            "http://10.0.0.9?to=a@b"
        );
        assert_eq!(url("http://10.0.0.9#a@b").unwrap(), "http://10.0.0.9#a@b");
        assert_eq!(url("https://10.0.0.9/").unwrap(), "https://10.0.0.9");
    }
}
