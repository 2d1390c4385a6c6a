//! MQTT topics: `ronda/v1/{office}/{agent}/report|event|state|cmd|cmd/result|ack`.

use std::fmt;

use crate::id::{Id, IdError};

/// Root of every Ronda topic, carrying the contract's major version.
pub const ROOT: &str = "ronda/v1";

/// What a topic carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// QoS 1 full snapshot from the agent.
    Report,
    /// QoS 1 door events between reports ([`crate::Events`]), never retained.
    Event,
    /// Retained `online` / `offline`; `offline` is also the Last Will.
    State,
    /// Server to agent.
    Cmd,
    /// Agent's answer to a command.
    CmdResult,
    /// Server to agent, QoS 1: "committed up to seq N" ([`crate::Ack`]).
    Ack,
}

impl Kind {
    fn suffix(self) -> &'static str {
        match self {
            Kind::Report => "report",
            Kind::Event => "event",
            Kind::State => "state",
            Kind::Cmd => "cmd",
            Kind::CmdResult => "cmd/result",
            Kind::Ack => "ack",
        }
    }
}

/// A parsed topic: whose it is and what it carries.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Topic {
    pub office: Id,
    pub agent: Id,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("topic does not start with `{ROOT}/`")]
    WrongRoot,
    #[error("topic has no `{{office}}/{{agent}}/{{kind}}` part")]
    TooShort,
    #[error("unknown topic kind `{0}`")]
    UnknownKind(String),
    #[error("bad office id: {0}")]
    Office(IdError),
    #[error("bad agent id: {0}")]
    Agent(IdError),
}

impl Topic {
    pub fn new(office: Id, agent: Id, kind: Kind) -> Self {
        Topic {
            office,
            agent,
            kind,
        }
    }

    pub fn parse(topic: &str) -> Result<Topic, TopicError> {
        let rest = topic
            .strip_prefix(ROOT)
            .and_then(|r| r.strip_prefix('/'))
            .ok_or(TopicError::WrongRoot)?;
        let mut parts = rest.splitn(3, '/');
        let (Some(office), Some(agent), Some(kind)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(TopicError::TooShort);
        };
        let kind = match kind {
            "report" => Kind::Report,
            "event" => Kind::Event,
            "state" => Kind::State,
            "cmd" => Kind::Cmd,
            "cmd/result" => Kind::CmdResult,
            "ack" => Kind::Ack,
            other => return Err(TopicError::UnknownKind(other.to_owned())),
        };
        Ok(Topic {
            office: Id::new(office).map_err(TopicError::Office)?,
            agent: Id::new(agent).map_err(TopicError::Agent)?,
            kind,
        })
    }

    /// Subscription filter for one kind across every office and agent.
    pub fn filter_all(kind: Kind) -> String {
        format!("{ROOT}/+/+/{}", kind.suffix())
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{ROOT}/{}/{}/{}",
            self.office,
            self.agent,
            self.kind.suffix()
        )
    }
}

/// The payload of a `state` topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    Online,
    Offline,
}

impl Presence {
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Online => "online",
            Presence::Offline => "offline",
        }
    }

    pub fn parse(payload: &[u8]) -> Option<Presence> {
        match payload {
            b"online" => Some(Presence::Online),
            b"offline" => Some(Presence::Offline),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Id {
        Id::new(s).unwrap()
    }

    #[test]
    fn every_kind_round_trips() {
        for kind in [
            Kind::Report,
            Kind::Event,
            Kind::State,
            Kind::Cmd,
            Kind::CmdResult,
            Kind::Ack,
        ] {
            let t = Topic::new(id("dinkes"), id("nvr-gw"), kind);
            assert_eq!(Topic::parse(&t.to_string()).unwrap(), t);
        }
        assert_eq!(
            Topic::new(id("a"), id("b"), Kind::CmdResult).to_string(),
            "ronda/v1/a/b/cmd/result"
        );
    }

    #[test]
    fn rejects_malformed_topics() {
        use TopicError::*;
        type Check = fn(&TopicError) -> bool;
        let cases: [(&str, Check); 7] = [
            ("ronda/v2/a/b/report", |e| *e == WrongRoot),
            ("ronda/v1", |e| *e == WrongRoot),
            ("ronda/v1/a/b", |e| *e == TooShort),
            ("ronda/v1/a/b/reports", |e| matches!(e, UnknownKind(_))),
            ("ronda/v1/a/b/report/x", |e| matches!(e, UnknownKind(_))),
            ("ronda/v1/A/b/report", |e| matches!(e, Office(_))),
            ("ronda/v1/a/+/report", |e| matches!(e, Agent(_))),
        ];
        for (topic, check) in cases {
            let err = Topic::parse(topic).unwrap_err();
            assert!(check(&err), "{topic}: unexpected {err:?}");
        }
    }

    #[test]
    fn filters_and_presence() {
        assert_eq!(Topic::filter_all(Kind::State), "ronda/v1/+/+/state");
        assert_eq!(Presence::parse(b"online"), Some(Presence::Online));
        assert_eq!(
            Presence::parse(Presence::Offline.as_str().as_bytes()),
            Some(Presence::Offline)
        );
        assert_eq!(Presence::parse(b"Online"), None);
    }
}
