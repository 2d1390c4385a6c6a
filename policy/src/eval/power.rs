//! `power.off`, `power.on` and `power.safe`.

use ronda_wire::{Plug, PowerOn};
use serde_json::json;

use super::{finding, Cx, Finding, Status};
use crate::model::Check;
use crate::text::{self, Text};

fn evidence(p: &Plug) -> serde_json::Value {
    json!({
        "plug": p.id, "class": p.class, "kind": p.kind, "reachable": p.reachable,
        "relay_on": p.relay_on, "power_w": p.power_w, "current_a": p.current_a,
        "temperature_c": p.temperature_c, "faults": p.faults, "power_on": p.power_on,
        "error": p.error, "paused": p.paused,
    })
}

/// `printer-lobi (printer)`, with the equipment named in each language.
fn name(p: &Plug) -> Text {
    let id = &p.id;
    text!("{id} ({})", "{id} ({})", text::class(&p.class))
}

/// Why a plug gave no reading: paused after a refused login, or no answer.
fn unread(cx: &Cx<'_>, agent: &str, p: &Plug) -> Text {
    if let Some(paused) = &p.paused {
        return super::logins::paused_text(cx, agent, super::logins::PLUG, &p.id, paused);
    }
    let why = p.error.as_deref().unwrap_or("?");
    if p.reachable {
        return text!(
            "{} menjawab, tetapi tidak memberi tahu keadaan relainya: {why}",
            "{} answered, but did not tell its relay state: {why}",
            name(p)
        );
    }
    text!(
        "{} tidak menjawab: {why}",
        "{} does not answer: {why}",
        name(p)
    )
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
                text!("{} menyala{}", "{} is on{}", name(p), watts(p)),
            ),
            (true, Some(false)) => (Status::Ok, text!("{} mati", "{} is off", name(p))),
            // A plug whose socket was switched off at the wall cannot answer;
            // that may well be compliance, so it is not judged.
            _ => (Status::NoData, unread(cx, agent, p)),
        };
        out.push(finding(p.id.clone(), agent, status, msg, evidence(p)));
        if let Some(mode) = p.power_on.filter(|m| comes_back_on(*m, p.relay_on)) {
            let msg = text!(
                "{} akan menyala sendiri setelah listrik padam lalu pulih (power-on: {})",
                "{} would switch itself on after a power cut (power-on: {})",
                name(p),
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
                    text!("{} menyala{}", "{} is on{}", name(p), watts(p)),
                ),
                (true, Some(false)) => (
                    Status::Fail,
                    text!(
                        "{} mati, padahal harus tetap menyala",
                        "{} is off and must stay on",
                        name(p)
                    ),
                ),
                // A plug that answered without its relay state, or a wrong
                // password (the login finding says what to fix), is not a
                // switched-off server. One that does not answer at all is
                // lost to the monitoring of equipment that must stay on.
                _ if p.reachable || p.paused.is_some() => (Status::NoData, unread(cx, agent, p)),
                _ => (Status::Fail, unread(cx, agent, p)),
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
            ("daya", "power"),
            "W",
            max_power_w,
            (|p: &Plug| p.power_w) as fn(&Plug) -> Option<f32>,
        ),
        (("arus", "current"), "A", max_current_a, |p: &Plug| {
            p.current_a
        }),
        (
            ("suhu", "temperature"),
            "°C",
            max_temperature_c,
            |p: &Plug| p.temperature_c,
        ),
    ];
    let mut out = Vec::new();
    for (agent, p) in plugs(cx).filter(|(_, p)| p.reachable) {
        let mut problems: Vec<Text> = p
            .faults
            .iter()
            .map(|f| text!("gangguan {f}", "fault {f}"))
            .collect();
        for ((what_id, what_en), unit, max, read) in &limits {
            if let (Some(max), Some(v)) = (max, read(p)) {
                if v > *max {
                    problems.push(text!(
                        "{what_id} {v:.1} {unit} melebihi {max:.1} {unit}",
                        "{what_en} {v:.1} {unit} over {max:.1} {unit}"
                    ));
                }
            }
        }
        let measured = p.error.is_none()
            && (!p.faults.is_empty()
                || limits
                    .iter()
                    .any(|(_, _, max, read)| max.is_some() && read(p).is_some()));
        let (status, msg) = if problems.is_empty() && !measured {
            // Nothing the letter limits was read: no proof either way.
            (
                Status::NoData,
                text!(
                    "{} tidak mengukur beban, arus, maupun suhu yang dibatasi surat",
                    "{} reports none of the load, current or temperature the letter limits",
                    name(p)
                ),
            )
        } else if problems.is_empty() {
            (
                Status::Ok,
                text!("{} dalam batas aman", "{} within limits", name(p)),
            )
        } else {
            let pick = |f: fn(&Text) -> &str| problems.iter().map(f).collect::<Vec<_>>().join(", ");
            let (id, en) = (pick(|t| &t.id), pick(|t| &t.en));
            (Status::Fail, text!("{}: {id}", "{}: {en}", name(p)))
        };
        out.push(finding(p.id.clone(), agent, status, msg, evidence(p)));
    }
    out
}

fn watts(p: &Plug) -> Text {
    match p.power_w {
        Some(w) => text!(", memakai {w:.0} W", ", drawing {w:.0} W"),
        None => Text::default(),
    }
}
