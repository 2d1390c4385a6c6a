//! Alert latency: from a violation's grace time running out to the SMTP
//! server's 250, over 1,000 alerts, on the live engine and mailer loops
//! with the real clock. A benchmark, not a test: it takes a minute and its
//! figure is a measurement, not a pass/fail. Run it with
//!
//!     cargo bench --bench alert_latency
//!
//! 1,000 offices each report a printer left on, 100 a second; the item's
//! grace is 2 s and the letter groups nothing (`group_wait: 0s`).
#![allow(clippy::unwrap_used)]

// The same real SMTP server the mail tests use.
#[path = "../tests/common/smtp.rs"]
mod smtp;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use ronda_server::engine::worker::{Msg, Worker};
use ronda_server::engine::{Engine, Views};
use ronda_server::mail::config::Lang;
use ronda_server::mail::{Context, Mailer};
use ronda_server::metrics::Metrics;
use ronda_server::store;
use ronda_wire::{Id, Plug, Report};
use smtp::Smtp;
use tokio_util::sync::CancellationToken;

const OFFICES: usize = 1000;
const PER_SECOND: u64 = 100;
const GRACE_S: i64 = 2;

fn letter() -> ronda_policy::Letter {
    let text = format!("letter: {{id: l, number: '1', title: Bench, issuer: i, issued: 2018-06-08}}\ntimezone: Asia/Jakarta\nwindow: always\noffices: all\nchecklist:\n  - id: off\n    text: {{id: Listrik diputus, en: Power cut}}\n    check: {{kind: power.off}}\n    for: {GRACE_S}s\n    severity: critical\nnotify:\n  critical: [it]\n  group_wait: 0s\n");
    ronda_policy::from_text(Path::new("bench.yaml"), text, None).unwrap()
}

fn registry() -> ronda_policy::Registry {
    let mut text = String::from("region: {name: Bench, timezone: Asia/Jakarta}\noffices:\n");
    for i in 0..OFFICES {
        text += &format!("  - {{id: o{i}, name: Kantor {i}, it: [{{name: IT, email: it@o{i}.example.go.id}}]}}\n");
    }
    ronda_policy::Registry::from_text(Path::new("offices.yaml"), text).unwrap()
}

fn report(office: usize) -> Report {
    let printer = Plug {
        id: "printer".into(),
        kind: "tasmota".into(),
        class: "printer".into(),
        reachable: true,
        relay_on: Some(true),
        ..Plug::default()
    };
    Report {
        schema: 1,
        office: Id::new(format!("o{office}")).unwrap(),
        agent: Id::new("gw").unwrap(),
        seq: 1,
        observed_at: Timestamp::now(),
        host: None,
        recorders: vec![],
        plugs: vec![printer],
        services: vec![],
        delivery: None,
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(alert_latency_over_1000_alerts());
}

async fn alert_latency_over_1000_alerts() {
    let smtp = Smtp::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ronda.db");
    let letters = Arc::new(vec![letter()]);
    let registry = Arc::new(registry());
    let writer =
        store::spawn_writer(store::open(&db).unwrap(), Metrics::new(), 20_000, None).unwrap();
    let engine = Engine::new(
        letters.clone(),
        Some(registry.clone()),
        store::seed(&db).unwrap(),
        Views::default(),
    );
    let worker = Worker {
        engine,
        store: writer.tx.clone(),
        client: None,
        mail: true,
    };
    let config = smtp.mail_config(Lang::Id, Duration::from_secs(10));
    let mailer = Mailer::open(
        &db,
        Context {
            letters,
            registry: Some(registry),
            config,
        },
    )
    .unwrap();
    let stop = CancellationToken::new();
    let (tx, rx) = tokio::sync::mpsc::channel(20_000);
    tokio::spawn(worker.run(rx, stop.clone()));
    tokio::spawn(mailer.run(stop.clone()));

    let mut every = tokio::time::interval(Duration::from_millis(1000 / PER_SECOND));
    for office in 0..OFFICES {
        every.tick().await;
        let r = report(office);
        tx.send(Msg::Report {
            received: r.observed_at,
            report: Box::new(r),
        })
        .await
        .unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while smtp.received().len() < OFFICES && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    let got = smtp.received();
    assert_eq!(got.len(), OFFICES, "every alert mailed once");

    // Grace expiry of each alert, by the Message-ID of the message it went out in.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn.prepare("SELECT o.message_id, a.started_ms FROM outbox o JOIN alerts a ON o.alert_ids = '[' || a.id || ']'").unwrap();
    let expiry: HashMap<String, i64> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? + GRACE_S * 1000))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut ms: Vec<f64> = got
        .iter()
        .map(|m| {
            let id = m.header("Message-ID").unwrap_or_else(|| {
                panic!("no Message-ID in {:?}", &m.data[..m.data.len().min(600)])
            });
            let expired = Timestamp::from_millisecond(
                *expiry
                    .get(&id)
                    .unwrap_or_else(|| panic!("{id:?} not in outbox")),
            )
            .unwrap();
            m.at.unwrap().duration_since(expired).as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| ms[((ms.len() as f64 * p).ceil() as usize).saturating_sub(1)];
    println!(
        "alert latency, grace expiry to SMTP 250, {} alerts at {PER_SECOND}/s: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        ms.len(),
        pct(0.50),
        pct(0.99),
        ms[ms.len() - 1]
    );
}
