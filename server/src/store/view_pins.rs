//! The camera views a head or IT confirmed as right ("this camera sees the
//! road"), by day and by night: the snapshot's numbers, never its picture.

use ronda_wire::ViewStats;
use serde::Serialize;

use crate::store::sql::{params, Connection, Row};

/// One pinned view as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PinRow {
    pub office: String,
    pub agent: String,
    pub recorder: String,
    pub channel: String,
    /// `day` or `night` (the schema refuses anything else).
    pub light: String,
    pub stats: ViewStats,
    pub by: String,
    pub at_ms: i64,
}

const COLUMNS: &str = "office, agent, recorder, channel, light, w, h, mean, contrast, entropy, dark, edges, sharp, hash, by, at_ms";

fn row(r: &Row<'_>) -> crate::store::sql::Result<PinRow> {
    Ok(PinRow {
        office: r.get(0)?,
        agent: r.get(1)?,
        recorder: r.get(2)?,
        channel: r.get(3)?,
        light: r.get(4)?,
        stats: ViewStats {
            w: r.get(5)?,
            h: r.get(6)?,
            mean: r.get(7)?,
            contrast: r.get(8)?,
            entropy: r.get(9)?,
            dark: r.get(10)?,
            edges: r.get(11)?,
            sharp: r.get(12)?,
            hash: r.get(13)?,
        },
        by: r.get(14)?,
        at_ms: r.get(15)?,
    })
}

/// Pin a view, replacing the one of the same camera and light.
pub fn set(conn: &Connection, p: &PinRow) -> crate::store::sql::Result<()> {
    let s = &p.stats;
    conn.execute(
        &format!(
            "INSERT INTO view_pins ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
             ON CONFLICT (office, agent, recorder, channel, light) DO UPDATE SET
                w = excluded.w, h = excluded.h, mean = excluded.mean, contrast = excluded.contrast,
                entropy = excluded.entropy, dark = excluded.dark, edges = excluded.edges,
                sharp = excluded.sharp, hash = excluded.hash, by = excluded.by, at_ms = excluded.at_ms"
        ),
        params![
            p.office, p.agent, p.recorder, p.channel, p.light, s.w, s.h, s.mean, s.contrast,
            s.entropy, s.dark, s.edges, s.sharp, s.hash, p.by, p.at_ms
        ],
    )
    .map(drop)
}

/// The pins of `office` (every office when `None`), in key order.
pub fn list(conn: &Connection, office: Option<&str>) -> crate::store::sql::Result<Vec<PinRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM view_pins WHERE (CAST(?1 AS TEXT) IS NULL OR office = ?1)
         ORDER BY office, agent, recorder, channel, light"
    ))?;
    let rows = stmt.query_map(params![office], row)?;
    rows.collect()
}

/// Which camera and light a pin is of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinKey {
    pub office: String,
    pub agent: String,
    pub recorder: String,
    pub channel: String,
    pub light: String,
}

/// Remove one pin; false when there was none.
pub fn remove(conn: &Connection, k: &PinKey) -> crate::store::sql::Result<bool> {
    let n = conn.execute(
        "DELETE FROM view_pins WHERE office = ?1 AND agent = ?2 AND recorder = ?3 AND channel = ?4 AND light = ?5",
        params![k.office, k.agent, k.recorder, k.channel, k.light],
    )?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn pin(office: &str, light: &str, hash: &str) -> PinRow {
        PinRow {
            office: office.into(),
            agent: "gw".into(),
            recorder: "nvr".into(),
            channel: "1".into(),
            light: light.into(),
            stats: ViewStats {
                w: 1920,
                h: 1080,
                mean: 112,
                contrast: 41,
                entropy: 68,
                dark: 12,
                edges: 87,
                sharp: 310,
                hash: hash.into(),
            },
            by: "kepala".into(),
            at_ms: 5,
        }
    }

    #[test]
    fn a_pin_is_set_replaced_listed_per_office_and_removed() {
        for (_db, conn) in crate::store::testdb::each() {
            set(&conn, &pin("dinkes", "day", "00000000000000ff")).unwrap();
            set(&conn, &pin("dinkes", "night", "0f0f0f0f0f0f0f0f")).unwrap();
            set(&conn, &pin("bappeda", "day", "1111111111111111")).unwrap();
            // The same camera and light again replaces the first.
            let mut again = pin("dinkes", "day", "ffffffffffffffff");
            again.by = "it".into();
            set(&conn, &again).unwrap();
            let dinkes = list(&conn, Some("dinkes")).unwrap();
            assert_eq!(
                dinkes,
                vec![again, pin("dinkes", "night", "0f0f0f0f0f0f0f0f")]
            );
            assert_eq!(list(&conn, None).unwrap().len(), 3);
            let key = PinKey {
                office: "dinkes".into(),
                agent: "gw".into(),
                recorder: "nvr".into(),
                channel: "1".into(),
                light: "night".into(),
            };
            assert!(remove(&conn, &key).unwrap());
            assert!(!remove(&conn, &key).unwrap());
            assert_eq!(list(&conn, Some("dinkes")).unwrap().len(), 1);
            // Neither dusk nor anything else is a light.
            assert!(set(&conn, &pin("dinkes", "dusk", "00")).is_err());
        }
    }
}
