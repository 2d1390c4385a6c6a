//! `ronda-agent doctor`: what Ronda sees in this office, before the holiday.
//!
//! Probes every device with the real adapters, then judges the report with
//! the real checklist evaluation, as the server would the moment it arrived:
//! against the office's own letter when one is given, else against a
//! built-in checklist that asks every check of every configured device. The
//! IT officer setting up an office reads one table and knows what each
//! device gives, what it does not and why, and what a letter would say.

mod table;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use ronda_policy::eval::{evaluate, AgentView, Evaluation, OfficeState};
use ronda_policy::Letter;
use ronda_wire::Report;

use crate::{AgentConfig, AgentError, Source};
pub use table::render;

/// A second round is taken when a recorder has not yet shown how it reads
/// times: one more reading usually settles it.
const SETTLE: Duration = Duration::from_secs(3);

/// One doctor's visit: the report, and the checklist judged on it.
pub struct Visit {
    pub report: Report,
    pub evaluation: Evaluation,
    /// Whether the checklist is the office's letter or the built-in one.
    pub letter: String,
    pub took: Duration,
    pub rounds: u32,
}

impl Visit {
    /// Devices that could not be read at all: the exit status says so.
    pub fn unreadable(&self) -> usize {
        // Answered but unreadable counts too: reachable, with an error.
        let r = &self.report;
        r.recorders.iter().filter(|d| d.error.is_some()).count()
            + r.plugs.iter().filter(|d| d.error.is_some()).count()
            + r.services.iter().filter(|d| !d.reachable).count()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    #[error(transparent)]
    Agent(#[from] AgentError),
    #[error("{0}")]
    Letter(String),
}

/// Probe, then judge. `letter` is the office's own letter file, if given.
pub async fn visit(config: &AgentConfig, letter: Option<&Path>) -> Result<Visit, DoctorError> {
    let letter = match letter {
        Some(path) => {
            ronda_policy::load(path, None).map_err(|e| DoctorError::Letter(e.to_string()))?
        }
        None => builtin(config)?,
    };
    let start = Instant::now();
    let stop = tokio_util::sync::CancellationToken::new();
    let _stop_on_return = stop.clone().drop_guard();
    let mut probes = crate::probes(config, &stop)?;
    probes.settle().await;
    let mut rounds = 1;
    let mut sections = probes.collect().await;
    if sections.recorders.iter().any(unsettled) {
        tokio::time::sleep(SETTLE).await;
        sections = probes.collect().await;
        rounds += 1;
    }
    let report = crate::report(config, sections);
    let evaluation = judge(&letter, &report);
    Ok(Visit {
        report,
        evaluation,
        letter: letter.title.clone(),
        took: start.elapsed(),
        rounds,
    })
}

fn unsettled(r: &ronda_wire::Recorder) -> bool {
    r.detected.iter().any(|d| d.contains("not yet known"))
}

/// The letter's verdict on `report` as the server would give it the moment
/// the report arrived from a connected agent.
pub fn judge(letter: &Letter, report: &Report) -> Evaluation {
    let now = Timestamp::now();
    let mut agent = AgentView::new(report.agent.as_str());
    agent.online = true;
    agent.last_seen = Some(now);
    agent.online_since = Some(now);
    agent.report = Some(Arc::new(report.clone()));
    let state = OfficeState {
        office: report.office.to_string(),
        agents: vec![agent],
        ..OfficeState::default()
    };
    evaluate(&in_force(letter.clone(), now), &state, now)
}

/// The letter as if in force now, so that its verdicts show.
fn in_force(letter: Letter, now: Timestamp) -> Letter {
    if letter.enforced_at(now) {
        letter
    } else {
        letter.shifted_to(now - jiff::SignedDuration::from_mins(1))
    }
}

/// Every check a letter can ask of this office's devices, with the
/// defaults a letter would have: the configured zones, the usual classes.
fn builtin(config: &AgentConfig) -> Result<Letter, DoctorError> {
    let mut zones: Vec<&str> = config
        .devices
        .recorders
        .iter()
        .flat_map(|r| r.channels.iter().map(|c| c.zone.as_str()))
        .collect();
    zones.sort_unstable();
    zones.dedup();
    let text = BUILTIN.replace("ZONES", &zones.join(", "));
    let text = if zones.is_empty() {
        // No recorder: no CCTV items.
        text.split("# cctv\n").step_by(2).collect()
    } else {
        text.replace("# cctv\n", "")
    };
    ronda_policy::from_text(Path::new("<built-in checklist>"), text, None)
        .map_err(|e| DoctorError::Letter(format!("the built-in checklist: {e}")))
}

/// The built-in checklist; `# cctv` brackets the items that need a recorder.
const BUILTIN: &str = "letter:
  id: doctor
  number: '-'
  title: built-in checklist (every check, default limits)
  issuer: ronda-agent doctor
  issued: 2018-06-08
timezone: Asia/Jakarta
window: always
offices: all
checklist:
# cctv
  - id: cctv-recording
    label: {id: CCTV merekam, en: CCTV recording}
    text: {id: CCTV merekam setiap zona, en: CCTV records every zone}
    check: {kind: cctv.recording, zones: [ZONES], max_segment_age: 10m}
    severity: critical
  - id: cctv-storage
    label: {id: Disk perekam, en: Recorder disks}
    text: {id: Disk perekam baik, en: The recorder disks are healthy}
    check: {kind: cctv.storage}
    severity: warning
# cctv
  - id: power-off
    label: {id: Listrik diputus, en: Power cut}
    text: {id: Peralatan yang tidak terpakai mati, en: Equipment not in use is off}
    check: {kind: power.off}
    severity: warning
  - id: power-on
    label: {id: Peralatan 24 jam, en: 24-hour equipment}
    text: {id: Peralatan 24 jam menyala, en: 24-hour equipment is on}
    check: {kind: power.on}
    severity: critical
  - id: power-safe
    label: {id: Listrik aman, en: Power safe}
    text: {id: Beban dan suhu dalam batas, en: Load and temperature within limits}
    check: {kind: power.safe, max_power_w: 2000, max_current_a: 10, max_temperature_c: 70}
    severity: critical
  - id: services
    label: {id: Aplikasi layanan, en: Service apps}
    text: {id: Aplikasi layanan menjawab, en: The service applications answer}
    check: {kind: service.up}
    severity: critical
  - id: monitoring
    label: {id: Pemantauan, en: Monitoring}
    text: {id: Semua perangkat dapat dibaca, en: Every device can be read}
    check: {kind: agent.online}
    severity: critical
";
