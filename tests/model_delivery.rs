//! Model-based test of end-to-end delivery: the real agent outbox and courier
//! against the server's real acknowledgement count, over a network that
//! loses, repeats and reorders, with crashes of either side at any step.
//!
//! After every step: every report the agent ever made is either stored on
//! the server or still in the agent's outbox, and everything the server
//! acknowledged is stored. At the end, once the network heals, everything is
//! stored and the outbox is empty. 10,000 cases by default
//! (`PROPTEST_CASES` to change).

use std::collections::{BTreeSet, VecDeque};
use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use ronda_agent::delivery::{Courier, Pace, ReportSink};
use ronda_agent::outbox::{Limits, Outbox, Sync};
use ronda_wire::{Progress, Report};

#[derive(Debug, Clone)]
enum Step {
    Make,
    Deliver(usize),
    Lose(usize),
    Repeat(usize),
    DeliverAck(usize),
    LoseAck(usize),
    Disconnect,
    Connect,
    Wait(u64),
    CrashAgent,
    CrashServer,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => Just(Step::Make),
        6 => (0..8usize).prop_map(Step::Deliver),
        1 => (0..8usize).prop_map(Step::Lose),
        1 => (0..8usize).prop_map(Step::Repeat),
        4 => (0..4usize).prop_map(Step::DeliverAck),
        1 => (0..4usize).prop_map(Step::LoseAck),
        1 => Just(Step::Disconnect),
        2 => Just(Step::Connect),
        2 => (1..40u64).prop_map(Step::Wait),
        1 => Just(Step::CrashAgent),
        1 => Just(Step::CrashServer),
    ]
}

/// The agent's side of the network: what it has put on the wire.
#[derive(Default)]
struct Wire(VecDeque<Vec<u8>>);

impl ReportSink for Wire {
    fn send(&mut self, _seq: u64, _kind: ronda_wire::Kind, payload: Vec<u8>) -> bool {
        self.0.push_back(payload);
        true
    }
}

struct Server {
    stored: BTreeSet<u64>,
    /// Survives a crash, as the `acked_through` column does.
    persisted: u64,
    progress: Progress,
    acks: VecDeque<u64>,
    highest_acked: u64,
}

impl Server {
    fn receive(&mut self, payload: &[u8]) {
        let report: Report = serde_json::from_slice(payload).unwrap();
        // Commit, then acknowledge: the order under test.
        self.stored.insert(report.seq);
        self.progress
            .commit(report.seq, report.delivery.map(|d| d.floor));
        self.persisted = self.progress.through();
        self.acks.push_back(self.persisted);
        self.highest_acked = self.highest_acked.max(self.persisted);
    }
}

const PACE: Pace = Pace {
    resend_per_s: 10,
    window: 5,
    ack_timeout: Duration::from_secs(30),
};

fn report() -> Report {
    crate::common::bare_report("dinkes", "gw", 0)
}

fn open(dir: &Path) -> Courier<Wire> {
    let (outbox, _) = Outbox::open(dir, Limits::default(), Sync::Off).unwrap();
    Courier::new(outbox, Wire::default(), PACE)
}

fn pick<T>(q: &mut VecDeque<T>, i: usize) -> Option<T> {
    if q.is_empty() {
        None
    } else {
        q.remove(i % q.len())
    }
}

/// Let the courier send whatever its timers allow, up to `secs` of time.
async fn pass(courier: &mut Courier<Wire>, secs: u64) {
    let end = tokio::time::Instant::now() + Duration::from_secs(secs);
    while let Some(at) = courier.wake_at().filter(|at| *at <= end) {
        tokio::time::advance(at.saturating_duration_since(tokio::time::Instant::now())).await;
        courier.work(tokio::time::Instant::now()).unwrap();
    }
    tokio::time::advance(end.saturating_duration_since(tokio::time::Instant::now())).await;
}

fn held(courier: &mut Courier<Wire>) -> BTreeSet<u64> {
    let mut seqs = BTreeSet::new();
    let mut from = 0;
    while let Some(r) = courier.outbox.next_from(from).unwrap() {
        seqs.insert(r.seq);
        from = r.seq + 1;
    }
    seqs
}

