//! The doctor's table: one block per device, what it read and what it could
//! not, then the letter's verdicts, in plain text for a terminal.

use std::fmt::Write as _;

use ronda_policy::eval::Status;
use ronda_wire::{Channel, Plug, Recorder, RecorderDisk, Service};

use super::Visit;

/// The whole table; `lang` picks the verdicts' language (`en` or `id`).
pub fn render(v: &Visit, lang: &str) -> String {
    let r = &v.report;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ronda-agent doctor · {}/{} · {} round{} in {:.1} s · checklist: {}",
        r.office,
        r.agent,
        v.rounds,
        if v.rounds == 1 { "" } else { "s" },
        v.took.as_secs_f64(),
        v.letter
    );
    if !r.recorders.is_empty() {
        out.push_str("\nRECORDERS\n");
        r.recorders.iter().for_each(|d| recorder(&mut out, d));
    }
    if !r.plugs.is_empty() {
        out.push_str("\nPLUGS\n");
        r.plugs.iter().for_each(|d| plug(&mut out, d));
    }
    if !r.services.is_empty() {
        out.push_str("\nSERVICES\n");
        r.services.iter().for_each(|d| service(&mut out, d));
    }
    verdicts(&mut out, v, lang);
    match v.unreadable() {
        0 => out.push_str("\nEvery device could be read.\n"),
        n => {
            let _ = writeln!(
                out,
                "\n{n} device(s) could not be read: see NOT READ above."
            );
        }
    }
    out
}

fn read(reachable: bool, error: &Option<String>) -> String {
    match (reachable, error) {
        (true, None) => "read ok".into(),
        (true, Some(e)) => format!("NOT READ (it answered): {e}"),
        (false, Some(e)) => format!("NOT READ: {e}"),
        (false, None) => "NOT READ".into(),
    }
}

fn recorder(out: &mut String, d: &Recorder) {
    let model = [d.model.as_deref(), d.firmware.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let clock = d
        .clock_skew_s
        .map(|s| format!(" · its clock {:+} s from this PC's", s))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  {} ({}) {model} · {}{clock}",
        d.id,
        d.kind,
        read(d.reachable, &d.error)
    );
    for fact in &d.detected {
        let _ = writeln!(out, "      detected: {fact}");
    }
    for disk in &d.disks {
        let _ = writeln!(out, "      {}", disk_line(disk, d.overwrite));
    }
    if d.error.is_none() {
        for ch in &d.channels {
            let _ = writeln!(out, "      {}", channel_line(ch));
        }
    }
}

fn disk_line(d: &RecorderDisk, overwrite: Option<bool>) -> String {
    let space = match (d.free_bytes, d.capacity_bytes) {
        (Some(f), Some(c)) => format!(", {} free of {}", bytes(f), bytes(c)),
        _ => String::new(),
    };
    let ow = match overwrite {
        Some(true) => "; overwrites when full",
        Some(false) => "; overwrite OFF",
        None => "; overwrite setting not readable",
    };
    let health = if d.healthy { "" } else { " (UNHEALTHY)" };
    format!("disk {}: {}{health}{space}{ow}", d.id, d.status)
}

fn channel_line(c: &Channel) -> String {
    let name = c
        .name
        .as_deref()
        .map(|n| format!(" {n}"))
        .unwrap_or_default();
    let mut facts = Vec::new();
    match c.online {
        Some(true) => facts.push("camera connected".to_owned()),
        Some(false) => facts.push("camera NOT connected".to_owned()),
        None => {}
    }
    match c.recording {
        Some(true) => facts.push("recording on".into()),
        Some(false) => facts.push("recording switched OFF".into()),
        None => {}
    }
    match (c.segment_age_s, c.segment_age_other_s, c.last_segment_end) {
        (Some(a), Some(o), _) => facts.push(format!(
            "newest segment {} or {} ago (time convention not known yet)",
            secs(a),
            secs(o)
        )),
        (Some(a), None, _) => facts.push(format!("newest segment {} ago", secs(a))),
        (None, _, Some(end)) => facts.push(format!(
            "newest segment ends {end} (recorder clock unknown)"
        )),
        (None, _, None) if c.error.is_none() => {
            facts.push("NO footage in the recorder's search window".into())
        }
        _ => {}
    }
    if let Some(e) = &c.error {
        facts.push(format!("NOT READ: {e}"));
    }
    format!("channel {}{name} [{}]: {}", c.id, c.zone, facts.join(", "))
}

fn plug(out: &mut String, p: &Plug) {
    let mut facts = Vec::new();
    if let Some(on) = p.relay_on {
        facts.push(format!("relay {}", if on { "ON" } else { "OFF" }));
    }
    let units = [
        (p.power_w, "W"),
        (p.voltage_v, "V"),
        (p.current_a, "A"),
        (p.temperature_c, "°C"),
    ];
    facts.extend(
        units
            .iter()
            .filter_map(|(v, u)| Some(format!("{:.1} {u}", (*v)?))),
    );
    if !p.faults.is_empty() {
        facts.push(format!("faults: {}", p.faults.join(", ")));
    }
    let _ = writeln!(
        out,
        "  {} ({}, {}) · {}{}{}",
        p.id,
        p.kind,
        p.class,
        read(p.reachable, &p.error),
        if facts.is_empty() { "" } else { " · " },
        facts.join(", ")
    );
}

fn service(out: &mut String, s: &Service) {
    let mut facts = Vec::new();
    if let Some(code) = s.status {
        facts.push(format!("HTTP {code}"));
    }
    if let Some(ms) = s.latency_ms {
        facts.push(format!("{ms} ms"));
    }
    if s.body_matched == Some(false) {
        facts.push("expected text MISSING".into());
    }
    if let Some(d) = s.tls_days_left {
        facts.push(format!("TLS certificate {d} days left"));
    }
    let _ = writeln!(
        out,
        "  {} {} · {} · {}",
        s.id,
        s.url,
        read(s.reachable, &s.error),
        facts.join(", ")
    );
}

fn verdicts(out: &mut String, v: &Visit, lang: &str) {
    out.push_str("\nWHAT THE LETTER SAYS\n");
    for item in &v.evaluation.items {
        let _ = writeln!(out, "  {} {} ({})", mark(item.status), item.item, item.kind);
        // A warning that holds is the item's own ok said again: left out.
        for f in item
            .findings
            .iter()
            .filter(|f| f.advisory.is_none() || f.status != Status::Ok)
        {
            let warn = if f.advisory.is_some() {
                " (warning only)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "      {} {}{warn}",
                mark(f.status),
                f.message.get(lang)
            );
        }
    }
}

fn mark(s: Status) -> &'static str {
    match s {
        Status::Ok => "✓ ok     ",
        Status::Fail => "✗ FAIL   ",
        Status::NoData => "? no-data",
        Status::Pending => "… pending",
    }
}

/// An age in seconds, as the letters write durations.
fn secs(s: u64) -> String {
    ronda_policy::text::duration(std::time::Duration::from_secs(s)).en
}

fn bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        return format!("{b} B");
    }
    format!("{v:.1} {}", UNITS[u])
}
