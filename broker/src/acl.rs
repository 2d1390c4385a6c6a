//! Who may do what through the gate: usernames, client ids and topics.
//!
//! The same rules as the Mosquitto example in `examples/mosquitto/`: an
//! agent's username is `{office}/{agent}`, its client id is its username,
//! and under `ronda/v1/{office}/{agent}/` it may publish `report`, `event`,
//! `state` and `cmd/result` and subscribe to `cmd` and `ack`, nothing else.

use ronda_wire::Id;

/// Root of every Ronda topic.
const ROOT: &str = "ronda/v1/";
/// What an agent may publish, under its own tree (`pattern write`).
const PUBLISH: [&str; 4] = ["report", "event", "state", "cmd/result"];
/// What an agent may subscribe to, exactly (`pattern read`). The server
/// alone writes these, so a wildcard would only widen what an agent reads.
const SUBSCRIBE: [&str; 2] = ["cmd", "ack"];
/// The only topic an agent may retain on: its presence, whose Last Will is
/// retained too. A retained command would run again at every reconnect.
const RETAINED: &str = "state";

/// What a client may do, settled once at CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// An office's agent, confined to its own topic tree.
    Agent { username: String },
    /// Anonymous, only where the config allows it. Like Mosquitto with
    /// `allow_anonymous true` and no ACL, it is not confined: that setting is
    /// for a closed test network.
    Anonymous,
}

/// Why a CONNECT was refused; the label of `ronda_mqtt_refused_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no username, and anonymous clients are not allowed")]
    Anonymous,
    #[error("the username holds an MQTT wildcard (`+` or `#`)")]
    Wildcard,
    #[error("the username is not `office/agent` with ids of a-z, 0-9 and `-`")]
    BadUsername,
    #[error("unknown username or wrong password")]
    BadPassword,
    #[error("the Last Will is not on the client's own `state` topic")]
    WillTopic,
    #[error("the first packet was not a well-formed MQTT 3.1.1 CONNECT")]
    NotConnect,
    #[error("the client id holds `+`, `#`, `$` or `/`")]
    ClientId,
    #[error("keep-alive 0: the connection would never be checked for life")]
    KeepAlive,
    #[error("every password check is busy; try again later")]
    Busy,
    #[error("too many connections not yet admitted; closed before reading")]
    Crowded,
}

/// Refusal labels for the server's counters.
pub const DENIED_PUBLISH: &str = "publish_topic";
pub const DENIED_SUBSCRIBE: &str = "subscribe_filter";
/// A retained PUBLISH anywhere but on the client's own `state`.
pub const DENIED_RETAIN: &str = "publish_retain";

/// Why a PUBLISH or SUBSCRIBE of an admitted agent was refused; the label
/// of `ronda_mqtt_refused_total`. The gate closes the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("publish on a topic that is not the client's own report, event, state or cmd/result")]
    PublishTopic,
    #[error("retained publish on a topic other than the client's own state")]
    Retain,
    #[error("subscription to a filter that is not the client's own cmd or ack")]
    SubscribeFilter,
}

impl Denied {
    pub fn label(self) -> &'static str {
        match self {
            Denied::PublishTopic => DENIED_PUBLISH,
            Denied::Retain => DENIED_RETAIN,
            Denied::SubscribeFilter => DENIED_SUBSCRIBE,
        }
    }
}

impl Refusal {
    pub const ALL: [Refusal; 10] = [
        Refusal::Anonymous,
        Refusal::Wildcard,
        Refusal::BadUsername,
        Refusal::BadPassword,
        Refusal::WillTopic,
        Refusal::NotConnect,
        Refusal::ClientId,
        Refusal::KeepAlive,
        Refusal::Busy,
        Refusal::Crowded,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Refusal::Anonymous => "anonymous",
            Refusal::Wildcard => "wildcard_username",
            Refusal::BadUsername => "bad_username",
            Refusal::BadPassword => "bad_password",
            Refusal::WillTopic => "will_topic",
            Refusal::NotConnect => "not_connect",
            Refusal::ClientId => "client_id",
            Refusal::KeepAlive => "zero_keepalive",
            Refusal::Busy => "busy",
            Refusal::Crowded => "unadmitted_cap",
        }
    }

    /// Refused for its credentials (CONNACK 4) rather than its rights (5).
    pub fn is_credentials(self) -> bool {
        matches!(self, Refusal::BadPassword | Refusal::Anonymous)
    }
}

