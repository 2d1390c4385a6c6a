//! Prometheus metrics for `/metrics`.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use ronda_wire::RejectReason;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    pub reason: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub accepted: Counter,
    pub rejected: Family<Reason, Counter>,
    pub stored: Counter,
    pub duplicates: Counter,
    pub backfilled: Counter,
    pub door_events: Counter,
    pub door_duplicates: Counter,
    pub store_errors: Counter,
    pub agents_online: Gauge,
    pub ingest_lag: Gauge<f64, AtomicU64>,
    pub broker_connected: Gauge,
    /// 1 while this server leads (always, on a SQLite file).
    pub leader: Gauge,
    pub mqtt_refused: Family<Reason, Counter>,
    /// argon2 password checks the login form ran.
    pub password_checks: Counter,
    /// Login attempts refused before any password check, by reason.
    pub login_refused: Family<Reason, Counter>,
    /// 1 while the last reload of the letters and registry was refused.
    pub reload_refused: Gauge,
    /// Rows retention deleted, by table.
    pub pruned: Family<Table, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Table {
    pub table: &'static str,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut m = Metrics {
            registry: Registry::with_prefix("ronda"),
            accepted: Counter::default(),
            rejected: Family::default(),
            stored: Counter::default(),
            duplicates: Counter::default(),
            backfilled: Counter::default(),
            door_events: Counter::default(),
            door_duplicates: Counter::default(),
            store_errors: Counter::default(),
            agents_online: Gauge::default(),
            ingest_lag: Gauge::default(),
            broker_connected: Gauge::default(),
            leader: Gauge::default(),
            mqtt_refused: Family::default(),
            password_checks: Counter::default(),
            login_refused: Family::default(),
            reload_refused: Gauge::default(),
            pruned: Family::default(),
        };
        m.registry.register(
            "reports_accepted",
            "Reports that passed validation",
            m.accepted.clone(),
        );
        m.registry.register(
            "reports_rejected",
            "Payloads refused, by reason",
            m.rejected.clone(),
        );
        m.registry.register(
            "reports_stored",
            "Reports committed to the database",
            m.stored.clone(),
        );
        m.registry.register(
            "reports_duplicate",
            "Reports whose (agent, seq) was already stored",
            m.duplicates.clone(),
        );
        m.registry.register(
            "reports_backfilled",
            "Reports older than their agent's newest (sent from its outbox after an outage): stored as history, not evaluated",
            m.backfilled.clone(),
        );
        m.registry.register(
            "door_events_stored",
            "Door events committed to the database",
            m.door_events.clone(),
        );
        m.registry.register(
            "door_events_duplicate",
            "Door events already stored from their device (a log sent again)",
            m.door_duplicates.clone(),
        );
        m.registry.register(
            "store_errors",
            "Failed database commits (retried)",
            m.store_errors.clone(),
        );
        m.registry.register(
            "agents_online",
            "Agents whose state is online",
            m.agents_online.clone(),
        );
        m.registry.register(
            "ingest_lag_seconds",
            "Age of the oldest report in the last committed batch, from receipt to commit",
            m.ingest_lag.clone(),
        );
        m.registry.register(
            "broker_connected",
            "1 while ingest is subscribed to the broker",
            m.broker_connected.clone(),
        );
        m.registry.register(
            "leader",
            "1 while this server runs the engine, the mail sender and retention (servers sharing a PostgreSQL database take turns)",
            m.leader.clone(),
        );
        m.registry.register(
            "mqtt_refused",
            "Connections, publishes and subscriptions the embedded broker's gate refused, by reason",
            m.mqtt_refused.clone(),
        );
        m.registry.register(
            "login_password_checks",
            "Password hashes the login form computed (argon2id, 19 MiB each)",
            m.password_checks.clone(),
        );
        m.registry.register(
            "login_refused",
            "Login attempts refused before the password was checked, by reason",
            m.login_refused.clone(),
        );
        m.registry.register(
            "policy_reload_refused",
            "1 while the last reload of the letters and registry (SIGHUP) was refused; the set loaded before stays in force",
            m.reload_refused.clone(),
        );
        m.registry.register(
            "pruned_rows",
            "Rows deleted by retention, by table",
            m.pruned.clone(),
        );
        for r in LoginRefused::ALL {
            let reason = r.label();
            let _ = m.login_refused.get_or_create(&Reason { reason });
        }
        for table in [
            "reports",
            "presence",
            "alerts",
            "alert_transitions",
            "door_events",
        ] {
            let _ = m.pruned.get_or_create(&Table { table });
        }
        // Show every reason from the start, so a dashboard sees zeros, not gaps.
        for reason in RejectReason::LABELS {
            let _ = m.rejected.get_or_create(&Reason { reason });
        }
        let gate = [
            ronda_broker::gate::DENIED_PUBLISH,
            ronda_broker::gate::DENIED_SUBSCRIBE,
            ronda_broker::gate::DENIED_RETAIN,
            ronda_broker::gate::MALFORMED,
        ];
        let connect = ronda_broker::acl::Refusal::ALL.map(|r| r.label());
        for reason in connect.into_iter().chain(gate) {
            let _ = m.mqtt_refused.get_or_create(&Reason { reason });
        }
        Arc::new(m)
    }

    pub fn reject(&self, reason: &RejectReason) {
        self.rejected
            .get_or_create(&Reason {
                reason: reason.label(),
            })
            .inc();
    }

    /// Count a login refused before its password check.
    pub fn refuse_login(&self, reason: &'static str) {
        self.login_refused.get_or_create(&Reason { reason }).inc();
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Why a login was refused before its password was checked: the labels of
/// `ronda_login_refused_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefused {
    /// A count of [`crate::http::ratelimit`] is at its limit.
    Throttled,
    /// Every password-check slot is taken.
    Busy,
    /// A name or password longer than any real one.
    TooLong,
}

impl LoginRefused {
    pub const ALL: [LoginRefused; 3] = [
        LoginRefused::Throttled,
        LoginRefused::Busy,
        LoginRefused::TooLong,
    ];

    pub fn label(self) -> &'static str {
        match self {
            LoginRefused::Throttled => "throttled",
            LoginRefused::Busy => "busy",
            LoginRefused::TooLong => "too_long",
        }
    }
}
