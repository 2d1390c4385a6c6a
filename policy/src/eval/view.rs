//! `cctv.view`: does each camera of the zones still see what it should?
//!
//! The agent looks at every camera's picture every 15 to 30 minutes and
//! reports a few numbers per look and the device's own view events. A
//! problem fires only when it holds in [`HOLD`] of the last looks, so a
//! passing truck or a cloud pages nobody; `frozen` fires when the picture
//! has come back byte for byte the same for hours of the device's time.
//! `moved` and `blurred` need a view a person pinned as right for that
//! light; without one they are not judged, and the finding says so.

use std::time::Duration;

use ronda_wire::{Channel, Recorder, Report, ViewEvent, ViewSample};
use serde_json::json;

use jiff::Timestamp;
use serde::Serialize;

use super::{finding, Cx, Finding, Status};
use crate::model::{Severity, ViewRule};
use crate::text::{self, Text};

/// What a camera showed when a head or IT confirmed "this camera sees the
/// road": the numbers, never the picture.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViewPin {
    pub light: Light,
    pub stats: ronda_wire::ViewStats,
    pub by: String,
    pub at: Timestamp,
}

/// Day and night views are pinned separately: the same road looks
/// different under infrared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Light {
    Day,
    Night,
}

impl Light {
    pub fn name(self) -> &'static str {
        match self {
            Light::Day => "day",
            Light::Night => "night",
        }
    }

    pub fn parse(s: &str) -> Option<Light> {
        match s {
            "day" => Some(Light::Day),
            "night" => Some(Light::Night),
            _ => None,
        }
    }
}

/// Looks out of the last [`ronda_wire::VIEW_SAMPLES`] that must show a
/// problem before it fires.
pub const HOLD: usize = 2;
/// Nearly all of a dark picture is below luma 32, in ‰.
const DARK_SHARE: u16 = 900;
/// Below one bit of entropy (in tenths) a picture is not a sensor's: the
/// sim's covered lens still shows 4.5 bits of noise, a recorder's "no
/// video" screen 0.3.
const SYNTHETIC_ENTROPY: u8 = 10;
/// A pin judges a look whose mean brightness is this close to its own: a
/// day look against the day view, a night look against the night view.
const PIN_LIGHT: u8 = 48;

/// What a look can show, most telling first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    NoSignal,
    SnapshotFailed,
    Dark,
    Covered,
    Frozen,
    Moved,
    Blurred,
}

const ALL: [Problem; 7] = [
    Problem::NoSignal,
    Problem::SnapshotFailed,
    Problem::Dark,
    Problem::Covered,
    Problem::Frozen,
    Problem::Moved,
    Problem::Blurred,
];

impl Problem {
    pub fn name(self) -> &'static str {
        match self {
            Problem::NoSignal => "no_signal",
            Problem::SnapshotFailed => "snapshot_failed",
            Problem::Dark => "dark",
            Problem::Covered => "covered",
            Problem::Frozen => "frozen",
            Problem::Moved => "moved",
            Problem::Blurred => "blurred",
        }
    }

    fn text(self) -> Text {
        match self {
            Problem::NoSignal => text!("tidak ada sinyal video", "no video signal"),
            Problem::SnapshotFailed => {
                text!("gambar tidak dapat diambil", "no snapshot could be taken")
            }
            Problem::Dark => text!(
                "gambar gelap (inframerah mati, atau tertutup benda gelap)",
                "the picture is dark (infrared dead, or covered with something dark)"
            ),
            Problem::Covered => text!(
                "lensa tertutup: gambar rata tanpa detail",
                "the lens is covered: a flat picture with no detail"
            ),
            Problem::Frozen => text!("gambar membeku", "the picture is frozen"),
            Problem::Moved => text!(
                "kamera bergeser: pemandangan berbeda dari yang disahkan",
                "the camera has moved: the view differs from the one confirmed"
            ),
            Problem::Blurred => text!("gambar kabur", "the picture is blurred"),
        }
    }
}

/// One look judged: its problems, and the pinned view it was judged by.
struct Judged<'a> {
    problems: Vec<Problem>,
    pin: Option<&'a ViewPin>,
}

/// One finding per channel of the zones in every live report.
pub fn view(cx: &Cx<'_>, rule: &ViewRule) -> Vec<Finding> {
    let mut out = Vec::new();
    for (agent, report) in cx.live() {
        for rec in &report.recorders {
            for ch in rec.channels.iter().filter(|c| rule.zones.contains(&c.zone)) {
                out.push(channel(cx, rule, agent, report, rec, ch));
            }
        }
    }
    out
}

