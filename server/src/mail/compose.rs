//! The composer: turns due intents, repeats and escalations into outbox
//! messages. Each step is one SQLite transaction, so an intent is deleted
//! exactly when its message exists.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use ronda_policy::alert::Alert;
use ronda_policy::Letter;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::recipients::{resolve, words};
use super::text::{self, Kind};
use super::{Context, MailError};

struct Notified {
    firing_sent_ms: Option<i64>,
    last_sent_ms: Option<i64>,
    tier: usize,
}

/// One composing pass as of `now`; returns how many messages were queued.
pub fn step(conn: &Connection, cx: &Context, now: Timestamp) -> Result<usize, MailError> {
    // The writer thread lends a shared connection; nothing else uses it meanwhile.
    let tx = conn.unchecked_transaction()?;
    let mut queued = intents(&tx, cx, now)?;
    queued += reminders(&tx, cx, now)?;
    tx.commit()?;
    Ok(queued)
}

fn intents(tx: &Transaction<'_>, cx: &Context, now: Timestamp) -> Result<usize, MailError> {
    let mut groups: BTreeMap<(String, String), Vec<(i64, i64)>> = BTreeMap::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT id, alert_id, kind, office FROM notify_intents WHERE due_ms <= ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([now.as_millisecond()], |r| {
            Ok((
                (r.get::<_, String>(3)?, r.get::<_, String>(2)?),
                (r.get(0)?, r.get(1)?),
            ))
        })?;
        for row in rows {
            let (key, ids) = row?;
            groups.entry(key).or_default().push(ids);
        }
    }
    let mut queued = 0;
    for ((office, kind), ids) in groups {
        let kind = match kind.as_str() {
            "firing" => Kind::Firing,
            "resolved" => Kind::Resolved,
            _ => Kind::Ack,
        };
        let mut alerts = Vec::new();
        for (_, alert_id) in &ids {
            let Some(a) = crate::store::alerts::get(tx, *alert_id)? else {
                continue;
            };
            let told = notified(tx, a.id)?.is_some_and(|n| n.firing_sent_ms.is_some());
            // Every alert that fired is told, even one that recovered within
            // the group wait (a switch-off may have fixed it): its
            // resolution follows. Resolutions and acks only for the told.
            let wanted = kind == Kind::Firing || told;
            if wanted && !alerts.iter().any(|x: &Alert| x.id == a.id) {
                alerts.push(a);
            }
        }
        for (intent, _) in &ids {
            tx.execute("DELETE FROM notify_intents WHERE id = ?1", [intent])?;
        }
        if alerts.is_empty() {
            continue;
        }
        let to = by_severity(cx, &office, &alerts, now);
        queued += enqueue(tx, cx, kind, &office, &to, &alerts, now)?;
        if kind == Kind::Firing {
            for a in &alerts {
                tx.execute(
                    "INSERT INTO alert_notify (alert_id, firing_sent_ms, last_sent_ms) VALUES (?1, ?2, ?2)
                     ON CONFLICT (alert_id) DO UPDATE SET firing_sent_ms = ?2, last_sent_ms = ?2",
                    params![a.id, now.as_millisecond()],
                )?;
            }
        }
    }
    Ok(queued)
}

fn notified(tx: &Transaction<'_>, alert: i64) -> rusqlite::Result<Option<Notified>> {
    tx.prepare_cached(
        "SELECT firing_sent_ms, last_sent_ms, tier FROM alert_notify WHERE alert_id = ?1",
    )?
    .query_row([alert], |r| {
        Ok(Notified {
            firing_sent_ms: r.get(0)?,
            last_sent_ms: r.get(1)?,
            tier: r.get::<_, i64>(2)?.max(0) as usize,
        })
    })
    .optional()
}

