//! Email over real SMTP: what is sent, to whom, and that nothing is lost or
//! doubled when the SMTP server is down, answers 421, stalls, refuses a
//! recipient, or when the sender dies between the 250 and its commit.

use std::path::Path;
use std::time::Duration;

use crate::common::db::{self, TestDb};
use crate::common::registry;
use crate::common::smtp::{free_addr, Smtp};
use crate::policy_harness::{kotim, mins, Central, Office};
use jiff::Timestamp;
use ronda_server::mail::config::Lang;
use ronda_server::mail::MailConfig;
use ronda_server::mail::{send, Context, Mailer};
use ronda_server::store::Location;

const SEND_TIMEOUT: Duration = Duration::from_secs(1);

fn config(addr: std::net::SocketAddr) -> MailConfig {
    crate::common::smtp::mail_config(addr, Lang::Id, SEND_TIMEOUT)
}

struct World {
    registry: std::sync::Arc<ronda_policy::Registry>,
    office: Office,
    central: Central,
    t0: Timestamp,
    db: Location,
    letter: ronda_policy::Letter,
    _dir: tempfile::TempDir,
    /// After `central`: a PostgreSQL database outlives its writer.
    _db: TestDb,
}

/// The example registry without its `leadership` list: the daily summary,
/// which depends on the time of day, stays out of the alert mail tests.
fn quiet_registry() -> std::sync::Arc<ronda_policy::Registry> {
    let mut r = registry();
    r.contacts.remove("leadership");
    std::sync::Arc::new(r)
}

/// A simulated office watched by the engine under `letter` (or Kotim).
async fn world(letter: Option<ronda_policy::Letter>) -> World {
    world_with(letter, quiet_registry()).await
}

async fn world_with(
    letter: Option<ronda_policy::Letter>,
    registry: std::sync::Arc<ronda_policy::Registry>,
) -> World {
    let office = Office::start().await;
    let dir = tempfile::tempdir().unwrap();
    let t0 = Timestamp::now();
    let letter = letter.unwrap_or_else(|| kotim(t0 - mins(60)));
    let test_db = TestDb::from_env(dir.path());
    let db = test_db.location.clone();
    let central = Central::with_registry(&db, vec![letter.clone()], registry.clone());
    World {
        registry,
        office,
        central,
        t0,
        db,
        letter,
        _dir: dir,
        _db: test_db,
    }
}

impl World {
    fn mailer(&self, addr: std::net::SocketAddr) -> Mailer {
        let cx = Context {
            letters: std::sync::Arc::new(vec![self.letter.clone()]),
            registry: Some(self.registry.clone()),
            retired: Default::default(),
            config: config(addr),
        };
        Mailer::open(&self.db, cx).unwrap()
    }

    /// The printer is left on until its `power.off` alert fires (30 min).
    async fn printer_fires(&mut self) {
        self.office.relay("printer-lobi", true);
        let on = self.office.observe().await;
        self.central.report(&on, self.t0).await;
        self.central.report(&on, self.t0 + mins(30)).await;
    }

