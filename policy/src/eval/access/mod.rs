//! `access.closed`: nobody but the allowlist goes through the listed doors
//! during the window; a door forced or held open, a controller tampered
//! with or off mains, fails at any time. Each controller is also judged
//! for silence (in the window) and for its clock (advisory).
//!
//! Everything comes from the office's state: the controllers in the
//! agents' latest reports and the stored door events. An event's finding
//! fails for `hold` after the event, then turns `ok` while the event is
//! still stored, so its alert resolves; nothing is remembered between
//! evaluations.

mod entries;
mod events;

pub use entries::{entries, Entry, Verdict};

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use ronda_wire::AccessController;
use serde_json::json;

use super::{finding, AgentView, Cx, Finding, Status};
use crate::load::format_local_minute;
use crate::model::AccessClosed;
use crate::text::{self, Text};

pub(crate) fn closed(cx: &Cx<'_>, rule: &AccessClosed) -> Vec<Finding> {
    let scope = Scope::new(cx, rule);
    let mut out = events::findings(cx, rule, &scope);
    for (agent, report) in cx.live() {
        for c in report.access.iter().filter(|c| scope.covers(agent, &c.id)) {
            out.push(controller(cx, rule, agent, c));
            if let Some(f) = clock(cx, rule, agent, c) {
                out.push(f);
            }
        }
    }
    if out.iter().all(|f| f.advisory.is_some()) && !scope.only_down(cx) {
        out.push(no_data(&scope));
    }
    out
}

/// Which controllers and doors the item looks at.
pub(super) struct Scope<'a> {
    rule: &'a AccessClosed,
    /// Every controller in the agents' latest reports, up or down.
    controllers: Vec<(&'a AgentView, &'a AccessController)>,
    /// `(agent, device)` of the controllers that guard a listed door, by
    /// their report or by their events.
    devices: BTreeSet<(&'a str, &'a str)>,
}

impl<'a> Scope<'a> {
    fn new(cx: &Cx<'a>, rule: &'a AccessClosed) -> Scope<'a> {
        let controllers: Vec<_> = cx
            .state
            .agents
            .iter()
            .filter_map(|a| Some((a, a.report.as_deref()?)))
            .flat_map(|(a, r)| r.access.iter().map(move |c| (a, c)))
            .collect();
        let mut scope = Scope {
            rule,
            controllers,
            devices: BTreeSet::new(),
        };
        let mut devices = BTreeSet::new();
        for (a, c) in &scope.controllers {
            if rule.doors.is_none() || c.doors.iter().any(|d| scope.listed(d.door.as_deref())) {
                devices.insert((a.agent.as_str(), c.id.as_str()));
            }
        }
        for s in &cx.state.door_events {
            let place = scope.place(&s.agent, &s.event);
            if rule.doors.is_none() || scope.listed(place) {
                devices.insert((s.agent.as_str(), s.event.device.as_str()));
            }
        }
        scope.devices = devices;
        scope
    }

    /// Whether a door at `place` is one the item lists; an unnamed door
    /// only under `all`.
    pub fn listed(&self, place: Option<&str>) -> bool {
        match &self.rule.doors {
            None => true,
            Some(list) => place.is_some_and(|p| list.iter().any(|d| d == p)),
        }
    }

    /// Whether the controller guards a listed door.
    pub fn covers(&self, agent: &str, device: &str) -> bool {
        self.devices.contains(&(agent, device))
    }

    pub fn controller(&self, agent: &str, device: &str) -> Option<&'a AccessController> {
        self.controllers
            .iter()
            .find(|(a, c)| a.agent == agent && c.id == device)
            .map(|(_, c)| *c)
    }

    /// The place of an event's door: as the event says, or as the
    /// controller's door list in the report names its number.
    pub fn place<'e>(&self, agent: &str, e: &'e ronda_wire::DoorEvent) -> Option<&'e str>
    where
        'a: 'e,
    {
        e.door.as_deref().or_else(|| {
            let no = e.door_no?;
            let c = self.controller(agent, &e.device)?;
            c.doors.iter().find(|d| d.no == no)?.door.as_deref()
        })
    }

    /// The controllers of the listed doors are all in reports of agents
    /// that are down: their `no-data` findings say why.
    fn only_down(&self, cx: &Cx<'_>) -> bool {
        !self.devices.is_empty()
            && self
                .devices
                .iter()
                .all(|(a, d)| cx.down.contains(*a) && self.controller(a, d).is_some())
    }
}

/// The controller's clock against the server's: its skew against the
/// agent's clock, plus the agent's against the server's when known.
#[derive(Debug, Clone, Copy)]
pub(super) struct Skew {
    pub device_s: i64,
    pub agent_s: Option<i64>,
}

impl Skew {
    pub fn of(view: Option<&AgentView>, c: &AccessController) -> Option<Skew> {
        Some(Skew {
            device_s: c.clock_skew_s?,
            agent_s: view.and_then(|v| v.clock_offset).map(|o| o.as_secs()),
        })
    }

    pub fn total(self) -> SignedDuration {
        SignedDuration::from_secs(self.device_s.saturating_add(self.agent_s.unwrap_or(0)))
    }
}

