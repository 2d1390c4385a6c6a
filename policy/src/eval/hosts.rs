//! `service.up`, `host.up` and `agent.online`.

use jiff::Timestamp;
use ronda_wire::Service;
use serde_json::json;

use super::{finding, Cx, Finding, Status};
use crate::load::format_local_minute;
use crate::model::{Check, Severity};
use crate::text::{self, Text};

pub fn services(cx: &Cx<'_>, check: &Check) -> Vec<Finding> {
    let Check::ServiceUp {
        services,
        max_latency,
        min_tls_days,
    } = check
    else {
        return Vec::new();
    };
    let wanted = |s: &Service| services.as_ref().is_none_or(|list| list.contains(&s.id));
    let mut out = Vec::new();
    for (agent, report) in cx.live() {
        for s in report.services.iter().filter(|s| wanted(s)) {
            let mut problems = Vec::new();
            if !s.reachable {
                let why = s.error.as_deref().unwrap_or("?");
                problems.push(text!("tidak menjawab: {why}", "does not answer: {why}"));
            }
            if s.status_ok == Some(false) {
                let code = s.status.map_or("?".into(), |c| c.to_string());
                problems.push(text!("status HTTP {code}", "HTTP status {code}"));
            }
            if s.body_matched == Some(false) {
                problems.push(text!(
                    "teks yang diharapkan tidak ada di halaman",
                    "expected text missing from the page"
                ));
            }
            if let (Some(max), Some(ms)) = (max_latency, s.latency_ms) {
                let limit = max.as_millis();
                if u128::from(ms) > limit {
                    problems.push(text!(
                        "lambat: {ms} ms (batas {limit} ms)",
                        "slow: {ms} ms (limit {limit} ms)"
                    ));
                }
            }
            if let (Some(min), Some(days)) = (min_tls_days, s.tls_days_left) {
                if days < *min {
                    problems.push(text!(
                        "sertifikat TLS berakhir dalam {days} hari",
                        "TLS certificate expires in {days} days"
                    ));
                }
            }
            let id = &s.id;
            let (status, msg) = match problems.is_empty() {
                true => (
                    Status::Ok,
                    match s.latency_ms {
                        Some(ms) => text!("{id} menjawab dalam {ms} ms", "{id} answers in {ms} ms"),
                        None => text!("{id} menjawab", "{id} answers"),
                    },
                ),
                false => (
                    Status::Fail,
                    text!("{id}: {}", "{id}: {}", joined(&problems)),
                ),
            };
            let evidence = json!({ "service": s.id, "url": s.url, "reachable": s.reachable, "status": s.status, "latency_ms": s.latency_ms, "body_matched": s.body_matched, "tls_days_left": s.tls_days_left, "error": s.error });
            out.push(finding(s.id.clone(), agent, status, msg, evidence));
        }
    }
    out
}

pub fn hosts(cx: &Cx<'_>, check: &Check) -> Vec<Finding> {
    let Check::HostUp {
        max_disk_percent,
        max_memory_percent,
        reboot_lookback,
    } = check
    else {
        return Vec::new();
    };
    let since = cx
        .now
        .checked_sub(*reboot_lookback)
        .unwrap_or(Timestamp::MIN);
    let since = cx
        .letter
        .period_at(cx.now)
        .map_or(since, |p| p.start.max(since));
    let mut out = Vec::new();
    for (agent, report) in cx.live() {
        let Some(h) = &report.host else { continue };
        let mut problems = Vec::new();
        let view = cx.view(agent);
        for boot in view.iter().flat_map(|a| &a.reboots).filter(|b| **b > since) {
            let at = format_local_minute(*boot, &cx.letter.tz);
            problems.push(text!("dinyalakan ulang pada {at}", "rebooted at {at}"));
        }
        let mem = used_percent(h.memory.total_bytes, h.memory.available_bytes);
        if mem > *max_memory_percent {
            problems.push(text!(
                "memori terpakai {mem:.0}% (batas {max_memory_percent:.0}%)",
                "memory {mem:.0}% used (limit {max_memory_percent:.0}%)"
            ));
        }
        for d in &h.disks {
            let used = used_percent(d.total_bytes, d.available_bytes);
            if used > *max_disk_percent {
                let mount = &d.mount;
                problems.push(text!(
                    "disk {mount} terisi {used:.0}% (batas {max_disk_percent:.0}%)",
                    "disk {mount} {used:.0}% full (limit {max_disk_percent:.0}%)"
                ));
            }
        }
        let host = &h.hostname;
        let (status, msg) = match problems.is_empty() {
            true => (
                Status::Ok,
                text!(
                    "{host} hidup sejak {} lalu",
                    "{host} up {}",
                    text::duration(std::time::Duration::from_secs(h.uptime_s))
                ),
            ),
            false => (
                Status::Fail,
                text!("{host}: {}", "{host}: {}", joined(&problems)),
            ),
        };
        let evidence = json!({ "hostname": h.hostname, "uptime_s": h.uptime_s, "boot_time": h.boot_time, "memory_used_percent": mem.round(), "disks": h.disks.iter().map(|d| json!({"mount": d.mount, "used_percent": used_percent(d.total_bytes, d.available_bytes).round()})).collect::<Vec<_>>() });
        out.push(finding(
            format!("host:{agent}"),
            agent,
            status,
            msg,
            evidence,
        ));
    }
    out
}

