//! The JSON body of a webhook (`version` 1), as docs/webhooks.md gives it:
//! typed structs, so a field cannot be misspelt or forgotten, and serde_json
//! escapes whatever a letter or a device put in the texts.

use jiff::Timestamp;
use ronda_policy::alert::{Alert, State};
use ronda_policy::{Letter, Severity};
use serde::Serialize;

use crate::mail::config::Lang;

/// The body's version; a receiver checks it before reading the rest.
pub const VERSION: u32 = 1;

/// What one message is about, besides its alerts.
pub struct BodyCx<'a> {
    /// `firing`, `repeat`, `escalation`, `resolved` or `ack`.
    pub kind: &'a str,
    pub office_id: &'a str,
    pub office_name: &'a str,
    /// The mail's subject line.
    pub summary: &'a str,
    /// The mail's plain-text body, for gateways that forward text as it is.
    pub text: &'a str,
    pub dashboard_url: &'a str,
    pub lang: Lang,
}

#[derive(Serialize)]
struct Body<'a> {
    version: u32,
    kind: &'a str,
    office: Office<'a>,
    summary: &'a str,
    text: &'a str,
    alerts: Vec<AlertOut<'a>>,
    links: Links,
}

#[derive(Serialize)]
struct Office<'a> {
    id: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct AlertOut<'a> {
    id: i64,
    letter: &'a str,
    letter_title: &'a str,
    item: &'a str,
    item_text: &'a str,
    subject: &'a str,
    severity: Severity,
    state: State,
    finding: &'a str,
    /// jiff writes RFC 3339 (`2025-12-06T03:00:00Z`).
    started: Timestamp,
    fired: Option<Timestamp>,
    ack: Option<AckOut<'a>>,
    link: String,
}

#[derive(Serialize)]
struct AckOut<'a> {
    by: &'a str,
    note: &'a str,
}

#[derive(Serialize)]
struct Links {
    dashboard: String,
    office: String,
}

/// The body of one message about `alerts` (each with its letter), all of
/// the office `cx` names.
pub fn body(cx: &BodyCx<'_>, alerts: &[(&Alert, &Letter)]) -> Result<String, serde_json::Error> {
    let base = cx.dashboard_url.trim_end_matches('/');
    let body = Body {
        version: VERSION,
        kind: cx.kind,
        office: Office {
            id: cx.office_id,
            name: cx.office_name,
        },
        summary: cx.summary,
        text: cx.text,
        alerts: alerts
            .iter()
            .map(|(a, l)| alert(a, l, cx.lang, base))
            .collect(),
        links: Links {
            dashboard: base.to_owned(),
            office: format!("{base}/offices/{}", cx.office_id),
        },
    };
    serde_json::to_string(&body)
}

fn alert<'a>(a: &'a Alert, l: &'a Letter, lang: Lang, base: &str) -> AlertOut<'a> {
    // As the mail: the item's text in the configured language, or its id
    // when the letter no longer has the item.
    let item_text = l
        .item(&a.key.item)
        .map_or(a.key.item.as_str(), |i| match lang {
            Lang::Id => i.text_id.as_str(),
            Lang::En => i.text_en.as_str(),
        });
    AlertOut {
        id: a.id,
        letter: &l.id,
        letter_title: &l.title,
        item: &a.key.item,
        item_text,
        subject: &a.key.subject,
        severity: a.severity,
        state: a.state,
        finding: a.message.get(match lang {
            Lang::Id => "id",
            Lang::En => "en",
        }),
        started: a.started,
        fired: a.fired,
        ack: a.ack.as_ref().map(|k| AckOut {
            by: &k.by,
            note: &k.note,
        }),
        link: format!("{base}/alerts/{}", a.id),
    }
}

#[cfg(test)]
#[path = "body_tests.rs"]
mod tests;
