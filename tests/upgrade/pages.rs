//! The previous release's server database, migrated by a server started on
//! it, read back over HTTP as people read it: every alert with its history,
//! signature, mail, office page, account and audit line.

use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use serde_json::Value;

use super::{copy, count, fixture, html, strings};
use crate::common::{spawn_with, TestApp};

/// The demo's letters and registry, which the fixture's alerts and
/// signatures name, in their original 2018 windows.
fn demo_letters(c: &mut ronda_server::ServerConfig) {
    let opts = ronda_server::demo::DemoOptions {
        http: "127.0.0.1:0".parse().unwrap(),
        mqtt: "127.0.0.1:0".parse().unwrap(),
        interval: Duration::from_secs(5),
        window_start: None,
        max_grace: Duration::MAX,
    };
    let (letters, registry) = ronda_server::demo::letters(&opts).unwrap();
    c.letters = Arc::new(letters);
    c.registry = Some(Arc::new(registry));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_old_database_reads_back_through_the_api_and_the_pages() {
    let app = spawn_with(|c| {
        let ronda_server::store::Location::File(db) = &c.database else {
            unreachable!("spawn_with gives a SQLite file");
        };
        copy("server.db", db);
        demo_letters(c);
        // The hourly prune runs at start: keep the fixture's history,
        // however old the fixture is when this runs.
        let century = Duration::from_secs(100 * 365 * 86_400);
        c.retention.reports = century;
        c.retention.alerts = century;
        c.retention.door_events = century;
    })
    .await;
    let old = Connection::open(copy("server.db", &app.dir.path().join("old.db"))).unwrap();
    alerts(&app, &old).await;
    signatures(&app, &old).await;
    mail(&app, &old).await;
    offices(&app, &old).await;
    door_events(&app, &old).await;
    commands(&app, &old).await;
    accounts(&app, &old).await;
    // Last: the logins above add lines on top of the old ones.
    audit(&app, &old).await;
    app.stop().await;
}

fn ms(v: &Value) -> i64 {
    let t: jiff::Timestamp = v.as_str().unwrap().parse().unwrap();
    t.as_millisecond()
}

/// An alert's moves as (time, state reached, who), from either side.
type Moves = Vec<(i64, String, Option<String>)>;

fn old_moves(old: &Connection, id: i64) -> Moves {
    let mut stmt = old
        .prepare("SELECT at_ms, to_state, actor FROM alert_transitions WHERE alert_id = ?1")
        .unwrap();
    let rows = stmt
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap();
    rows.map(Result::unwrap).collect()
}

fn api_moves(alert: &Value) -> Moves {
    let moves = alert["transitions"].as_array().unwrap().iter();
    moves
        .map(|t| {
            let to = t["to"].as_str().unwrap().to_owned();
            (ms(&t["at"]), to, t["actor"].as_str().map(str::to_owned))
        })
        .collect()
}

/// Each alert by its id, with its key, start, acknowledgement and every
/// transition it had (a restarted engine may add more), and its page.
async fn alerts(app: &TestApp, old: &Connection) {
    // The key and the acknowledgement as JSON, to compare with the API's.
    let q = "SELECT id, json_object('letter', letter, 'office', office, 'item', item,
                'subject', subject), started_ms, json_object('by', ack_by, 'note', ack_note)
             FROM alerts ORDER BY id";
    let mut stmt = old.prepare(q).unwrap();
    let rows: Vec<(i64, String, i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut states = std::collections::BTreeSet::new();
    for (id, key, started_ms, ack) in rows {
        let (status, v) = app.get_json(&format!("/api/v1/alerts/{id}")).await;
        assert_eq!(status, 200, "alert {id}");
        let key: Value = serde_json::from_str(&key).unwrap();
        for (field, want) in key.as_object().unwrap() {
            assert_eq!(&v[field], want, "alert {id}: {field}");
        }
        assert_eq!(ms(&v["started"]), started_ms, "alert {id}");
        let ack: Value = serde_json::from_str(&ack).unwrap();
        if !ack["by"].is_null() {
            assert_eq!(
                (&v["ack"]["by"], &v["ack"]["note"]),
                (&ack["by"], &ack["note"]),
                "alert {id}"
            );
        }
        let now = api_moves(&v);
        for one in old_moves(old, id) {
            assert!(
                now.contains(&one),
                "alert {id}: {one:?} missing from {now:?}"
            );
            states.insert(one.1);
        }
        let page = app.get_text(&format!("/alerts/{id}")).await;
        let subject = html(v["subject"].as_str().unwrap());
        assert!(page.contains(&subject), "page of alert {id}");
    }
    // The fixture has the whole life of an alert in it.
    for state in ["pending", "firing", "acknowledged", "resolved"] {
        assert!(
            states.contains(state),
            "no transition to {state} in the fixture: {states:?}"
        );
    }
}

/// Each signature on its letter's report (the CSV the region files).
async fn signatures(app: &TestApp, old: &Connection) {
    let mut stmt = old
        .prepare("SELECT letter, office, by FROM signatures")
        .unwrap();
    let rows: Vec<(String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (letter, office, by) in rows {
        let csv = app.get_text(&format!("/letters/{letter}/report.csv")).await;
        let line = csv
            .lines()
            .find(|l| l.starts_with(&format!("{office},")))
            .unwrap_or_else(|| panic!("no line for {office} in\n{csv}"));
        assert_eq!(line.split(',').nth(3), Some(by.as_str()), "{line}");
        let overview = app.get_text(&format!("/?letter={letter}")).await;
        assert!(
            overview.contains(&format!("✍ {}", html(&by))),
            "overview of {letter}"
        );
    }
}

/// Each message of the mail outbox, with its subject and text, in the API
/// and on the mail page.
async fn mail(app: &TestApp, old: &Connection) {
    let page = app.get_text("/outbox").await;
    let mut stmt = old
        .prepare("SELECT id, subject, message_id, body_text FROM outbox")
        .unwrap();
    let rows: Vec<(i64, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (id, subject, message_id, body) in rows {
        let (status, v) = app.get_json(&format!("/api/v1/mail/{id}")).await;
        assert_eq!(status, 200, "mail {id}");
        assert_eq!(
            (
                v["subject"].as_str(),
                v["message_id"].as_str(),
                v["body_text"].as_str()
            ),
            (
                Some(subject.as_str()),
                Some(message_id.as_str()),
                Some(body.as_str())
            ),
            "mail {id}"
        );
        assert!(page.contains(&html(&subject)), "mail {id} not on /mail");
    }
}

/// Each office's page, with its agents, and each agent's latest report.
async fn offices(app: &TestApp, old: &Connection) {
    let agents: Vec<String> = strings(old, "SELECT office || '/' || agent FROM agents");
    for oa in agents {
        let (office, agent) = oa.split_once('/').unwrap();
        let page = app.get_text(&format!("/offices/{office}")).await;
        assert!(
            page.contains(agent),
            "agent {agent} not on the page of {office}"
        );
        let (status, v) = app
            .get_json(&format!("/api/v1/agents/{office}/{agent}"))
            .await;
        assert_eq!(status, 200);
        let seq = count(
            old,
            &format!("SELECT last_seq FROM agents WHERE office = '{office}' AND agent = '{agent}'"),
        );
        assert_eq!(v["report"]["seq"], seq, "latest report of {oa}");
    }
}

/// Each office's door events on its page, one row each.
async fn door_events(app: &TestApp, old: &Connection) {
    let doors = strings(
        old,
        "SELECT DISTINCT office || '/' || device FROM door_events",
    );
    for od in doors {
        let (office, device) = od.split_once('/').unwrap();
        let n = count(
            old,
            &format!("SELECT count(*) FROM door_events WHERE office = '{office}' AND device = '{device}'"),
        );
        let page = app.get_text(&format!("/offices/{office}")).await;
        let rows = page.matches(&format!("<td>{} · ", html(device))).count();
        assert_eq!(
            rows as i64, n,
            "door events of {device} on the page of {office}"
        );
    }
}

/// Each command sent to an agent on its office's page.
async fn commands(app: &TestApp, old: &Connection) {
    let mut stmt = old
        .prepare("SELECT office, agent, plug, turn_on, by FROM commands")
        .unwrap();
    let commands: Vec<(String, String, String, bool, String)> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (office, agent, plug, on, by) in commands {
        let page = app.get_text(&format!("/offices/{office}")).await;
        let turn = if on { "ON" } else { "OFF" };
        let cells = format!(
            "<td>{}</td><td>{}: {} → {turn}</td>",
            html(&by),
            html(&agent),
            html(&plug)
        );
        assert!(
            page.contains(&cells),
            "command {cells} not on the page of {office}"
        );
    }
}

/// Every account of the fixture logs in with its password, in its role.
async fn accounts(app: &TestApp, old: &Connection) {
    let list = std::fs::read_to_string(fixture("server-accounts.txt")).unwrap();
    let accounts: Vec<(&str, &str)> = list
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split_once(' ').unwrap())
        .collect();
    assert_eq!(
        accounts.len() as i64,
        count(old, "SELECT count(*) FROM users")
    );
    for (name, password) in accounts {
        let res = crate::common::web::client()
            .post(format!("{}/login", app.http))
            .form(&[("name", name), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "login of {name}");
        let cookie = res.headers()["set-cookie"].to_str().unwrap();
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let me: Value = crate::common::web::client()
            .get(format!("{}/api/v1/me", app.http))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let role = strings(
            old,
            &format!("SELECT role FROM users WHERE name = '{name}'"),
        );
        assert_eq!(
            (me["user"]["name"].as_str(), me["user"]["role"].as_str()),
            (Some(name), Some(role[0].as_str()))
        );
    }
}

/// Each line of the audit log on its page, as it was written.
async fn audit(app: &TestApp, old: &Connection) {
    let mut stmt = old
        .prepare("SELECT actor, action, detail, source FROM audit")
        .unwrap();
    let rows: Vec<(Option<String>, String, String, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let page = app.get_text("/audit").await;
    for (actor, action, detail, source) in rows {
        let cells = format!(
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html(&actor.unwrap_or_default()),
            html(&action),
            html(&detail),
            html(&source.unwrap_or_default())
        );
        assert!(page.contains(&cells), "audit line {cells} not on\n{page}");
    }
}
