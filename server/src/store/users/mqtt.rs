//! MQTT credentials of the agents (`ronda-server mqtt-user add|list|revoke`)
//! and the [`Guard`] the embedded broker's gate asks at each CONNECT.
//!
//! One credential per agent: the username is `{office}/{agent}`, exactly
//! the part of the topic tree the agent may use. The password is random and
//! shown once; only its SHA-256 is stored (it is long and random, so a slow
//! hash would buy nothing and cost every reconnect of a fleet).

use std::sync::{Arc, Mutex};

use crate::store::sql::{params, Connection, OptionalExtension};
use ronda_broker::Guard;
use ronda_common::conf::Secret;
use ronda_common::link::BrokerConfig;
use ronda_wire::Id;
use serde::Serialize;

use super::{random_bytes, session::digest, session::hex, UserError};
use crate::metrics::{Metrics, Reason};

/// What `mqtt-user list` shows: never the password.
#[derive(Debug, Serialize)]
pub struct MqttUser {
    pub username: String,
    pub created_ms: i64,
}

/// The username of an agent's credential.
pub fn username(office: &Id, agent: &Id) -> String {
    format!("{office}/{agent}")
}

/// Make (or replace) the credential of `office/agent`; the returned password
/// is the only copy.
pub fn add(conn: &Connection, office: &Id, agent: &Id, now_ms: i64) -> Result<String, UserError> {
    let password = hex(random_bytes::<24>());
    conn.execute(
        "INSERT INTO mqtt_users (username, secret_hash, created_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (username) DO UPDATE SET secret_hash = excluded.secret_hash, created_ms = excluded.created_ms",
        params![username(office, agent), digest(&password), now_ms],
    )?;
    Ok(password)
}

pub fn list(conn: &Connection) -> Result<Vec<MqttUser>, UserError> {
    let mut stmt = conn.prepare("SELECT username, created_ms FROM mqtt_users ORDER BY username")?;
    let rows = stmt.query_map([], |r| {
        Ok(MqttUser {
            username: r.get(0)?,
            created_ms: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<crate::store::sql::Result<_>>()?)
}

/// Revoke a credential. Connections already open stay until they drop.
pub fn revoke(conn: &Connection, office: &Id, agent: &Id) -> Result<(), UserError> {
    let name = username(office, agent);
    if conn.execute("DELETE FROM mqtt_users WHERE username = ?1", [&name])? == 0 {
        return Err(UserError::Unknown(name));
    }
    Ok(())
}

pub fn verify(conn: &Connection, username: &str, password: &str) -> Result<bool, UserError> {
    let stored: Option<String> = conn
        .query_row(
            "SELECT secret_hash FROM mqtt_users WHERE username = ?1",
            [username],
            |r| r.get(0),
        )
        .optional()?;
    Ok(stored.is_some_and(|s| s == digest(password)))
}

/// Give an agent's broker settings a new credential from the server's
/// database: for the demo, the bench and tests.
pub fn provision(
    db: impl Into<crate::store::Location>,
    broker: &mut BrokerConfig,
    office: &Id,
    agent: &Id,
) -> Result<(), UserError> {
    let conn = db
        .into()
        .open()
        .map_err(|e| UserError::Store(e.to_string()))?;
    let now = jiff::Timestamp::now().as_millisecond();
    let password = add(&conn, office, agent, now)?;
    broker.username = Some(username(office, agent));
    broker.password = Some(Secret::new(password).into());
    Ok(())
}

/// The gate's view of the server: credentials from the database, refusals
/// into `ronda_mqtt_refused_total`.
pub struct ServerGuard {
    pub conn: Mutex<Connection>,
    pub metrics: Arc<Metrics>,
}

impl Guard for ServerGuard {
    fn verify(&self, username: &str, password: &str) -> bool {
        let Ok(conn) = self.conn.lock() else {
            return false;
        };
        verify(&conn, username, password).unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot read MQTT credentials; refusing the connection");
            false
        })
    }

    fn refused(&self, reason: &'static str) {
        self.metrics
            .mqtt_refused
            .get_or_create(&Reason { reason })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_credential_verifies_until_it_is_replaced_or_revoked() {
        for (_db, conn) in crate::store::testdb::each() {
            let (o, a) = (Id::new("dinkes").unwrap(), Id::new("gw").unwrap());
            let first = add(&conn, &o, &a, 1).unwrap();
            assert!(verify(&conn, "dinkes/gw", &first).unwrap());
            assert!(!verify(&conn, "dinkes/gw", "guess").unwrap());
            assert!(!verify(&conn, "dinkes/gw2", &first).unwrap());
            let second = add(&conn, &o, &a, 2).unwrap();
            assert!(!verify(&conn, "dinkes/gw", &first).unwrap());
            assert!(verify(&conn, "dinkes/gw", &second).unwrap());
            assert_eq!(list(&conn).unwrap().len(), 1);
            revoke(&conn, &o, &a).unwrap();
            assert!(!verify(&conn, "dinkes/gw", &second).unwrap());
            assert!(revoke(&conn, &o, &a).is_err());
        }
    }
}
