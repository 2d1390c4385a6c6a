//! Every entry of a letter's window for its report: each one through a
//! listed door, marked allowed, not allowed, or with nobody identified.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use ronda_wire::DoorEventKind;
use serde::Serialize;

use crate::eval::DoorSeen;
use crate::model::{AccessClosed, Check, Letter};

/// How an entry stands against the letter's allowlist and roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allowed,
    NotAllowed,
    /// A door opened with nobody identified: a sensor or an exit button.
    Unidentified,
}

/// One entry in the window.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub seen: &'a DoorSeen,
    pub verdict: Verdict,
}

/// The entries among `events` (one office's, in any order) that fall in the
/// letter's window on the device's clock and go through a door one of its
/// `access.closed` items lists, oldest first. The report reads the device's
/// time as the device told it; the alerts also correct it by the
/// controller's known skew.
pub fn entries<'a>(letter: &Letter, office: &str, events: &'a [DoorSeen]) -> Vec<Entry<'a>> {
    let rules: Vec<&AccessClosed> = letter
        .items
        .iter()
        .filter_map(|i| match &i.check {
            Check::AccessClosed(rule) => Some(rule),
            _ => None,
        })
        .collect();
    // A door sensor's `open` right after a grant at that door is the person
    // let in passing, as `access.closed` judges it: not an entry of its own.
    let mut grants: BTreeMap<(&str, Option<u32>), Vec<Timestamp>> = BTreeMap::new();
    for g in events.iter().filter(|g| {
        matches!(
            g.event.kind,
            DoorEventKind::Granted | DoorEventKind::RemoteOpen
        )
    }) {
        let key = (g.event.device.as_str(), g.event.door_no);
        grants.entry(key).or_default().push(g.event.at.instant);
    }
    grants.values_mut().for_each(|ts| ts.sort());
    let passage = |s: &DoorSeen, rule: &AccessClosed| {
        let at = s.event.at.instant;
        let from = at.checked_sub(rule.passage).unwrap_or(Timestamp::MIN);
        let to = at
            .checked_add(SignedDuration::from_secs(1))
            .unwrap_or(Timestamp::MAX);
        grants
            .get(&(s.event.device.as_str(), s.event.door_no))
            .is_some_and(|ts| {
                ts.get(ts.partition_point(|t| *t < from))
                    .is_some_and(|t| *t <= to)
            })
    };
    let mut out: Vec<Entry<'a>> = events
        .iter()
        .filter(|s| s.event.kind.is_entry())
        .filter(|s| letter.period_at(s.event.at.instant).is_some())
        .filter_map(|s| {
            let rule = rules.iter().find(|r| listed(r, s.event.door.as_deref()))?;
            let verdict = match s.event.who.as_deref() {
                None if s.event.kind == DoorEventKind::Open && passage(s, rule) => return None,
                None => Verdict::Unidentified,
                Some(w) if allowed(letter, rule, office, w, s.event.at.instant) => Verdict::Allowed,
                Some(_) => Verdict::NotAllowed,
            };
            Some(Entry { seen: s, verdict })
        })
        .collect();
    out.sort_by_key(|e| e.seen.event.at.instant);
    out
}

fn listed(rule: &AccessClosed, place: Option<&str>) -> bool {
    match (&rule.doors, place) {
        (None, _) => true,
        (Some(list), Some(p)) => list.iter().any(|d| d == p),
        (Some(_), None) => false,
    }
}

/// On the allowlist, or on the office's piket roster at `at`.
pub(super) fn allowed(
    letter: &Letter,
    rule: &AccessClosed,
    office: &str,
    who: &str,
    at: Timestamp,
) -> bool {
    rule.allow.iter().any(|a| a == who)
        || (rule.roster
            && letter.notify.piket.iter().any(|s| {
                s.office == office && s.from <= at && at < s.to && s.ids.iter().any(|i| i == who)
            }))
}
