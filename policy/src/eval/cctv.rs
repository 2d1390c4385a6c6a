//! `cctv.recording`: zones and their channels.
//!
//! A channel records when its recorder answers and its newest segment is
//! young enough. "Could not read" is never "did not record": a channel
//! whose recordings could not be searched, or whose age is one of two
//! readings that disagree, is `no-data` with the reason. A recorder that
//! does not answer at all is a failure of the CCTV itself.

use std::time::Duration;

use ronda_wire::{Channel, Recorder};
use serde_json::json;

use super::{finding, Cx, Finding, Status};
use crate::model::Severity;
use crate::text::{self, Text};

/// Ages up to this show a recorder is writing, when no letter item says.
pub const DEFAULT_FRESH: Duration = Duration::from_secs(600);

/// What one channel's reading shows.
pub(super) enum Seen {
    /// Recorded this long ago, within the limit.
    Fresh(Duration),
    /// Its newest segment is this old; `None`: nothing in the lookback.
    Stale(Option<Duration>),
    /// The camera is not connected to its recorder.
    Offline,
    /// Its recorder does not answer.
    RecorderDown(Text),
    /// Its recordings could not be read, and why.
    Unread(Text),
    /// The device keeps no recordings to read at all (an RTSP stream): it
    /// neither proves nor disproves its zone.
    NoRecordings(Text),
}

struct Cam<'a> {
    agent: &'a str,
    rec: &'a Recorder,
    ch: &'a Channel,
    seen: Seen,
}

/// Every channel in `zones` of every live agent, with what its reading shows.
fn cameras<'a>(
    cx: &'a Cx<'_>,
    zones: &'a [String],
    max_age: Duration,
) -> impl Iterator<Item = Cam<'a>> + 'a {
    cx.live().flat_map(move |(agent, report)| {
        report.recorders.iter().flat_map(move |rec| {
            rec.channels
                .iter()
                .filter(|ch| zones.contains(&ch.zone))
                .map(move |ch| Cam {
                    agent,
                    rec,
                    ch,
                    seen: seen(cx, agent, rec, ch, max_age),
                })
        })
    })
}

pub(super) fn seen(
    cx: &Cx<'_>,
    agent: &str,
    rec: &Recorder,
    ch: &Channel,
    max_age: Duration,
) -> Seen {
    match unusable(cx, agent, rec) {
        Some((Status::Fail, why)) => return Seen::RecorderDown(why),
        Some((_, why)) => return Seen::Unread(why),
        None => {}
    }
    if ch.online == Some(false) {
        return Seen::Offline;
    }
    if ch.no_recordings {
        return Seen::NoRecordings(no_recordings(rec, ch));
    }
    let since = cx.since_taken(agent);
    // Saturating: the ages come from the field and may be absurd.
    let age = ch
        .segment_age_s
        .map(|s| Duration::from_secs(s).saturating_add(since));
    let other = ch
        .segment_age_other_s
        .map(|s| Duration::from_secs(s).saturating_add(since));
    match (age, other) {
        (Some(a), Some(o)) if (a <= max_age) != (o <= max_age) => Seen::Unread(text!(
            "belum diketahui apakah perekam membaca waktu pencarian sebagai UTC atau jam dindingnya: rekaman terakhir {} atau {} lalu",
            "not known yet whether the recorder reads search times as UTC or as its wall clock: newest footage {} or {} ago",
            text::duration(a.min(o)),
            text::duration(a.max(o))
        )),
        (Some(a), Some(o)) if a <= max_age => Seen::Fresh(a.max(o)),
        (Some(a), Some(o)) => Seen::Stale(Some(a.min(o))),
        (Some(a), None) if a <= max_age => Seen::Fresh(a),
        (Some(a), None) => Seen::Stale(Some(a)),
        (None, _) => match (&ch.error, ch.last_segment_end) {
            (Some(e), _) => Seen::Unread(Text::same(e.clone())),
            // An end with no age: the recorder did not tell its own time,
            // and its clock against ours would be a guess.
            (None, Some(_)) => Seen::Unread(text!(
                "perekam tidak memberi tahu jamnya sendiri, jadi umur rekamannya tidak diketahui",
                "the recorder did not tell its own time, so the age of its footage is not known"
            )),
            (None, None) => Seen::Stale(None),
        },
    }
}

