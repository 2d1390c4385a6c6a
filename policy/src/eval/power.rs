//! `power.off`, `power.on` and `power.safe`.

use ronda_wire::{Plug, PowerOn};
use serde_json::json;

use super::{finding, Cx, Finding, Status};
use crate::model::Check;

fn evidence(p: &Plug) -> serde_json::Value {
    json!({
        "plug": p.id, "class": p.class, "kind": p.kind, "reachable": p.reachable,
        "relay_on": p.relay_on, "power_w": p.power_w, "current_a": p.current_a,
        "temperature_c": p.temperature_c, "faults": p.faults, "power_on": p.power_on,
        "error": p.error,
    })
}

fn plugs<'a>(cx: &'a Cx<'_>) -> impl Iterator<Item = (&'a str, &'a Plug)> + 'a {
    cx.live()
        .flat_map(|(agent, r)| r.plugs.iter().map(move |p| (agent, p)))
}

/// Every plug outside `keep_on` has its relay off, and stays off after a
/// power cut.
pub fn off(cx: &Cx<'_>, keep_on: &[String]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (agent, p) in plugs(cx).filter(|(_, p)| !keep_on.contains(&p.class)) {
        let (status, msg) = match (p.reachable, p.relay_on) {
            (true, Some(true)) => (
                Status::Fail,
                format!("{} ({}) is on{}", p.id, p.class, watts(p)),
            ),
            (true, Some(false)) => (Status::Ok, format!("{} ({}) is off", p.id, p.class)),
            // A plug whose socket was switched off at the wall cannot answer;
            // that may well be compliance, so it is not judged.
            _ => (
                Status::NoData,
                format!(
                    "{} ({}) does not answer: {}",
                    p.id,
                    p.class,
                    p.error.as_deref().unwrap_or("relay state unknown")
                ),
            ),
        };
        out.push(finding(p.id.clone(), agent, status, msg, evidence(p)));
        if let Some(mode) = p.power_on.filter(|m| comes_back_on(*m, p.relay_on)) {
            let msg = format!(
                "{} ({}) would switch itself on after a power cut (power-on: {})",
                p.id,
                p.class,
                mode_name(mode)
            );
            out.push(finding(
                format!("{}:power-on", p.id),
                agent,
                Status::Fail,
                msg,
                evidence(p),
            ));
        }
    }
    out
}

fn comes_back_on(mode: PowerOn, relay_on: Option<bool>) -> bool {
    match mode {
        PowerOn::On => true,
        PowerOn::Toggle => relay_on != Some(true),
        PowerOn::Off | PowerOn::Previous | PowerOn::FollowInput => false,
    }
}

fn mode_name(mode: PowerOn) -> &'static str {
    match mode {
        PowerOn::Off => "off",
        PowerOn::On => "on",
        PowerOn::Previous => "previous",
        PowerOn::Toggle => "toggle",
        PowerOn::FollowInput => "follow-input",
    }
}

/// Every plug of an essential class is on.
pub fn on(cx: &Cx<'_>, classes: &[String]) -> Vec<Finding> {
    plugs(cx)
        .filter(|(_, p)| classes.contains(&p.class))
        .map(|(agent, p)| {
            let (status, msg) = match (p.reachable, p.relay_on) {
                (true, Some(true)) => (
                    Status::Ok,
                    format!("{} ({}) is on{}", p.id, p.class, watts(p)),
                ),
                (true, Some(false)) => (
                    Status::Fail,
                    format!("{} ({}) is off and must stay on", p.id, p.class),
                ),
                _ => (
                    Status::Fail,
                    format!(
                        "{} ({}) does not answer: {}",
                        p.id,
                        p.class,
                        p.error.as_deref().unwrap_or("relay state unknown")
                    ),
                ),
            };
            finding(p.id.clone(), agent, status, msg, evidence(p))
        })
        .collect()
}

/// Load, current and temperature within limits, and no fault flags.
pub fn safe(cx: &Cx<'_>, check: &Check) -> Vec<Finding> {
    let Check::PowerSafe {
        max_power_w,
        max_current_a,
        max_temperature_c,
    } = check
    else {
        return Vec::new();
    };
    let limits = [
        (
            "power",
            "W",
            max_power_w,
            (|p: &Plug| p.power_w) as fn(&Plug) -> Option<f32>,
        ),
        ("current", "A", max_current_a, |p: &Plug| p.current_a),
        ("temperature", "°C", max_temperature_c, |p: &Plug| {
            p.temperature_c
        }),
    ];
    let mut out = Vec::new();
    for (agent, p) in plugs(cx).filter(|(_, p)| p.reachable) {
        let mut problems: Vec<String> = p.faults.iter().map(|f| format!("fault {f}")).collect();
        for (what, unit, max, read) in &limits {
            if let (Some(max), Some(v)) = (max, read(p)) {
                if v > *max {
                    problems.push(format!("{what} {v:.1} {unit} over {max:.1} {unit}"));
                }
            }
        }
        let (status, msg) = if problems.is_empty() {
            (Status::Ok, format!("{} ({}) within limits", p.id, p.class))
        } else {
            (
                Status::Fail,
                format!("{} ({}): {}", p.id, p.class, problems.join(", ")),
            )
        };
        out.push(finding(p.id.clone(), agent, status, msg, evidence(p)));
    }
    out
}

fn watts(p: &Plug) -> String {
    p.power_w
        .map(|w| format!(", drawing {w:.0} W"))
        .unwrap_or_default()
}
