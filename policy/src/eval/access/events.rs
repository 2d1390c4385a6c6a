//! The office's stored door events, judged: entries by someone not allowed
//! during the window, and door alarms at any time. One finding per door and
//! person (entries) or per door or controller (alarms), from its latest event.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use ronda_wire::{DoorEvent, DoorEventKind};
use serde_json::json;

use super::{Scope, Skew};
use crate::eval::{finding, Cx, DoorSeen, Finding, Status, DOOR_LOOKBACK};
use crate::load::format_local_minute;
use crate::model::AccessClosed;
use crate::text::{self, Text};

/// A sensor `open` logged this long before its grant is still the same
/// passage: a device may write both in one second, in either order.
const SAME_SECOND: SignedDuration = SignedDuration::from_secs(1);

/// One stored event with the time it is judged at.
#[derive(Clone, Copy)]
struct Judged<'a> {
    seen: &'a DoorSeen,
    place: Option<&'a str>,
    /// The device's time corrected by its known clock skew, and never
    /// later than the server received it.
    at: Timestamp,
    skew: Option<Skew>,
}

impl<'a> Judged<'a> {
    fn event(&self) -> &'a DoorEvent {
        &self.seen.event
    }

    /// Which door of which controller, as far as the event tells.
    fn door_key(&self) -> (&'a str, &'a str, Option<u32>) {
        let e = self.event();
        (self.seen.agent.as_str(), e.device.as_str(), e.door_no)
    }
}

/// The events of one subject: how many, and the latest.
struct Group<'a> {
    kind: DoorEventKind,
    latest: Judged<'a>,
    count: usize,
}

pub(super) fn findings(cx: &Cx<'_>, rule: &AccessClosed, scope: &Scope<'_>) -> Vec<Finding> {
    let judged = judged(cx, scope);
    // Grants per door, in time order: a sensor `open` right after one is
    // the person let in passing, not a second entry.
    let mut grants: BTreeMap<(&str, &str, Option<u32>), Vec<Timestamp>> = BTreeMap::new();
    for j in judged.iter().filter(|j| is_grant(j.event())) {
        grants.entry(j.door_key()).or_default().push(j.at);
    }
    let same_passage = |j: &Judged<'_>| {
        let from = j.at.checked_sub(rule.passage).unwrap_or(Timestamp::MIN);
        let to = j.at.checked_add(SAME_SECOND).unwrap_or(Timestamp::MAX);
        grants.get(&j.door_key()).is_some_and(|ts| {
            let i = ts.partition_point(|t| *t < from);
            ts.get(i).is_some_and(|t| *t <= to)
        })
    };
    let mut groups: BTreeMap<String, Group<'_>> = BTreeMap::new();
    for j in &judged {
        let e = j.event();
        let subject = match e.kind {
            k if k.is_entry() => {
                if !scope.listed(j.place) || cx.letter.period_at(j.at).is_none() {
                    continue;
                }
                let who = e.who.as_deref();
                if who.is_some_and(|w| allowed(cx, rule, w, j.at))
                    || (who.is_none() && e.kind == DoorEventKind::Open && same_passage(j))
                {
                    continue;
                }
                format!("entry:{}:{}", door(e), who.unwrap_or("unknown"))
            }
            DoorEventKind::Forced | DoorEventKind::HeldOpen if scope.listed(j.place) => {
                format!("{}:{}", e.kind.as_str(), door(e))
            }
            DoorEventKind::Tamper | DoorEventKind::PowerLost
                if scope.covers(&j.seen.agent, &e.device) =>
            {
                format!("{}:{}", e.kind.as_str(), e.device)
            }
            _ => continue,
        };
        let g = groups.entry(subject).or_insert(Group {
            kind: e.kind,
            latest: *j,
            count: 0,
        });
        g.count += 1;
        g.latest = *j;
    }
    groups
        .into_iter()
        .map(|(subject, g)| group_finding(cx, rule, subject, &g))
        .collect()
}

/// The stored events known at `now` and within the lookback, in the order
/// they happened, each with its corrected time.
fn judged<'a>(cx: &Cx<'a>, scope: &Scope<'a>) -> Vec<Judged<'a>> {
    let since = cx.now.checked_sub(DOOR_LOOKBACK).unwrap_or(Timestamp::MIN);
    let mut out: Vec<Judged<'a>> = cx
        .state
        .door_events
        .iter()
        .filter(|s| s.received <= cx.now && s.received >= since)
        .map(|s| {
            let skew = scope
                .controller(&s.agent, &s.event.device)
                .and_then(|c| Skew::of(cx.view(&s.agent), c));
            let device = s.event.at.instant;
            let at = skew
                .map_or(device, |k| device.checked_sub(k.total()).unwrap_or(device))
                .min(s.received);
            Judged {
                seen: s,
                place: scope.place(&s.agent, &s.event),
                at,
                skew,
            }
        })
        .collect();
    out.sort_by_key(|j| j.at);
    out
}

