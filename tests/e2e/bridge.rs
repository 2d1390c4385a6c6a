//! A regional Mosquitto bridged to the central one with
//! `examples/mosquitto/bridge.conf` as shipped: the agent reports to its
//! region, the server reads at the centre, acknowledgements come back over
//! the bridge, and a central broker killed with SIGKILL mid-stream loses
//! nothing. A stolen bridge password forges no acknowledgement or command.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ronda_common::conf::Secret;
use ronda_common::link::BrokerConfig;
use ronda_testkit::mosquitto::Options;
use rumqttc::{AsyncClient, Event, Packet, QoS};
use tokio::sync::mpsc;

use crate::common::mosquitto::{example_settings, installed, mosquitto_with, Mosquitto};
use crate::common::{broker_config, eventually, outbox_state, repo_file, spawn_agent, sql};
use crate::common::{spawn_with, TestApp, TestCa};
use crate::faults::Tally;

const AGENT: (&str, &str) = ("dinkes/kantor-utama", "agent-pw");
/// A door controller's agent, for events.
const DOORS: (&str, &str) = ("bappeda/gerbang", "doors-pw");
const SERVER: (&str, &str) = ("ronda-server", "server-pw");
const BRIDGE_PASSWORD: &str = "bridge-pw";

/// The shipped bridge section with the centre's address, the bridge's
/// password and the CA file of this test put in; every other line as it is.
/// Returns it with the bridge's username.
fn bridge_section(central_port: u16, ca_file: &Path) -> (String, String) {
    let text = std::fs::read_to_string(repo_file("examples/mosquitto/bridge.conf")).unwrap();
    let mut replaced = Vec::new();
    let mut username = None;
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once(' ').unwrap();
        let value = match key {
            // `localhost`: the test certificate names it, and Mosquitto
            // checks the name in `address` against the certificate.
            "address" => format!("localhost:{central_port}"),
            "remote_password" => BRIDGE_PASSWORD.to_owned(),
            "bridge_cafile" => ca_file.display().to_string(),
            "remote_username" => {
                username = Some(value.to_owned());
                value.to_owned()
            }
            _ => value.to_owned(),
        };
        if value != line.split_once(' ').unwrap().1 {
            replaced.push(key);
        }
        section.push_str(&format!("{key} {value}\n"));
    }
    replaced.sort();
    assert_eq!(
        replaced,
        ["address", "bridge_cafile", "remote_password"],
        "examples/mosquitto/bridge.conf changed"
    );
    (
        section,
        username.expect("bridge.conf names no remote_username"),
    )
}

/// The central broker: TLS, the shipped identity settings and ACL, the
/// server's and the bridge's users, persistence. With the CA file and the
/// bridge's username. None (skip) without Mosquitto.
fn centre(ca: &TestCa) -> Option<(Mosquitto, PathBuf, String)> {
    installed()?;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write_ca(dir.path());
    // The username is in bridge.conf; the port is not known yet.
    let (_, bridge_user) = bridge_section(0, &ca_file);
    let persist = dir.path().join("persist");
    std::fs::create_dir_all(&persist).unwrap();
    let options = Options {
        after: example_settings(),
        users: vec![
            (SERVER.0.into(), SERVER.1.into()),
            (bridge_user.clone(), BRIDGE_PASSWORD.into()),
        ],
        tls: Some(ca.server_files(dir.path())),
        persistence: Some(persist),
        log: Some(dir.path().join("mosquitto.log")),
        ..Options::default()
    };
    // The CA file stays in the folder the broker keeps until it is dropped.
    Some((mosquitto_with(dir, &options)?, ca_file, bridge_user))
}

/// The regional broker: plain, the shipped identity settings and ACL, the
/// agent's user, persistence, and the shipped bridge to `central`.
fn region(central: &Mosquitto, ca_file: &Path) -> Option<Mosquitto> {
    let dir = tempfile::tempdir().unwrap();
    let persist = dir.path().join("persist");
    std::fs::create_dir_all(&persist).unwrap();
    let options = Options {
        after: example_settings(),
        users: vec![
            (AGENT.0.into(), AGENT.1.into()),
            (DOORS.0.into(), DOORS.1.into()),
        ],
        persistence: Some(persist),
        log: Some(dir.path().join("mosquitto.log")),
        last: bridge_section(central.url.port, ca_file).0,
        ..Options::default()
    };
    mosquitto_with(dir, &options)
}