fn used_percent(total: u64, available: u64) -> f32 {
    if total == 0 {
        return 0.0;
    }
    (total.saturating_sub(available) as f64 * 100.0 / total as f64) as f32
}

/// One finding per agent; an office nobody reports for fails as a whole.
pub fn agents(cx: &Cx<'_>) -> Vec<Finding> {
    if cx.state.agents.is_empty() {
        return vec![Finding {
            subject: "office".into(),
            agent: None,
            status: Status::Fail,
            message: text!(
                "belum ada agen yang melapor untuk kantor ini",
                "no agent has reported for this office"
            ),
            evidence: serde_json::Value::Null,
            advisory: None,
            severity: None,
            anytime: false,
        }];
    }
    cx.state
        .agents
        .iter()
        .map(|a| {
            let silent = cx.silent_for(a);
            let evidence = json!({ "online": a.online, "last_report": a.last_seen, "silent_s": silent.map(|s| s.as_secs()), "silence_limit_s": cx.silence.as_secs() });
            let id = &a.agent;
            let (status, msg) = if cx.is_up(a) {
                (Status::Ok, text!("agen {id} melapor", "agent {id} is reporting"))
            } else if cx.is_connected(a) {
                (Status::Ok, text!("agen {id} tersambung; laporan pertamanya segera datang", "agent {id} is connected; its first report is due"))
            } else if !a.online {
                (Status::Fail, text!("agen {id} luring (sambungannya putus)", "agent {id} went offline (its connection dropped)"))
            } else {
                match a.last_seen.map(|t| format_local_minute(t, &cx.letter.tz)) {
                    Some(last) => (Status::Fail, text!("agen {id} diam sejak {last}", "agent {id} has been silent since {last}")),
                    None => (Status::Fail, text!("agen {id} belum pernah melapor", "agent {id} has never reported")),
                }
            };
            finding(a.agent.clone(), &a.agent, status, msg, evidence)
        })
        .collect()
}

/// Problems joined with commas, in each language.
fn joined(problems: &[Text]) -> Text {
    let pick = |f: fn(&Text) -> &str| problems.iter().map(f).collect::<Vec<_>>().join(", ");
    Text::new(pick(|t| &t.id), pick(|t| &t.en))
}

/// One advisory finding per live agent whose clock offset is known: an
/// office PC hours off (a dual-boot machine mixing local time and UTC)
/// makes its own times misleading, though Ronda's verdicts do not use them.
pub fn clocks(cx: &Cx<'_>, max: std::time::Duration) -> Vec<Finding> {
    cx.live()
        .filter_map(|(agent, _)| {
            let off = cx.view(agent)?.clock_offset?;
            let by = text::duration(off.unsigned_abs());
            let (status, msg) = if off.unsigned_abs() <= max {
                (
                    Status::Ok,
                    text!(
                        "jam agen {agent} tepat (selisih {} dengan server)",
                        "agent {agent}'s clock is right (within {} of the server's)",
                        &by
                    ),
                )
            } else if off.is_negative() {
                (
                    Status::Fail,
                    text!(
                        "jam agen {agent} terlambat {} dari jam server; periksa zona waktu dan NTP komputer kantor",
                        "agent {agent}'s clock is {} behind the server's; check the office PC's time zone and NTP",
                        &by
                    ),
                )
            } else {
                (
                    Status::Fail,
                    text!(
                        "jam agen {agent} mendahului jam server {}; periksa zona waktu dan NTP komputer kantor",
                        "agent {agent}'s clock is {} ahead of the server's; check the office PC's time zone and NTP",
                        &by
                    ),
                )
            };
            let evidence = json!({ "agent": agent, "clock_offset_s": off.as_secs(), "max_s": max.as_secs() });
            Some(finding(format!("clock:{agent}"), agent, status, msg, evidence).advisory(Severity::Warning))
        })
        .collect()
}
