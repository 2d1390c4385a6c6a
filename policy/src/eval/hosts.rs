//! `service.up`, `host.up` and `agent.online`.

use jiff::Timestamp;
use ronda_wire::Service;
use serde_json::json;

use super::{cctv::human, finding, Cx, Finding, Status};
use crate::load::local;
use crate::model::Check;

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
                problems.push(format!(
                    "does not answer: {}",
                    s.error.as_deref().unwrap_or("no reason given")
                ));
            }
            if s.status_ok == Some(false) {
                problems.push(format!(
                    "HTTP status {}",
                    s.status.map_or("?".into(), |c| c.to_string())
                ));
            }
            if s.body_matched == Some(false) {
                problems.push("expected text missing from the page".into());
            }
            if let (Some(max), Some(ms)) = (max_latency, s.latency_ms) {
                if u128::from(ms) > max.as_millis() {
                    problems.push(format!("slow: {ms} ms (limit {} ms)", max.as_millis()));
                }
            }
            if let (Some(min), Some(days)) = (min_tls_days, s.tls_days_left) {
                if days < *min {
                    problems.push(format!("TLS certificate expires in {days} days"));
                }
            }
            let (status, msg) = match problems.is_empty() {
                true => (
                    Status::Ok,
                    format!(
                        "{} answers{}",
                        s.id,
                        s.latency_ms
                            .map(|m| format!(" in {m} ms"))
                            .unwrap_or_default()
                    ),
                ),
                false => (Status::Fail, format!("{}: {}", s.id, problems.join(", "))),
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
        let view = cx.state.agents.iter().find(|a| a.agent == agent);
        for boot in view.iter().flat_map(|a| &a.reboots).filter(|b| **b > since) {
            problems.push(format!("rebooted at {}", local(*boot, &cx.letter.tz)));
        }
        let mem = used_percent(h.memory.total_bytes, h.memory.available_bytes);
        if mem > *max_memory_percent {
            problems.push(format!(
                "memory {mem:.0}% used (limit {max_memory_percent:.0}%)"
            ));
        }
        for d in &h.disks {
            let used = used_percent(d.total_bytes, d.available_bytes);
            if used > *max_disk_percent {
                problems.push(format!(
                    "disk {} {used:.0}% full (limit {max_disk_percent:.0}%)",
                    d.mount
                ));
            }
        }
        let (status, msg) = match problems.is_empty() {
            true => (
                Status::Ok,
                format!(
                    "{} up {}",
                    h.hostname,
                    human(std::time::Duration::from_secs(h.uptime_s))
                ),
            ),
            false => (
                Status::Fail,
                format!("{}: {}", h.hostname, problems.join(", ")),
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
            message: "no agent has reported for this office".into(),
            evidence: serde_json::Value::Null,
        }];
    }
    cx.state
        .agents
        .iter()
        .map(|a| {
            let silent = cx.silent_for(a);
            let evidence = json!({ "online": a.online, "last_report": a.last_seen, "silent_s": silent.map(|s| s.as_secs()), "silence_limit_s": cx.silence.as_secs() });
            let (status, msg) = if cx.is_up(a) {
                (Status::Ok, format!("agent {} is reporting", a.agent))
            } else if cx.is_connected(a) {
                (Status::Ok, format!("agent {} is connected; its first report is due", a.agent))
            } else if !a.online {
                (Status::Fail, format!("agent {} went offline (its connection dropped)", a.agent))
            } else {
                let last = a.last_seen.map_or("never".into(), |t| local(t, &cx.letter.tz));
                (Status::Fail, format!("agent {} has been silent since {last}", a.agent))
            };
            finding(a.agent.clone(), &a.agent, status, msg, evidence)
        })
        .collect()
}
