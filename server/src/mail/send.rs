//! The sender: delivers queued outbox messages through SMTP (or into the
//! capture folder), each send inside its own timeout, with capped
//! exponential backoff and jitter for transient failures. A permanent
//! failure (5xx) or too many attempts makes a message dead; the others go on.

use std::path::PathBuf;
use std::time::Duration;

use crate::store::sql::Connection;
use jiff::Timestamp;
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;

use super::config::{MailConfig, TransportConfig};
use super::smtp::Smtp;
use super::{MailError, Outcome};
use crate::store::outbox;

/// Most messages tried per step.
pub const BATCH: usize = 50;
/// After this many failed attempts a message is dead.
pub const MAX_ATTEMPTS: u32 = 12;
const FIRST_RETRY: Duration = Duration::from_secs(5);
const MAX_RETRY: Duration = Duration::from_secs(3600);
/// A capture folder write has this long.
const CAPTURE_TIMEOUT: Duration = Duration::from_secs(10);

pub enum Transport {
    Smtp(Box<Smtp>),
    Capture(PathBuf),
}

impl Transport {
    pub fn new(config: &MailConfig) -> Result<Transport, MailError> {
        match &config.transport {
            TransportConfig::Capture(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| MailError::Capture(dir.clone(), e))?;
                Ok(Transport::Capture(dir.clone()))
            }
            TransportConfig::Smtp(s) => Ok(Transport::Smtp(Box::new(Smtp::new(s.clone())))),
        }
    }

    async fn send(&mut self, id: i64, kind: &str, message: Message) -> Outcome {
        match self {
            Transport::Smtp(smtp) => {
                // lettre's own timeout covers the connection only; a server
                // that stalls mid-DATA would hang a send for ever.
                let timeout = smtp.timeout();
                match tokio::time::timeout(timeout, smtp.send(&message)).await {
                    Ok(outcome) => outcome,
                    Err(_) => {
                        smtp.reset();
                        Outcome::Transient(format!("no answer within {timeout:?}"))
                    }
                }
            }
            Transport::Capture(dir) => {
                let path = dir.join(format!("{id:06}-{kind}.eml"));
                let bytes = message.formatted();
                let write = tokio::task::spawn_blocking(move || {
                    std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))
                });
                match tokio::time::timeout(CAPTURE_TIMEOUT, write).await {
                    Ok(Ok(Ok(()))) => Outcome::Sent,
                    Ok(Ok(Err(e))) => Outcome::Transient(e),
                    Ok(Err(e)) => Outcome::Transient(e.to_string()),
                    Err(_) => Outcome::Transient("capture write timed out".into()),
                }
            }
        }
    }

    /// End of a pass: close the SMTP connection.
    pub async fn finish(&mut self) {
        if let Transport::Smtp(smtp) = self {
            let timeout = smtp.timeout();
            if tokio::time::timeout(timeout, smtp.close()).await.is_err() {
                smtp.reset();
            }
        }
    }
}

/// A queued message, as stored.
pub use crate::store::outbox::Queued as Row;

/// One try at one message.
pub async fn attempt(transport: &mut Transport, config: &MailConfig, row: &Row) -> Outcome {
    match build(row, config) {
        Ok(m) => transport.send(row.id, &row.kind, m).await,
        Err(e) => Outcome::Permanent(e),
    }
}

/// Claim the oldest message of `channel` due at `now` for one attempt, for
/// `lease` (see [`outbox::claim`]).
pub fn claim(
    conn: &Connection,
    channel: &str,
    now: Timestamp,
    lease: Duration,
) -> Result<Option<Row>, MailError> {
    let now_ms = now.as_millisecond();
    let until = now_ms.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 4));
    Ok(outbox::claim(conn, channel, now_ms, until)?)
}

/// How long a claim lasts: twice the longest one attempt can take, so that
/// it never runs out while its sender may still be sending.
pub fn lease(config: &MailConfig) -> Duration {
    let attempt = match &config.transport {
        TransportConfig::Smtp(s) => s.timeout,
        TransportConfig::Capture(_) => CAPTURE_TIMEOUT,
    };
    attempt.saturating_mul(2)
}

fn build(row: &Row, config: &MailConfig) -> Result<Message, String> {
    let mut b = Message::builder()
        .from(config.from.clone())
        .subject(row.subject.clone())
        .message_id(Some(row.message_id.clone()));
    if let Some(r) = &config.reply_to {
        b = b.reply_to(r.clone());
    }
    for to in &row.recipients {
        let mailbox: Mailbox = to.parse().map_err(|e| format!("recipient `{to}`: {e}"))?;
        b = b.to(mailbox);
    }
    b.multipart(MultiPart::alternative_plain_html(
        row.text.clone(),
        row.html.clone(),
    ))
    .map_err(|e| e.to_string())
}

pub fn record(
    conn: &Connection,
    row: &Row,
    outcome: Outcome,
    now: Timestamp,
) -> crate::store::sql::Result<()> {
    let now_ms = now.as_millisecond();
    let attempts = row.attempts + 1;
    match outcome {
        Outcome::Sent => {
            tracing::info!(message = row.id, kind = %row.kind, channel = %row.channel, to = row.recipients.len(), "message sent");
            outbox::sent(conn, row.id, attempts, now_ms)?;
        }
        Outcome::Permanent(e) => {
            tracing::error!(message = row.id, channel = %row.channel, error = %e, "message refused for good; marked dead");
            outbox::dead(conn, row.id, attempts, &e)?;
        }
        Outcome::Transient(e) | Outcome::Later(e, _) if attempts >= MAX_ATTEMPTS => {
            tracing::error!(message = row.id, channel = %row.channel, error = %e, attempts, "message still failing; marked dead");
            outbox::dead(conn, row.id, attempts, &e)?;
        }
        Outcome::Transient(e) => {
            let wait = backoff(attempts);
            tracing::warn!(message = row.id, channel = %row.channel, error = %e, retry_in_s = wait.as_secs(), "message not sent; will retry");
            let next = now_ms + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
            outbox::retry(conn, row.id, attempts, &e, next)?;
        }
        Outcome::Later(e, wait) => {
            // Asked to wait: that long and no less, without jitter or growth.
            tracing::warn!(message = row.id, channel = %row.channel, error = %e, retry_in_s = wait.as_secs(), "message not sent; asked to wait");
            let next = now_ms + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
            outbox::retry(conn, row.id, attempts, &e, next)?;
        }
    }
    Ok(())
}

/// 5 s, 10 s, 20 s … capped at an hour, each with up to a quarter more at
/// random so that many messages failing together do not retry together.
pub fn backoff(attempts: u32) -> Duration {
    let base = FIRST_RETRY
        .saturating_mul(1 << attempts.saturating_sub(1).min(16))
        .min(MAX_RETRY);
    base + base.mul_f64(fastrand::f64() * 0.25)
}
