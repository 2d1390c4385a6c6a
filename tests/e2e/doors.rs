//! Doors end to end: a simulated office's two door controllers (a Hikvision
//! terminal the agent polls, a ZKTeco device that pushes to the agent)
//! through the real agent, the embedded broker and the server, judged by
//! `access.closed`.

use std::sync::Arc;
use std::time::Duration;

use crate::common::{eventually, spawn_with, sql, TestApp, SIM_AGENT};
use jiff::{SignedDuration, Timestamp};
use ronda_agent::AgentConfig;
use ronda_sim::access::layout::{GUARD, STAFF};
use ronda_sim::state::lock;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

const HIK: &str = "pintu-depan";
const ZK: &str = "pintu-belakang";

/// A letter closing both doors of the office to all but the guard, its
/// window from `start` to `end`, firing at once.
fn letter(id: &str, start: Timestamp, end: Timestamp) -> ronda_policy::Letter {
    let tz = jiff::tz::TimeZone::get("Asia/Jakarta").unwrap();
    let local = |t: Timestamp| {
        t.to_zoned(tz.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    };
    let text = format!(
        "letter: {{id: {id}, number: '1', title: Tutup, issuer: Bupati, issued: 2026-12-01}}
timezone: Asia/Jakarta
window:
  - start: {}
    end: {}
offices: [dinkes]
checklist:
  - id: pintu
    text: {{id: Pintu tertutup, en: Doors closed}}
    check:
      kind: access.closed
      doors: [main-door, back-door]
      allow: ['{GUARD}']
    severity: critical
notify:
  critical: [it]
",
        local(start),
        local(end)
    );
    let mut l = ronda_policy::from_text(std::path::Path::new("t.yaml"), text, None).unwrap();
    l.items.iter_mut().for_each(|i| i.grace = Duration::ZERO);
    l
}

struct Office {
    sim: ronda_sim::Sim,
    http: reqwest::Client,
}

impl Office {
    async fn start(stop: &CancellationToken) -> Office {
        let listen = ronda_testkit::free_addr();
        let layout = ronda_sim::layout::Layout {
            doors: Some(listen),
        };
        let sim = ronda_sim::start(
            ronda_sim::layout::office(&layout),
            ronda_sim::Options::default(),
            stop.clone(),
        )
        .await
        .unwrap();
        // Fast protocol seconds: the device's resends come in moments.
        let zk = sim.device(ZK).unwrap();
        lock(&zk.state).access.push.second_ms = 50;
        Office {
            sim,
            http: reqwest::Client::new(),
        }
    }

    fn agent_config(&self, app: &TestApp) -> AgentConfig {
        let url = app.broker.to_string();
        let yaml = ronda_sim::agent_config::agent_yaml(&self.sim, "dinkes", SIM_AGENT, &url, "1s");
        let mut c = AgentConfig::from_text(std::path::Path::new("<test>"), yaml).unwrap();
        c.broker = app.credentials_for("dinkes", SIM_AGENT);
        c
    }

    async fn act(&self, device: &str, patch: Value) {
        let url = format!("http://{}/devices/{device}", self.sim.control);
        let resp = self.http.post(url).json(&patch).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{patch}");
    }

    /// The serial of the ZKTeco device's newest logged event.
    fn log_end(&self) -> u64 {
        let d = lock(&self.sim.device(ZK).unwrap().state);
        d.access.log.last().map_or(0, |l| l.serial)
    }

    fn push(&self) -> ronda_sim::access::PushState {
        lock(&self.sim.device(ZK).unwrap().state)
            .access
            .push
            .clone()
    }
}

/// The real agent on this runtime with an in-memory outbox, until `stop`.
fn run_agent(config: AgentConfig, stop: &CancellationToken) {
    let probes = ronda_agent::probes(&config, stop).unwrap();
    let outbox = ronda_agent::outbox::Outbox::memory(config.outbox);
    tokio::spawn(ronda_agent::run_with(config, probes, outbox, stop.clone()));
}

async fn alerts(app: &TestApp, letter: &str) -> Vec<Value> {
    let path = format!("/api/v1/alerts?office=dinkes&letter={letter}");
    let (_, list) = app.get_json(&path).await;
    list.as_array().cloned().unwrap_or_default()
}

async fn wait_alert(app: &TestApp, letter: &str, subject: &str) -> Value {
    eventually(&format!("{subject} in {letter}"), || async {
        alerts(app, letter)
            .await
            .into_iter()
            .find(|a| a["subject"] == subject && a["state"] == "firing")
    })
    .await
}

fn events(app: &TestApp) -> i64 {
    sql(&app.db, "SELECT count(*) FROM door_events")
}

async fn wait_events(app: &TestApp, at_least: i64) {
    eventually(&format!("{at_least} door events stored"), || async {
        (events(app) >= at_least).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_passes_another_user_fires_once_and_a_forced_door_fires_outside_the_window() {
    let now = Timestamp::now();
    let hour = SignedDuration::from_hours(1);
    let closed = letter("tutup", now - hour * 2, now + hour * 24);
    let later = letter("nanti", now + hour * 24 * 30, now + hour * 24 * 31);
    let app = spawn_with(|c| c.letters = Arc::new(vec![closed, later])).await;
    let stop = CancellationToken::new();
    let office = Office::start(&stop).await;
    let agent_stop = stop.child_token();
    run_agent(office.agent_config(&app), &agent_stop);
    // Both controllers' start events arrive: the terminal polled, the
    // ZKTeco device has shaken hands and uploaded.
    wait_events(&app, 2).await;

    // The guard through both doors: a grant and the door opening at each
    // (the door closing again is state, not an event), nothing raised.
    office
        .act(HIK, json!({"door_event": "entry", "user": GUARD}))
        .await;
    office
        .act(ZK, json!({"door_event": "entry", "user": GUARD}))
        .await;
    wait_events(&app, 6).await;
    // Another user at the main door: its events are the last to arrive, so
    // once its alert fires the guard's were judged too.
    office
        .act(HIK, json!({"door_event": "entry", "user": STAFF}))
        .await;
    let entry = wait_alert(&app, "tutup", &format!("entry:{HIK}/1:{STAFF}")).await;
    assert_eq!(entry["severity"], "critical");
    assert_eq!(entry["evidence"]["who"], STAFF);
    assert_eq!(entry["evidence"]["door"], "main-door");
    let device_time = entry["evidence"]["device_time"].as_str().unwrap();
    assert!(device_time.ends_with("+07:00"), "{device_time}");
    let tutup = alerts(&app, "tutup").await;
    assert_eq!(tutup.len(), 1, "only the staff entry: {tutup:#?}");
    assert!(
        alerts(&app, "nanti").await.is_empty(),
        "an entry outside the window raises nothing"
    );

    // A forced back door fires in the letter whose window is a month away.
    office.act(ZK, json!({"door_event": "forced"})).await;
    let forced = wait_alert(&app, "nanti", &format!("forced:{ZK}/1")).await;
    assert_eq!(forced["severity"], "critical");
    assert_eq!(forced["evidence"]["door"], "back-door");
    wait_alert(&app, "tutup", &format!("forced:{ZK}/1")).await;

    // The device sends its whole log again, to this agent and, after a
    // restart that forgets what it kept, to a new one: nothing is added.
    let stored = events(&app);
    for restart in [false, true] {
        if restart {
            agent_stop.cancel();
            run_agent(office.agent_config(&app), &stop.child_token());
        }
        office.act(ZK, json!({"resend_all": true})).await;
        eventually("the whole log sent again and taken", || async {
            let last = office.log_end();
            let p = office.push();
            (!p.resend_all && p.acked.get("rtlog") == Some(&last)).then_some(())
        })
        .await;
    }
    // One more event proves the resends were all taken before it.
    office
        .act(ZK, json!({"door_event": "denied", "user": "4242"}))
        .await;
    wait_events(&app, stored + 1).await;
    assert_eq!(events(&app), stored + 1, "the log sent again added events");
    let open = alerts(&app, "tutup").await;
    assert_eq!(open.len(), 2, "{open:#?}");
    stop.cancel();
    app.stop().await;
}
