//! Two `ronda-server` processes on one PostgreSQL database behind one
//! Mosquitto (issue 21): the one that leads is killed with SIGKILL five
//! times while reports stream in and offices fall out of line. The other
//! takes over; every alert fires once and is mailed once; every agent's
//! reports, split between the two servers by the shared subscription, are
//! all acknowledged. Prints the takeover times.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ronda_common::link::BrokerUrl;
use ronda_server::store::sql::Connection;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use tokio_util::sync::CancellationToken;

use super::process::spawn;
use super::{binary, outbox_agent, outbox_state, tail, Dice};
use crate::common::db::TestDb;
use crate::common::smtp::Smtp;
use crate::common::*;
use crate::e2e::reload::{letter_yaml, registry_yaml};

const KILLS: usize = 5;
/// Offices that fall out of line, two in each term.
const OFFICES: usize = 2 * KILLS + 2;
/// Agents whose acknowledgements are checked.
const AGENTS: usize = 2;

/// One `ronda-server run`, restartable on the same config.
struct Node {
    child: Child,
    config: PathBuf,
    log: PathBuf,
    http: String,
}

impl Node {
    fn start(dir: &Path, name: &str, common: &str) -> Node {
        let port = free_port();
        let config = dir.join(format!("{name}.yaml"));
        std::fs::write(
            &config,
            format!("http:\n  listen: 127.0.0.1:{port}\n{common}"),
        )
        .unwrap();
        let log = dir.join(format!("{name}.log"));
        let child = spawn("ronda-server", &args(&config), &log);
        Node {
            child,
            config,
            log,
            http: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The sample `name` in `/metrics` (0 when it cannot answer).
    async fn metric(&self, name: &str) -> f64 {
        let Ok(r) = reqwest::get(format!("{}/metrics", self.http)).await else {
            return 0.0;
        };
        let text = r.text().await.unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// `ronda_leader` from `/metrics`; `None` while it cannot answer.
    async fn leads(&self) -> Option<bool> {
        let r = reqwest::get(format!("{}/metrics", self.http)).await.ok()?;
        let text = r.text().await.ok()?;
        let v = text.lines().find_map(|l| l.strip_prefix("ronda_leader "))?;
        Some(v.trim() == "1")
    }

    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn restart(&mut self) {
        self.child = spawn("ronda-server", &args(&self.config), &self.log);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn args(config: &Path) -> Vec<&str> {
    vec!["run", "-c", config.to_str().unwrap()]
}

/// Wait until `node` leads, failing with its log if it exits or takes a
/// minute; returns how long it took.
async fn until_leads(node: &mut Node) -> Duration {
    let started = Instant::now();
    loop {
        if let Some(status) = node.child.try_wait().unwrap() {
            panic!("ronda-server exited ({status}):\n{}", tail(&node.log, 30));
        }
        if node.leads().await == Some(true) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no takeover within a minute:\n{}",
            tail(&node.log, 30)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The settings both servers share: the broker, the database, the letter
/// (every office's service must be up; mail at once), the mail server.
fn common_yaml(dir: &Path, broker: &str, db: &TestDb, smtp: std::net::SocketAddr) -> String {
    let offices: Vec<String> = (0..OFFICES).map(|i| format!("o{i}")).collect();
    let offices: Vec<&str> = offices.iter().map(String::as_str).collect();
    std::fs::create_dir_all(dir.join("letters")).unwrap();
    std::fs::write(
        dir.join("letters/a.yaml"),
        format!(
            "{}notify:\n  critical: [ops@kab.example.go.id]\n  group_wait: 0s\n",
            letter_yaml("a", "all")
        ),
    )
    .unwrap();
    std::fs::write(dir.join("offices.yaml"), registry_yaml(&offices)).unwrap();
    format!(
        "broker:\n  external:\n    url: {broker}\n    allow_plaintext: true\n{}\
         policies: {}\noffices: {}\n\
         mail:\n  from: Ronda <ronda@kab.example.go.id>\n  smtp:\n    host: 127.0.0.1\n    port: {}\n    tls: none\n    timeout: 2s\n",
        db.yaml(),
        dir.join("letters").display(),
        dir.join("offices.yaml").display(),
        smtp.port()
    )
}

/// Publishes a report from every office every 50 ms; an office in `down`
/// reports its service unreachable.
fn stream(broker: &BrokerUrl, down: Arc<Mutex<BTreeSet<usize>>>, stop: CancellationToken) {
    let mut o = MqttOptions::new("failover-offices", broker.host.clone(), broker.port);
    o.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(o, 1000);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    tokio::spawn(async move {
        let mut seq = 0;
        while !stop.is_cancelled() {
            seq += 1;
            for i in 0..OFFICES {
                let office = format!("o{i}");
                let up = !down.lock().unwrap().contains(&i);
                let mut report = bare_report(&office, "gw", seq);
                report.services.push(ronda_wire::Service {
                    id: "sipd".into(),
                    url: "http://10.0.0.9/".into(),
                    reachable: up,
                    error: (!up).then(|| "connection refused".into()),
                    status: None,
                    status_ok: None,
                    latency_ms: None,
                    body_matched: None,
                    tls_days_left: None,
                });
                let body = serde_json::to_vec(&report).unwrap();
                let topic = format!("ronda/v1/{office}/gw/report");
                let _ = client.publish(topic, QoS::AtLeastOnce, false, body).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
}

/// Agents on outboxes, whose every report must end acknowledged.
fn agents(
    dir: &Path,
    broker: &BrokerUrl,
    interval: Duration,
    stop: &CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let made = Arc::new(AtomicU64::new(0));
    (0..AGENTS)
        .map(|i| outbox_agent(dir, &format!("lab-{i}"), broker, interval, &made, stop))
        .collect()
}

fn query(db: &Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_killed_five_times_loses_repeats_and_double_mails_no_alert() {
    let Some(broker) = mosquitto() else {
        return;
    };
    let Some(db) = TestDb::postgres_only() else {
        return;
    };
    binary("ronda-server");
    let smtp = Smtp::start();
    let dir = tempfile::tempdir().unwrap();
    let common = common_yaml(dir.path(), &broker.url.to_string(), &db, smtp.addr);
    let mut nodes = [
        Node::start(dir.path(), "a", &common),
        Node::start(dir.path(), "b", &common),
    ];
    // Whichever takes the lock first leads.
    let mut leader = eventually("one server leading", || {
        let (a, b) = (&nodes[0], &nodes[1]);
        async move {
            match (a.leads().await, b.leads().await) {
                (Some(true), _) => Some(0),
                (_, Some(true)) => Some(1),
                _ => None,
            }
        }
    })
    .await;
    let other = &nodes[1 - leader];
    let follows = eventually("the other server up", || async { other.leads().await }).await;
    assert!(!follows, "both lead");

    let stop = CancellationToken::new();
    let down = Arc::new(Mutex::new(BTreeSet::new()));
    stream(&broker.url, down.clone(), stop.clone());
    let running = agents(dir.path(), &broker.url, Duration::from_millis(100), &stop);

    let mut dice = Dice::new("leader SIGKILL");
    let mut takeovers = Vec::new();
    for round in 0..KILLS {
        // Two offices fall out of line; the leader is killed while their
        // alerts fire and their mail goes out, or a moment after.
        down.lock().unwrap().extend([2 * round, 2 * round + 1]);
        tokio::time::sleep(dice.millis(0, 1500)).await;
        nodes[leader].kill();
        let other = 1 - leader;
        takeovers.push(until_leads(&mut nodes[other]).await.as_millis());
        nodes[leader].restart();
        leader = other;
    }
    // The last two offices fall out of line under the last leader.
    down.lock().unwrap().extend([OFFICES - 2, OFFICES - 1]);

    let pg = crate::common::db::open(&db.location);
    eventually("every office's alert firing and mailed", || {
        let (firing, sent) = (
            query(&pg, "SELECT count(*) FROM alerts WHERE state = 'firing'"),
            query(&pg, "SELECT count(*) FROM outbox WHERE state = 'sent'"),
        );
        async move { (firing == OFFICES as i64 && sent >= 1).then_some(()) }
    })
    .await;
    // The server that does not lead commits reports too: the broker
    // shares them out between the two.
    let follower = &nodes[1 - leader];
    eventually("the other server storing reports", || async {
        (follower.metric("ronda_reports_stored_total").await > 0.0).then_some(())
    })
    .await;
    stop.cancel();
    for task in running {
        task.await.unwrap();
    }

    // One alert per office, fired once: none lost, none repeated.
    assert_eq!(
        query(&pg, "SELECT count(*) FROM alerts"),
        OFFICES as i64,
        "{}",
        tail(&nodes[leader].log, 40)
    );
    assert_eq!(
        query(
            &pg,
            "SELECT count(*) FROM alert_transitions WHERE to_state = 'firing'"
        ),
        OFFICES as i64
    );
    // Mailed once: every firing alert is in exactly one message, and the
    // mail server saw no message other than those.
    let firing_mails = || -> Vec<String> {
        pg.prepare("SELECT alert_ids FROM outbox WHERE kind = 'firing' AND state = 'sent'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let alert_ids = eventually("every firing alert mailed", || {
        let mails = firing_mails();
        let told: usize = mails
            .iter()
            .map(|a| serde_json::from_str::<Vec<i64>>(a).unwrap().len())
            .sum();
        async move { (told >= OFFICES).then_some(mails) }
    })
    .await;
    let mut mailed: Vec<i64> = alert_ids
        .iter()
        .flat_map(|a| serde_json::from_str::<Vec<i64>>(a).unwrap())
        .collect();
    mailed.sort();
    let before = mailed.len();
    mailed.dedup();
    assert_eq!(
        before,
        mailed.len(),
        "an alert in two firing mails: {alert_ids:?}"
    );
    assert_eq!(mailed.len(), OFFICES, "{alert_ids:?}");
    assert_eq!(
        query(&pg, "SELECT count(*) FROM outbox WHERE state != 'sent'"),
        0
    );
    let ids: BTreeSet<String> = smtp
        .received()
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    assert_eq!(
        ids.len() as i64,
        query(&pg, "SELECT count(*) FROM outbox"),
        "one Message-ID per outbox row"
    );
    let resent = smtp.received().len() - ids.len();

    // Every agent's reports acknowledged, though each server committed
    // only some of them: each agent again on its outbox, making one report
    // as it starts and sending what it still holds.
    let quiet = CancellationToken::new();
    let drain = agents(dir.path(), &broker.url, Duration::from_secs(3600), &quiet);
    let acked = |i: usize| {
        query(
            &pg,
            &format!("SELECT acked_through FROM agents WHERE office = 'lab-{i}' AND agent = 'gw'"),
        )
    };
    let settled = eventually("every agent's reports acknowledged", || {
        let states: Vec<_> = (0..AGENTS)
            .map(|i| (outbox_state(&dir.path().join(format!("lab-{i}"))), acked(i)))
            .collect();
        async move {
            let done = states
                .iter()
                .all(|((last, held), acked)| *held == 0 && *acked as u64 == *last && *last > 0);
            done.then_some(states)
        }
    })
    .await;
    quiet.cancel();
    for task in drain {
        task.await.unwrap();
    }
    eprintln!(
        "FIGURE failover: leader SIGKILL x{KILLS} mid-stream, takeover (ms from SIGKILL to the other leading) {takeovers:?}, max {} ms; {OFFICES} alerts fired once and mailed once; {resent} same-Message-ID resends; agents' (last seq, held) and acknowledged through: {settled:?}",
        takeovers.iter().max().unwrap()
    );
}