fn channel(
    cx: &Cx<'_>,
    rule: &ViewRule,
    agent: &str,
    report: &Report,
    rec: &Recorder,
    ch: &Channel,
) -> Finding {
    let cam = camera(rec, ch);
    let subject = format!("view:{}/{}", rec.id, ch.id);
    let base = json!({ "recorder": rec.id, "channel": ch.id, "zone": ch.zone });
    let no_data = |why: Text| {
        let msg = text!("{}: {}", "{}: {}", &cam, why);
        finding(subject.clone(), agent, Status::NoData, msg, base.clone())
    };
    if let Some((_, why)) = super::cctv::unusable(cx, agent, rec) {
        return no_data(why);
    }
    // A camera the agent cannot look at neither shows nor hides a problem,
    // as an RTSP stream neither proves nor disproves a recording: it
    // informs, and the cameras that are looked at decide.
    let Some(view) = &ch.view else {
        return no_data(text!(
            "agen tidak melihat gambar kamera ini (jenis perekam {} tidak memberi gambar, atau `view: off`)",
            "the agent does not look at this camera's picture (a {} recorder gives none, or `view: off`)",
            rec.kind
        ))
        .advisory(Severity::Info);
    };
    let Some(newest) = view.samples.first() else {
        return no_data(text!("belum ada gambar yang diambil", "no look taken yet"));
    };
    let age = report
        .observed_at
        .duration_since(newest.at)
        .try_into()
        .unwrap_or(Duration::ZERO)
        .saturating_add(cx.since_taken(agent));
    if age > rule.max_sample_age {
        return no_data(text!(
            "gambar terakhir diambil {} lalu",
            "its newest look is {} old",
            text::duration(age)
        ));
    }
    let pins = cx
        .state
        .view_pins
        .get(&(agent.to_owned(), rec.id.clone(), ch.id.clone()))
        .map_or(&[][..], Vec::as_slice);
    let judged: Vec<Judged<'_>> = view.samples.iter().map(|s| judge(s, rule, pins)).collect();
    let mut firing: Vec<Problem> = ALL
        .into_iter()
        .filter(|p| judged.iter().filter(|j| j.problems.contains(p)).count() >= HOLD)
        .collect();
    let frozen_s = newest.unchanged_s.unwrap_or(0);
    if frozen_s >= rule.frozen_after.as_secs() {
        firing.push(Problem::Frozen);
        firing.sort();
    }
    let evidence = evidence(base, rule, view.samples.as_slice(), &judged, pins, &firing);
    let (status, msg) = match firing.first() {
        Some(&first) => (Status::Fail, fail_text(&cam, first, &firing, frozen_s)),
        None => (Status::Ok, ok_text(&cam, &judged, pins)),
    };
    let mut f = finding(subject, agent, status, msg, evidence);
    if let Some(&first) = firing.first() {
        f.evidence["finding"] = json!(first.name());
    }
    f
}

/// The problems one look shows: the device's own events first, then the
/// numbers, against the pinned view of the same light where there is one.
fn judge<'a>(s: &ViewSample, rule: &ViewRule, pins: &'a [ViewPin]) -> Judged<'a> {
    let mut problems: Vec<Problem> = s
        .events
        .iter()
        .map(|e| match e {
            ViewEvent::VideoLoss => Problem::NoSignal,
            ViewEvent::Tamper => Problem::Covered,
            ViewEvent::TooDark => Problem::Dark,
            ViewEvent::Defocus => Problem::Blurred,
            ViewEvent::SceneChange => Problem::Moved,
        })
        .collect();
    let Some(st) = &s.stats else {
        problems.push(Problem::SnapshotFailed);
        return Judged {
            problems,
            pin: None,
        };
    };
    let dark = st.mean < rule.dark_below && st.dark >= DARK_SHARE;
    // A sensor's picture always has noise; a field of a few grey levels is
    // the recorder's own "no video" screen.
    let synthetic = !dark && st.entropy < SYNTHETIC_ENTROPY;
    let covered =
        !dark && !synthetic && st.contrast < rule.covered_contrast && st.edges < rule.covered_edges;
    for (holds, problem) in [
        (dark, Problem::Dark),
        (synthetic, Problem::NoSignal),
        (covered, Problem::Covered),
    ] {
        if holds {
            problems.push(problem);
        }
    }
    let pin = pins
        .iter()
        .filter(|p| p.stats.mean.abs_diff(st.mean) <= PIN_LIGHT)
        .min_by_key(|p| p.stats.hash_distance(st).unwrap_or(u32::MAX));
    if let (Some(p), false) = (pin, dark || synthetic || covered) {
        // Blur first: a strong blur also scrambles the fine half of the
        // difference hash, and would read as moved.
        let blurred =
            f64::from(st.sharp) < f64::from(rule.blurred_ratio) * f64::from(p.stats.sharp);
        if blurred {
            problems.push(Problem::Blurred);
        } else if p
            .stats
            .hash_distance(st)
            // A hash that is not 16 hex digits says nothing of where the
            // camera looks: not judged, never guessed as moved.
            .is_some_and(|d| d > rule.moved_bits)
        {
            problems.push(Problem::Moved);
        }
    }
    problems.sort();
    problems.dedup();
    Judged { problems, pin }
}

