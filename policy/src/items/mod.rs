//! Checking checklist items: ids, texts, the check kind and its parameters.

mod access;
mod view;

pub(crate) use access::{roster_has_ids, shift_ids};

use std::collections::BTreeSet;
use std::time::Duration;

use crate::model::{Check, Item, Remediation, Severity};
use crate::raw::{RawCheck, RawItem};
use crate::walk::LetterCheck;

pub const KINDS: [&str; 11] = [
    "cctv.recording",
    "cctv.storage",
    "cctv.view",
    "power.off",
    "power.on",
    "power.safe",
    "service.up",
    "host.up",
    "agent.online",
    "access.closed",
    "attestation",
];

/// The agent's default report interval; `agent.online` counts missed ones.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
/// An agent clock off by more than this is worth fixing: readings on the
/// office PC (its reboots, its logs) are then hard to line up.
pub const DEFAULT_MAX_CLOCK_OFFSET: Duration = Duration::from_secs(300);

pub(crate) fn check_all(
    cx: &mut LetterCheck<'_, '_>,
    raw: Vec<Option<RawItem>>,
    keep_on: &[String],
) -> Option<Vec<Item>> {
    let mut seen = BTreeSet::new();
    let mut items = Vec::new();
    let mut complete = true;
    for (i, r) in raw.into_iter().enumerate() {
        let Some(r) = r else {
            complete = false;
            continue;
        };
        let at = format!("checklist.{i}");
        if let Some(id) = &r.id {
            if !seen.insert(id.clone()) {
                cx.fail(&format!("{at}.id"), format!("item id `{id}` is used twice"));
            }
        }
        match item(cx, &at, r, keep_on) {
            Some(it) => items.push(it),
            None => complete = false,
        }
    }
    complete.then_some(items)
}

fn item(cx: &mut LetterCheck<'_, '_>, at: &str, r: RawItem, keep_on: &[String]) -> Option<Item> {
    let id = cx.need(&format!("{at}.id"), r.id);
    if let Some(id) = &id {
        cx.id(&format!("{at}.id"), id);
    }
    let label = r.label.map(|l| {
        (
            cx.need(&format!("{at}.label.id"), l.id),
            cx.need(&format!("{at}.label.en"), l.en),
        )
    });
    let text = cx.need(&format!("{at}.text"), r.text);
    let (text_id, text_en) = match text {
        Some(t) => (
            cx.need(&format!("{at}.text.id"), t.id),
            cx.need(&format!("{at}.text.en"), t.en),
        ),
        None => (None, None),
    };
    let check = cx
        .need(&format!("{at}.check"), r.check)
        .and_then(|c| check(cx, &format!("{at}.check"), c, keep_on));
    let severity = cx.need(&format!("{at}.severity"), r.severity);
    let severity = severity_in(cx, &format!("{at}.severity"), severity);
    let remediation = match r.remediation.as_deref() {
        None | Some("notify") => Some(Remediation::Notify),
        Some("switch-off") => {
            if check
                .as_ref()
                .is_some_and(|c| !matches!(c, Check::PowerOff { .. }))
            {
                cx.fail(
                    &format!("{at}.remediation"),
                    "`switch-off` only applies to a power.off check",
                );
            }
            Some(Remediation::SwitchOff)
        }
        Some(other) => {
            cx.fail(
                &format!("{at}.remediation"),
                format!("`{other}` is not a remediation: notify or switch-off"),
            );
            None
        }
    };
    let grace = r.grace.map_or(Duration::ZERO, |d| d.0);
    if let Some(Check::AccessClosed(a)) = &check {
        access::grace_within_hold(cx, at, grace, a.hold);
    }
    let label = match (label, &id) {
        (Some((Some(l_id), Some(l_en))), _) => crate::Text::new(l_id, l_en),
        (Some(_), _) => return None,
        (None, Some(id)) => crate::Text::same(id.clone()),
        (None, None) => return None,
    };
    Some(Item {
        label,
        id: id?,
        text_id: text_id?,
        text_en: text_en?,
        check: check?,
        grace,
        severity: severity?,
        remediation: remediation?,
    })
}

