//! Tests of the webhook body: the fields docs/webhooks.md promises, in the
//! configured language, and texts that try to break out of their strings.

use std::path::Path;

use jiff::Timestamp;
use ronda_policy::alert::{Ack, Alert, AlertKey, State};
use ronda_policy::text::Text;
use ronda_policy::{Letter, Severity};
use serde_json::Value;

use super::{body, BodyCx};
use crate::mail::config::Lang;

fn letter() -> Letter {
    let text = include_str!("../../../letters/baseline-server.yaml");
    ronda_policy::from_text(Path::new("baseline-server.yaml"), text.into(), None).unwrap()
}

fn alert(state: State) -> Alert {
    Alert {
        id: 12,
        key: AlertKey {
            letter: "baseline-server".into(),
            office: "dinkes".into(),
            item: "server-hidup".into(),
            subject: "srv-simpus".into(),
        },
        severity: Severity::Critical,
        state,
        agent: Some("dinkes-01".into()),
        message: Text::new("Server mati sejak 09.00", "Server down since 09:00"),
        evidence: serde_json::json!({}),
        started: "2025-12-06T02:00:00Z".parse().unwrap(),
        fired: Some("2025-12-06T02:05:00Z".parse().unwrap()),
        resolved: None,
        ack: None,
    }
}

fn cx(kind: &'static str, lang: Lang) -> BodyCx<'static> {
    BodyCx {
        kind,
        office_id: "dinkes",
        office_name: "Dinas Kesehatan",
        summary: "[KRITIS] Dinas Kesehatan — Server tetap hidup",
        text: "Kantor tidak memenuhi surat edaran\n…",
        dashboard_url: "https://ronda.example.go.id/",
        lang,
    }
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn is_rfc3339(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.parse::<Timestamp>().is_ok())
}

#[test]
fn firing_alert_in_bahasa_indonesia() {
    let l = letter();
    let a = alert(State::Firing);
    let v = parse(&body(&cx("firing", Lang::Id), &[(&a, &l)]).unwrap());
    assert_eq!(v["version"], 1);
    assert_eq!(v["kind"], "firing");
    assert_eq!(v["office"]["id"], "dinkes");
    assert_eq!(v["office"]["name"], "Dinas Kesehatan");
    assert!(v["summary"].as_str().unwrap().starts_with("[KRITIS]"));
    assert!(v["text"].as_str().unwrap().contains('\n'));
    let x = &v["alerts"][0];
    assert_eq!(x["id"], 12);
    assert_eq!(x["letter"], "baseline-server");
    assert_eq!(x["letter_title"], l.title.as_str());
    assert_eq!(x["item"], "server-hidup");
    assert!(x["item_text"]
        .as_str()
        .unwrap()
        .starts_with("Server tetap hidup"));
    assert_eq!(x["subject"], "srv-simpus");
    assert_eq!(x["severity"], "critical");
    assert_eq!(x["state"], "firing");
    assert_eq!(x["finding"], "Server mati sejak 09.00");
    assert!(is_rfc3339(&x["started"]), "{}", x["started"]);
    assert_eq!(x["started"], "2025-12-06T02:00:00Z");
    assert!(is_rfc3339(&x["fired"]), "{}", x["fired"]);
    assert!(x["ack"].is_null());
    assert!(x.as_object().unwrap().contains_key("ack"));
    // The trailing slash of the configured URL is not doubled.
    assert_eq!(x["link"], "https://ronda.example.go.id/alerts/12");
    assert_eq!(v["links"]["dashboard"], "https://ronda.example.go.id");
    assert_eq!(
        v["links"]["office"],
        "https://ronda.example.go.id/offices/dinkes"
    );
    assert_eq!(v["alerts"].as_array().unwrap().len(), 1);
}

#[test]
fn acknowledged_alert_in_english() {
    let l = letter();
    let mut a = alert(State::Acknowledged);
    a.ack = Some(Ack {
        by: "budi".into(),
        note: "Teknisi menuju lokasi".into(),
        at: "2025-12-06T02:10:00Z".parse().unwrap(),
        until: None,
    });
    let mut pending = alert(State::Pending);
    pending.id = 13;
    pending.fired = None;
    pending.key.item = "gone-from-the-letter".into();
    let v = parse(&body(&cx("ack", Lang::En), &[(&a, &l), (&pending, &l)]).unwrap());
    assert_eq!(v["kind"], "ack");
    let x = &v["alerts"][0];
    assert_eq!(x["state"], "acknowledged");
    assert_eq!(x["ack"]["by"], "budi");
    assert_eq!(x["ack"]["note"], "Teknisi menuju lokasi");
    assert!(x["item_text"]
        .as_str()
        .unwrap()
        .starts_with("The server stays up"));
    assert_eq!(x["finding"], "Server down since 09:00");
    let y = &v["alerts"][1];
    assert_eq!(y["state"], "pending");
    assert!(y["fired"].is_null());
    // An item the letter no longer has is named by its id.
    assert_eq!(y["item_text"], "gone-from-the-letter");
    assert_eq!(y["link"], "https://ronda.example.go.id/alerts/13");
}

#[test]
fn hostile_texts_round_trip() {
    let hostile = "\"quoted\" </script><script>alert(1)</script>\n\r\t\\ \u{0} 🚨 done";
    let mut l = letter();
    for i in &mut l.items {
        i.text_en = hostile.into();
    }
    l.title = hostile.into();
    let mut a = alert(State::Firing);
    a.key.subject = hostile.into();
    a.message = Text::same(hostile);
    a.ack = Some(Ack {
        by: hostile.into(),
        note: hostile.into(),
        at: Timestamp::UNIX_EPOCH,
        until: None,
    });
    let cx = BodyCx {
        office_name: hostile,
        summary: hostile,
        text: hostile,
        ..cx("firing", Lang::En)
    };
    let text = body(&cx, &[(&a, &l)]).unwrap();
    // One line, so a receiver reading line by line sees one body; the raw
    // NUL is escaped.
    assert!(!text.contains('\n') && !text.contains('\0'), "{text}");
    let v = parse(&text);
    let x = &v["alerts"][0];
    for s in [
        &v["office"]["name"],
        &v["summary"],
        &v["text"],
        &x["letter_title"],
        &x["item_text"],
        &x["subject"],
        &x["finding"],
        &x["ack"]["by"],
        &x["ack"]["note"],
    ] {
        assert_eq!(s, hostile);
    }
}
