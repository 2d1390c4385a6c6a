//! One cell of the matrix: a simulated device with a fault, the real agent
//! probing it, the real engine judging what arrives.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ronda_policy::eval::{Finding, Status};
use ronda_policy::Letter;
use ronda_server::engine::{Engine, Views};
use ronda_server::store::Seed;
use ronda_sim::state::{lock, DeviceState, Patch, SimKind};
use ronda_wire::Report;
use tokio_util::sync::CancellationToken;

use super::cases::{Class, Fault, Variant, Verdicts};

pub const OFFICE: &str = "kantor";
const AGENT: &str = "agen";
/// A second round lets a recorder show how it reads times (Hikvision
/// firmware that searches in UTC is known once a segment grows). Between
/// the rounds the devices' clocks move on by this, rather than the test
/// waiting for real time to pass.
const BETWEEN_ROUNDS: i64 = 60;

/// The letter every cell is judged by.
pub fn letter() -> Letter {
    let text =
        "letter: {id: matrix, number: '-', title: conformance, issuer: ronda, issued: 2018-06-08}
timezone: Asia/Jakarta
window: always
offices: all
checklist:
  - id: zone
    text: {id: CCTV merekam jalan depan, en: CCTV records the front road}
    check: {kind: cctv.recording, zones: [front-road], max_segment_age: 10m}
    severity: critical
  - id: storage
    text: {id: Disk perekam baik, en: Recorder disks healthy}
    check: {kind: cctv.storage}
    severity: warning
  - id: power
    text: {id: Peralatan tak terpakai mati, en: Equipment not in use is off}
    check: {kind: power.off}
    severity: warning
  - id: online
    text: {id: Agen melapor, en: The agent reports}
    check: {kind: agent.online}
    severity: critical
";
    ronda_policy::from_text(Path::new("matrix.yaml"), text.into(), None).unwrap()
}

/// The device of `variant`: one camera on the front road, or one plug
/// for equipment that must be off over the holiday.
pub fn device(variant: &Variant) -> DeviceState {
    let mut d = ronda_sim::layout::default_office()
        .into_iter()
        .find(|d| d.id == variant.base)
        .unwrap();
    d.channels.truncate(1);
    if let Some(ch) = d.channels.first_mut() {
        ch.zone = "front-road".into();
    }
    // Disks start with room; the disk faults fill them.
    for disk in &mut d.disks {
        disk.free_mb = disk.capacity_mb / 2;
    }
    if !d.relays.is_empty() {
        d.relays = vec![false];
        d.classes = vec!["printer".into()];
        d.load_w.truncate(1);
    }
    (variant.tweak)(&mut d);
    d
}

/// Run one cell and read the verdict of each column.
pub async fn cell(variant: &Variant, fault: Fault, letter: &Letter) -> Verdicts {
    let stop = CancellationToken::new();
    let _stop = stop.clone().drop_guard();
    let mut dev = device(variant);
    if fault == Fault::Stopped2h && variant.class == Class::Folder {
        // Stopped before the simulated recorder writes anything.
        dev.channels[0].recording = false;
    }
    // The agent's clock off by X is every other clock off by −X: the
    // devices (all but a folder on the agent's own host) and the server.
    let agent_off = fault.agent_clock_s();
    if dev.kind != SimKind::Folder {
        dev.clock_skew_s = -agent_off;
    }
    let sim = ronda_sim::start(vec![dev], ronda_sim::Options::default(), stop.clone())
        .await
        .unwrap();
    let yaml =
        ronda_sim::agent_config::agent_yaml(&sim, OFFICE, AGENT, "mqtt://127.0.0.1:1", "30s");
    let timed = format!("\n    timeout: {}\n    kind: ", deadline(fault));
    let yaml = yaml.replace("\n    kind: ", &timed);
    let config = ronda_agent::AgentConfig::from_text(Path::new("<matrix>"), yaml).unwrap();
    apply(&sim, fault, variant.class);
    let report = observe(&config, &sim, &stop).await;
    judge(letter, report, agent_off, variant.class)
}

/// The agent's deadline for a device's whole read, every request of it.
/// A hung device never answers: its deadline only sets what it costs the
/// test. A device that answers must never miss it, however loaded the
/// machine (CI builds beside the test): a missed read looks hung, and a
/// Hikvision first round cut short leaves its search-time convention
/// unknown in the second. A minute is far past any load seen, and under
/// the two minutes within which the adapter takes two readings of a
/// device's clock as one (`SAME_READING`).
fn deadline(fault: Fault) -> &'static str {
    match fault {
        Fault::Hung => "2s",
        _ => "60s",
    }
}