    /// `(kind, state, attempts)` of every outbox message, oldest first.
    fn outbox(&self) -> Vec<(String, String, i64)> {
        let conn = db::open(&self.db);
        let mut stmt = conn
            .prepare("SELECT kind, state, attempts FROM outbox ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

fn at(t: Timestamp, m: i64) -> Timestamp {
    t + mins(m)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_firing_alert_reaches_the_right_people_with_both_bodies() {
    let smtp = Smtp::start();
    let mut w = world(None).await;
    w.printer_fires().await;
    let mut mailer = w.mailer(smtp.addr);
    // The letter groups for one minute: nothing before that.
    assert_eq!(mailer.step(at(w.t0, 30)).await.unwrap(), 0);
    assert_eq!(mailer.step(at(w.t0, 31)).await.unwrap(), 1);
    let got = smtp.received();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    // power.off is a warning: the office's IT staff and whoever is on duty.
    assert_eq!(
        m.to,
        vec![
            "it@dinkes.example.go.id".to_owned(),
            "piket1@dinkes.example.go.id".to_owned()
        ]
    );
    let subject = m.header("Subject").unwrap();
    assert!(
        subject.starts_with("[PERINGATAN] Dinas Kesehatan =?utf-8?"),
        "{subject}"
    );
    assert!(m
        .header("Reply-To")
        .unwrap()
        .contains("cc@kotim.example.go.id"));
    let id = m.header("Message-ID").unwrap();
    assert!(
        id.starts_with("<ronda.1.") && id.ends_with("@kotim.example.go.id>"),
        "{id}"
    );
    assert!(m
        .header("Content-Type")
        .unwrap()
        .starts_with("multipart/alternative"));
    assert!(m.data.contains("Content-Type: text/plain; charset=utf-8"));
    assert!(m.data.contains("Content-Type: text/html; charset=utf-8"));
    let body = m.data.replace("=\r\n", "").replace("=\n", "");
    assert!(
        body.contains(
            "Jaringan listrik menuju peralatan elektronik yang tidak terpakai diputuskan"
        ),
        "{body}"
    );
    // The finding is in the mail's language (Bahasa Indonesia), not English.
    assert!(body.contains("printer-lobi (printer) menyala"), "{body}");
    assert!(
        !body.contains("is on"),
        "English inside Indonesian mail: {body}"
    );
    assert!(
        body.contains("WIB"),
        "the time is in the office's zone: {body}"
    );
    // The link opens the alert's page, not its JSON.
    assert!(
        body.contains("https://ronda.example.go.id/alerts/1"),
        "{body}"
    );
    assert!(!body.contains("/api/v1/alerts/"), "{body}");
    assert_eq!(mailer.step(at(w.t0, 32)).await.unwrap(), 0, "sent once");
}

/// A letter that repeats after an hour and has no escalation.
fn plain_letter() -> ronda_policy::Letter {
    let text = "letter: {id: l, number: '1', title: Uji, issuer: i, issued: 2018-06-08}\ntimezone: Asia/Jakarta\nwindow: always\noffices: all\nchecklist:\n  - id: off\n    text: {id: Listrik diputus, en: Power cut}\n    check: {kind: power.off}\n    severity: critical\nnotify:\n  critical: [it]\n  repeat: 1h\n  group_wait: 0s\n";
    ronda_policy::from_text(Path::new("l.yaml"), text.into(), None).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_firing_one_repeat_one_ack_one_resolved() {
    let smtp = Smtp::start();
    let t = Timestamp::now();
    let mut w = world(Some(plain_letter())).await;
    let mut mailer = w.mailer(smtp.addr);
    w.office.relay("printer-lobi", true);
    let on = w.office.observe().await;
    w.central.report(&on, at(t, 0)).await;
    mailer.step(at(t, 0)).await.unwrap();
    mailer.step(at(t, 59)).await.unwrap();
    mailer.step(at(t, 60)).await.unwrap(); // the repeat
    w.central
        .acknowledge(1, "teknisi menuju kantor", at(t, 61))
        .await;
    mailer.step(at(t, 61)).await.unwrap();
    mailer.step(at(t, 200)).await.unwrap(); // acknowledged: no more repeats
    w.office.relay("printer-lobi", false);
    w.central
        .report(&w.office.observe().await, at(t, 201))
        .await;
    mailer.step(at(t, 201)).await.unwrap();
    mailer.step(at(t, 400)).await.unwrap();
    let kinds: Vec<String> = w
        .outbox()
        .into_iter()
        .map(|(k, s, _)| format!("{k}:{s}"))
        .collect();
    assert_eq!(
        kinds,
        ["firing:sent", "repeat:sent", "ack:sent", "resolved:sent"]
    );
    let subjects: Vec<String> = smtp
        .received()
        .iter()
        .map(|m| m.header("Subject").unwrap())
        .collect();
    assert_eq!(subjects.len(), 4, "{subjects:?}");
    assert!(
        subjects[0].starts_with("[KRITIS]")
            && subjects[2].starts_with("[DITANGANI]")
            && subjects[3].starts_with("[PULIH]"),
        "{subjects:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unacknowledged_alerts_escalate_to_the_head_then_diskominfo() {
    let smtp = Smtp::start();
    let mut w = world(None).await;
    w.printer_fires().await;
    let mut mailer = w.mailer(smtp.addr);
    for m in [31, 60, 61, 150, 151] {
        mailer.step(at(w.t0, m)).await.unwrap();
    }
    let sent = sent(&w.db);
    assert_eq!(sent[0].0, "firing");
    assert_eq!(
        sent[1],
        (
            "escalation".to_owned(),
            vec!["kepala@dinkes.example.go.id".to_owned()]
        ),
        "30 min after firing: the head"
    );
    assert_eq!(
        sent[2],
        (
            "escalation".to_owned(),
            vec!["command-center@diskominfo.example.go.id".to_owned()]
        ),
        "2 h: diskominfo"
    );
    assert_eq!(sent[3].0, "repeat", "the 2 h repeat");
    assert_eq!(sent.len(), 4, "{sent:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_down_then_up_delivers_exactly_once() {
    let addr = free_addr();
    let mut w = world(None).await;
    w.printer_fires().await;
    let mut mailer = w.mailer(addr);
    assert_eq!(mailer.step(at(w.t0, 31)).await.unwrap(), 0);
    assert_eq!(w.outbox(), [("firing".to_owned(), "queued".to_owned(), 1)]);
    let smtp = Smtp::start_at(addr);
    assert_eq!(
        mailer.step(at(w.t0, 31)).await.unwrap(),
        0,
        "not before its backoff"
    );
    assert_eq!(mailer.step(at(w.t0, 32)).await.unwrap(), 1);
    mailer.step(at(w.t0, 40)).await.unwrap();
    assert_eq!(smtp.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_421_then_250_delivers_once() {
    let smtp = Smtp::start();
    smtp.script.lock().unwrap().refuse = 1;
    let mut w = world(None).await;
    w.printer_fires().await;
    let mut mailer = w.mailer(smtp.addr);
    assert_eq!(mailer.step(at(w.t0, 31)).await.unwrap(), 0);
    assert_eq!(w.outbox()[0].1, "queued");
    assert_eq!(mailer.step(at(w.t0, 32)).await.unwrap(), 1);
    assert_eq!(smtp.received().len(), 1);
    assert_eq!(w.outbox(), [("firing".to_owned(), "sent".to_owned(), 2)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stall_mid_data_times_out_and_the_retry_succeeds() {
    let smtp = Smtp::start();
    smtp.script.lock().unwrap().stall = Some(SEND_TIMEOUT * 3);
    let mut w = world(None).await;
    w.printer_fires().await;
    let mut mailer = w.mailer(smtp.addr);
    let started = std::time::Instant::now();
    assert_eq!(mailer.step(at(w.t0, 31)).await.unwrap(), 0);
    assert!(
        started.elapsed() < SEND_TIMEOUT * 3,
        "the send gave up at its own timeout"
    );
    let conn = db::open(&w.db);
    let error: String = conn
        .query_row("SELECT last_error FROM outbox", [], |r| r.get(0))
        .unwrap();
    assert!(error.contains("no answer within"), "{error}");
    assert_eq!(mailer.step(at(w.t0, 32)).await.unwrap(), 1);
    assert_eq!(smtp.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_550_kills_that_message_and_the_others_go_on() {
    let smtp = Smtp::start();
    smtp.script.lock().unwrap().reject = vec!["kepala@dinkes.example.go.id".into()];
    let mut w = world(None).await;
    w.printer_fires().await;
    let mut mailer = w.mailer(smtp.addr);
    // The firing message goes to IT and piket; the 30 min escalation to the head is refused.
    mailer.step(at(w.t0, 31)).await.unwrap();
    mailer.step(at(w.t0, 60)).await.unwrap();
    w.office.relay("printer-lobi", false);
    w.central
        .report(&w.office.observe().await, at(w.t0, 61))
        .await;
    mailer.step(at(w.t0, 62)).await.unwrap();
    let states: Vec<(String, String)> = w.outbox().into_iter().map(|(k, s, _)| (k, s)).collect();
    assert_eq!(
        states,
        [
            ("firing", "sent"),
            ("escalation", "dead"),
            ("resolved", "sent")
        ]
        .map(|(k, s)| (k.to_owned(), s.to_owned()))
    );
    assert_eq!(smtp.received().len(), 2);
    let conn = db::open(&w.db);
    let error: String = conn
        .query_row(
            "SELECT last_error FROM outbox WHERE state = 'dead'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(error.contains("550"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sender_killed_after_the_250_resends_only_that_one_with_the_same_message_id() {
    let smtp = Smtp::start();
    let mut w = world(None).await;
    w.printer_fires().await;
    let lease = send::lease(&config(smtp.addr));
    {
        // Two messages wait in the outbox (the firing mail and, 30 min
        // later, the escalation to the head); the sender claims and
        // delivers the first, and dies before recording it.
        let cx = context(&w, smtp.addr);
        let conn = db::open(&w.db);
        ronda_server::mail::compose::step(&conn, &cx, at(w.t0, 31)).unwrap();
        ronda_server::mail::compose::step(&conn, &cx, at(w.t0, 60)).unwrap();
        let queued = w.outbox().iter().filter(|(_, s, _)| s == "queued").count();
        assert_eq!(queued, 2);
        let row = send::claim(&conn, "email", at(w.t0, 60), lease)
            .unwrap()
            .unwrap();
        let mut transport = send::Transport::new(&config(smtp.addr)).unwrap();
        let outcome = send::attempt(&mut transport, &config(smtp.addr), &row).await;
        assert_eq!(outcome, ronda_server::mail::Outcome::Sent);
    }
    // Restarted while the claim holds: the other message goes, the claimed
    // one waits, since its sender might still be sending it (with two
    // servers, the one that lost the lead). Once the claim runs out it goes
    // again, with its Message-ID.
    let mut mailer = w.mailer(smtp.addr);
    let within = at(w.t0, 60).checked_add(lease / 2).unwrap();
    assert_eq!(mailer.step(within).await.unwrap(), 1);
    let expired = at(w.t0, 60).checked_add(lease).unwrap() + mins(1);
    assert_eq!(mailer.step(expired).await.unwrap(), 1);
    assert_eq!(mailer.step(expired + mins(1)).await.unwrap(), 0);
    let ids: Vec<String> = smtp
        .received()
        .iter()
        .map(|m| m.header("Message-ID").unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert_eq!(
        ids[0], ids[2],
        "the duplicate is the cut-off message, with its Message-ID"
    );
    assert_ne!(ids[0], ids[1]);
    assert!(w.outbox().iter().all(|(_, state, _)| state == "sent"));
}

fn context(w: &World, addr: std::net::SocketAddr) -> Context {
    Context {
        letters: std::sync::Arc::new(vec![w.letter.clone()]),
        registry: Some(w.registry.clone()),
        retired: Default::default(),
        config: config(addr),
    }
}

/// `(kind, recipients)` of every outbox message, oldest first.
fn sent(db: &Location) -> Vec<(String, Vec<String>)> {
    let conn = db::open(db);
    let mut stmt = conn
        .prepare("SELECT kind, recipients FROM outbox ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            serde_json::from_str(&r.get::<_, String>(1)?).unwrap(),
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn heads_who_have_not_signed_are_reminded_once_per_reminder_time() {
    let smtp = Smtp::start();
    let t0 = Timestamp::now();
    // The window opens in 10 h: the deadline is 7 h before it, so in 3 h;
    // the letter reminds 1 day and 3 hours before.
    let w = world(Some(kotim(t0 + mins(600)))).await;
    let conn = db::open(&w.db);
    conn.execute("INSERT INTO signatures (letter, office, by, at_ms) VALUES ('kotim-idul-fitri-2018', 'bappeda', 'kepala', 0)", []).unwrap();
    let mut mailer = w.mailer(smtp.addr);
    mailer.step(at(t0, -10)).await.unwrap();
    mailer.step(at(t0, -5)).await.unwrap();
    let heads = |v: &[(String, Vec<String>)]| {
        v.iter()
            .map(|(k, to)| format!("{k}:{}", to.join(",")))
            .collect::<Vec<_>>()
    };
    let once = [
        "reminder:kepala@dinkes.example.go.id",
        "reminder:kepala@disdukcapil.example.go.id",
    ];
    assert_eq!(
        heads(&sent(&w.db)),
        once,
        "the one-day reminder, not to the head who signed, once"
    );
    mailer.step(at(t0, 10)).await.unwrap(); // three hours before the deadline
    assert_eq!(sent(&w.db).len(), 4);
    mailer.step(at(t0, 200)).await.unwrap(); // past the deadline: no more
    assert_eq!(sent(&w.db).len(), 4);
    let subject = smtp.received()[0].header("Subject").unwrap();
    assert!(subject.starts_with("[PENGINGAT]"), "{subject}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_leadership_gets_one_summary_a_day_during_the_window() {
    let smtp = Smtp::start();
    let mut w = world_with(None, std::sync::Arc::new(registry())).await;
    w.printer_fires().await;
    let mut mailer = w.mailer(smtp.addr);
    let tz = jiff::tz::TimeZone::get("Asia/Jakarta").unwrap();
    let eight = |days: i64| {
        let d =
            w.t0.to_zoned(tz.clone())
                .date()
                .checked_add(jiff::Span::new().days(days))
                .unwrap();
        d.at(8, 0, 0, 0).to_zoned(tz.clone()).unwrap().timestamp()
    };
    mailer.step(eight(1)).await.unwrap();
    mailer.step(eight(1) + mins(60)).await.unwrap();
    mailer.step(eight(2)).await.unwrap();
    let summaries: Vec<_> = sent(&w.db)
        .into_iter()
        .filter(|(k, _)| k == "summary")
        .collect();
    assert_eq!(summaries.len(), 2, "one a day");
    assert_eq!(summaries[0].1, vec!["sekda@setda.example.go.id".to_owned()]);
    let body = smtp
        .received()
        .into_iter()
        .find(|m| m.header("Subject").unwrap().starts_with("[RINGKASAN]"))
        .unwrap()
        .data
        .replace("=\r\n", "");
    assert!(
        body.contains("Dinas Kesehatan: 1 peringatan terbuka"),
        "{body}"
    );
    assert!(
        body.contains("Badan Perencanaan Pembangunan Daerah: patuh"),
        "{body}"
    );
}
