//! Sending what the outbox holds, one channel at a time: each channel claims
//! its own rows, tries each once, and records how it went. The live loop
//! runs the channels side by side, so a Telegram API that hangs or a
//! webhook that answers slowly never delays the email.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use super::send::{self, Row};
use super::{Context, MailError, Outcome};
use crate::store::Db;

/// One way of delivering outbox rows.
pub trait Sender: Send {
    /// The outbox's name for the channel: `email`, `telegram`, `webhook`.
    fn channel(&self) -> &'static str;
    /// How long a claim on a row lasts: twice the longest one attempt can
    /// take, so that it never runs out while the attempt may still be going.
    fn lease(&self, cx: &Context) -> Duration;
    /// One try at one row.
    fn attempt(&mut self, cx: &Context, row: &Row) -> impl Future<Output = Outcome> + Send;
    /// End of a pass (the email closes its SMTP connection).
    fn finish(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

impl Sender for send::Transport {
    fn channel(&self) -> &'static str {
        super::channels::EMAIL
    }

    fn lease(&self, cx: &Context) -> Duration {
        send::lease(&cx.config)
    }

    async fn attempt(&mut self, cx: &Context, row: &Row) -> Outcome {
        send::attempt(self, &cx.config, row).await
    }

    async fn finish(&mut self) {
        send::Transport::finish(self).await;
    }
}

/// A channel server.yaml does not set up: whatever waits for it is told so
/// and given up (a message composed before its section was taken out).
pub struct Unset(pub &'static str);

impl Sender for Unset {
    fn channel(&self) -> &'static str {
        self.0
    }

    fn lease(&self, _: &Context) -> Duration {
        Duration::from_secs(60)
    }

    async fn attempt(&mut self, _: &Context, _: &Row) -> Outcome {
        Outcome::Permanent(format!(
            "{} is not set up in server.yaml (no `{}:` section)",
            self.0, self.0
        ))
    }
}

/// Send up to a batch of `sender`'s due rows as of `now`; returns how many
/// went. Stops early when the other side asks to wait.
pub async fn drain<S: Sender>(
    db: &Db,
    cx: &Arc<Context>,
    sender: &mut S,
    now: Timestamp,
) -> Result<usize, MailError> {
    let channel = sender.channel();
    let lease = sender.lease(cx);
    let mut sent = 0;
    let mut any = false;
    for _ in 0..send::BATCH {
        let claimed = db
            .write(move |c| send::claim(c, channel, now, lease))
            .await??;
        let Some(row) = claimed else { break };
        any = true;
        let Some(row) = prepare(db, cx, row, now).await? else {
            continue;
        };
        let outcome = sender.attempt(cx, &row).await;
        let wait = matches!(outcome, Outcome::Later(..));
        sent += usize::from(outcome == Outcome::Sent);
        db.write(move |c| send::record(c, &row, outcome, now))
            .await??;
        if wait {
            break;
        }
    }
    if any {
        sender.finish().await;
    }
    Ok(sent)
}

/// A password mail gets its one-time link only now (see `onboard`); one
/// whose link is gone is recorded as not sent, and `None` returned.
async fn prepare(
    db: &Db,
    cx: &Context,
    row: Row,
    now: Timestamp,
) -> Result<Option<Row>, MailError> {
    if row.kind != crate::onboard::KIND {
        return Ok(Some(row));
    }
    let base = cx.config.dashboard_url.clone();
    let ready = db
        .write(move |c| crate::onboard::prepare(c, row, &base, now))
        .await??;
    match ready {
        Ok(row) => Ok(Some(row)),
        Err((row, why)) => {
            let outcome = Outcome::Permanent(why);
            db.write(move |c| send::record(c, &row, outcome, now))
                .await??;
            Ok(None)
        }
    }
}