/// Put the fault into the simulated device.
fn apply(sim: &ronda_sim::Sim, fault: Fault, class: Class) {
    let served = &sim.devices[0];
    let patch = |p: Patch, ago: SignedDuration| {
        let mut d = lock(&served.state);
        p.apply(&mut d, Timestamp::now() - ago).unwrap();
    };
    let channel = lock(&served.state).channels.first().map(|c| c.id.clone());
    let disk = lock(&served.state).disks.first().map(|d| d.id.clone());
    let stop = |ago| {
        let p = Patch {
            channel: channel.clone(),
            recording: Some(false),
            ..Patch::default()
        };
        patch(p, ago)
    };
    match fault {
        Fault::Stopped2h => {
            stop(SignedDuration::from_hours(2));
            if class == Class::Folder {
                old_footage(sim, SignedDuration::from_hours(2));
            }
        }
        Fault::DiskError => {
            let failed = if lock(&served.state).kind == SimKind::Dahua {
                "Failure"
            } else {
                "error"
            };
            patch(
                Patch {
                    disk: disk.clone(),
                    disk_status: Some(failed.into()),
                    free_mb: Some(0),
                    ..Patch::default()
                },
                SignedDuration::ZERO,
            );
        }
        Fault::DiskFull => {
            patch(
                Patch {
                    disk: disk.clone(),
                    free_mb: Some(0),
                    overwrite: Some(true),
                    ..Patch::default()
                },
                SignedDuration::ZERO,
            );
        }
        Fault::DiskFullNoOverwrite => {
            patch(
                Patch {
                    disk: disk.clone(),
                    free_mb: Some(0),
                    overwrite: Some(false),
                    ..Patch::default()
                },
                SignedDuration::ZERO,
            );
            stop(SignedDuration::from_mins(30));
        }
        Fault::Hung => patch(
            Patch {
                hang: Some(true),
                ..Patch::default()
            },
            SignedDuration::ZERO,
        ),
        Fault::WrongPassword => patch(
            Patch {
                password: Some("changed-by-someone".into()),
                ..Patch::default()
            },
            SignedDuration::ZERO,
        ),
        Fault::RelayOn => patch(
            Patch {
                relay_on: Some(true),
                ..Patch::default()
            },
            SignedDuration::ZERO,
        ),
        Fault::AllWell | Fault::AgentBehind7h | Fault::AgentBehind1d | Fault::AgentAhead2h => {}
    }
}

/// Footage that stopped `ago`: the folder's newest file carries that time.
fn old_footage(sim: &ronda_sim::Sim, ago: SignedDuration) {
    let d = lock(&sim.devices[0].state).clone();
    let dir = sim
        .folder_root
        .join(&d.id)
        .join(&d.channels[0].id)
        .join("lama");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("segmen.mp4");
    std::fs::write(&path, b"\0\0\0\x18ftypmp42").unwrap();
    let when = std::time::SystemTime::now() - Duration::try_from(ago).unwrap();
    let f = std::fs::File::options().write(true).open(&path).unwrap();
    f.set_modified(when).unwrap();
}

/// Two rounds of the agent's real probes; the second one is reported.
async fn observe(
    config: &ronda_agent::AgentConfig,
    sim: &ronda_sim::Sim,
    stop: &CancellationToken,
) -> Report {
    use ronda_agent::Source;
    let mut probes = ronda_agent::probes(config, stop).unwrap();
    probes.settle().await;
    probes.collect().await;
    {
        let mut d = lock(&sim.devices[0].state);
        if d.kind != SimKind::Folder {
            d.clock_skew_s += BETWEEN_ROUNDS;
        }
    }
    let sections = probes.collect().await;
    ronda_agent::report(config, sections)
}

/// The engine receives the report now on the server's clock, which is
/// the agent's clock less its error.
fn judge(letter: &Letter, mut report: Report, agent_off: i64, class: Class) -> Verdicts {
    report.seq = 1;
    let views = Views::default();
    let seed = Seed {
        open_alerts: Vec::new(),
        last_alert_id: 0,
        agents: Vec::new(),
        attestations: Default::default(),
        door_events: Vec::new(),
        view_pins: Vec::new(),
    };
    let mut engine = Engine::new(Arc::new(vec![letter.clone()]), None, seed, views.clone());
    let server_now = Timestamp::now() - SignedDuration::from_secs(agent_off);
    engine.report(report, server_now, server_now);
    let view = views.get("matrix", OFFICE).unwrap();
    let items = &view.evaluation.items;
    let item = |id: &str| items.iter().find(|i| i.item == id).unwrap();
    let find = |id: &str, pick: &dyn Fn(&Finding) -> bool| {
        item(id).findings.iter().find(|f| pick(f)).map(|f| f.status)
    };
    let clock = find("online", &|f| f.subject.starts_with("clock:"));
    let login = find("online", &|f| f.subject.starts_with("login:"));
    if matches!(class, Class::PlugHttp | Class::PlugMqtt) {
        let power = find("power", &|f| !f.subject.contains(':'));
        return vec![power, login, clock];
    }
    let zone = find("zone", &|f| f.subject == "zone:front-road");
    let channel = find("zone", &|f| f.advisory.is_some());
    let storage = find("storage", &|f| f.subject != "office");
    vec![zone, channel, storage, login, clock]
}

/// `ok`, `fail`, `no-data`, or `–` where the item says nothing.
pub fn word(s: Option<Status>) -> &'static str {
    match s {
        Some(Status::Ok) => "ok",
        Some(Status::Fail) => "fail",
        Some(Status::NoData) => "no-data",
        Some(Status::Pending) => "pending",
        None => "–",
    }
}
