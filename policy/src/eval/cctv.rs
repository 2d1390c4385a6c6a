//! `cctv.recording` and `cctv.storage`.

use std::time::Duration;

use ronda_wire::{Channel, Recorder, Report};
use serde_json::json;

use super::{finding, Cx, Finding, Status};

/// Each required zone needs one channel that is online and whose newest
/// segment is younger than `max_age`.
pub fn recording(cx: &Cx<'_>, zones: &[String], max_age: Duration) -> Vec<Finding> {
    zones
        .iter()
        .map(|zone| zone_finding(cx, zone, max_age))
        .collect()
}

fn zone_finding(cx: &Cx<'_>, zone: &str, max_age: Duration) -> Finding {
    let mut seen = Vec::new();
    let mut proof = None;
    let mut agents = Vec::new();
    for (agent, report) in cx.live() {
        for rec in &report.recorders {
            for ch in rec.channels.iter().filter(|c| c.zone == zone) {
                let age = segment_age(cx, report, ch);
                let good =
                    rec.reachable && ch.online != Some(false) && age.is_some_and(|a| a <= max_age);
                seen.push(json!({
                    "recorder": rec.id, "channel": ch.id, "name": ch.name,
                    "reachable": rec.reachable, "online": ch.online, "recording": ch.recording,
                    "segment_age_s": age.map(|a| a.as_secs()), "error": ch.error.as_ref().or(rec.error.as_ref()),
                }));
                if good && proof.is_none() {
                    proof = Some(format!(
                        "{} channel {} recorded {} ago",
                        rec.id,
                        label(ch),
                        human(age.unwrap_or_default())
                    ));
                }
                agents.push(agent);
            }
        }
    }
    agents.dedup();
    let agent = if agents.len() == 1 { agents[0] } else { "" };
    let subject = format!("zone:{zone}");
    let evidence =
        json!({ "zone": zone, "max_segment_age_s": max_age.as_secs(), "channels": seen });
    let mut f = match proof {
        Some(msg) => finding(subject, agent, Status::Ok, msg, evidence),
        // An offline agent may hold the camera that would prove the zone.
        None if !cx.down.is_empty() => finding(
            subject,
            agent,
            Status::NoData,
            format!("no live channel in zone {zone}; an agent is offline"),
            evidence,
        ),
        None if seen.is_empty() => finding(
            subject,
            agent,
            Status::Fail,
            format!("no camera covers zone {zone}"),
            evidence,
        ),
        None => finding(
            subject,
            agent,
            Status::Fail,
            format!(
                "no camera in zone {zone} has recorded in the last {}",
                human(max_age)
            ),
            evidence,
        ),
    };
    if agent.is_empty() {
        f.agent = None;
    }
    f
}

/// How old the newest segment is now: from its end time when the recorder
/// gave one, else from the age the agent measured plus the report's age.
fn segment_age(cx: &Cx<'_>, report: &Report, ch: &Channel) -> Option<Duration> {
    if let Some(end) = ch.last_segment_end {
        return Some(cx.age(end));
    }
    ch.segment_age_s
        .map(|s| Duration::from_secs(s) + cx.age(report.observed_at))
}

fn label(ch: &Channel) -> String {
    match &ch.name {
        Some(n) => format!("{} ({n})", ch.id),
        None => ch.id.clone(),
    }
}

/// Disks must be healthy. With overwrite on, a full disk is normal.
pub fn storage(cx: &Cx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (agent, report) in cx.live() {
        for rec in &report.recorders {
            if !rec.reachable {
                let msg = format!(
                    "recorder {} does not answer: {}",
                    rec.id,
                    rec.error.as_deref().unwrap_or("no reason given")
                );
                out.push(finding(
                    rec.id.clone(),
                    agent,
                    Status::Fail,
                    msg,
                    json!({ "recorder": rec.id, "error": rec.error }),
                ));
                continue;
            }
            out.extend(rec.disks.iter().map(|d| disk_finding(agent, rec, d)));
        }
    }
    out
}

fn disk_finding(agent: &str, rec: &Recorder, d: &ronda_wire::RecorderDisk) -> Finding {
    let full = d.status.eq_ignore_ascii_case("full") || d.free_bytes == Some(0);
    let overwrite = rec.overwrite == Some(true);
    let evidence = json!({
        "recorder": rec.id, "disk": d.id, "status": d.status, "healthy": d.healthy,
        "capacity_bytes": d.capacity_bytes, "free_bytes": d.free_bytes, "overwrite": rec.overwrite,
    });
    let subject = format!("{}/{}", rec.id, d.id);
    let (status, msg) = if full && overwrite {
        (
            Status::Ok,
            format!(
                "disk {} is full and the recorder overwrites the oldest footage",
                d.id
            ),
        )
    } else if full {
        (
            Status::Fail,
            format!(
                "disk {} is full and overwrite is off: recording has stopped",
                d.id
            ),
        )
    } else if d.healthy {
        (Status::Ok, format!("disk {} is {}", d.id, d.status))
    } else {
        (
            Status::Fail,
            format!("disk {} reports `{}`", d.id, d.status),
        )
    };
    finding(subject, agent, status, msg, evidence)
}

pub(crate) fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}
