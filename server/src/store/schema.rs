//! Schema migrations, applied in order: SQLite records the version in
//! `PRAGMA user_version`, PostgreSQL in the table `ronda_schema`.

use super::sql::{Connection, Dialect};

mod postgres;

/// Each entry moves the schema one version up. Never edit a released entry;
/// add a new one, here and in [`postgres::MIGRATIONS`] (same number, same
/// tables and columns).
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
    // 3: email. Intents are written with the alert transition that causes
    // them; the composer turns due intents into outbox messages in one
    // transaction; the sender marks each message sent or dead.
    "CREATE TABLE notify_intents (
        id INTEGER PRIMARY KEY,
        alert_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        office TEXT NOT NULL,
        due_ms INTEGER NOT NULL
    );
    CREATE INDEX notify_intents_due ON notify_intents (due_ms);
    CREATE TABLE alert_notify (
        alert_id INTEGER PRIMARY KEY,
        firing_sent_ms INTEGER,
        last_sent_ms INTEGER,
        repeats INTEGER NOT NULL DEFAULT 0,
        tier INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        office TEXT,
        recipients TEXT NOT NULL,
        subject TEXT NOT NULL,
        body_text TEXT NOT NULL,
        body_html TEXT NOT NULL,
        message_id TEXT NOT NULL,
        alert_ids TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'queued',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL,
        last_error TEXT,
        created_ms INTEGER NOT NULL,
        sent_ms INTEGER
    );
    CREATE INDEX outbox_due ON outbox (state, next_attempt_ms);",
    // 4: heads' signed compliance acknowledgements (the dashboard writes
    // them), and mail that goes out once per key (reminders, summaries).
    "CREATE TABLE signatures (
        letter TEXT NOT NULL,
        office TEXT NOT NULL,
        by TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        PRIMARY KEY (letter, office)
    ) WITHOUT ROWID;
    CREATE TABLE mail_once (
        key TEXT PRIMARY KEY,
        at_ms INTEGER NOT NULL
    ) WITHOUT ROWID;",
    // 5: user accounts, sessions and the audit log.
    "CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        office TEXT,
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        password_changed_ms INTEGER NOT NULL,
        created_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY,
        user TEXT NOT NULL REFERENCES users (name),
        csrf TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at_ms INTEGER NOT NULL,
        actor TEXT,
        action TEXT NOT NULL,
        detail TEXT NOT NULL,
        source TEXT
    );
    -- Append-only: no update or delete of the audit log.
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
    // 6: what a signature covers: the checklist as it stood, the head's
    // explanations, and whether it came after the deadline.
    "ALTER TABLE signatures ADD COLUMN snapshot TEXT NOT NULL DEFAULT 'null';
    ALTER TABLE signatures ADD COLUMN explanations TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE signatures ADD COLUMN late INTEGER NOT NULL DEFAULT 0;",
    // 7: API tokens for scripts (role- and office-scoped, stored hashed), and
    // every command sent to an agent with its answer (plug control by hand
    // and switch-off remediation alike).
    "CREATE TABLE api_tokens (
        id_hash TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        office TEXT,
        created_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE commands (
        id TEXT PRIMARY KEY,
        office TEXT NOT NULL,
        agent TEXT NOT NULL,
        action TEXT NOT NULL,
        plug TEXT,
        turn_on INTEGER,
        by TEXT NOT NULL,
        sent_ms INTEGER NOT NULL,
        answered_ms INTEGER,
        ok INTEGER,
        answer TEXT
    ) WITHOUT ROWID;
    CREATE INDEX commands_office ON commands (office, sent_ms);",
    // 8: end-to-end delivery. The seq each agent has been told is committed,
    // the outbox drop count it last reported, and every rise of that count
    // (a gap in the office's history).
    "ALTER TABLE agents ADD COLUMN acked_through INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE agents ADD COLUMN dropped INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE data_gaps (
        office TEXT NOT NULL,
        agent TEXT NOT NULL,
        lost INTEGER NOT NULL,
        before_seq INTEGER NOT NULL,
        noticed_ms INTEGER NOT NULL
    );
    CREATE INDEX data_gaps_office ON data_gaps (office, noticed_ms);",
    // 9: MQTT credentials, one per agent (`office/agent`), for the embedded
    // broker's gate.
    "CREATE TABLE mqtt_users (
        username TEXT PRIMARY KEY,
        secret_hash TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    ) WITHOUT ROWID;",
    // 10: browsers each account has logged in from (their cookie's SHA-256),
    // which the login throttle counts apart from unknown ones.
    "CREATE TABLE login_devices (
        id_hash TEXT NOT NULL,
        account TEXT NOT NULL,
        login_ms INTEGER NOT NULL,
        PRIMARY KEY (id_hash, account)
    ) WITHOUT ROWID;",
    // 11: door events from access controllers, once each: a device that
    // sends its log again adds nothing. `key` is the device's event number,
    // or what the event says where the device numbers none.
    "CREATE TABLE door_events (
        office TEXT NOT NULL,
        device TEXT NOT NULL,
        key TEXT NOT NULL,
        agent TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at_ms INTEGER NOT NULL,
        received_ms INTEGER NOT NULL,
        event TEXT NOT NULL,
        PRIMARY KEY (office, device, key)
    ) WITHOUT ROWID;
    CREATE INDEX door_events_at ON door_events (office, at_ms);
    CREATE INDEX door_events_received ON door_events (received_ms);",
    // 12: one-time links to set a password (`user sync`), one per account.
    // Only the token's SHA-256 is kept, and only once the mail carrying it
    // goes out: the outbox keeps the message without the link. An account
    // whose `password_hash` is empty has no password yet and cannot log in.
    r#"CREATE TABLE password_links (
        "user" TEXT PRIMARY KEY REFERENCES users (name),
        token_hash TEXT UNIQUE,
        ttl_ms INTEGER NOT NULL,
        expires_ms INTEGER,
        outbox_id INTEGER NOT NULL,
        created_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX password_links_outbox ON password_links (outbox_id);"#,
    // 13: two servers on one database. A sender claims a queued message
    // until `claimed_until_ms`, so the other leaves it alone; and an agent's
    // acknowledgement is counted from the tables, which door events join by
    // their seq. `cluster_settings` keeps what the servers must agree on
    // (the shared subscription's secret group name).
    "ALTER TABLE outbox ADD COLUMN claimed_until_ms INTEGER;
    CREATE INDEX door_events_seq ON door_events (office, agent, seq);
    CREATE TABLE cluster_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);",
    // 14: one outbox for every channel. A message goes by email (its
    // recipients are addresses), or to one Telegram chat or one webhook,
    // `target` naming it in the registry. A Telegram account is linked to a
    // Ronda account by a one-time code the person sends the bot; a press of
    // a message's "Tangani" button leaves a prompt that the reply with the
    // note answers.
    r#"ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';
    ALTER TABLE outbox ADD COLUMN target TEXT;
    CREATE INDEX outbox_channel_due ON outbox (channel, state, next_attempt_ms);
    CREATE TABLE telegram_links (
        telegram_user INTEGER PRIMARY KEY,
        "user" TEXT NOT NULL UNIQUE REFERENCES users (name),
        linked_ms INTEGER NOT NULL
    );
    CREATE TABLE telegram_codes (
        code_hash TEXT PRIMARY KEY,
        "user" TEXT NOT NULL UNIQUE REFERENCES users (name),
        expires_ms INTEGER NOT NULL
    );
    CREATE TABLE telegram_prompts (
        chat INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        alert_id INTEGER NOT NULL,
        telegram_user INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL,
        PRIMARY KEY (chat, message_id)
    );"#,
    // 15: what a camera showed when a head or IT confirmed "this camera
    // sees the road", by day and by night: the numbers of the snapshot,
    // never the picture (UU 27/2022; docs/SECURITY.md).
    "CREATE TABLE view_pins (
        office TEXT NOT NULL,
        agent TEXT NOT NULL,
        recorder TEXT NOT NULL,
        channel TEXT NOT NULL,
        light TEXT NOT NULL CHECK (light IN ('day', 'night')),
        w INTEGER NOT NULL,
        h INTEGER NOT NULL,
        mean INTEGER NOT NULL,
        contrast INTEGER NOT NULL,
        entropy INTEGER NOT NULL,
        dark INTEGER NOT NULL,
        edges INTEGER NOT NULL,
        sharp INTEGER NOT NULL,
        hash TEXT NOT NULL,
        by TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        PRIMARY KEY (office, agent, recorder, channel, light)
    ) WITHOUT ROWID;",
];

#[cfg(test)]
pub fn version() -> usize {
    MIGRATIONS.len()
}

/// Bring the database up to the latest schema. Refuses a database written by
/// a newer Ronda rather than guessing.
pub fn migrate(conn: &Connection) -> Result<(), super::StoreError> {
    let (list, current) = match conn.dialect() {
        Dialect::Sqlite => (
            MIGRATIONS,
            conn.query_row("PRAGMA user_version", [], |r| r.get::<_, usize>(0))?,
        ),
        Dialect::Postgres => (postgres::MIGRATIONS, postgres::begin(conn)?),
    };
    if current > list.len() {
        return Err(super::StoreError::TooNew {
            found: current,
            known: list.len(),
        });
    }
    for (i, sql) in list.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        match conn.dialect() {
            Dialect::Sqlite => tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?,
            Dialect::Postgres => postgres::set_version(&tx, i + 1)?,
        }
        tx.commit()?;
        tracing::info!(version = i + 1, "database migrated");
    }
    if conn.dialect() == Dialect::Postgres {
        postgres::end(conn)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_dialects_have_every_migration() {
        assert_eq!(super::MIGRATIONS.len(), super::postgres::MIGRATIONS.len());
    }
}
