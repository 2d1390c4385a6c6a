//! The whole chain, live: a simulated office and its real agent report over
//! MQTT; the server enforces the Kotim letter, switches the printer left on
//! off through the agent, and lets an admin acknowledge an alert.

use std::sync::Arc;

use crate::common::{eventually, spawn_with, TestApp, LETTER};
use jiff::Timestamp;
use ronda_server::mail::config::Lang;
use ronda_sim::state::{lock, Patch};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

async fn alert(app: &TestApp, item: &str, subject: &str) -> Option<Value> {
    let path = format!("/api/v1/alerts?office=dinkes&letter={LETTER}");
    let (_, list) = app.get_json(&path).await;
    list.as_array()?
        .iter()
        .find(|a| a["item"] == item && a["subject"] == subject)
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_switches_off_a_printer_left_on_and_an_admin_acknowledges_a_service_alert() {
    let stop = CancellationToken::new();
    let sim = crate::common::sim_office(&stop).await;
    let patch = |device: &str, p: Patch| {
        p.apply(
            &mut lock(&sim.device(device).unwrap().state),
            Timestamp::now(),
        )
        .unwrap()
    };
    patch(
        "printer-lobi",
        Patch {
            relay_on: Some(true),
            ..Patch::default()
        },
    );
    patch(
        "sipd",
        Patch {
            status: Some(503),
            ..Patch::default()
        },
    );

    let smtp = crate::common::smtp::Smtp::start();
    let app = spawn_with(|c| {
        c.letters = Arc::new(vec![crate::common::kotim_now()]);
        c.mail = Some(crate::common::smtp::mail_config(
            smtp.addr,
            Lang::En,
            std::time::Duration::from_secs(5),
        ));
    })
    .await;
    crate::common::spawn_sim_agent(
        &sim,
        "dinkes",
        app.credentials_for("dinkes", crate::common::SIM_AGENT),
        &stop,
    );

    let (status, letters) = app.get_json("/api/v1/letters").await;
    assert_eq!(status, 200);
    assert_eq!(letters[0]["id"], LETTER);
    assert_eq!(letters[0]["enforced"], true);
    assert_eq!(letters[0]["items"].as_array().unwrap().len(), 11);

    // Fired, switched off through the agent, read back off, resolved.
    let printer = eventually("the printer alert to resolve", || async {
        alert(&app, "listrik-diputus", "printer-lobi")
            .await
            .filter(|a| a["state"] == "resolved")
    })
    .await;
    assert_eq!(
        lock(&sim.device("printer-lobi").unwrap().state).relays,
        vec![false]
    );
    let (status, detail) = app
        .get_json(&format!("/api/v1/alerts/{}", printer["id"]))
        .await;
    assert_eq!(status, 200);
    let causes: Vec<&str> = detail["transitions"]
        .as_array()
        .unwrap()
        .iter()
        // Causes come in both languages; the English one is checked here.
        .map(|t| t["cause"]["en"].as_str().unwrap())
        .collect();
    assert!(
        causes[0].contains("printer-lobi (printer) is on"),
        "{causes:?}"
    );
    assert!(
        causes
            .iter()
            .any(|c| c.starts_with("switch-off: asked agent kantor-utama")),
        "{causes:?}"
    );
    assert!(
        causes.iter().any(|c| c.starts_with("switch-off done")),
        "{causes:?}"
    );
    assert!(
        causes
            .last()
            .unwrap()
            .starts_with("recovered: printer-lobi (printer) is off"),
        "{causes:?}"
    );

    // The on-duty officer heard about it and about the recovery, in English.
    let about_printer = |m: &crate::common::smtp::Received| {
        m.data
            .replace("=\r\n", "")
            .contains("printer-lobi (printer) is")
    };
    let mail = eventually("the firing and resolved mail about the printer", || async {
        let got: Vec<_> = smtp.received().into_iter().filter(about_printer).collect();
        let resolved = got.iter().any(|m| {
            m.header("Subject")
                .is_some_and(|s| s.starts_with("[RESOLVED]"))
        });
        resolved.then_some(got)
    })
    .await;
    let subjects: Vec<String> = mail.iter().filter_map(|m| m.header("Subject")).collect();
    assert!(
        subjects[0].starts_with("[CRITICAL] dinkes"),
        "the printer fired with the critical service alert: {subjects:?}"
    );
    // The em dash travels as an RFC 2047 encoded word.
    assert_eq!(
        subjects.last().unwrap(),
        "[RESOLVED] dinkes =?utf-8?b?4oCU?= Power to electronic equipment not in use is cut"
    );
    assert!(
        mail.iter().all(|m| m.to == ["piket1@dinkes.example.go.id"]),
        "no registry: the roster's piket only"
    );

    // The service alert: acknowledging needs a token and a note.
    let sipd = eventually("the service alert to fire", || async {
        alert(&app, "aplikasi-layanan-dapat-diakses", "sipd")
            .await
            .filter(|a| a["state"] == "firing")
    })
    .await;
    // A script acknowledges with its own API token (role it).
    let conn = crate::common::db::open(&app.db);
    let script = ronda_server::store::users::tokens::add(&conn, "budi", "it", None, 0).unwrap();
    let ack_url = format!("{}/api/v1/alerts/{}/ack", app.http, sipd["id"]);
    let anonymous = reqwest::Client::new();
    let post = |token: Option<&str>, body: Value| {
        let mut req = anonymous.post(&ack_url).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    assert_eq!(
        post(None, json!({"note": "x"})).await.unwrap().status(),
        401
    );
    assert_eq!(
        post(Some("wrong-token-0123456789"), json!({"note": "x"}))
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        post(Some(&script), json!({"note": "  "}))
            .await
            .unwrap()
            .status(),
        400
    );
    let ok = post(
        Some(&script),
        json!({"note": "vendor SIPD sedang memperbaiki"}),
    )
    .await
    .unwrap();
    assert_eq!(ok.status(), 200);
    let acked: Value = ok.json().await.unwrap();
    assert_eq!(acked["state"], "acknowledged");
    assert_eq!(acked["ack"]["by"], "token:budi");
    // It stays acknowledged while the service is still down.
    let again = alert(&app, "aplikasi-layanan-dapat-diakses", "sipd")
        .await
        .unwrap();
    assert_eq!(again["state"], "acknowledged");

    // The compliance view says which item fails and since when.
    let url = format!(
        "{}/api/v1/offices/dinkes/compliance?letter={LETTER}",
        app.http
    );
    let c: Value = app
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let view = &c["letters"][0];
    assert_eq!(view["evaluation"]["enforced"], true);
    let item = |id: &str| {
        view["evaluation"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["item"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(item("aplikasi-layanan-dapat-diakses")["status"], "fail");
    assert_eq!(item("listrik-diputus")["status"], "ok");
    assert!(view["since"]["aplikasi-layanan-dapat-diakses"].is_string());

    // The service comes back: the acknowledged alert still resolves.
    patch(
        "sipd",
        Patch {
            status: Some(200),
            ..Patch::default()
        },
    );
    eventually("the acknowledged alert to resolve", || async {
        alert(&app, "aplikasi-layanan-dapat-diakses", "sipd")
            .await
            .filter(|a| a["state"] == "resolved")
    })
    .await;
    stop.cancel();
}

/// An agent's MQTT connection as someone holding its password uses it: raw,
/// with every SUBACK, PUBACK and incoming publish passed on in order.
struct Held {
    client: rumqttc::AsyncClient,
    news: tokio::sync::mpsc::UnboundedReceiver<rumqttc::Packet>,
}

impl Held {
    fn connect(app: &TestApp, office: &str) -> Held {
        use ronda_wire::Id;
        let broker = app.credentials(&Id::new(office).unwrap(), &Id::new("gw").unwrap());
        let o =
            ronda_common::link::options(&format!("held-{office}"), &broker, None, 1 << 20).unwrap();
        let (client, mut eventloop) = rumqttc::AsyncClient::new(o, 16);
        let (tx, news) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(event) = eventloop.poll().await {
                if let rumqttc::Event::Incoming(p) = event {
                    let _ = tx.send(p);
                }
            }
        });
        Held { client, news }
    }

    /// The next incoming packet that `pick` takes.
    async fn next<T>(&mut self, mut pick: impl FnMut(rumqttc::Packet) -> Option<T>) -> T {
        loop {
            let p = self.news.recv().await.expect("connection gone");
            if let Some(v) = pick(p) {
                return v;
            }
        }
    }

    /// Publish at QoS 1 and wait until the broker has taken it.
    async fn publish(&mut self, topic: &str, body: Vec<u8>) {
        let qos = rumqttc::QoS::AtLeastOnce;
        self.client.publish(topic, qos, false, body).await.unwrap();
        self.next(|p| matches!(p, rumqttc::Packet::PubAck(_)).then_some(()))
            .await;
    }
}

/// A report of `office/gw` with one printer plug, switched on.
fn printer_on(office: &str) -> Vec<u8> {
    let mut report = crate::common::bare_report(office, "gw", 1);
    report.plugs = vec![serde_json::from_value(json!({
        "id": "printer-lobi", "kind": "tasmota", "class": "printer",
        "reachable": true, "relay_on": true
    }))
    .unwrap()];
    serde_json::to_vec(&report).unwrap()
}

/// Finding 3 of issue 18: the agent of another office answers dinkes's
/// switch-off on its own `cmd/result` topic, ahead of dinkes's real answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_cannot_answer_a_command_sent_to_another_office() {
    let app = spawn_with(|c| c.letters = Arc::new(vec![crate::common::kotim_now()])).await;
    let mut dinkes = Held::connect(&app, "dinkes");
    let mut bappeda = Held::connect(&app, "bappeda");
    let cmd_topic = "ronda/v1/dinkes/gw/cmd";
    let qos = rumqttc::QoS::AtLeastOnce;
    dinkes.client.subscribe(cmd_topic, qos).await.unwrap();
    dinkes
        .next(|p| matches!(p, rumqttc::Packet::SubAck(_)).then_some(()))
        .await;

    // The printer left on fires its alert; the server asks dinkes to switch.
    dinkes
        .publish("ronda/v1/dinkes/gw/report", printer_on("dinkes"))
        .await;
    let command: ronda_wire::Command = dinkes
        .next(|p| match p {
            rumqttc::Packet::Publish(p) if p.topic == cmd_topic => {
                Some(serde_json::from_slice(&p.payload).unwrap())
            }
            _ => None,
        })
        .await;
    assert!(command.id.starts_with("alert-"), "{command:?}");

    // bappeda's agent claims the switch-off went through; dinkes then says
    // it did not. Both answers pass ingest and the engine in this order.
    let forged = ronda_wire::CommandResult {
        ok: true,
        error: None,
        plug: serde_json::from_value(json!({
            "id": "printer-lobi", "kind": "tasmota", "class": "printer",
            "reachable": true, "relay_on": false
        }))
        .unwrap(),
        ..ronda_wire::CommandResult::refused(&command.id, "")
    };
    let forged = serde_json::to_vec(&forged).unwrap();
    bappeda
        .publish("ronda/v1/bappeda/gw/cmd/result", forged)
        .await;
    let real = ronda_wire::CommandResult::refused(&command.id, "relay stuck");
    let real = serde_json::to_vec(&real).unwrap();
    dinkes.publish("ronda/v1/dinkes/gw/cmd/result", real).await;

    // The alert's first note about the outcome is dinkes's own.
    // The command may reach dinkes before the alert is committed.
    let printer = eventually("the printer alert", || {
        alert(&app, "listrik-diputus", "printer-lobi")
    })
    .await;
    let path = format!("/api/v1/alerts/{}", printer["id"]);
    let outcome = eventually("a note on the switch-off's outcome", || async {
        let (_, detail) = app.get_json(&path).await;
        detail["transitions"].as_array()?.iter().find_map(|t| {
            let cause = t["cause"]["en"].as_str()?;
            (cause.starts_with("switch-off") && !cause.starts_with("switch-off: asked"))
                .then(|| cause.to_owned())
        })
    })
    .await;
    assert_eq!(
        outcome, "switch-off refused or failed at the agent: relay stuck",
        "the alert took another office's answer"
    );
    // The command's row holds dinkes's answer, and the letter report does
    // not list the plug as switched off.
    let db = crate::common::db::open(&app.db);
    let (ok, answer): (bool, String) = db
        .query_row(
            "SELECT ok, answer FROM commands WHERE id = ?1",
            [&command.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (ok, answer.as_str()),
        (false, "refused or failed: relay stuck")
    );
    let report = app.get_text(&format!("/letters/{LETTER}/report")).await;
    assert!(report.contains("dinkes"), "{report}");
    assert!(
        !report.contains("gw/printer-lobi"),
        "listed as switched off"
    );
    let forged = "ronda_reports_rejected_total{reason=\"identity_mismatch\"}";
    eventually("the forged answer to be counted", || async {
        (app.metric(forged).await == 1.0).then_some(())
    })
    .await;
    app.stop().await;
}
