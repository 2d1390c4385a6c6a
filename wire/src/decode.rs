//! Checked decoding of incoming payloads, with a reason for every rejection.

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::doors::{Events, MAX_EVENTS};
use crate::id::Id;
use crate::report::{Report, SCHEMA_VERSION};
use crate::topic::{Presence, Topic};

/// Why a payload was refused. `label()` is stable: it is the metrics label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    #[error("payload of {size} bytes is over the {limit} byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("topic is not a Ronda topic: {0}")]
    BadTopic(String),
    #[error("payload is not JSON: {0}")]
    NotJson(String),
    #[error("schema version {0} is not supported (this server speaks {SCHEMA_VERSION})")]
    SchemaVersion(u64),
    #[error("payload does not match the report schema: {0}")]
    Invalid(String),
    #[error("payload names {payload} but was published on the topic of {topic}")]
    IdMismatch { payload: String, topic: String },
    #[error("state payload must be `online` or `offline`")]
    BadState,
}

impl RejectReason {
    pub fn label(&self) -> &'static str {
        match self {
            RejectReason::TooLarge { .. } => "too_large",
            RejectReason::BadTopic(_) => "bad_topic",
            RejectReason::NotJson(_) => "not_json",
            RejectReason::SchemaVersion(_) => "schema_version",
            RejectReason::Invalid(_) => "invalid",
            RejectReason::IdMismatch { .. } => "identity_mismatch",
            RejectReason::BadState => "bad_state",
        }
    }

    /// Every label, so that metrics can show zero counts from the start.
    pub const LABELS: [&'static str; 7] = [
        "too_large",
        "bad_topic",
        "not_json",
        "schema_version",
        "invalid",
        "identity_mismatch",
        "bad_state",
    ];
}

/// Just the version, read first so that a report from a newer agent is
/// refused for its version rather than for its unfamiliar shape.
#[derive(Deserialize)]
struct Envelope {
    schema: u64,
}

/// Decode a report published on `topic`, refusing anything over `limit` bytes,
/// of another schema version, or whose ids differ from the topic's.
pub fn decode_report(topic: &Topic, payload: &[u8], limit: usize) -> Result<Report, RejectReason> {
    let report: Report = decode(payload, limit)?;
    same_ids(topic, &report.office, &report.agent)?;
    Ok(report)
}

/// Decode door events published on `topic`, with the checks of
/// [`decode_report`], and refuse more than [`MAX_EVENTS`] or an event whose
/// device, door or user id is not an id.
pub fn decode_events(topic: &Topic, payload: &[u8], limit: usize) -> Result<Events, RejectReason> {
    let events: Events = decode(payload, limit)?;
    same_ids(topic, &events.office, &events.agent)?;
    if events.doors.len() > MAX_EVENTS {
        return Err(RejectReason::Invalid(format!(
            "{} events in one payload, over the limit of {MAX_EVENTS}",
            events.doors.len()
        )));
    }
    for (i, e) in events.doors.iter().enumerate() {
        e.check()
            .map_err(|m| RejectReason::Invalid(format!("doors[{i}]: {m}")))?;
    }
    Ok(events)
}

fn decode<T: DeserializeOwned>(payload: &[u8], limit: usize) -> Result<T, RejectReason> {
    if payload.len() > limit {
        return Err(RejectReason::TooLarge {
            size: payload.len(),
            limit,
        });
    }
    let envelope: Envelope = serde_json::from_slice(payload).map_err(classify)?;
    if envelope.schema != u64::from(SCHEMA_VERSION) {
        return Err(RejectReason::SchemaVersion(envelope.schema));
    }
    serde_json::from_slice(payload).map_err(classify)
}

fn same_ids(topic: &Topic, office: &Id, agent: &Id) -> Result<(), RejectReason> {
    if *office != topic.office || *agent != topic.agent {
        return Err(RejectReason::IdMismatch {
            payload: format!("{office}/{agent}"),
            topic: format!("{}/{}", topic.office, topic.agent),
        });
    }
    Ok(())
}

/// Decode a `state` payload.
pub fn decode_state(payload: &[u8]) -> Result<Presence, RejectReason> {
    Presence::parse(payload).ok_or(RejectReason::BadState)
}