fn check(cx: &mut LetterCheck<'_, '_>, at: &str, r: RawCheck, keep_on: &[String]) -> Option<Check> {
    let kind = cx.need(&format!("{at}.kind"), r.kind.clone())?;
    let allowed: &[&str] = match kind.as_str() {
        "cctv.recording" => &["zones", "max_segment_age", "channel_severity"],
        "cctv.view" => &view::PARAMETERS,
        "power.on" => &["classes"],
        "power.safe" => &["max_power_w", "max_current_a", "max_temperature_c"],
        "service.up" => &["services", "max_latency", "min_tls_days"],
        "host.up" => &["max_disk_percent", "max_memory_percent", "reboot_lookback"],
        "agent.online" => &["interval", "missed", "max_clock_offset"],
        "access.closed" => &access::PARAMETERS,
        "cctv.storage" | "power.off" | "attestation" => &[],
        _ => {
            cx.fail(
                &format!("{at}.kind"),
                format!("unknown check `{kind}`; known: {}", KINDS.join(", ")),
            );
            return None;
        }
    };
    for name in given(&r) {
        if !allowed.contains(&name) {
            let takes = if allowed.is_empty() {
                "no parameters".to_owned()
            } else {
                allowed.join(", ")
            };
            cx.fail(
                &format!("{at}.{name}"),
                format!("`{name}` does not apply to {kind}; it takes {takes}"),
            );
        }
    }
    Some(match kind.as_str() {
        "cctv.view" => Check::CctvView(view::check(cx, at, r)),
        "cctv.recording" => {
            let zones = zones(cx, at, r.zones);
            Check::CctvRecording {
                zones,
                max_segment_age: r.max_segment_age.map_or(Duration::from_secs(600), |d| d.0),
                channel_severity: severity_in(
                    cx,
                    &format!("{at}.channel_severity"),
                    r.channel_severity,
                )
                .unwrap_or(Severity::Warning),
            }
        }
        "cctv.storage" => Check::CctvStorage,
        "power.off" => Check::PowerOff {
            keep_on: keep_on.to_vec(),
        },
        "power.on" => {
            let classes = r.classes.unwrap_or_else(|| keep_on.to_vec());
            cx.classes(&format!("{at}.classes"), &classes);
            Check::PowerOn { classes }
        }
        "power.safe" => Check::PowerSafe {
            max_power_w: r.max_power_w,
            max_current_a: r.max_current_a,
            max_temperature_c: r.max_temperature_c,
        },
        "service.up" => Check::ServiceUp {
            services: r.services,
            max_latency: r.max_latency.map(|d| d.0),
            min_tls_days: r.min_tls_days,
        },
        "host.up" => {
            let disk = percent(
                cx,
                &format!("{at}.max_disk_percent"),
                r.max_disk_percent,
                90.0,
            );
            let memory = percent(
                cx,
                &format!("{at}.max_memory_percent"),
                r.max_memory_percent,
                95.0,
            );
            Check::HostUp {
                max_disk_percent: disk,
                max_memory_percent: memory,
                reboot_lookback: r
                    .reboot_lookback
                    .map_or(Duration::from_secs(86_400), |d| d.0),
            }
        }
        "agent.online" => {
            let missed = r.missed.unwrap_or(3);
            if missed == 0 {
                cx.fail(&format!("{at}.missed"), "must be at least 1");
            }
            let interval = r.interval.map_or(DEFAULT_INTERVAL, |d| d.0);
            Check::AgentOnline {
                silence: interval * missed.max(1),
                max_clock_offset: r.max_clock_offset.map_or(DEFAULT_MAX_CLOCK_OFFSET, |d| d.0),
            }
        }
        "access.closed" => Check::AccessClosed(access::check(cx, at, r)),
        _ => Check::Attestation,
    })
}

/// The `zones` a CCTV check needs, each one Ronda knows.
pub(crate) fn zones(
    cx: &mut LetterCheck<'_, '_>,
    at: &str,
    zones: Option<Vec<String>>,
) -> Vec<String> {
    let zones = cx.need(&format!("{at}.zones"), zones).unwrap_or_default();
    for (i, z) in zones.iter().enumerate() {
        if !ronda_wire::vocab::is_zone(z) {
            cx.fail(
                &format!("{at}.zones.{i}"),
                format!(
                    "unknown zone `{z}`; known: {}",
                    ronda_wire::vocab::ZONES.join(", ")
                ),
            );
        }
    }
    zones
}

/// A severity word, or a problem at `at`.
pub(crate) fn severity_in(
    cx: &mut LetterCheck<'_, '_>,
    at: &str,
    s: Option<String>,
) -> Option<Severity> {
    let s = s?;
    let v = Severity::parse(&s);
    if v.is_none() {
        cx.fail(
            at,
            format!("`{s}` is not a severity: info, warning or critical"),
        );
    }
    v
}

fn percent(cx: &mut LetterCheck<'_, '_>, at: &str, v: Option<f32>, default: f32) -> f32 {
    let v = v.unwrap_or(default);
    if !(1.0..=100.0).contains(&v) {
        cx.fail(at, format!("{v} is not a percentage from 1 to 100"));
    }
    v
}

/// The names of the parameters written in a check.
fn given(r: &RawCheck) -> Vec<&'static str> {
    let set = [
        ("zones", r.zones.is_some()),
        ("max_segment_age", r.max_segment_age.is_some()),
        ("classes", r.classes.is_some()),
        ("max_power_w", r.max_power_w.is_some()),
        ("max_current_a", r.max_current_a.is_some()),
        ("max_temperature_c", r.max_temperature_c.is_some()),
        ("services", r.services.is_some()),
        ("max_latency", r.max_latency.is_some()),
        ("min_tls_days", r.min_tls_days.is_some()),
        ("max_disk_percent", r.max_disk_percent.is_some()),
        ("max_memory_percent", r.max_memory_percent.is_some()),
        ("reboot_lookback", r.reboot_lookback.is_some()),
        ("interval", r.interval.is_some()),
        ("missed", r.missed.is_some()),
        ("channel_severity", r.channel_severity.is_some()),
        ("max_clock_offset", r.max_clock_offset.is_some()),
        ("dark_below", r.dark_below.is_some()),
        ("covered_contrast", r.covered_contrast.is_some()),
        ("covered_edges", r.covered_edges.is_some()),
        ("blurred_ratio", r.blurred_ratio.is_some()),
        ("moved_bits", r.moved_bits.is_some()),
        ("frozen_after", r.frozen_after.is_some()),
        ("max_sample_age", r.max_sample_age.is_some()),
        ("doors", r.doors.is_some()),
        ("allow", r.allow.is_some()),
        ("hold", r.hold.is_some()),
        ("silence", r.silence.is_some()),
        ("max_clock_skew", r.max_clock_skew.is_some()),
        ("passage", r.passage.is_some()),
        ("severities", r.severities.is_some()),
    ];
    set.into_iter()
        .filter(|(_, on)| *on)
        .map(|(n, _)| n)
        .collect()
}