/// Why a channel has no recordings to read, in both languages for the
/// kinds Ronda knows.
fn no_recordings(rec: &Recorder, ch: &Channel) -> Text {
    match rec.kind.as_str() {
        "rtsp" => text!(
            "kamera RTSP tidak menyimpan rekaman: alirannya menjawab, tetapi itu tidak membuktikan ada yang merekam",
            "an RTSP camera keeps no recordings: its stream answers, which does not prove anything records it"
        ),
        _ => Text::same(ch.error.clone().unwrap_or_else(|| "no recordings to read".into())),
    }
}

/// Why the recorder's own answer says nothing of its channels or disks:
/// paused after refused logins or unreadable (no-data: no evidence either
/// way), or silent (fail: a recorder that does not answer records nothing
/// anyone can check). `None` when its answer can be read.
pub(super) fn unusable(cx: &Cx<'_>, agent: &str, rec: &Recorder) -> Option<(Status, Text)> {
    if let Some(p) = &rec.paused {
        let why = super::logins::paused_text(cx, agent, super::logins::RECORDER, &rec.id, p);
        return Some((Status::NoData, why));
    }
    if !rec.reachable {
        return Some((Status::Fail, silent(rec)));
    }
    unreadable(rec).map(|why| (Status::NoData, why))
}

/// A recorder that answered, but with nothing that could be read: why.
fn unreadable(rec: &Recorder) -> Option<Text> {
    let why = rec.error.as_deref()?;
    Some(text!(
        "perekam {} menjawab, tetapi jawabannya tidak dapat dibaca: {why}",
        "recorder {} answered, but its answer could not be read: {why}",
        rec.id
    ))
}

/// "recorder nvr does not answer: no answer within 5s".
fn silent(rec: &Recorder) -> Text {
    let why = rec.error.as_deref().unwrap_or("?");
    text!(
        "perekam {} tidak menjawab: {why}",
        "recorder {} does not answer: {why}",
        rec.id
    )
}

/// Each required zone needs one channel that records; each channel in the
/// zones is also its own advisory finding.
pub fn recording(
    cx: &Cx<'_>,
    zones: &[String],
    max_age: Duration,
    channel_severity: Severity,
) -> Vec<Finding> {
    let cams: Vec<Cam<'_>> = cameras(cx, zones, max_age).collect();
    let mut out: Vec<Finding> = zones
        .iter()
        .map(|zone| zone_finding(cx, zone, max_age, &cams))
        .collect();
    out.extend(
        cams.iter()
            .map(|c| channel_finding(c).advisory(channel_severity)),
    );
    out
}

fn zone_finding(cx: &Cx<'_>, zone: &str, max_age: Duration, all: &[Cam<'_>]) -> Finding {
    let cams: Vec<&Cam<'_>> = all.iter().filter(|c| c.ch.zone == zone).collect();
    let name = text::zone(zone);
    let mut agents: Vec<&str> = cams.iter().map(|c| c.agent).collect();
    agents.dedup();
    let agent = if agents.len() == 1 { agents[0] } else { "" };
    let evidence = json!({
        "zone": zone, "max_segment_age_s": max_age.as_secs(),
        // Each channel's own evidence is in its own finding: named here.
        "channels": cams.iter().map(|c| format!("{}/{}", c.rec.id, c.ch.id)).collect::<Vec<_>>(),
    });
    let proof = cams.iter().find_map(|c| match c.seen {
        Seen::Fresh(age) => Some((c, age)),
        _ => None,
    });
    let unread = cams.iter().find_map(|c| match &c.seen {
        Seen::Unread(why) => Some((c, why)),
        _ => None,
    });
    // Cameras that keep no recordings neither prove nor disprove the zone;
    // with nothing else in it, the zone cannot be judged.
    let judged: Vec<&Cam<'_>> = cams
        .iter()
        .copied()
        .filter(|c| !matches!(c.seen, Seen::NoRecordings(_)))
        .collect();
    let (status, msg) = if let Some((c, age)) = proof {
        (
            Status::Ok,
            text!(
                "zona {}: {} merekam {} lalu",
                "zone {}: {} recorded {} ago",
                &name,
                camera(c),
                text::duration(age)
            ),
        )
    } else if !cx.down.is_empty() {
        // An offline agent may hold the camera that would prove the zone.
        (
            Status::NoData,
            text!(
                "tidak ada kanal yang terpantau di zona {}; ada agen yang luring",
                "no live channel in zone {}; an agent is offline",
                name
            ),
        )
    } else if cams.is_empty() {
        (
            Status::Fail,
            text!(
                "tidak ada kamera yang meliput zona {}",
                "no camera covers zone {}",
                name
            ),
        )
    } else if judged.is_empty() {
        (
            Status::NoData,
            text!(
                "kamera di zona {} tidak menyimpan rekaman yang dapat dibaca Ronda (misalnya hanya aliran RTSP)",
                "the cameras of zone {} keep no recordings Ronda can read (an RTSP stream only, for example)",
                name
            ),
        )
    } else if let Some((c, why)) = unread {
        (
            Status::NoData,
            text!(
                "rekaman zona {} tidak dapat dibaca ({}: {}); belum tentu tidak merekam",
                "the footage of zone {} could not be read ({}: {}); that is not proof it stopped",
                name,
                camera(c),
                why
            ),
        )
    } else {
        (Status::Fail, zone_failure(&name, max_age, &judged))
    };
    let mut f = finding(format!("zone:{zone}"), agent, status, msg, evidence);
    if agent.is_empty() {
        f.agent = None;
    }
    f
}