fn classify(err: serde_json::Error) -> RejectReason {
    use serde_json::error::Category;
    match err.classify() {
        Category::Data => RejectReason::Invalid(err.to_string()),
        Category::Syntax | Category::Eof | Category::Io => RejectReason::NotJson(err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic::Kind;
    use crate::Id;

    const EXAMPLE: &str = include_str!("../examples/report.json");

    fn topic(office: &str, agent: &str) -> Topic {
        Topic::new(
            Id::new(office).unwrap(),
            Id::new(agent).unwrap(),
            Kind::Report,
        )
    }

    fn reject(t: &Topic, payload: &str) -> &'static str {
        decode_report(t, payload.as_bytes(), 1 << 20)
            .unwrap_err()
            .label()
    }

    #[test]
    fn accepts_the_documented_example() {
        let r = decode_report(
            &topic("dinkes", "kantor-utama"),
            EXAMPLE.as_bytes(),
            1 << 20,
        )
        .unwrap();
        assert_eq!(r.seq, 1042);
    }

    #[test]
    fn rejects_each_kind_of_bad_payload_with_its_reason() {
        let t = topic("dinkes", "kantor-utama");
        assert_eq!(reject(&t, "not json"), "not_json");
        assert_eq!(reject(&t, "{\"schema\": 1,"), "not_json");
        assert_eq!(
            reject(&t, &EXAMPLE.replace("\"schema\": 1", "\"schema\": 2")),
            "schema_version"
        );
        assert_eq!(reject(&t, "{\"schema\": 1}"), "invalid");
        assert_eq!(reject(&t, "[]"), "invalid");
        assert_eq!(
            reject(&topic("dinsos", "kantor-utama"), EXAMPLE),
            "identity_mismatch"
        );
        assert_eq!(
            reject(&topic("dinkes", "other"), EXAMPLE),
            "identity_mismatch"
        );
        let err = decode_report(&t, EXAMPLE.as_bytes(), 100).unwrap_err();
        assert_eq!(err.label(), "too_large");
        assert!(RejectReason::LABELS.contains(&err.label()));
    }

    #[test]
    fn events_are_checked_like_reports_and_for_their_contents() {
        let t = Topic::new(
            Id::new("dinkes").unwrap(),
            Id::new("gw").unwrap(),
            Kind::Event,
        );
        let event = |who: &str| {
            format!(
                r#"{{"schema":1,"office":"dinkes","agent":"gw","seq":7,"observed_at":"2026-12-24T15:14:00Z",
                "doors":[{{"device":"gate","door_no":1,"door":"main-gate","kind":"granted","who":"{who}",
                "at":"2026-12-24T22:13:05+07:00","number":4411,"code":"5/75"}}]}}"#
            )
        };
        let ok = decode_events(&t, event("10023").as_bytes(), 1 << 16).unwrap();
        assert_eq!(ok.doors[0].key(), "n:4411");
        assert_eq!(ok.doors[0].at.to_string(), "2026-12-24T22:13:05+07:00");
        let err = decode_events(&t, event("Budi Santoso").as_bytes(), 1 << 16).unwrap_err();
        assert!(err.to_string().contains("doors[0]: user id"), "{err}");
        let other = Topic::new(
            Id::new("dinsos").unwrap(),
            Id::new("gw").unwrap(),
            Kind::Event,
        );
        let err = decode_events(&other, event("1").as_bytes(), 1 << 16).unwrap_err();
        assert_eq!(err.label(), "identity_mismatch");
        let mut many: serde_json::Value = serde_json::from_str(&event("1")).unwrap();
        let one = many["doors"][0].clone();
        many["doors"] = vec![one; MAX_EVENTS + 1].into();
        let many = many.to_string();
        let err = decode_events(&t, many.as_bytes(), 1 << 20).unwrap_err();
        assert!(err.to_string().contains("over the limit"), "{err}");
        let bare = event("1").replace("+07:00", "");
        assert_eq!(
            decode_events(&t, bare.as_bytes(), 1 << 16)
                .unwrap_err()
                .label(),
            "invalid"
        );
    }

    #[test]
    fn state_payloads() {
        assert_eq!(decode_state(b"offline"), Ok(Presence::Offline));
        assert_eq!(decode_state(b"{}").unwrap_err().label(), "bad_state");
    }
}
