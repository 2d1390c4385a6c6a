//! Schema migrations, applied in order and recorded in `PRAGMA user_version`.

use rusqlite::Connection;

/// Each entry moves the schema one version up. Never edit a released entry;
/// add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: agents with their latest report, report history, presence history.
    "CREATE TABLE agents (
        office TEXT NOT NULL,
        agent TEXT NOT NULL,
        online INTEGER NOT NULL DEFAULT 0,
        online_changed_ms INTEGER,
        last_seq INTEGER,
        last_observed_ms INTEGER,
        last_received_ms INTEGER,
        latest_report TEXT,
        PRIMARY KEY (office, agent)
    ) WITHOUT ROWID;
    CREATE TABLE reports (
        office TEXT NOT NULL,
        agent TEXT NOT NULL,
        seq INTEGER NOT NULL,
        observed_ms INTEGER NOT NULL,
        received_ms INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (office, agent, seq)
    );
    CREATE INDEX reports_received ON reports (received_ms);
    CREATE TABLE presence (
        office TEXT NOT NULL,
        agent TEXT NOT NULL,
        online INTEGER NOT NULL,
        at_ms INTEGER NOT NULL
    );
    CREATE INDEX presence_agent ON presence (office, agent, at_ms);",
    // 2: alerts with their history, and the heads' attestations.
    "CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        letter TEXT NOT NULL,
        item TEXT NOT NULL,
        office TEXT NOT NULL,
        subject TEXT NOT NULL,
        severity TEXT NOT NULL,
        state TEXT NOT NULL,
        agent TEXT,
        message TEXT NOT NULL,
        evidence TEXT NOT NULL,
        started_ms INTEGER NOT NULL,
        fired_ms INTEGER,
        resolved_ms INTEGER,
        ack_by TEXT,
        ack_note TEXT,
        ack_at_ms INTEGER,
        ack_until_ms INTEGER
    );
    -- At most one open alert per (letter, item, office, subject).
    CREATE UNIQUE INDEX alerts_open ON alerts (letter, item, office, subject)
        WHERE state != 'resolved';
    CREATE INDEX alerts_office ON alerts (office, state);
    CREATE TABLE alert_transitions (
        alert_id INTEGER NOT NULL REFERENCES alerts (id),
        at_ms INTEGER NOT NULL,
        from_state TEXT,
        to_state TEXT NOT NULL,
        cause TEXT NOT NULL,
        actor TEXT,
        evidence TEXT NOT NULL
    );
    CREATE INDEX alert_transitions_alert ON alert_transitions (alert_id, at_ms);
    CREATE TABLE attestations (
        letter TEXT NOT NULL,
        office TEXT NOT NULL,
        item TEXT NOT NULL,
        by TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        PRIMARY KEY (letter, office, item)
    ) WITHOUT ROWID;",
];

#[cfg(test)]
pub fn version() -> usize {
    MIGRATIONS.len()
}

/// Bring the database up to the latest schema. Refuses a database written by
/// a newer Ronda rather than guessing.
pub fn migrate(conn: &mut Connection) -> Result<(), super::StoreError> {
    let current: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > MIGRATIONS.len() {
        return Err(super::StoreError::TooNew {
            found: current,
            known: MIGRATIONS.len(),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "database migrated");
    }
    Ok(())
}