async fn run(steps: Vec<Step>) -> Result<(), TestCaseError> {
    // Memory-backed where there is one: 10,000 cases open many small files.
    let dir = match Path::new("/dev/shm").is_dir() {
        true => tempfile::tempdir_in("/dev/shm").unwrap(),
        false => tempfile::tempdir().unwrap(),
    };
    let mut agent = open(dir.path());
    let mut connected = false;
    let mut server = Server {
        stored: BTreeSet::new(),
        persisted: 0,
        progress: Progress::default(),
        acks: VecDeque::new(),
        highest_acked: 0,
    };
    let mut made = 0u64;
    for step in steps {
        match step {
            Step::Make => {
                agent.store(report()).unwrap();
                made += 1;
            }
            Step::Deliver(i) => {
                if let Some(p) = pick(&mut agent.sink().0, i) {
                    server.receive(&p);
                }
            }
            Step::Lose(i) => drop(pick(&mut agent.sink().0, i)),
            Step::Repeat(i) => {
                let wire = &mut agent.sink().0;
                if let Some(p) = (!wire.is_empty()).then(|| wire[i % wire.len()].clone()) {
                    server.receive(&p);
                }
            }
            Step::DeliverAck(i) => {
                if let (Some(t), true) = (pick(&mut server.acks, i), connected) {
                    agent.acknowledged(t).unwrap();
                }
            }
            Step::LoseAck(i) => drop(pick(&mut server.acks, i)),
            Step::Disconnect => {
                // rumqttc forgets what it had in flight.
                agent.sink().0.clear();
                agent.disconnected();
                connected = false;
            }
            Step::Connect if !connected => {
                agent.connected().unwrap();
                connected = true;
            }
            Step::Connect => {}
            Step::Wait(secs) => pass(&mut agent, secs).await,
            Step::CrashAgent => {
                drop(agent);
                agent = open(dir.path());
                connected = false;
            }
            Step::CrashServer => {
                server.progress = Progress::resume(server.persisted);
                server.acks.clear();
            }
        }
        let held = held(&mut agent);
        for seq in 1..=made {
            prop_assert!(
                server.stored.contains(&seq) || held.contains(&seq),
                "report {seq} is neither stored nor held"
            );
        }
        for seq in 1..=server.highest_acked {
            prop_assert!(
                server.stored.contains(&seq),
                "{seq} acknowledged, not stored"
            );
        }
    }
    // The network heals: everything flows, acknowledgements included.
    if !connected {
        agent.connected().unwrap();
    }
    for _ in 0..10_000 {
        while let Some(p) = agent.sink().0.pop_front() {
            server.receive(&p);
        }
        while let Some(t) = server.acks.pop_front() {
            agent.acknowledged(t).unwrap();
        }
        if agent.outbox.is_empty() {
            break;
        }
        pass(&mut agent, 31).await;
    }
    prop_assert!(
        agent.outbox.is_empty(),
        "outbox still holds {:?}",
        held(&mut agent)
    );
    prop_assert_eq!(server.stored.len() as u64, made);
    prop_assert_eq!(server.progress.through(), made);
    Ok(())
}

#[test]
fn nothing_acknowledged_is_lost_whatever_fails() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(10_000);
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(steps in proptest::collection::vec(step(), 1..60))| {
        rt.block_on(run(steps))?;
    });
}

/// Found by the model: after a crash, a courier whose outbox starts at 6
/// thought 5 reports were unacknowledged and never sent again the one
/// the network lost.
#[test]
fn a_restarted_agent_resends_what_the_network_lost() {
    use Step::*;
    let steps = vec![
        Make,
        Make,
        Make,
        Connect,
        Wait(1),
        Make,
        Deliver(0),
        Deliver(0),
        DeliverAck(0),
        DeliverAck(0),
        Deliver(0),
        DeliverAck(0),
        Deliver(0),
        Make,
        Deliver(0),
        DeliverAck(0),
        DeliverAck(0),
        CrashAgent,
        Connect,
        Make,
        Lose(0),
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(run(steps)).unwrap();
}
