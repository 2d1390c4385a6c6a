//! Mail that is not about one alert: readiness reminders to heads who have
//! not signed before a letter's deadline, and the daily summary to the
//! region's leadership while a letter is in force. Each goes out once per
//! key, recorded in the same transaction as its outbox row.

use std::collections::BTreeSet;

use crate::store::sql::Transaction;
use jiff::Timestamp;
use minijinja::context;
use ronda_policy::{Letter, Window};

use super::config::Lang;
use super::text::Rendered;
use super::{Context, MailError};
use crate::store::{outbox, signatures};

/// The summary goes out at the first pass after this local hour.
const SUMMARY_HOUR: i8 = 7;
/// The registry contact list that gets the daily summary.
pub const LEADERSHIP: &str = "leadership";

/// How often reminders and summaries are looked at: they are due on the
/// minute at best, and each look touches every office.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Queue the reminders and summaries due at `now`, in one transaction.
pub fn step(
    conn: &crate::store::sql::Connection,
    cx: &Context,
    now: Timestamp,
) -> Result<usize, MailError> {
    // The writer thread lends a shared connection; nothing else uses it meanwhile.
    let tx = conn.unchecked_transaction()?;
    let queued = readiness(&tx, cx, now)? + daily(&tx, cx, now)?;
    tx.commit()?;
    Ok(queued)
}

/// Reminders for the latest reminder time that has come, before the deadline.
fn readiness(tx: &Transaction<'_>, cx: &Context, now: Timestamp) -> Result<usize, MailError> {
    let Some(reg) = cx.registry.as_deref() else {
        return Ok(0);
    };
    let mut queued = 0;
    for letter in cx.letters.iter() {
        let Some(r) = &letter.readiness else { continue };
        let slot = r
            .remind_before
            .iter()
            .filter_map(|d| r.deadline.checked_sub(*d).ok())
            .filter(|t| *t <= now)
            .max();
        let Some(slot) = slot.filter(|_| now < r.deadline) else {
            continue;
        };
        for office in reg.offices.values().filter(|o| letter.covers(&o.id)) {
            if signatures::one(tx, &letter.id, &office.id)?.is_some() {
                continue;
            }
            let key = format!(
                "reminder:{}:{}:{}",
                letter.id,
                office.id,
                slot.as_millisecond()
            );
            if !outbox::once(tx, &key, now.as_millisecond())? {
                continue;
            }
            let to: BTreeSet<String> = office.head.iter().map(|h| h.email.clone()).collect();
            let deadline = ronda_policy::format_local_minute(r.deadline, &letter.tz);
            let (heading, intro) = match cx.config.language {
                Lang::Id => ("Pengingat kesiapan", format!("Mohon periksa daftar periksa dan tanda tangani pernyataan kepatuhan {} sebelum {deadline}.", office.name)),
                Lang::En => ("Readiness reminder", format!("Please review the checklist and sign the compliance acknowledgement for {} before {deadline}.", office.name)),
            };
            let rows: Vec<(String, String)> = letter
                .items
                .iter()
                .map(|i| (item_text(cx, i), i.check.kind().to_owned()))
                .collect();
            let subject = format!(
                "[{}] {} — {}",
                tag(cx, "PENGINGAT", "REMINDER"),
                office.name,
                letter.title
            );
            let r = render(cx, &subject, heading, &intro, letter, &rows)?;
            queued += store(tx, cx, "reminder", Some(&office.id), &to, &r, now)?;
        }
    }
    Ok(queued)
}

/// Once a local day, from 07:00, while a dated letter is in force.
fn daily(tx: &Transaction<'_>, cx: &Context, now: Timestamp) -> Result<usize, MailError> {
    let Some(reg) = cx.registry.as_deref() else {
        return Ok(0);
    };
    let Some(leaders) = reg.contacts.get(LEADERSHIP) else {
        return Ok(0);
    };
    let mut queued = 0;
    for letter in cx
        .letters
        .iter()
        .filter(|l| l.window != Window::Always && l.enforced_at(now))
    {
        let local = now.to_zoned(letter.tz.clone());
        if local.hour() < SUMMARY_HOUR
            || !outbox::once(
                tx,
                &format!("summary:{}:{}", letter.id, local.date()),
                now.as_millisecond(),
            )?
        {
            continue;
        }
        let mut rows = Vec::new();
        let mut compliant = 0;
        for office in reg.offices.values().filter(|o| letter.covers(&o.id)) {
            let open = outbox::open_alerts(tx, &letter.id, &office.id)?;
            let signed = signatures::one(tx, &letter.id, &office.id)?.is_some();
            compliant += usize::from(open == 0);
            let state = match (open, cx.config.language) {
                (0, Lang::Id) => "patuh".to_owned(),
                (0, Lang::En) => "compliant".to_owned(),
                (n, Lang::Id) => format!("{n} peringatan terbuka"),
                (n, Lang::En) => format!("{n} open alerts"),
            };
            let sign = match (signed, cx.config.language) {
                (true, Lang::Id) => "sudah ditandatangani",
                (false, Lang::Id) => "belum ditandatangani",
                (true, Lang::En) => "signed",
                (false, Lang::En) => "not signed",
            };
            rows.push((office.name.clone(), format!("{state}; {sign}")));
        }
        let (heading, intro) = match cx.config.language {
            Lang::Id => (
                "Ringkasan harian",
                format!(
                    "{compliant} dari {} kantor patuh pada {}.",
                    rows.len(),
                    ronda_policy::format_local_minute(now, &letter.tz)
                ),
            ),
            Lang::En => (
                "Daily summary",
                format!(
                    "{compliant} of {} offices compliant at {}.",
                    rows.len(),
                    ronda_policy::format_local_minute(now, &letter.tz)
                ),
            ),
        };
        let subject = format!(
            "[{}] {} — {}",
            tag(cx, "RINGKASAN", "SUMMARY"),
            reg.region,
            letter.title
        );
        let r = render(cx, &subject, heading, &intro, letter, &rows)?;
        let to: BTreeSet<String> = leaders.iter().cloned().collect();
        queued += store(tx, cx, "summary", None, &to, &r, now)?;
    }
    Ok(queued)
}

/// Queue a message about no alert in particular.
fn store(
    tx: &Transaction<'_>,
    cx: &Context,
    kind: &str,
    office: Option<&str>,
    to: &BTreeSet<String>,
    rendered: &Rendered,
    now: Timestamp,
) -> Result<usize, MailError> {
    let m = super::channels::Message {
        kind,
        office,
        rendered,
        alerts: &[],
    };
    super::channels::store(tx, cx, &m, to, now)
}

fn tag(cx: &Context, id: &'static str, en: &'static str) -> &'static str {
    match cx.config.language {
        Lang::Id => id,
        Lang::En => en,
    }
}

fn item_text(cx: &Context, i: &ronda_policy::Item) -> String {
    match cx.config.language {
        Lang::Id => i.text_id.clone(),
        Lang::En => i.text_en.clone(),
    }
}

fn render(
    cx: &Context,
    subject: &str,
    heading: &str,
    intro: &str,
    letter: &Letter,
    rows: &[(String, String)],
) -> Result<Rendered, MailError> {
    let link = format!("{}/letters/{}", cx.config.dashboard_url, letter.id);
    let ctx =
        context! { lang => cx.config.language, heading, intro, letter => letter.title, rows, link };
    let (text, html) = super::text::bodies("digest", &ctx)?;
    Ok(Rendered {
        subject: subject.to_owned(),
        text,
        html,
        heading: "",
        lines: Vec::new(),
        lang: cx.config.language,
    })
}