fn login(broker: &Mosquitto, (user, password): (&str, &str), ca_file: &Path) -> BrokerConfig {
    BrokerConfig {
        username: Some(user.to_owned()),
        password: Some(Secret::new(password).into()),
        ca_file: broker.url.tls.then(|| ca_file.to_owned()),
        ..broker_config(&broker.url)
    }
}

fn acked(app: &TestApp) -> u64 {
    sql(
        &app.db,
        "SELECT coalesce((SELECT acked_through FROM agents WHERE office = 'dinkes' AND agent = 'kantor-utama'), 0)",
    ) as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_cross_the_bridge_and_survive_a_killed_centre() {
    let ca = TestCa::new();
    let Some((mut central, ca_file, _)) = centre(&ca) else {
        return;
    };
    let regional = region(&central, &ca_file).unwrap();
    let server = login(&central, SERVER, &ca_file);
    let app = spawn_with(|c| c.broker = ronda_server::BrokerChoice::External(server)).await;
    let mut config = app.agent_config("dinkes", "kantor-utama");
    config.broker = login(&regional, AGENT, &ca_file);
    // A report lost with the centre goes again after 2 s without its ack.
    config.pace.ack_timeout = Duration::from_secs(2);
    let state = config.state_dir.clone();
    let agent = spawn_agent(config.clone());

    // Up (reports, the retained online state) and down (acknowledgements).
    app.wait_online("dinkes", "kantor-utama", true).await;
    eventually("three reports acknowledged over the bridge", || async {
        (acked(&app) >= 3).then_some(())
    })
    .await;

    // The centre dies mid-stream; the agent goes on reporting to its region.
    central.kill();
    let at_kill = outbox_state(&state).0;
    eventually("reports made while the centre is down", || async {
        (outbox_state(&state).0 >= at_kill + 3).then_some(())
    })
    .await;
    let down_until = outbox_state(&state).0;
    let restarted = Instant::now();
    central.restart();
    eventually("reports of the outage acknowledged", || async {
        (acked(&app) >= down_until).then_some(())
    })
    .await;
    eprintln!(
        "bridge: centre killed at seq {at_kill}, {} reports made while down, all acknowledged {:?} after the restart",
        down_until - at_kill,
        restarted.elapsed()
    );
    agent.stop();
    app.wait_online("dinkes", "kantor-utama", false).await;

    // What is still in the outbox goes with a last run of an hour's
    // interval (one report as it starts), until nothing is held.
    config.interval = Duration::from_secs(3600);
    let agent = spawn_agent(config);
    eventually("the outbox emptied by acknowledgements", || async {
        let (made, held) = outbox_state(&state);
        (held == 0 && acked(&app) == made).then_some(())
    })
    .await;
    agent.stop();
    let (made, _) = outbox_state(&state);
    let tally = Tally::of(&app.db, "dinkes", "kantor-utama", made);
    assert!(tally.complete(), "{tally:?}");
    eprintln!(
        "bridge: {made} reports, each stored once; {} copies dropped as duplicates",
        app.metric("ronda_reports_duplicate_total").await
    );
    drop(regional);
    app.stop().await;
}

/// Door events take the same bridge: an agent's `…/event` up, its
/// acknowledgement down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn door_events_cross_the_bridge_and_are_acknowledged() {
    let ca = TestCa::new();
    let Some((central, ca_file, _)) = centre(&ca) else {
        return;
    };
    let regional = region(&central, &ca_file).unwrap();
    let server = login(&central, SERVER, &ca_file);
    let app = spawn_with(|c| c.broker = ronda_server::BrokerChoice::External(server)).await;
    let base = "ronda/v1/bappeda/gerbang";
    let (agent, mut heard) = listener(login(&regional, DOORS, &ca_file), &[&format!("{base}/ack")]);
    assert_eq!(next(&mut heard).await, "granted");
    let event = ronda_wire::DoorEvent {
        device: "gerbang".into(),
        door_no: Some(1),
        door: Some("main-gate".into()),
        kind: ronda_wire::DoorEventKind::Granted,
        who: Some("9001".into()),
        at: "2026-12-24T22:13:05+07:00".parse().unwrap(),
        number: Some(1),
        code: "5/75".into(),
    };
    let events = ronda_wire::Events {
        schema: ronda_wire::SCHEMA_VERSION,
        office: ronda_wire::Id::new("bappeda").unwrap(),
        agent: ronda_wire::Id::new("gerbang").unwrap(),
        seq: 1,
        observed_at: jiff::Timestamp::now(),
        doors: vec![event],
        delivery: None,
    };
    let body = serde_json::to_vec(&events).unwrap();
    agent
        .publish(format!("{base}/event"), QoS::AtLeastOnce, false, body)
        .await
        .unwrap();
    assert_eq!(next(&mut heard).await, format!("{base}/ack"));
    let stored = "SELECT count(*) FROM door_events WHERE office = 'bappeda' AND device = 'gerbang'";
    assert_eq!(sql(&app.db, stored), 1);
    drop(regional);
    app.stop().await;
}

