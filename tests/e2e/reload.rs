//! Reloading the letters and the registry while the server runs
//! (`Running::reload`, what SIGHUP calls): a new letter is enforced end to
//! end, a broken file keeps the old set and the letters page says why, an
//! office taken out of the registry stops being judged, and reports sent
//! during reloads are all kept. The real SIGHUP is in `faults::reload`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ronda_agent::outbox::{Limits, Outbox, Sync};
use ronda_server::letters::Reloaded;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use tokio_util::sync::CancellationToken;

use crate::common::{anonymous, eventually, spawn_with, TestApp};

/// A letter `id` for every office (or `offices`), whose one item fails
/// at once when a service is down.
pub fn letter_yaml(id: &str, offices: &str) -> String {
    format!(
        "letter:\n  id: {id}\n  number: \"1\"\n  title: Surat {id}\n  issuer: Bupati\n  issued: 2026-01-01\n\
         timezone: Asia/Jakarta\nwindow: always\noffices: {offices}\nchecklist:\n\
         \x20 - id: layanan\n    text: {{id: Layanan hidup, en: Service up}}\n    check: {{kind: service.up}}\n    severity: critical\n"
    )
}

/// [`letter_yaml`] that mails `to` at once about its critical alerts.
fn mailing_letter_yaml(id: &str, to: &str) -> String {
    format!(
        "{}notify:\n  critical: [{to}]\n  group_wait: 0s\n",
        letter_yaml(id, "all")
    )
}

/// A registry of `offices`.
pub fn registry_yaml(offices: &[&str]) -> String {
    let mut yaml = "region: {name: Kab, timezone: Asia/Jakarta}\noffices:\n".to_owned();
    for o in offices {
        yaml.push_str(&format!("  - {{id: {o}, name: Kantor {o}}}\n"));
    }
    yaml
}

/// A folder of letters and a registry, for a server to read.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new(offices: &[&str]) -> Files {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("letters")).unwrap();
        std::fs::write(dir.path().join("offices.yaml"), registry_yaml(offices)).unwrap();
        Files { dir }
    }

    fn letter(&self, file: &str) -> PathBuf {
        self.dir.path().join("letters").join(file)
    }

    fn registry(&self) -> PathBuf {
        self.dir.path().join("offices.yaml")
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.letter(file), text).unwrap();
    }
}

/// A server reading `files`, open to anonymous MQTT clients.
async fn server(files: &Files) -> TestApp {
    let (letters, offices) = (files.dir.path().join("letters"), files.registry());
    spawn_with(move |c| {
        anonymous(c);
        c.policies_dir = Some(letters);
        c.offices_file = Some(offices);
        ronda_server::letters::load(c).unwrap();
    })
    .await
}

async fn reload(app: &TestApp) -> Reloaded {
    app.server.as_ref().unwrap().reload().await
}

/// Publish a report from `office/gw` whose service `sipd` is down.
pub async fn report_down(app: &TestApp, office: &str, seq: u64) {
    let mut o = MqttOptions::new(
        format!("raw-{office}"),
        app.broker.host.clone(),
        app.broker.port,
    );
    o.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(o, 10);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    let mut report = crate::common::bare_report(office, "gw", seq);
    report.services.push(ronda_wire::Service {
        id: "sipd".into(),
        url: "http://10.0.0.9/".into(),
        reachable: false,
        error: Some("connection refused".into()),
        status: None,
        status_ok: None,
        latency_ms: None,
        body_matched: None,
        tls_days_left: None,
    });
    let topic = format!("ronda/v1/{office}/gw/report");
    let body = serde_json::to_vec(&report).unwrap();
    client
        .publish(topic, QoS::AtLeastOnce, false, body)
        .await
        .unwrap();
    app.wait_report(office, "gw", seq).await;
    client.disconnect().await.unwrap();
}