/// Check a username's shape before any credential lookup: wildcards first,
/// since Mosquitto's pattern ACLs are bypassed by exactly those.
pub fn check_username(username: &str) -> Result<(), Refusal> {
    if username.contains(['+', '#']) {
        return Err(Refusal::Wildcard);
    }
    let (office, agent) = username.split_once('/').ok_or(Refusal::BadUsername)?;
    match (Id::new(office), Id::new(agent)) {
        (Ok(_), Ok(_)) => Ok(()),
        _ => Err(Refusal::BadUsername),
    }
}

impl Identity {
    /// The client id the broker sees. An agent's is its username (with `:`
    /// for `/`, which rumqttd refuses), so nobody else can take over its
    /// session; an anonymous client's gets a prefix no username can have.
    ///
    /// rumqttd 0.20 refuses ids with `+ $ # /`, and then panics on the next
    /// connection with the same id, poisoning a lock that every later
    /// connection takes: such ids must never reach it.
    pub fn client_id(&self, asked: &str) -> Result<String, Refusal> {
        match self {
            Identity::Agent { username } => Ok(username.replace('/', ":")),
            Identity::Anonymous if asked.contains(['+', '$', '#', '/']) => Err(Refusal::ClientId),
            Identity::Anonymous => Ok(format!("~{asked}")),
        }
    }

    /// May this client publish on `topic`, retained or not?
    pub fn may_publish(&self, topic: &str, retain: bool) -> Result<(), Denied> {
        let Identity::Agent { username } = self else {
            return Ok(());
        };
        let rest = own(username, topic)
            .filter(|rest| PUBLISH.contains(rest))
            .ok_or(Denied::PublishTopic)?;
        if retain && rest != RETAINED {
            return Err(Denied::Retain);
        }
        Ok(())
    }

    /// May this client subscribe to `filter`?
    pub fn may_subscribe(&self, filter: &str) -> Result<(), Denied> {
        let Identity::Agent { username } = self else {
            return Ok(());
        };
        own(username, filter)
            .filter(|rest| SUBSCRIBE.contains(rest))
            .map(drop)
            .ok_or(Denied::SubscribeFilter)
    }

    /// A Last Will must be the client's own `state` topic.
    pub fn check_will(&self, topic: &str) -> Result<(), Refusal> {
        match self {
            Identity::Anonymous => Ok(()),
            Identity::Agent { username } if topic == format!("{ROOT}{username}/state") => Ok(()),
            Identity::Agent { .. } => Err(Refusal::WillTopic),
        }
    }
}