fn is_grant(e: &DoorEvent) -> bool {
    matches!(e.kind, DoorEventKind::Granted | DoorEventKind::RemoteOpen)
        || (e.kind == DoorEventKind::Open && e.who.is_some())
}

fn allowed(cx: &Cx<'_>, rule: &AccessClosed, who: &str, at: Timestamp) -> bool {
    super::entries::allowed(cx.letter, rule, &cx.state.office, who, at)
}

/// `device/door_no`, or the device alone for an event of no door.
fn door(e: &DoorEvent) -> String {
    match e.door_no {
        Some(n) => format!("{}/{n}", e.device),
        None => e.device.clone(),
    }
}

fn group_finding(cx: &Cx<'_>, rule: &AccessClosed, subject: String, g: &Group<'_>) -> Finding {
    let j = &g.latest;
    let e = j.event();
    let fails = cx.age(j.at) < rule.hold;
    let at = format_local_minute(j.at, &cx.letter.tz);
    let mut msg = what(e, j.place, &at);
    if g.count > 1 {
        msg = text!("{} ({} kali)", "{} ({} times)", &msg, g.count);
    }
    if !fails {
        msg = text!(
            "{}; lebih dari {} lalu",
            "{}; over {} ago",
            &msg,
            text::duration(rule.hold)
        );
    }
    let status = if fails { Status::Fail } else { Status::Ok };
    let skew_s = j.skew.map(|k| k.total().as_secs());
    let evidence = json!({ "device": e.device, "door_no": e.door_no, "door": j.place, "kind": e.kind, "who": e.who, "device_time": e.at, "time": j.at, "clock_skew_s": skew_s, "received": j.seen.received, "number": e.number, "code": e.code, "count": g.count, "hold_s": rule.hold.as_secs() });
    let f = finding(subject, &j.seen.agent, status, msg, evidence);
    let s = &rule.severities;
    let alarm = match g.kind {
        DoorEventKind::Forced => Some(s.forced),
        DoorEventKind::HeldOpen => Some(s.held_open),
        DoorEventKind::Tamper => Some(s.tamper),
        DoorEventKind::PowerLost => Some(s.power_lost),
        // Entries: the item's severity, in the window only.
        _ => None,
    };
    match alarm {
        Some(sev) => f.at_severity(sev).anytime(),
        None => f,
    }
}

/// What happened, in both languages.
fn what(e: &DoorEvent, place: Option<&str>, at: &str) -> Text {
    let dev = &e.device;
    let door = match (place, e.door_no) {
        (Some(p), _) => text::door(p),
        (None, Some(n)) => text!("pintu {n} {dev}", "door {n} of {dev}"),
        (None, None) => text!("pintu {dev}", "a door of {dev}"),
    };
    match e.kind {
        DoorEventKind::Forced => {
            text!("{} dibuka paksa pada {at}", "{} forced open at {at}", &door)
        }
        DoorEventKind::HeldOpen => text!(
            "{} dibiarkan terbuka melewati batas pada {at}",
            "{} held open past its limit at {at}",
            &door
        ),
        DoorEventKind::Tamper => text!(
            "pengendali akses {dev} dibongkar atau dilepas pada {at}",
            "access controller {dev} tampered with (opened or torn off) at {at}"
        ),
        DoorEventKind::PowerLost => text!(
            "pengendali akses {dev} kehilangan listrik PLN pada {at}",
            "access controller {dev} lost mains power at {at}"
        ),
        _ => {
            let who = match &e.who {
                Some(w) => text!("pengguna {w}", "user {w}"),
                None => text!("orang tak dikenal", "someone unidentified"),
            };
            let how = match e.kind {
                DoorEventKind::RemoteOpen => text!(" (dibuka dari jauh)", " (opened remotely)"),
                _ => Text::default(),
            };
            text!(
                "{} dilewati {}{} pada {at} selama masa penutupan",
                "{} passed by {}{} at {at} during the closure",
                &door,
                &who,
                &how
            )
        }
    }
}
