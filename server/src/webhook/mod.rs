//! Signed webhooks: one POST of a JSON body per outbox message, with an
//! HMAC-SHA256 signature over the timestamp and the body, as
//! docs/webhooks.md tells receivers. This module signs and sends; the outbox
//! decides what to send and when to try again from the [`Outcome`].

pub mod body;
pub mod config;

use std::fmt;
use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;
use sha2::Sha256;
use tokio::time::Instant;

use crate::mail::Outcome;
pub use body::{body, BodyCx};
pub use config::{RawWebhook, WebhookConfig};

/// The most of an answer's body read: enough for a receiver's error text,
/// and a receiver streaming forever cannot hold the sender.
pub const ANSWER_CAP: usize = 4096;

/// The most of an answer's body kept in a dead message's reason.
const REASON_CHARS: usize = 200;

/// The longest `Retry-After` honoured: a receiver cannot park a message for
/// days by asking.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook key: {0}")]
    Key(#[from] ronda_common::conf::SecretError),
    #[error("{at}: the webhook key is {len} bytes; use at least {min}")]
    ShortKey { at: String, len: usize, min: usize },
    #[error("webhook client: {0}")]
    Client(String),
}

/// `sha256=<lowercase hex HMAC-SHA256(key, "<timestamp>.<body>")>`.
pub fn sign(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length; this never fails.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 2 * digest.len());
    out.push_str("sha256=");
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Sends signed POSTs. Its `Debug` shows no key.
pub struct WebhookSender {
    client: reqwest::Client,
    key: Vec<u8>,
    timeout: Duration,
}

impl fmt::Debug for WebhookSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSender")
            .field("key", &"<redacted>")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl WebhookSender {
    /// Reads the key now; refuses one shorter than [`config::MIN_KEY_LEN`].
    pub fn new(config: &WebhookConfig) -> Result<WebhookSender, WebhookError> {
        let key = config.key.resolve()?.expose().as_bytes().to_vec();
        if key.len() < config::MIN_KEY_LEN {
            return Err(WebhookError::ShortKey {
                at: config.key.at().unwrap_or("webhook.secret").to_owned(),
                len: key.len(),
                min: config::MIN_KEY_LEN,
            });
        }
        let client = reqwest::Client::builder()
            // A redirect is an answer like any other: a receiver that moved
            // says so to whoever reads the dead message, and the signed body
            // never goes to a host the config does not name.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Ronda/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| WebhookError::Client(e.without_url().to_string()))?;
        Ok(WebhookSender {
            client,
            key,
            timeout: config.timeout,
        })
    }

    /// The limit on one whole POST.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// POST `body` to `url` once, signed for `now`. `delivery` is the outbox
    /// message's id, the same on every attempt.
    pub async fn post(
        &self,
        url: &str,
        delivery: &str,
        body: &str,
        now: jiff::Timestamp,
    ) -> Outcome {
        let deadline = Instant::now() + self.timeout;
        let Ok(delivery) = HeaderValue::from_str(delivery) else {
            return Outcome::Permanent("the delivery id cannot be an HTTP header".into());
        };
        let timestamp = now.as_second();
        let request = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header("X-Ronda-Delivery", delivery)
            .header("X-Ronda-Timestamp", timestamp)
            .header(
                "X-Ronda-Signature",
                sign(&self.key, timestamp, body.as_bytes()),
            )
            .body(body.to_owned());
        let answer = match tokio::time::timeout_at(deadline, request.send()).await {
            Err(_) => return Outcome::Transient(self.no_answer()),
            Ok(Err(e)) => return failed(&e),
            Ok(Ok(answer)) => answer,
        };
        let status = answer.status();
        if status.is_success() {
            return Outcome::Sent;
        }
        let retry_after = retry_after(answer.headers());
        // What the answer says, as far as the cap and the time left allow:
        // the status is known, so running out of time here still decides.
        let mut said = Vec::new();
        let _ = tokio::time::timeout_at(deadline, read_capped(answer, &mut said)).await;
        classify(status, retry_after, &said)
    }

    fn no_answer(&self) -> String {
        format!("no answer within {:?}", self.timeout)
    }
}

/// A request that got no status. The URL (which may carry a gateway's own
/// token) is left out.
fn failed(e: &reqwest::Error) -> Outcome {
    if e.is_builder() {
        return Outcome::Permanent("not a URL that can be posted to".into());
    }
    let kind = if e.is_connect() {
        "cannot connect"
    } else if e.is_timeout() {
        "timed out"
    } else {
        "the request failed"
    };
    let mut why = String::new();
    let mut source = std::error::Error::source(e);
    // reqwest's own Display holds the URL; its causes (io, hyper) do not.
    while let Some(s) = source {
        why = s.to_string();
        source = s.source();
    }
    if why.is_empty() {
        Outcome::Transient(kind.to_owned())
    } else {
        Outcome::Transient(format!("{kind}: {why}"))
    }
}

async fn read_capped(mut answer: reqwest::Response, into: &mut Vec<u8>) {
    while into.len() < ANSWER_CAP {
        match answer.chunk().await {
            Ok(Some(chunk)) => {
                let room = ANSWER_CAP - into.len();
                into.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

/// A status other than 2xx, as the contract reads it.
fn classify(status: StatusCode, retry_after: Option<Duration>, said: &[u8]) -> Outcome {
    let reason = reason(status, said);
    match status.as_u16() {
        429 => match retry_after {
            Some(wait) => Outcome::Later(reason, wait),
            None => Outcome::Transient(reason),
        },
        408 | 425 | 500..=599 => Outcome::Transient(reason),
        _ => Outcome::Permanent(reason),
    }
}

/// `HTTP 404: <up to 200 characters of the answer, control characters out>`.
fn reason(status: StatusCode, said: &[u8]) -> String {
    // Line breaks and tabs become spaces, so the reason stays one line.
    let clean: String = String::from_utf8_lossy(said)
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect();
    let text: String = clean.trim().chars().take(REASON_CHARS).collect();
    let redirect = if status.is_redirection() {
        " (redirects are not followed)"
    } else {
        ""
    };
    if text.is_empty() {
        format!("HTTP {}{redirect}", status.as_u16())
    } else {
        format!("HTTP {}{redirect}: {text}", status.as_u16())
    }
}

/// The webhook channel of the outbox: each row is one signed POST to the
/// URL its registry name stands for.
impl crate::mail::deliver::Sender for WebhookSender {
    fn channel(&self) -> &'static str {
        crate::mail::channels::WEBHOOK
    }

    fn lease(&self, _: &crate::mail::Context) -> Duration {
        self.timeout().saturating_mul(2) + Duration::from_secs(1)
    }

    async fn attempt(
        &mut self,
        cx: &crate::mail::Context,
        row: &crate::mail::send::Row,
    ) -> crate::mail::Outcome {
        let name = row.target.as_deref().unwrap_or_default();
        let url = cx.registry.as_deref().and_then(|r| r.webhooks.get(name));
        let Some(url) = url else {
            return crate::mail::Outcome::Permanent(format!(
                "the registry has no webhook `{name}`"
            ));
        };
        // Signed as of now, not the pass's clock: the receiver judges
        // freshness by its own.
        self.post(url, &row.message_id, &row.html, jiff::Timestamp::now())
            .await
    }
}

#[cfg(test)]
mod tests;