/// The part of `topic` under the agent's own tree, if it is in it.
fn own<'a>(username: &str, topic: &'a str) -> Option<&'a str> {
    topic
        .strip_prefix(ROOT)?
        .strip_prefix(username)?
        .strip_prefix('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(u: &str) -> Identity {
        Identity::Agent { username: u.into() }
    }

    #[test]
    fn usernames_are_office_slash_agent_without_wildcards() {
        assert_eq!(check_username("dinkes/gw-1"), Ok(()));
        assert_eq!(check_username("dinkes/+"), Err(Refusal::Wildcard));
        assert_eq!(check_username("#"), Err(Refusal::Wildcard));
        assert_eq!(check_username("dinkes"), Err(Refusal::BadUsername));
        assert_eq!(check_username("dinkes/gw/x"), Err(Refusal::BadUsername));
        assert_eq!(check_username("Dinkes/gw"), Err(Refusal::BadUsername));
        assert_eq!(check_username("/gw"), Err(Refusal::BadUsername));
    }

    #[test]
    fn an_agent_publishes_only_report_event_state_and_cmd_result_of_its_own() {
        let a = agent("dinkes/gw");
        for kind in ["report", "event", "state", "cmd/result"] {
            let topic = format!("ronda/v1/dinkes/gw/{kind}");
            assert_eq!(a.may_publish(&topic, false), Ok(()), "{topic}");
        }
        let denied = [
            "ronda/v1/dinkes/gw/cmd",
            "ronda/v1/dinkes/gw/ack",
            "ronda/v1/dinkes/gw/other",
            "ronda/v1/dinkes/gw/cmd/result/x",
            "ronda/v1/dinkes/gw/report/",
            "ronda/v1/dinkes/gw",
            "ronda/v1/dinkes/gw/",
            "ronda/v1/dinkes/gw-2/report",
            "ronda/v1/bappeda/gw/report",
            "ronda/v1/bappeda/gw/event",
            "ronda/v1/dinkes/gw/event/x",
            "ronda/v1/dinkes/+/report",
            "ronda/v1/dinkes/gw/#",
            "other/dinkes/gw/report",
        ];
        for topic in denied {
            assert_eq!(
                a.may_publish(topic, false),
                Err(Denied::PublishTopic),
                "{topic}"
            );
            assert_eq!(
                a.may_publish(topic, true),
                Err(Denied::PublishTopic),
                "{topic}"
            );
        }
    }

    #[test]
    fn only_the_state_is_retained() {
        let a = agent("dinkes/gw");
        assert_eq!(a.may_publish("ronda/v1/dinkes/gw/state", true), Ok(()));
        for kind in ["report", "event", "cmd/result"] {
            let topic = format!("ronda/v1/dinkes/gw/{kind}");
            assert_eq!(a.may_publish(&topic, true), Err(Denied::Retain), "{topic}");
        }
    }

    #[test]
    fn an_agent_subscribes_only_to_its_own_cmd_and_ack_exactly() {
        let a = agent("dinkes/gw");
        assert_eq!(a.may_subscribe("ronda/v1/dinkes/gw/cmd"), Ok(()));
        assert_eq!(a.may_subscribe("ronda/v1/dinkes/gw/ack"), Ok(()));
        let denied = [
            "ronda/v1/dinkes/gw/#",
            "ronda/v1/dinkes/gw/+",
            "ronda/v1/dinkes/gw/cmd/#",
            "ronda/v1/dinkes/gw/cmd/result",
            "ronda/v1/dinkes/gw/report",
            "ronda/v1/dinkes/gw/state",
            "ronda/v1/dinkes/+/cmd",
            "ronda/v1/bappeda/gw/ack",
            "ronda/v1/#",
            "#",
        ];
        for filter in denied {
            assert_eq!(
                a.may_subscribe(filter),
                Err(Denied::SubscribeFilter),
                "{filter}"
            );
        }
    }

    #[test]
    fn anonymous_clients_are_not_confined() {
        assert_eq!(Identity::Anonymous.may_subscribe("#"), Ok(()));
        assert_eq!(Identity::Anonymous.may_publish("x/cmd", true), Ok(()));
    }

    #[test]
    fn client_ids_cannot_collide_across_identities() {
        assert_eq!(
            agent("dinkes/gw").client_id("ronda-bappeda-gw"),
            Ok("dinkes:gw".into())
        );
        assert_eq!(
            Identity::Anonymous.client_id("dinkes:gw"),
            Ok("~dinkes:gw".into())
        );
        assert_eq!(
            Identity::Anonymous.client_id("dinkes/gw"),
            Err(Refusal::ClientId)
        );
    }

    #[test]
    fn the_will_must_be_the_own_state_topic() {
        let a = agent("dinkes/gw");
        assert_eq!(a.check_will("ronda/v1/dinkes/gw/state"), Ok(()));
        assert_eq!(
            a.check_will("ronda/v1/bappeda/gw/state"),
            Err(Refusal::WillTopic)
        );
        assert_eq!(
            a.check_will("ronda/v1/dinkes/gw/report"),
            Err(Refusal::WillTopic)
        );
    }
}