/// A raw client subscribed to `filters`: `granted` or `refused` for its
/// SUBACK, then the topic of each publish as it arrives.
fn listener(
    broker: BrokerConfig,
    filters: &[&str],
) -> (AsyncClient, mpsc::UnboundedReceiver<String>) {
    let o = ronda_common::link::options("listener", &broker, None, 1 << 20).unwrap();
    let (client, mut eventloop) = AsyncClient::new(o, 16);
    let (tx, rx) = mpsc::unbounded_channel();
    let sub = client.clone();
    let filters: Vec<_> = filters
        .iter()
        .map(|f| rumqttc::SubscribeFilter::new(f.to_string(), QoS::AtLeastOnce))
        .collect();
    tokio::spawn(async move {
        while let Ok(event) = eventloop.poll().await {
            match event {
                Event::Incoming(Packet::ConnAck(_)) => {
                    let _ = sub.subscribe_many(filters.clone()).await;
                }
                Event::Incoming(Packet::SubAck(a)) => {
                    let granted = a
                        .return_codes
                        .iter()
                        .all(|c| matches!(c, rumqttc::SubscribeReasonCode::Success(_)));
                    let _ = tx.send(if granted { "granted" } else { "refused" }.into());
                }
                Event::Incoming(Packet::Publish(p)) => {
                    let _ = tx.send(p.topic);
                }
                _ => {}
            }
        }
    });
    (client, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("nothing within 10 s")
        .expect("the connection ended")
}

/// The bridge's password, stolen from a regional machine, at the centre:
/// it may write what agents write, never an acknowledgement (which empties
/// an agent's outbox) or a command (which switches a plug), and it may read
/// acknowledgements, not reports. Mosquitto drops a denied publish, and
/// filters what a subscription may not read, without a word: the proof is
/// order. A report sent after the forgeries is the first thing a subscriber
/// to everything gets, and an acknowledgement sent after that report is the
/// first thing the thief gets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stolen_bridge_password_forges_no_ack_and_no_command_at_the_centre() {
    let ca = TestCa::new();
    // No regional broker: its bridge would take the session back (the
    // client id is the username).
    let Some((central, ca_file, bridge_user)) = centre(&ca) else {
        return;
    };
    let (server, mut seen) = listener(login(&central, SERVER, &ca_file), &["ronda/v1/#"]);
    assert_eq!(next(&mut seen).await, "granted");
    let thief_login = login(&central, (&bridge_user, BRIDGE_PASSWORD), &ca_file);
    let (thief, mut own) = listener(thief_login, &["ronda/v1/+/+/report", "ronda/v1/+/+/ack"]);
    // Granted or not, Mosquitto 2.0 delivers only what the ACL lets it read.
    assert!(["granted", "refused"].contains(&next(&mut own).await.as_str()));
    let forged = [
        ("ronda/v1/dinkes/kantor-utama/ack", br#"{"through":1000000}"#.to_vec()),
        (
            "ronda/v1/dinkes/kantor-utama/cmd",
            br#"{"schema":1,"id":"x","action":"plug.set","params":{"plug":"rak-server","on":false}}"#.to_vec(),
        ),
    ];
    for (topic, body) in forged {
        for retain in [false, true] {
            thief
                .publish(topic, QoS::AtLeastOnce, retain, body.clone())
                .await
                .unwrap();
        }
    }
    let report = "ronda/v1/dinkes/kantor-utama/report";
    thief
        .publish(report, QoS::AtLeastOnce, false, b"{}".to_vec())
        .await
        .unwrap();
    assert_eq!(next(&mut seen).await, report, "a forgery got through first");
    let ack = "ronda/v1/dinkes/kantor-utama/ack";
    server
        .publish(ack, QoS::AtLeastOnce, false, br#"{"through":1}"#.to_vec())
        .await
        .unwrap();
    assert_eq!(next(&mut own).await, ack, "the bridge user read a report");
}
