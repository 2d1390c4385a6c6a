//! The parameters of `access.closed`: which doors, who may pass, how long
//! a door event stays failing, and the severity of each kind of finding.

use std::time::Duration;

use crate::eval::DOOR_LOOKBACK;
use crate::model::{AccessClosed, AccessSeverities, Check, Item, Shift};
use crate::raw::{RawCheck, RawDoors, RawSeverities};
use crate::walk::LetterCheck;

pub const PARAMETERS: [&str; 7] = [
    "doors",
    "allow",
    "hold",
    "silence",
    "max_clock_skew",
    "passage",
    "severities",
];

/// The word in `allow` that stands for the piket roster.
pub const ROSTER: &str = "roster";

pub const DEFAULT_HOLD: Duration = Duration::from_secs(3600);
/// The longest `hold`: an event must stay in the server's memory
/// ([`DOOR_LOOKBACK`]) well past its hold, so that its finding is seen to
/// recover and its alert resolves.
pub const MAX_HOLD: Duration = Duration::from_secs(DOOR_LOOKBACK.as_secs() / 2);
/// A polled controller answers every probe and a pushing one calls in
/// every minute or so; ten minutes of silence is not a hiccup.
pub const DEFAULT_SILENCE: Duration = Duration::from_secs(600);
pub const DEFAULT_MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);
/// A door opens within seconds of its grant; half a minute covers a slow
/// door and a device that logs the sensor late.
pub const DEFAULT_PASSAGE: Duration = Duration::from_secs(30);
const MAX_PASSAGE: Duration = Duration::from_secs(300);

pub(super) fn check(cx: &mut LetterCheck<'_, '_>, at: &str, r: RawCheck) -> AccessClosed {
    let doors = match r.doors {
        None | Some(RawDoors::All) => None,
        Some(RawDoors::Listed(list)) => Some(doors(cx, &format!("{at}.doors"), list)),
    };
    let (roster, allow) = allow(cx, &format!("{at}.allow"), r.allow.unwrap_or_default());
    let hold = r.hold.map_or(DEFAULT_HOLD, |d| d.0);
    if hold.is_zero() || hold > MAX_HOLD {
        cx.fail(
            &format!("{at}.hold"),
            format!(
                "must be more than 0s and at most {}h",
                MAX_HOLD.as_secs() / 3600
            ),
        );
    }
    let silence = r.silence.map_or(DEFAULT_SILENCE, |d| d.0);
    if silence.is_zero() {
        cx.fail(&format!("{at}.silence"), "must be more than 0s");
    }
    let passage = r.passage.map_or(DEFAULT_PASSAGE, |d| d.0);
    if passage > MAX_PASSAGE {
        cx.fail(&format!("{at}.passage"), "must be at most 5m");
    }
    AccessClosed {
        doors,
        allow,
        roster,
        hold,
        silence,
        max_clock_skew: r.max_clock_skew.map_or(DEFAULT_MAX_CLOCK_SKEW, |d| d.0),
        passage,
        severities: severities(cx, &format!("{at}.severities"), r.severities),
    }
}

fn doors(cx: &mut LetterCheck<'_, '_>, at: &str, list: Vec<String>) -> Vec<String> {
    if list.is_empty() {
        cx.fail(at, "give at least one door, or write `all`");
    }
    for (i, d) in list.iter().enumerate() {
        if !ronda_wire::vocab::is_door(d) {
            cx.fail(
                &format!("{at}.{i}"),
                format!(
                    "unknown door `{d}`; known: {}",
                    ronda_wire::vocab::DOORS.join(", ")
                ),
            );
        }
    }
    list
}

/// Whether the roster is named, and the user ids.
fn allow(cx: &mut LetterCheck<'_, '_>, at: &str, list: Vec<String>) -> (bool, Vec<String>) {
    let mut roster = false;
    let mut ids = Vec::new();
    for (i, w) in list.into_iter().enumerate() {
        if w == ROSTER {
            roster = true;
        } else if ronda_wire::is_user_id(&w) {
            ids.push(w);
        } else {
            cx.fail(
                &format!("{at}.{i}"),
                format!(
                    "`{w}` is not a device user id (1 to 32 of A-Z a-z 0-9 - _ .) nor `roster`"
                ),
            );
        }
    }
    (roster, ids)
}

fn severities(
    cx: &mut LetterCheck<'_, '_>,
    at: &str,
    r: Option<RawSeverities>,
) -> AccessSeverities {
    let d = AccessSeverities::default();
    let Some(r) = r else { return d };
    let mut one = |name: &str, v: Option<String>, default| {
        super::severity_in(cx, &format!("{at}.{name}"), v).unwrap_or(default)
    };
    AccessSeverities {
        forced: one("forced", r.forced, d.forced),
        held_open: one("held_open", r.held_open, d.held_open),
        tamper: one("tamper", r.tamper, d.tamper),
        power_lost: one("power_lost", r.power_lost, d.power_lost),
        silence: one("silence", r.silence, d.silence),
        clock: one("clock", r.clock, d.clock),
    }
}

/// An alert waits `for` before it fires; an event's finding fails only
/// for `hold`. A grace as long as the hold would never fire.
pub(super) fn grace_within_hold(
    cx: &mut LetterCheck<'_, '_>,
    at: &str,
    grace: Duration,
    hold: Duration,
) {
    if grace >= hold {
        cx.fail(
            &format!("{at}.for"),
            "must be shorter than the check's `hold`, or a door event's alert never fires",
        );
    }
}

/// `allow: [roster]` with no shift giving anyone's device ids would let
/// nobody through: the guards on duty would all raise alerts.
pub(crate) fn roster_has_ids(cx: &mut LetterCheck<'_, '_>, items: &[Item], piket: &[Shift]) {
    if piket.iter().any(|s| !s.ids.is_empty()) {
        return;
    }
    for (i, item) in items.iter().enumerate() {
        if matches!(&item.check, Check::AccessClosed(a) if a.roster) {
            cx.fail(
                &format!("checklist.{i}.check.allow"),
                "`roster` names nobody: give the device user ids of the people on duty as `ids` of their shifts in notify.piket",
            );
        }
    }
}

/// Each shift's `ids` are device user ids.
pub(crate) fn shift_ids(cx: &mut LetterCheck<'_, '_>, at: &str, ids: &[String]) {
    for (i, id) in ids.iter().enumerate() {
        if !ronda_wire::is_user_id(id) {
            cx.fail(
                &format!("{at}.{i}"),
                format!("`{id}` is not a device user id (1 to 32 of A-Z a-z 0-9 - _ .)"),
            );
        }
    }
}