/// Repeats for firing alerts nobody has acknowledged, and escalation to the
/// letter's next tier once its delay has passed.
fn reminders(tx: &Transaction<'_>, cx: &Context, now: Timestamp) -> Result<usize, MailError> {
    let ids: Vec<i64> = tx
        .prepare_cached(
            "SELECT n.alert_id FROM alert_notify n JOIN alerts a ON a.id = n.alert_id
             WHERE a.state = 'firing' AND n.firing_sent_ms IS NOT NULL ORDER BY n.alert_id",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut repeats: BTreeMap<String, Vec<Alert>> = BTreeMap::new();
    let mut escalations: BTreeMap<(String, usize), Vec<Alert>> = BTreeMap::new();
    for id in ids {
        let (Some(a), Some(n)) = (crate::store::alerts::get(tx, id)?, notified(tx, id)?) else {
            continue;
        };
        let Some(letter) = cx.letter(&a.key.letter) else {
            continue;
        };
        let fired = a.fired.unwrap_or(a.started);
        let tiers = &letter.notify.escalation;
        let due_tier = (n.tier..tiers.len())
            .take_while(|&k| elapsed(fired, now) >= tiers[k].after)
            .last();
        if let Some(k) = due_tier {
            tx.execute(
                "UPDATE alert_notify SET tier = ?2 WHERE alert_id = ?1",
                params![id, k as i64 + 1],
            )?;
            escalations
                .entry((a.key.office.clone(), k))
                .or_default()
                .push(a.clone());
        }
        let last = n
            .last_sent_ms
            .and_then(|m| Timestamp::from_millisecond(m).ok())
            .unwrap_or(fired);
        if letter
            .notify
            .repeat
            .is_some_and(|r| elapsed(last, now) >= r)
        {
            tx.execute(
                "UPDATE alert_notify SET last_sent_ms = ?2, repeats = repeats + 1 WHERE alert_id = ?1",
                params![id, now.as_millisecond()],
            )?;
            repeats.entry(a.key.office.clone()).or_default().push(a);
        }
    }
    let mut queued = 0;
    for (office, alerts) in repeats {
        let to = by_severity(cx, &office, &alerts, now);
        queued += enqueue(tx, cx, Kind::Repeat, &office, &to, &alerts, now)?;
    }
    for ((office, k), alerts) in escalations {
        let Some(letter) = cx.letter(&alerts[0].key.letter) else {
            continue;
        };
        let to = resolve(
            &letter.notify.escalation[k].to,
            letter,
            cx.registry.as_deref(),
            &office,
            now,
        );
        queued += enqueue(tx, cx, Kind::Escalation, &office, &to, &alerts, now)?;
    }
    Ok(queued)
}

fn elapsed(since: Timestamp, now: Timestamp) -> std::time::Duration {
    std::time::Duration::try_from(now.duration_since(since).max(SignedDuration::ZERO))
        .unwrap_or_default()
}

/// Everyone the letters name for these alerts' severities.
fn by_severity(cx: &Context, office: &str, alerts: &[Alert], now: Timestamp) -> BTreeSet<String> {
    let mut to = BTreeSet::new();
    for a in alerts {
        if let Some(l) = cx.letter(&a.key.letter) {
            to.extend(resolve(
                words(l, a.severity),
                l,
                cx.registry.as_deref(),
                office,
                now,
            ));
        }
    }
    to
}

/// Queue one message about `alerts`.
fn enqueue(
    tx: &Transaction<'_>,
    cx: &Context,
    kind: Kind,
    office: &str,
    to: &BTreeSet<String>,
    alerts: &[Alert],
    now: Timestamp,
) -> Result<usize, MailError> {
    let pairs: Vec<(&Alert, &Letter)> = alerts
        .iter()
        .filter_map(|a| Some((a, cx.letter(&a.key.letter)?)))
        .collect();
    let Some((_, letter)) = pairs.first() else {
        return Ok(0);
    };
    let entry = cx.registry.as_deref().and_then(|r| r.offices.get(office));
    let tz = entry
        .and_then(|o| jiff::tz::TimeZone::get(&o.timezone).ok())
        .unwrap_or_else(|| letter.tz.clone());
    let text_cx = text::Ctx {
        lang: cx.config.language,
        office_name: entry.map_or(office, |o| o.name.as_str()),
        tz: &tz,
        dashboard_url: &cx.config.dashboard_url,
    };
    let r = text::render(kind, &pairs, &text_cx)?;
    let ids: Vec<i64> = alerts.iter().map(|a| a.id).collect();
    store_message(tx, cx, kind.as_str(), Some(office), to, &r, &ids, now)
}

/// Insert one rendered message into the outbox. One with nobody to send to
/// is stored dead, so that it shows in the API instead of vanishing.
#[allow(clippy::too_many_arguments)]
pub(super) fn store_message(
    tx: &Transaction<'_>,
    cx: &Context,
    kind: &str,
    office: Option<&str>,
    to: &BTreeSet<String>,
    r: &text::Rendered,
    alert_ids: &[i64],
    now: Timestamp,
) -> Result<usize, MailError> {
    let (state, error) = match to.is_empty() {
        true => ("dead", Some("no recipient could be resolved")),
        false => ("queued", None),
    };
    tx.execute(
        "INSERT INTO outbox (kind, office, recipients, subject, body_text, body_html, message_id, alert_ids,
            state, next_attempt_ms, last_error, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, '', ?7, ?8, ?9, ?10, ?9)",
        params![
            kind, office, serde_json::to_string(to)?, r.subject, r.text, r.html,
            serde_json::to_string(alert_ids)?, state, now.as_millisecond(), error,
        ],
    )?;
    let id = tx.last_insert_rowid();
    // Stable across retries and restarts: derived from the row alone.
    let message_id = format!(
        "<ronda.{id}.{}@{}>",
        now.as_millisecond(),
        cx.config.from.email.domain()
    );
    tx.execute(
        "UPDATE outbox SET message_id = ?2 WHERE id = ?1",
        params![id, message_id],
    )?;
    if to.is_empty() {
        tracing::warn!(
            office,
            kind,
            "no recipient for this message; stored as dead"
        );
        return Ok(0);
    }
    Ok(1)
}
