//! The composer: turns due intents, repeats and escalations into outbox
//! messages. Each step is one SQLite transaction, so an intent is deleted
//! exactly when its message exists.

use std::collections::{BTreeMap, BTreeSet};

use crate::store::sql::{Connection, Transaction};
use jiff::{SignedDuration, Timestamp};
use ronda_policy::alert::Alert;
use ronda_policy::Letter;

use super::recipients::{resolve, words};
use super::text::{self, Kind};
use super::{Context, MailError};
use crate::store::outbox;

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
    for i in outbox::due_intents(tx, now.as_millisecond())? {
        groups
            .entry((i.office, i.kind))
            .or_default()
            .push((i.id, i.alert_id));
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
            let told = outbox::notified(tx, a.id)?.is_some_and(|n| n.firing_sent_ms.is_some());
            // Every alert that fired is told, even one that recovered within
            // the group wait (a switch-off may have fixed it): its
            // resolution follows. Resolutions and acks only for the told.
            let wanted = kind == Kind::Firing || told;
            if wanted && !alerts.iter().any(|x: &Alert| x.id == a.id) {
                alerts.push(a);
            }
        }
        for (intent, _) in &ids {
            outbox::delete_intent(tx, *intent)?;
        }
        if alerts.is_empty() {
            continue;
        }
        let to = by_severity(cx, &office, &alerts, now);
        queued += enqueue(tx, cx, kind, &office, &to, &alerts, now)?;
        if kind == Kind::Firing {
            for a in &alerts {
                outbox::firing_sent(tx, a.id, now.as_millisecond())?;
            }
        }
    }
    Ok(queued)
}

/// Repeats for firing alerts nobody has acknowledged, and escalation to the
/// letter's next tier once its delay has passed.
fn reminders(tx: &Transaction<'_>, cx: &Context, now: Timestamp) -> Result<usize, MailError> {
    let ids = outbox::told_and_firing(tx)?;
    let mut repeats: BTreeMap<String, Vec<Alert>> = BTreeMap::new();
    let mut escalations: BTreeMap<(String, usize), Vec<Alert>> = BTreeMap::new();
    for id in ids {
        let (Some(a), Some(n)) = (
            crate::store::alerts::get(tx, id)?,
            outbox::notified(tx, id)?,
        ) else {
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
            outbox::escalated(tx, id, k + 1)?;
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
            outbox::repeated(tx, id, now.as_millisecond())?;
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
        // Only after a restart that came between a reload withdrawing the
        // letter and this message: say so rather than drop it unseen.
        tracing::warn!(
            office,
            kind = kind.as_str(),
            alerts = ?alerts.iter().map(|a| a.id).collect::<Vec<_>>(),
            "no loaded letter for these alerts; message not composed"
        );
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
    let m = super::channels::Message {
        kind: kind.as_str(),
        office: Some(office),
        rendered: &r,
        alerts: &pairs,
    };
    super::channels::store(tx, cx, &m, to, now)
}
