//! What the control API does to a door controller: something happens at a
//! door (an entry, a forced door, a door held open), the device is tampered
//! with or loses mains, a pushing device is told to send its log again.
//! Each becomes the events a real device logs for it, in order.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{AccessState, Happening};
use crate::state::{DeviceState, Patch, SimKind};

/// Longest user id the control API takes: more than any device stores, so
/// that an agent can be shown an over-long one.
const MAX_USER: usize = 64;

/// Something that happens at a door, set with `{"door_event": …}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoorAction {
    /// `user` is let in: granted, the door opens, the door closes.
    Entry,
    /// `user` (or nobody known) is refused.
    Denied,
    /// The door is opened without an unlock, and stays open.
    Forced,
    /// The door opens (if closed) and stays open past its limit.
    HeldOpen,
    /// The door opens with nobody identified (an exit button), and stays open.
    Open,
    /// The door closes (if open).
    Close,
    /// The door is unlocked from software.
    RemoteOpen,
    /// The device starts again.
    Restart,
}

/// Whether `p` touches a door controller at all.
fn touches(p: &Patch) -> bool {
    p.door_event.is_some()
        || p.door.is_some()
        || p.user.is_some()
        || p.door_mode.is_some()
        || p.tamper.is_some()
        || p.mains.is_some()
        || p.resend_all.is_some()
        || p.max_results.is_some()
        || p.serial_window.is_some()
        || p.push_server.is_some()
        || p.push_second_ms.is_some()
}

/// Apply the door parts of `p` at device time `at`. A pushing device is
/// woken for every change, so that it sends at once what a real one would.
pub fn apply(p: &Patch, d: &mut DeviceState, at: Timestamp) -> Result<(), String> {
    if touches(p) {
        if !matches!(d.kind, SimKind::HikvisionAccess | SimKind::ZktecoPush) {
            return Err(format!("`{}` is not a door controller", d.id));
        }
        settings(p, &mut d.access)?;
        condition(p, &mut d.access, at);
        if let Some(action) = p.door_event {
            door_event(&mut d.access, action, p.door, p.user.as_deref(), at)?;
        } else if p.door.is_some() && p.door_mode.is_none() {
            return Err("`door` goes with `door_event` or `door_mode`".into());
        }
    }
    d.access.wake.notify_one();
    Ok(())
}

fn settings(p: &Patch, a: &mut AccessState) -> Result<(), String> {
    if let Some(n) = p.max_results {
        if n == 0 {
            return Err("`max_results` must be at least 1".into());
        }
        a.max_results = n;
    }
    if let Some(w) = p.serial_window {
        a.serial_window = w;
    }
    if let Some(url) = &p.push_server {
        a.push.server = url.trim_end_matches('/').to_owned();
    }
    if let Some(ms) = p.push_second_ms {
        a.push.second_ms = ms.max(1);
    }
    if p.resend_all == Some(true) {
        a.push.resend_all = true;
    }
    if let Some(mode) = p.door_mode {
        let no = door_no(a, p.door)?;
        if let Some(door) = a.door_mut(no) {
            door.mode = mode;
        }
    }
    Ok(())
}

/// Tamper and mains: an event only when the condition changes.
fn condition(p: &Patch, a: &mut AccessState, at: Timestamp) {
    if let Some(t) = p.tamper.filter(|t| *t != a.tamper) {
        a.tamper = t;
        let what = if t {
            Happening::Tamper
        } else {
            Happening::TamperRestored
        };
        a.record(at, what, None, None);
    }
    if let Some(m) = p.mains.filter(|m| *m != a.mains) {
        a.mains = m;
        let what = if m {
            Happening::MainsRestored
        } else {
            Happening::MainsLost
        };
        a.record(at, what, None, None);
    }
}

/// The door asked for, or the device's first.
fn door_no(a: &AccessState, asked: Option<u32>) -> Result<u32, String> {
    match asked {
        Some(no) if a.doors.iter().any(|d| d.no == no) => Ok(no),
        Some(no) => Err(format!("no door {no}")),
        None => a
            .doors
            .first()
            .map(|d| d.no)
            .ok_or_else(|| "the device has no doors".to_owned()),
    }
}

fn checked_user(user: Option<&str>) -> Result<Option<&str>, String> {
    match user {
        Some(u) if u.is_empty() || u.len() > MAX_USER || u.chars().any(char::is_control) => Err(
            format!("`user` must be 1 to {MAX_USER} characters without control characters"),
        ),
        u => Ok(u),
    }
}

fn door_event(
    a: &mut AccessState,
    action: DoorAction,
    door: Option<u32>,
    user: Option<&str>,
    at: Timestamp,
) -> Result<(), String> {
    let user = checked_user(user)?;
    if action == DoorAction::Restart {
        a.record(at, Happening::DeviceStart, None, None);
        return Ok(());
    }
    let no = door_no(a, door)?;
    let was_open = a.doors.iter().any(|d| d.no == no && d.open);
    let mut log = |what, user| {
        a.record(at, what, Some(no), user);
    };
    let open_after = match action {
        DoorAction::Entry => {
            let who = user.ok_or("`entry` needs `user`, the id the device knows")?;
            log(Happening::Granted, Some(who));
            log(Happening::DoorOpen, None);
            log(Happening::DoorClosed, None);
            false
        }
        DoorAction::Denied => {
            log(Happening::Denied, user);
            was_open
        }
        DoorAction::Forced => {
            log(Happening::Forced, None);
            true
        }
        DoorAction::HeldOpen => {
            if !was_open {
                log(Happening::DoorOpen, None);
            }
            log(Happening::HeldOpen, None);
            true
        }
        DoorAction::Open => {
            if !was_open {
                log(Happening::DoorOpen, None);
            }
            true
        }
        DoorAction::Close => {
            if was_open {
                log(Happening::DoorClosed, None);
            }
            false
        }
        DoorAction::RemoteOpen => {
            log(Happening::RemoteOpen, None);
            was_open
        }
        DoorAction::Restart => was_open,
    };
    if let Some(d) = a.door_mut(no) {
        d.open = open_after;
    }
    Ok(())
}
