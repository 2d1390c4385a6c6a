//! `cctv.storage`: a recorder's disks, health first, then fullness.

use ronda_wire::{Channel, Recorder, RecorderDisk};
use serde_json::json;

use super::cctv::{seen, unusable, Seen};
use super::{finding, Cx, Finding, Status};
use crate::text::Text;

/// Disks must be healthy first; a full one is fine when the recorder
/// overwrites its oldest footage, as its setting or its fresh footage shows.
pub fn storage(cx: &Cx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (agent, report) in cx.live() {
        for rec in &report.recorders {
            if let Some((verdict, why)) = unusable(cx, agent, rec) {
                let evidence =
                    json!({ "recorder": rec.id, "paused": rec.paused, "error": rec.error });
                out.push(finding(rec.id.clone(), agent, verdict, why, evidence));
            } else {
                let fresh = || fresh_channel(cx, agent, rec);
                out.extend(rec.disks.iter().map(|d| disk_finding(agent, rec, d, fresh)));
            }
        }
    }
    out
}

/// A channel of `rec` that recorded recently, proving the recorder writes.
fn fresh_channel<'a>(cx: &Cx<'_>, agent: &str, rec: &'a Recorder) -> Option<&'a Channel> {
    rec.channels
        .iter()
        .find(|ch| matches!(seen(cx, agent, rec, ch, cx.fresh), Seen::Fresh(_)))
}

/// Health first: a failed disk may also read 0 free, and is no full disk.
/// `fresh` is asked only for a full disk whose overwrite setting is unread.
fn disk_finding<'a>(
    agent: &str,
    rec: &'a Recorder,
    d: &RecorderDisk,
    fresh: impl Fn() -> Option<&'a Channel>,
) -> Finding {
    // "full" is a state some firmware reports, not a failure.
    let says_full = d.status.eq_ignore_ascii_case("full");
    let full = says_full || d.free_bytes == Some(0);
    let disk = format!("{}/{}", rec.id, d.id);
    let status = &d.status;
    let mut proof = None;
    let (verdict, msg) = if status.is_empty() || status.eq_ignore_ascii_case("unknown") {
        (
            Status::NoData,
            text!(
                "perekam tidak menyebut keadaan disk {disk}",
                "the recorder does not say the state of disk {disk}"
            ),
        )
    } else if !d.healthy && !says_full {
        (
            Status::Fail,
            text!(
                "disk {disk} rusak: `{status}`",
                "disk {disk} has failed: `{status}`"
            ),
        )
    } else if !full {
        (
            Status::Ok,
            text!(
                "disk {disk} baik ({status})",
                "disk {disk} is healthy ({status})"
            ),
        )
    } else {
        proof = rec.overwrite.is_none().then(fresh).flatten();
        full_disk(&disk, rec.overwrite, proof)
    };
    let evidence = json!({
        "recorder": rec.id, "disk": d.id, "status": d.status, "healthy": d.healthy,
        "capacity_bytes": d.capacity_bytes, "free_bytes": d.free_bytes, "overwrite": rec.overwrite,
        "fresh_channel": proof.map(|c| &c.id),
    });
    finding(disk, agent, verdict, msg, evidence)
}

/// A full, healthy disk: fine while the recorder overwrites. Without the
/// setting, fresh footage on one of its channels proves it does.
fn full_disk(disk: &str, overwrite: Option<bool>, fresh: Option<&Channel>) -> (Status, Text) {
    match (overwrite, fresh) {
        (Some(true), _) => (
            Status::Ok,
            text!(
                "disk {disk} penuh dan perekam menimpa rekaman terlama",
                "disk {disk} is full and the recorder overwrites the oldest footage"
            ),
        ),
        (Some(false), _) => (
            Status::Fail,
            text!(
                "disk {disk} penuh dan penimpaan mati: perekaman berhenti",
                "disk {disk} is full and overwrite is off: recording stops"
            ),
        ),
        (None, Some(ch)) => (
            Status::Ok,
            text!(
                "disk {disk} penuh; rekaman baru di kanal {} menunjukkan perekam menimpa yang lama",
                "disk {disk} is full; fresh footage on channel {} shows the recorder overwrites the oldest",
                ch.id
            ),
        ),
        (None, None) => (
            Status::NoData,
            text!(
                "disk {disk} penuh; pengaturan penimpaan tidak terbaca dan tidak ada rekaman baru yang menunjukkannya",
                "disk {disk} is full; its overwrite setting could not be read and no fresh footage shows it"
            ),
        ),
    }
}
