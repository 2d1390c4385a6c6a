//! `ronda-fleet view-run`: camera views over simulated days, without a
//! network. Each camera of the simulator's scene set is looked at as the
//! agent looks (its decoder and numbers, every 15 to 30 minutes), and the
//! real policy judges `cctv.view` after every look. With no fault, every
//! failing verdict is a false finding: the run counts them over days of
//! sensor noise, passing cars, clouds and the light changing from day to
//! night. `--faults` first prints what one look of each fault shows.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ronda_agent::view::decode::{decode_into, Luma};
use ronda_agent::view::stats;
use ronda_policy::eval::{evaluate, AgentView, Light, OfficeState, Status, ViewPin};
use ronda_sim::view::{frame, set, CameraState, Fault, Size};
use ronda_wire::{Channel, Recorder, Report, View, ViewSample, ViewStats, VIEW_SAMPLES};

/// What a run is asked for.
pub struct Spec {
    pub days: u32,
    pub cameras: u64,
    pub every: Duration,
    pub size: Size,
    /// Pin each camera's day and night views first, as a head would.
    pub pinned: bool,
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub looks: u64,
    /// Judgements that failed although nothing was wrong.
    pub false_fails: u64,
    /// Runs of consecutive false failures: each would be one alert.
    pub false_alerts: u64,
    /// Looks whose own numbers showed a problem (one odd look fires nothing).
    pub odd_looks: u64,
    pub by_problem: std::collections::BTreeMap<String, u64>,
    pub cpu_per_look: Duration,
}

const LETTER: &str =
    "letter: {id: views, number: '-', title: views, issuer: ronda, issued: 2026-12-01}
timezone: Asia/Jakarta
window: always
offices: all
checklist:
  - id: view
    text: {id: Kamera melihat, en: Cameras see}
    check: {kind: cctv.view, zones: [front-road]}
    severity: warning
";

/// The day the run starts: midnight in WIB.
fn start() -> Timestamp {
    set::wib(0, 0)
}

/// One camera's looks, as the agent keeps them.
struct Camera {
    cam: CameraState,
    samples: Vec<ViewSample>,
    last_bytes: Option<u64>,
    same_since: Timestamp,
    pins: Vec<ViewPin>,
    failing: bool,
}

pub fn run(spec: &Spec) -> anyhow::Result<Outcome> {
    let letter = ronda_policy::from_text(Path::new("views.yaml"), LETTER.into(), None)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut rng = fastrand::Rng::with_seed(23);
    let mut luma = Luma::default();
    let mut out = Outcome::default();
    let cpu = std::time::Instant::now();
    for c in 0..spec.cameras {
        let mut camera = Camera {
            cam: CameraState::new(ronda_sim::view::seed_of("view-run", &c.to_string())),
            samples: Vec::new(),
            last_bytes: None,
            same_since: start(),
            pins: Vec::new(),
            failing: false,
        };
        if spec.pinned {
            for (light, hour) in [(Light::Day, 10), (Light::Night, 22)] {
                let jpeg = frame(&camera.cam, set::wib(hour, 0), spec.size);
                camera.pins.push(ViewPin {
                    light,
                    stats: numbers(&jpeg, &mut luma)?,
                    by: "kepala".into(),
                    at: start(),
                });
            }
        }
        let end = start() + SignedDuration::from_hours(24 * i64::from(spec.days));
        let mut t = start();
        while t < end {
            look(&mut camera, t, spec.size, &mut luma)?;
            judge(&letter, &mut camera, t, &mut out);
            let wait = spec.every.mul_f64(0.75 + 0.75 * rng.f64());
            t += SignedDuration::try_from(wait)?;
        }
    }
    out.cpu_per_look = cpu.elapsed() / u32::try_from(out.looks.max(1)).unwrap_or(u32::MAX);
    Ok(out)
}

/// One look: the picture of the instant, reduced to numbers.
fn look(c: &mut Camera, t: Timestamp, size: Size, luma: &mut Luma) -> anyhow::Result<()> {
    let jpeg = frame(&c.cam, t, size);
    let hash = ronda_agent::view::track::bytes_hash(&jpeg);
    if c.last_bytes != Some(hash) {
        c.same_since = t;
    }
    c.last_bytes = Some(hash);
    let sample = ViewSample {
        at: t,
        events: vec![],
        stats: Some(numbers(&jpeg, luma)?),
        error: None,
        unchanged_s: Some(t.duration_since(c.same_since).as_secs().unsigned_abs()),
        clock_advanced: Some(true),
    };
    c.samples.insert(0, sample);
    c.samples.truncate(VIEW_SAMPLES);
    Ok(())
}

fn numbers(jpeg: &[u8], luma: &mut Luma) -> anyhow::Result<ViewStats> {
    decode_into(jpeg, 8 << 20, luma)?;
    Ok(stats::stats(luma))
}