fn fail_text(cam: &Text, first: Problem, all: &[Problem], frozen_s: u64) -> Text {
    let mut what = first.text();
    if first == Problem::Frozen {
        what = text!(
            "{} selama {}",
            "{} for {}",
            what,
            text::duration(Duration::from_secs(frozen_s))
        );
    }
    let held = if first == Problem::Frozen {
        text!("", "")
    } else {
        text!(
            " (pada {} dari {} pengamatan terakhir)",
            " (in {} of its last {} looks)",
            HOLD,
            ronda_wire::VIEW_SAMPLES
        )
    };
    let also: Vec<&str> = all.iter().skip(1).map(|p| p.name()).collect();
    if also.is_empty() {
        text!("{}: {}{}", "{}: {}{}", cam, what, held)
    } else {
        let also = also.join(", ");
        text!(
            "{}: {}{}; juga {}",
            "{}: {}{}; also {}",
            cam,
            what,
            held,
            also
        )
    }
}

fn ok_text(cam: &Text, judged: &[Judged<'_>], pins: &[ViewPin]) -> Text {
    let odd = judged.iter().filter(|j| !j.problems.is_empty()).count();
    let base = match judged.first().and_then(|j| j.pin) {
        Some(p) => text!(
            "{} melihat seperti tampilan {} yang disahkan {}",
            "{} sees as in the {} view {} confirmed",
            cam,
            p.light.name(),
            p.by
        ),
        None if pins.is_empty() => text!(
            "{} tampak normal; belum ada tampilan yang disahkan, jadi bergeser atau kabur belum dinilai",
            "{} looks normal; no view is confirmed yet, so moved or blurred are not judged",
            cam
        ),
        None => text!(
            "{} tampak normal; tidak ada tampilan yang disahkan untuk cahaya seperti ini, jadi bergeser atau kabur belum dinilai",
            "{} looks normal; no confirmed view for this light, so moved or blurred are not judged",
            cam
        ),
    };
    if odd == 0 {
        base
    } else {
        text!(
            "{} ({} pengamatan janggal, menunggu berikutnya)",
            "{} ({} odd look, waiting for the next)",
            base,
            odd
        )
    }
}

fn evidence(
    mut base: serde_json::Value,
    rule: &ViewRule,
    samples: &[ViewSample],
    judged: &[Judged<'_>],
    pins: &[ViewPin],
    firing: &[Problem],
) -> serde_json::Value {
    let looks: Vec<serde_json::Value> = samples
        .iter()
        .zip(judged)
        .map(|(s, j)| {
            json!({
                "at": s.at, "stats": s.stats, "events": s.events, "error": s.error,
                "unchanged_s": s.unchanged_s,
                "problems": j.problems.iter().map(|p| p.name()).collect::<Vec<_>>(),
                "pin": j.pin.map(|p| p.light.name()),
                "hash_distance": j.pin.zip(s.stats.as_ref()).and_then(|(p, st)| p.stats.hash_distance(st)),
            })
        })
        .collect();
    base["looks"] = json!(looks);
    base["pins"] = json!(pins
        .iter()
        .map(|p| json!({"light": p.light.name(), "by": p.by, "at": p.at, "stats": p.stats}))
        .collect::<Vec<_>>());
    base["firing"] = json!(firing.iter().map(|p| p.name()).collect::<Vec<_>>());
    base["thresholds"] = json!({
        "hold": HOLD, "dark_below": rule.dark_below, "covered_contrast": rule.covered_contrast,
        "covered_edges": rule.covered_edges, "blurred_ratio": rule.blurred_ratio,
        "moved_bits": rule.moved_bits, "frozen_after_s": rule.frozen_after.as_secs(),
    });
    base
}

/// `kamera nvr/1 (Jalan depan)`.
fn camera(rec: &Recorder, ch: &Channel) -> Text {
    let label = match &ch.name {
        Some(n) => format!("{}/{} ({n})", rec.id, ch.id),
        None => format!("{}/{}", rec.id, ch.id),
    };
    text!("kamera {label}", "camera {label}")
}
