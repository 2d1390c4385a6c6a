//! History queries for the critical-servers page and the letter report:
//! availability from the presence log, and alerts that fired in a window.

use std::collections::BTreeMap;

use crate::store::sql::{params, Connection};

/// The share of `[from, to)` an agent was online, from its presence log:
/// the state before `from` and the changes after. Time before the first
/// known state does not count either way. `None` if nothing is known.
pub fn online_share(
    before: Option<bool>,
    changes: &[(i64, bool)],
    from: i64,
    to: i64,
) -> Option<f64> {
    let (mut online, mut known, mut state, mut at) = (0i64, 0i64, before, from);
    for &(t, up) in changes.iter().filter(|(t, _)| *t >= from && *t < to) {
        if let Some(s) = state {
            known += t - at;
            if s {
                online += t - at;
            }
        }
        state = Some(up);
        at = t;
    }
    if let Some(s) = state {
        known += to - at;
        if s {
            online += to - at;
        }
    }
    (known > 0).then(|| online as f64 / known as f64)
}

/// Availability of every agent over `[from, to)`.
pub fn availability(
    conn: &Connection,
    from: i64,
    to: i64,
) -> crate::store::sql::Result<BTreeMap<(String, String), f64>> {
    let mut before = conn.prepare_cached(
        "SELECT online FROM presence WHERE office = ?1 AND agent = ?2 AND at_ms < ?3 ORDER BY at_ms DESC LIMIT 1",
    )?;
    let mut after = conn.prepare_cached(
        "SELECT at_ms, online FROM presence WHERE office = ?1 AND agent = ?2 AND at_ms >= ?3 AND at_ms < ?4 ORDER BY at_ms",
    )?;
    let mut agents = conn.prepare_cached("SELECT office, agent FROM agents")?;
    let ids: Vec<(String, String)> = agents
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<crate::store::sql::Result<_>>()?;
    let mut out = BTreeMap::new();
    for (office, agent) in ids {
        let start: Option<bool> = before
            .query_map(params![office, agent, from], |r| r.get(0))?
            .next()
            .transpose()?;
        let changes: Vec<(i64, bool)> = after
            .query_map(params![office, agent, from, to], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<crate::store::sql::Result<_>>()?;
        if let Some(share) = online_share(start, &changes, from, to) {
            out.insert((office, agent), share);
        }
    }
    Ok(out)
}

/// An alert of a letter that was firing at some time in a window.
#[derive(Debug, Clone)]
pub struct Incident {
    pub office: String,
    pub item: String,
    pub subject: String,
    pub fired_ms: i64,
    pub resolved_ms: Option<i64>,
}

pub fn incidents(
    conn: &Connection,
    letter: &str,
    from: i64,
    to: i64,
) -> crate::store::sql::Result<Vec<Incident>> {
    let mut stmt = conn.prepare_cached(
        "SELECT office, item, subject, fired_ms, resolved_ms FROM alerts
         WHERE letter = ?1 AND fired_ms IS NOT NULL AND fired_ms < ?3
           AND (resolved_ms IS NULL OR resolved_ms >= ?2)
         ORDER BY office, fired_ms",
    )?;
    let rows = stmt.query_map(params![letter, from, to], |r| {
        Ok(Incident {
            office: r.get(0)?,
            item: r.get(1)?,
            subject: r.get(2)?,
            fired_ms: r.get(3)?,
            resolved_ms: r.get(4)?,
        })
    })?;
    rows.collect()
}

/// One attestation as stored: who attested which item of which letter.
pub struct AttestationRow {
    pub letter: String,
    pub item: String,
    pub by: String,
    pub at_ms: i64,
}

/// An office's attestations, newest first.
pub fn attestations(
    conn: &Connection,
    office: &str,
) -> crate::store::sql::Result<Vec<AttestationRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT letter, item, by, at_ms FROM attestations WHERE office = ?1 ORDER BY at_ms DESC",
    )?;
    let rows = stmt.query_map([office], |r| {
        Ok(AttestationRow {
            letter: r.get(0)?,
            item: r.get(1)?,
            by: r.get(2)?,
            at_ms: r.get(3)?,
        })
    })?;
    rows.collect()
}

/// Reports an agent's full outbox dropped: history that will never come.
pub struct GapRow {
    pub agent: String,
    pub lost: i64,
    pub before_seq: i64,
    pub noticed_ms: i64,
}

/// An office's newest `limit` data gaps, newest first.
pub fn gaps(conn: &Connection, office: &str, limit: u32) -> crate::store::sql::Result<Vec<GapRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT agent, lost, before_seq, noticed_ms FROM data_gaps WHERE office = ?1 ORDER BY noticed_ms DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(crate::params![office, limit], |r| {
        Ok(GapRow {
            agent: r.get(0)?,
            lost: r.get(1)?,
            before_seq: r.get(2)?,
            noticed_ms: r.get(3)?,
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::online_share;

    #[test]
    fn availability_counts_only_known_time() {
        // Online before the window, down for a quarter of it.
        assert_eq!(
            online_share(Some(true), &[(50, false), (75, true)], 0, 100),
            Some(0.75)
        );
        // Nothing known before: counting starts at the first change.
        assert_eq!(online_share(None, &[(50, true)], 0, 100), Some(1.0));
        assert_eq!(online_share(None, &[], 0, 100), None);
        // Changes outside the window are ignored.
        assert_eq!(online_share(Some(false), &[(150, true)], 0, 100), Some(0.0));
    }
}