/// Why no camera of a zone records: footage missing, or the recorder down.
fn zone_failure(name: &Text, max_age: Duration, cams: &[&Cam<'_>]) -> Text {
    if let Some(why) = cams.iter().find_map(|c| match &c.seen {
        Seen::RecorderDown(why) => Some(why),
        _ => None,
    }) {
        if cams.iter().all(|c| matches!(c.seen, Seen::RecorderDown(_))) {
            return text!(
                "tidak dapat dipastikan ada kamera di zona {} yang merekam: {}",
                "no camera in zone {} can be shown to record: {}",
                name,
                why
            );
        }
    }
    text!(
        "tidak ada kamera di zona {} yang merekam dalam {} terakhir: rekaman tidak ada",
        "no camera in zone {} has recorded in the last {}: the footage is missing",
        name,
        text::duration(max_age)
    )
}

fn channel_finding(c: &Cam<'_>) -> Finding {
    let cam = camera(c);
    let (status, msg) = match &c.seen {
        Seen::Fresh(age) => (
            Status::Ok,
            text!(
                "{} merekam {} lalu",
                "{} recorded {} ago",
                &cam,
                text::duration(*age)
            ),
        ),
        Seen::Stale(Some(age)) => (
            Status::Fail,
            text!(
                "{} berhenti merekam: rekaman terakhir {} lalu",
                "{} has stopped recording: its newest footage is {} old",
                &cam,
                text::duration(*age)
            ),
        ),
        Seen::Stale(None) => (
            Status::Fail,
            text!(
                "{} tidak punya rekaman dalam jangka pencarian perekam",
                "{} has no footage within the recorder's search window",
                &cam
            ),
        ),
        Seen::Offline => (
            Status::Fail,
            text!(
                "{} tidak tersambung ke perekamnya",
                "{} is not connected to its recorder",
                &cam
            ),
        ),
        Seen::RecorderDown(why) | Seen::Unread(why) | Seen::NoRecordings(why) => {
            (Status::NoData, text!("{}: {}", "{}: {}", &cam, why))
        }
    };
    let subject = format!("{}/{}", c.rec.id, c.ch.id);
    finding(subject, c.agent, status, msg, channel_evidence(c))
}

/// `kamera nvr-depan/1 (Jalan depan)`.
fn camera(c: &Cam<'_>) -> Text {
    let label = match &c.ch.name {
        Some(n) => format!("{}/{} ({n})", c.rec.id, c.ch.id),
        None => format!("{}/{}", c.rec.id, c.ch.id),
    };
    text!("kamera {label}", "camera {label}")
}

fn channel_evidence(c: &Cam<'_>) -> serde_json::Value {
    let ch = c.ch;
    json!({
        "recorder": c.rec.id, "channel": ch.id, "name": ch.name, "zone": ch.zone,
        "reachable": c.rec.reachable, "online": ch.online, "recording": ch.recording,
        "last_segment_end": ch.last_segment_end, "segment_age_s": ch.segment_age_s,
        "segment_age_other_s": ch.segment_age_other_s,
        "error": ch.error.as_ref().or(c.rec.error.as_ref()),
    })
}
