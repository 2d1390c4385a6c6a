//! One rendered message becomes outbox rows, one per channel: a single
//! email to every address, and one message to each Telegram chat and each
//! webhook the recipients name. Each row is sent, retried and given up on
//! by itself, so a dead webhook does not hold back the email.

use std::collections::BTreeSet;

use crate::store::sql::Transaction;
use jiff::Timestamp;
use ronda_policy::alert::Alert;
use ronda_policy::registry::Channel;
use ronda_policy::Letter;

use super::text::Rendered;
use super::{Context, MailError};
use crate::store::outbox::{self, NewMessage};

pub const EMAIL: &str = "email";
pub const TELEGRAM: &str = "telegram";
pub const WEBHOOK: &str = "webhook";

/// What one message says, and what it is about.
pub struct Message<'a> {
    pub kind: &'a str,
    pub office: Option<&'a str>,
    pub rendered: &'a Rendered,
    pub alerts: &'a [(&'a Alert, &'a Letter)],
}

/// Queue `m` for everyone in `to`; returns the rows queued to be sent. A
/// row that cannot be sent (nobody to send to, a channel not set up, a
/// name the registry no longer has) is stored dead with its reason, so that
/// it shows on the outbox page instead of vanishing.
pub fn store(
    tx: &Transaction<'_>,
    cx: &Context,
    m: &Message<'_>,
    to: &BTreeSet<String>,
    now: Timestamp,
) -> Result<usize, MailError> {
    let mut emails = BTreeSet::new();
    let mut chats = Vec::new();
    let mut hooks = Vec::new();
    for r in to {
        match Channel::of(r) {
            Some(Channel::Telegram(name)) => chats.push(name),
            Some(Channel::Webhook(name)) => hooks.push(name),
            None => {
                emails.insert(r.as_str());
            }
        }
    }
    let mut queued = 0;
    if !emails.is_empty() || to.is_empty() {
        let dead = emails
            .is_empty()
            .then_some("no recipient could be resolved");
        let r = m.rendered;
        queued += row(tx, cx, m, EMAIL, None, &emails, &r.html, dead, now)?;
    }
    if !chats.is_empty() {
        let body = crate::telegram::text::render(m.rendered);
        for name in chats {
            queued += to_one(tx, cx, m, TELEGRAM, name, &body, now)?;
        }
    }
    if !hooks.is_empty() {
        let body = webhook_body(cx, m)?;
        for name in hooks {
            queued += to_one(tx, cx, m, WEBHOOK, name, &body, now)?;
        }
    }
    Ok(queued)
}

/// Queue `m` to the chat or webhook `name` of `channel`.
fn to_one(
    tx: &Transaction<'_>,
    cx: &Context,
    m: &Message<'_>,
    channel: &str,
    name: &str,
    body: &str,
    now: Timestamp,
) -> Result<usize, MailError> {
    let dead = unsendable(cx, channel, name);
    let who: BTreeSet<String> = [format!("{channel}:{name}")].into();
    row(
        tx,
        cx,
        m,
        channel,
        Some(name),
        &who,
        body,
        dead.as_deref(),
        now,
    )
}

/// Why a message to `name` of `channel` cannot be sent: the channel is not
/// set up in server.yaml, or the registry does not name it.
fn unsendable(cx: &Context, channel: &str, name: &str) -> Option<String> {
    let registry = cx.registry.as_deref();
    let (set_up, known, what) = if channel == TELEGRAM {
        let known = registry.is_some_and(|r| r.telegram.contains_key(name));
        (cx.config.telegram.is_some(), known, "Telegram chat")
    } else {
        let known = registry.is_some_and(|r| r.webhooks.contains_key(name));
        (cx.config.webhook.is_some(), known, "webhook")
    };
    if !set_up {
        return Some(format!(
            "{channel} is not set up: server.yaml has no `{channel}:` section"
        ));
    }
    (!known).then(|| format!("the registry has no {what} `{name}`"))
}

fn webhook_body(cx: &Context, m: &Message<'_>) -> Result<String, MailError> {
    let office_id = m.office.unwrap_or("");
    let office_name = cx
        .registry
        .as_deref()
        .and_then(|r| r.offices.get(office_id))
        .map_or(office_id, |o| o.name.as_str());
    let body = crate::webhook::body::BodyCx {
        kind: m.kind,
        office_id,
        office_name,
        summary: &m.rendered.subject,
        text: &m.rendered.text,
        dashboard_url: &cx.config.dashboard_url,
        lang: cx.config.language,
    };
    Ok(crate::webhook::body::body(&body, m.alerts)?)
}

#[allow(clippy::too_many_arguments)]
fn row(
    tx: &Transaction<'_>,
    cx: &Context,
    m: &Message<'_>,
    channel: &str,
    target: Option<&str>,
    to: &impl serde::Serialize,
    body: &str,
    dead: Option<&str>,
    now: Timestamp,
) -> Result<usize, MailError> {
    let ids: Vec<i64> = m.alerts.iter().map(|(a, _)| a.id).collect();
    let message = NewMessage {
        kind: m.kind,
        channel,
        target,
        office: m.office,
        recipients: serde_json::to_string(to)?,
        subject: &m.rendered.subject,
        text: &m.rendered.text,
        html: body,
        alert_ids: serde_json::to_string(&ids)?,
        dead,
        now_ms: now.as_millisecond(),
        domain: cx.config.from.email.domain(),
    };
    outbox::queue(tx, &message)?;
    if let Some(why) = dead {
        tracing::warn!(
            office = m.office,
            kind = m.kind,
            channel,
            target,
            why,
            "message stored dead"
        );
        return Ok(0);
    }
    Ok(1)
}
