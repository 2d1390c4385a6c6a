//! Who may do what through the gate: usernames, client ids and topics.
//!
//! The same rules as the Mosquitto example in `examples/mosquitto/`: an
//! agent's username is `{office}/{agent}`, its client id is its username,
//! and it may publish and subscribe only under `ronda/v1/{office}/{agent}/`.

use ronda_wire::Id;

/// Root of every Ronda topic.
const ROOT: &str = "ronda/v1/";

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
}

impl Refusal {
    pub const ALL: [Refusal; 7] = [
        Refusal::Anonymous,
        Refusal::Wildcard,
        Refusal::BadUsername,
        Refusal::BadPassword,
        Refusal::WillTopic,
        Refusal::NotConnect,
        Refusal::ClientId,
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

    /// May this client publish on `topic`, or subscribe to `filter`?
    pub fn may_use(&self, topic: &str) -> bool {
        match self {
            Identity::Anonymous => true,
            Identity::Agent { username } => topic
                .strip_prefix(ROOT)
                .and_then(|t| t.strip_prefix(username.as_str()))
                .and_then(|t| t.strip_prefix('/'))
                .is_some_and(|rest| !rest.is_empty()),
        }
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
    fn an_agent_uses_only_its_own_tree() {
        let a = agent("dinkes/gw");
        assert!(a.may_use("ronda/v1/dinkes/gw/report"));
        assert!(a.may_use("ronda/v1/dinkes/gw/cmd/result"));
        assert!(a.may_use("ronda/v1/dinkes/gw/#"));
        assert!(!a.may_use("ronda/v1/dinkes/gw"));
        assert!(!a.may_use("ronda/v1/dinkes/gw/"));
        assert!(!a.may_use("ronda/v1/dinkes/gw-2/report"));
        assert!(!a.may_use("ronda/v1/dinkes/+/report"));
        assert!(!a.may_use("ronda/v1/bappeda/gw/report"));
        assert!(!a.may_use("ronda/v1/#"));
        assert!(!a.may_use("#"));
        assert!(!a.may_use("other/dinkes/gw/report"));
        assert!(Identity::Anonymous.may_use("#"));
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