/// Whether `agent` has been connected for longer than `d`; unknown (no
/// `online` seen since the server started) is not.
fn up_longer(cx: &Cx<'_>, agent: &str, d: std::time::Duration) -> bool {
    cx.view(agent)
        .and_then(|v| v.online_since)
        .is_some_and(|t| cx.age(t) > d)
}

/// Silent or unreachable for longer than `silence`; judged in the window.
fn controller(cx: &Cx<'_>, rule: &AccessClosed, agent: &str, c: &AccessController) -> Finding {
    let offset = cx
        .view(agent)
        .and_then(|v| v.clock_offset)
        .unwrap_or(SignedDuration::ZERO);
    // `last_contact` is on the agent's clock.
    let contact: Option<Timestamp> = c.last_contact.map(|t| t.checked_sub(offset).unwrap_or(t));
    let silent = contact.map(|t| cx.age(t));
    let id = &c.id;
    let why = c.error.as_deref().unwrap_or("?");
    let too_long = silent.is_some_and(|s| s > rule.silence);
    let (status, msg) = match (too_long, contact) {
        (true, Some(t)) => {
            let since = format_local_minute(t, &cx.letter.tz);
            (
                Status::Fail,
                text!(
                    "pengendali akses {id} tidak terdengar sejak {since}",
                    "access controller {id} has not been heard from since {since}"
                ),
            )
        }
        // Never heard from since the agent started: a device that calls
        // in (ZKTeco) gets `silence` to do so, like any silence.
        (false, None) if !c.reachable && !up_longer(cx, agent, rule.silence) => (
            Status::NoData,
            text!(
                "pengendali akses {id} belum terdengar sejak agen mulai: {why}",
                "access controller {id} not heard from since its agent started: {why}"
            ),
        ),
        (false, None) if !c.reachable => (
            Status::Fail,
            text!(
                "pengendali akses {id} tidak menjawab: {why}",
                "access controller {id} does not answer: {why}"
            ),
        ),
        _ if !c.reachable => (
            Status::Ok,
            text!(
                "pengendali akses {id} tidak menjawab sekali ({why}); terakhir terdengar {} lalu",
                "access controller {id} missed a probe ({why}); last heard {} ago",
                text::duration(silent.unwrap_or_default())
            ),
        ),
        _ => (
            Status::Ok,
            text!(
                "pengendali akses {id} terhubung",
                "access controller {id} is connected"
            ),
        ),
    };
    let evidence = json!({ "device": c.id, "kind": c.kind, "reachable": c.reachable, "error": c.error, "last_contact": c.last_contact, "silent_s": silent.map(|s| s.as_secs()), "silence_limit_s": rule.silence.as_secs(), "doors": c.doors });
    finding(format!("controller:{id}"), agent, status, msg, evidence)
        .at_severity(rule.severities.silence)
}

/// Advisory: a wrong clock moves a weekday entry into the closure, so
/// events are judged on the corrected time; the clock should still be set.
fn clock(cx: &Cx<'_>, rule: &AccessClosed, agent: &str, c: &AccessController) -> Option<Finding> {
    let skew = Skew::of(cx.view(agent), c)?;
    let total = skew.total();
    let by = text::duration(total.unsigned_abs());
    let id = &c.id;
    let (status, msg) = if total.unsigned_abs() <= rule.max_clock_skew {
        (
            Status::Ok,
            text!(
                "jam pengendali akses {id} tepat (selisih {} dengan server)",
                "access controller {id}'s clock is right (within {} of the server's)",
                &by
            ),
        )
    } else {
        let (id_dir, en_dir) = if total.is_negative() {
            ("terlambat", "behind")
        } else {
            ("mendahului", "ahead of")
        };
        (
            Status::Fail,
            Text::new(
                format!("jam pengendali akses {id} {id_dir} jam server {}; kejadian pintunya dinilai pada waktu yang dikoreksi; setel jam dan NTP perangkat", by.id),
                format!("access controller {id}'s clock is {} {en_dir} the server's; its door events are judged at the corrected time; set the device's clock and NTP", by.en),
            ),
        )
    };
    let evidence = json!({ "device": c.id, "clock_skew_s": skew.device_s, "agent_clock_offset_s": skew.agent_s, "skew_s": total.as_secs(), "max_s": rule.max_clock_skew.as_secs() });
    Some(
        finding(format!("clock:{id}"), agent, status, msg, evidence)
            .advisory(rule.severities.clock),
    )
}

fn no_data(scope: &Scope<'_>) -> Finding {
    let message = if scope.controllers.is_empty() {
        text!(
            "tidak ada laporan pengendali akses untuk kantor ini",
            "no access controller reports for this office"
        )
    } else {
        text!(
            "tidak ada pengendali akses kantor ini yang menjaga pintu yang disebut butir ini",
            "no access controller of this office guards the doors this item lists"
        )
    };
    super::Finding {
        subject: "office".into(),
        agent: None,
        status: Status::NoData,
        message,
        evidence: serde_json::Value::Null,
        advisory: None,
        severity: None,
        anytime: false,
    }
}
