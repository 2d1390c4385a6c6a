//! Pieces shared by the device sections of `agent.yaml`: ids, URLs,
//! credentials and per-device timeouts.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::conffile::{secret_in, Checker, Dur, Secret};
use crate::config::duration_in;
use crate::http::Creds;

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
            if reqwest::Url::parse(u).is_err() {
                c.fail(path, format!("`{u}` is not a valid URL"));
                return None;
            }
            Some(u.trim_end_matches('/').to_owned())
        }
        Some(u) => {
            c.fail(path, format!("`{u}` must start with http:// or https://"));
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