/// The letter ids `/api/v1/letters` lists.
async fn letters(app: &TestApp) -> Vec<String> {
    let (_, list) = app.get_json("/api/v1/letters").await;
    let mut ids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// The alert of `letter` in `office`, once it is in `state`.
async fn alert_in(app: &TestApp, letter: &str, office: &str, state: &str) -> serde_json::Value {
    let path = format!("/api/v1/alerts?office={office}&letter={letter}&state={state}");
    eventually(
        &format!("a {state} alert of {letter} in {office}"),
        || async {
            let (_, list) = app.get_json(&path).await;
            list.as_array()?.first().cloned()
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_letter_file_is_enforced_end_to_end_after_a_reload() {
    let files = Files::new(&["dinkes"]);
    let app = server(&files).await;
    report_down(&app, "dinkes", 1).await;
    assert!(letters(&app).await.is_empty());

    files.write("baru.yaml", &letter_yaml("baru", "all"));
    let done = reload(&app).await;

    assert_eq!(
        done,
        Reloaded::Loaded {
            letters: 1,
            offices: Some(1),
            withdrawn: 0
        }
    );
    assert_eq!(letters(&app).await, ["baru"]);
    // The engine judged the office under it at once, from the last report.
    let a = alert_in(&app, "baru", "dinkes", "firing").await;
    assert_eq!(a["item"], "layanan");
    // And the overview shows it.
    let page = app.get_text("/?letter=baru").await;
    assert!(page.contains("Surat baru"), "{page}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_letters_alerts_are_closed_on_the_record_and_its_people_told() {
    let files = Files::new(&["dinkes"]);
    files.write(
        "lama.yaml",
        &mailing_letter_yaml("lama", "ops@kotim.example.go.id"),
    );
    let capture = tempfile::tempdir().unwrap();
    let (letters_dir, offices, mail) = (
        files.dir.path().join("letters"),
        files.registry(),
        capture.path().to_owned(),
    );
    let app = spawn_with(move |c| {
        anonymous(c);
        c.policies_dir = Some(letters_dir);
        c.offices_file = Some(offices);
        ronda_server::letters::load(c).unwrap();
        let mut m = crate::common::smtp::mail_config(
            "127.0.0.1:1".parse().unwrap(),
            ronda_server::mail::config::Lang::En,
            std::time::Duration::from_secs(5),
        );
        m.transport = ronda_server::mail::config::TransportConfig::Capture(mail);
        c.mail = Some(m);
    })
    .await;
    report_down(&app, "dinkes", 1).await;
    let firing = alert_in(&app, "lama", "dinkes", "firing").await;

    std::fs::remove_file(files.letter("lama.yaml")).unwrap();
    let done = reload(&app).await;

    assert!(
        matches!(
            done,
            Reloaded::Loaded {
                letters: 0,
                withdrawn: 1,
                ..
            }
        ),
        "{done:?}"
    );
    let closed = alert_in(&app, "lama", "dinkes", "resolved").await;
    assert_eq!(closed["id"], firing["id"]);
    let (_, one) = app
        .get_json(&format!("/api/v1/alerts/{}", firing["id"]))
        .await;
    let last = one["transitions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last["cause"]["en"], "letter withdrawn from the server",
        "{one}"
    );
    // Whoever was told it fired is told it ended, though the letter is gone.
    let id = firing["id"].as_i64().unwrap();
    let resolved = eventually("the resolved mail", || async {
        let (_, list) = app.get_json("/api/v1/mail").await;
        list.as_array()?
            .iter()
            .find(|m| m["kind"] == "resolved" && m["alert_ids"][0] == id && m["state"] == "sent")
            .cloned()
    })
    .await;
    assert_eq!(
        resolved["recipients"][0], "ops@kotim.example.go.id",
        "{resolved}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_file_keeps_the_old_set_and_the_letters_page_says_why() {
    let files = Files::new(&["dinkes"]);
    files.write("lama.yaml", &letter_yaml("lama", "all"));
    let app = server(&files).await;
    let banner = "Muat ulang surat edaran ditolak";
    assert!(!app.get_text("/").await.contains(banner));

    // One good new letter beside one broken: all or nothing.
    files.write("baru.yaml", &letter_yaml("baru", "all"));
    let broken = letter_yaml("rusak", "all").replace("service.up", "service.upp");
    files.write("rusak.yaml", &broken);
    let Reloaded::Kept { problems, .. } = reload(&app).await else {
        panic!("a broken file was accepted")
    };

    assert_eq!(problems.len(), 1, "{problems:?}");
    let at = format!("{}:13:12: ", files.letter("rusak.yaml").display());
    assert!(problems[0].starts_with(&at), "{problems:?}");
    assert!(problems[0].contains("service.upp"), "{problems:?}");
    assert_eq!(letters(&app).await, ["lama"], "the old set stays in force");
    let page = app.get_text("/").await;
    assert!(page.contains(banner), "{page}");
    assert!(page.contains("rusak.yaml:13:12: "), "{page}");
    assert_eq!(app.metric("ronda_policy_reload_refused").await, 1.0);
    // The old letter is still enforced.
    report_down(&app, "dinkes", 1).await;
    alert_in(&app, "lama", "dinkes", "firing").await;

    // Fixed: the next reload puts both in force and the banner goes.
    files.write("rusak.yaml", &letter_yaml("rusak", "all"));
    assert!(matches!(
        reload(&app).await,
        Reloaded::Loaded { letters: 3, .. }
    ));
    assert_eq!(letters(&app).await, ["baru", "lama", "rusak"]);
    assert!(!app.get_text("/").await.contains(banner));
    assert_eq!(app.metric("ronda_policy_reload_refused").await, 0.0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn careless_files_are_problems_and_never_stop_the_server() {
    let files = Files::new(&["dinkes"]);
    files.write("lama.yaml", &letter_yaml("lama", "all"));
    let app = server(&files).await;
    // A sparse 8 GiB file, a symlink loop, a link to a device, a FIFO.
    std::fs::File::create(files.letter("huge.yaml"))
        .unwrap()
        .set_len(8 << 30)
        .unwrap();
    let (a, b) = (files.letter("loop-a.yaml"), files.letter("loop-b.yaml"));
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    std::os::unix::fs::symlink("/dev/zero", files.letter("zero.yaml")).unwrap();
    let fifo = files.letter("fifo.yaml");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());

    let Reloaded::Kept { problems, .. } = reload(&app).await else {
        panic!("accepted")
    };

    let all = problems.join("\n");
    assert_eq!(problems.len(), 5, "{all}");
    for file in ["huge", "loop-a", "loop-b", "zero", "fifo"] {
        assert!(all.contains(&format!("{file}.yaml:1:1: ")), "{file}: {all}");
    }
    assert!(all.contains("8589934592 bytes"), "{all}");
    assert!(all.contains("a FIFO, not a regular file"), "{all}");
    assert_eq!(letters(&app).await, ["lama"]);
    let (status, _) = app.get_json("/healthz").await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_office_taken_out_of_the_registry_is_no_longer_judged() {
    let files = Files::new(&["dinkes", "bappeda"]);
    files.write("semua.yaml", &letter_yaml("semua", "all"));
    let app = server(&files).await;
    report_down(&app, "bappeda", 1).await;
    let firing = alert_in(&app, "semua", "bappeda", "firing").await;

    std::fs::write(files.registry(), registry_yaml(&["dinkes"])).unwrap();
    let done = reload(&app).await;

    assert!(
        matches!(
            done,
            Reloaded::Loaded {
                offices: Some(1),
                withdrawn: 1,
                ..
            }
        ),
        "{done:?}"
    );
    let closed = alert_in(&app, "semua", "bappeda", "resolved").await;
    assert_eq!(closed["id"], firing["id"]);
    let (_, one) = app
        .get_json(&format!("/api/v1/alerts/{}", firing["id"]))
        .await;
    let history = one["transitions"].as_array().unwrap();
    let last = history.last().unwrap();
    assert_eq!(
        last["cause"]["en"], "office removed from the office registry",
        "{one}"
    );
    let (status, _) = app.get_json("/api/v1/offices/bappeda/compliance").await;
    assert_eq!(status, 404);

    // A letter that names the removed office is a problem, not a surprise.
    files.write("bappeda.yaml", &letter_yaml("khusus", "[bappeda]"));
    let Reloaded::Kept { problems, .. } = reload(&app).await else {
        panic!("a letter naming an unknown office was accepted")
    };
    assert!(problems[0].contains("bappeda.yaml:"), "{problems:?}");
    assert!(problems[0].contains("bappeda"), "{problems:?}");
    app.stop().await;
}

/// A real agent of `office` on an outbox in `dir`, its reports counted.
fn agent(
    app: &TestApp,
    office: &str,
    dir: &Path,
    made: &Arc<AtomicU64>,
    interval_ms: u64,
    stop: &CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let mut config = app.agent_config(office, "gw");
    config.interval = std::time::Duration::from_millis(interval_ms);
    let outbox = Outbox::open(dir, Limits::default(), Sync::Off).unwrap().0;
    crate::faults::run_counted(config, office, made, outbox, stop.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_sent_during_reloads_are_all_kept() {
    let files = Files::new(&["dinkes", "bappeda"]);
    files.write("a.yaml", &letter_yaml("a", "all"));
    // Real agents with outboxes: the end-to-end acknowledgement is what
    // tells lost from late.
    let dir = tempfile::tempdir().unwrap();
    let (letters_dir, offices) = (files.dir.path().join("letters"), files.registry());
    let app = spawn_with(move |c| {
        c.policies_dir = Some(letters_dir);
        c.offices_file = Some(offices);
        ronda_server::letters::load(c).unwrap();
    })
    .await;
    let made = Arc::new(AtomicU64::new(0));
    let stop = CancellationToken::new();
    let offices = ["dinkes", "bappeda"];
    let running: Vec<_> = offices
        .iter()
        .map(|o| agent(&app, o, &dir.path().join(o), &made, 20, &stop))
        .collect();
    eventually("the agents reporting", || async {
        (made.load(Ordering::Relaxed) >= 50).then_some(())
    })
    .await;

    // Reload again and again, a letter coming and going, while they report.
    let mut reloads = 0;
    while made.load(Ordering::Relaxed) < 400 {
        if reloads % 2 == 0 {
            files.write("b.yaml", &letter_yaml("b", "all"));
        } else {
            std::fs::remove_file(files.letter("b.yaml")).unwrap();
        }
        assert!(matches!(reload(&app).await, Reloaded::Loaded { .. }));
        reloads += 1;
    }
    stop.cancel();
    for r in running {
        r.await.unwrap();
    }
    // Each agent once more on its outbox, to send what it still holds.
    let quiet = CancellationToken::new();
    let first = made.load(Ordering::Relaxed);
    let drain: Vec<_> = offices
        .iter()
        .map(|o| agent(&app, o, &dir.path().join(o), &made, 3_600_000, &quiet))
        .collect();
    eventually("each agent's start-up report", || async {
        (made.load(Ordering::Relaxed) >= first + 2).then_some(())
    })
    .await;
    let total = made.load(Ordering::Relaxed);

    for o in offices {
        eventually(
            &format!("every report of {o} stored and acknowledged"),
            || async {
                let (last, held) = crate::common::outbox_state(&dir.path().join(o));
                let t = crate::faults::Tally::of(&app.db, o, "gw", last);
                (t.complete() && t.acked_through == last && held == 0).then_some(())
            },
        )
        .await;
    }
    let stored = crate::common::sql(&app.db, "SELECT count(*) FROM reports");
    assert_eq!(stored as u64, total, "every report made is stored once");
    eprintln!("FIGURE reload during ingest: {reloads} reloads while 2 agents made {total} reports; {stored} stored, 0 lost");
    quiet.cancel();
    for d in drain {
        d.await.unwrap();
    }
    app.stop().await;
}