/// Judge the camera as the server would right after the look.
fn judge(letter: &ronda_policy::Letter, c: &mut Camera, t: Timestamp, out: &mut Outcome) {
    let state = office(c, t);
    let e = evaluate(letter, &state, t);
    let f = &e.items[0].findings[0];
    out.looks += 1;
    let odd = f.evidence["looks"][0]["problems"]
        .as_array()
        .is_some_and(|p| !p.is_empty());
    out.odd_looks += u64::from(odd);
    let failing = f.status == Status::Fail;
    if failing {
        out.false_fails += 1;
        let name = f.evidence["finding"].as_str().unwrap_or("?").to_owned();
        *out.by_problem.entry(name).or_default() += 1;
        if !c.failing {
            out.false_alerts += 1;
        }
    }
    c.failing = failing;
}

fn office(c: &Camera, t: Timestamp) -> OfficeState {
    let id = |s: &str| ronda_wire::Id::new(s).expect("a valid id");
    let channel = Channel {
        id: "1".into(),
        zone: "front-road".into(),
        online: Some(true),
        view: Some(View {
            samples: c.samples.clone(),
        }),
        ..Channel::default()
    };
    let report = Report {
        schema: ronda_wire::SCHEMA_VERSION,
        office: id("kantor"),
        agent: id("agen"),
        seq: 1,
        observed_at: t,
        host: None,
        recorders: vec![Recorder {
            id: "nvr".into(),
            kind: "hikvision".into(),
            reachable: true,
            channels: vec![channel],
            ..Recorder::default()
        }],
        plugs: vec![],
        services: vec![],
        access: vec![],
        delivery: None,
    };
    let mut agent = AgentView::new("agen");
    agent.online = true;
    agent.last_seen = Some(t);
    agent.report = Some(Arc::new(report));
    let mut state = OfficeState {
        office: "kantor".into(),
        agents: vec![agent],
        ..OfficeState::default()
    };
    let key = ("agen".to_owned(), "nvr".to_owned(), "1".to_owned());
    state.view_pins.insert(key, c.pins.clone());
    state
}

/// What one look of each fault shows, by day and by night, and what the
/// policy makes of two such looks against the pinned views.
pub fn faults(size: Size) -> anyhow::Result<Vec<String>> {
    let letter = ronda_policy::from_text(Path::new("views.yaml"), LETTER.into(), None)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut luma = Luma::default();
    let base = CameraState::new(7);
    let pins: Vec<ViewPin> = [(Light::Day, 10), (Light::Night, 22)]
        .into_iter()
        .map(|(light, hour)| {
            let stats = numbers(&frame(&base, set::wib(hour, 0), size), &mut luma)?;
            Ok(ViewPin {
                light,
                stats,
                by: "kepala".into(),
                at: start(),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let mut lines = vec![
        "fault     light  mean contrast entropy dark‰ edges‰  sharp  bits  verdict".to_owned(),
    ];
    // A truck passing close is one odd look among normal ones.
    let kinds = [
        ("normal", Fault::Normal),
        ("cover", Fault::Cover),
        ("dark", Fault::Dark),
        ("turn", Fault::Turn),
        ("defocus", Fault::Defocus),
        ("nosignal", Fault::NoSignal),
        ("truck", Fault::Normal),
    ];
    for (kind, fault) in kinds {
        for (name, hour) in [("day", 10), ("night", 22)] {
            let mut cam = base.clone();
            cam.view.fault = fault;
            let mut c = Camera {
                cam,
                samples: vec![],
                last_bytes: None,
                same_since: start(),
                pins: pins.clone(),
                failing: false,
            };
            for m in [0, 20] {
                c.cam.view.odd_frame = kind == "truck" && m == 20;
                look(&mut c, set::wib(hour, m), size, &mut luma)?;
            }
            let t = set::wib(hour, 20);
            let e = evaluate(&letter, &office(&c, t), t);
            let f = &e.items[0].findings[0];
            let verdict = match (
                f.evidence["finding"].as_str(),
                &f.evidence["looks"][0]["problems"],
            ) {
                (Some(fired), _) => fired.to_owned(),
                (None, seen) => format!("ok (this look alone: {seen})"),
            };
            let s = c.samples[0].stats.clone().unwrap_or_default();
            let bits = f.evidence["looks"][0]["hash_distance"]
                .as_u64()
                .map_or("-".into(), |d| d.to_string());
            lines.push(format!(
                "{:<9} {name:<6} {:>4} {:>8} {:>7} {:>5} {:>6} {:>6} {bits:>5}  {verdict}",
                kind, s.mean, s.contrast, s.entropy, s.dark, s.edges, s.sharp
            ));
        }
    }
    Ok(lines)
}
