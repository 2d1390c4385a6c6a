//! Where each door controller's log stands: kept beside the events, so a
//! restarted agent asks its devices only for what it does not have.

use std::collections::BTreeMap;

use rusqlite::params;

use super::{sqlite, Outbox, OutboxError};

impl Outbox {
    /// Note where a device's log stands when nothing came with it.
    pub fn set_cursor(&mut self, device: &str, value: &str) -> Result<(), OutboxError> {
        save(&self.conn, device, value).map_err(|e| sqlite(&self.path, e))
    }

    /// Where each device's log stood at the last event kept.
    pub fn cursors(&self) -> Result<BTreeMap<String, String>, OutboxError> {
        let err = |e| sqlite(&self.path, e);
        let mut stmt = self
            .conn
            .prepare("SELECT device, value FROM cursors")
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }
}

/// Upsert one device's cursor, inside the caller's transaction if any.
pub(super) fn save(conn: &rusqlite::Connection, device: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO cursors (device, value) VALUES (?1, ?2)
         ON CONFLICT (device) DO UPDATE SET value = excluded.value",
        params![device, value],
    )
    .map(drop)
}
