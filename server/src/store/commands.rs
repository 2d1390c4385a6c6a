//! Commands sent to agents (a plug switched by hand or by a switch-off
//! remediation) and the agents' answers, for the office page and the
//! letter report.

use crate::store::sql::{params, Connection, OptionalExtension, Transaction};
use ronda_wire::RejectReason;
use serde::Serialize;

use crate::metrics::Metrics;

/// A command as it is recorded when sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub id: String,
    pub office: String,
    pub agent: String,
    pub action: &'static str,
    pub plug: Option<String>,
    pub on: Option<bool>,
    pub by: String,
    pub at_ms: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommandRow {
    pub id: String,
    pub office: String,
    pub agent: String,
    pub action: String,
    pub plug: Option<String>,
    pub on: Option<bool>,
    pub by: String,
    pub sent_ms: i64,
    pub answered_ms: Option<i64>,
    pub ok: Option<bool>,
    pub answer: Option<String>,
}

pub fn write_sent(tx: &Transaction<'_>, c: &Sent) -> crate::store::sql::Result<()> {
    tx.prepare_cached(
        "INSERT INTO commands (id, office, agent, action, plug, turn_on, by, sent_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![
        c.id, c.office, c.agent, c.action, c.plug, c.on, c.by, c.at_ms
    ])?;
    Ok(())
}

/// An agent's answer, with the office and agent of the topic it came on.
#[derive(Debug, Clone)]
pub struct Answer {
    pub id: String,
    pub office: String,
    pub agent: String,
    pub ok: bool,
    pub answer: String,
    pub at_ms: i64,
}

/// An answer from another agent than the one its command went to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    pub id: String,
    /// Who the command went to.
    pub sent_to: String,
    /// Whose topic the answer came on.
    pub answered_by: String,
}

/// Record an answer on its command, if the command went to the agent whose
/// topic it came on. Ids are guessable (`alert-{n}-off`), so an answer from
/// another agent is refused and returned; one to no known command is left.
/// The first answer stands, as on the alert: a repeat changes nothing.
pub fn write_answer(
    tx: &Transaction<'_>,
    a: &Answer,
) -> crate::store::sql::Result<Option<Foreign>> {
    let stored = tx
        .prepare_cached(
            "UPDATE commands SET answered_ms = ?2, ok = ?3, answer = ?4
             WHERE id = ?1 AND office = ?5 AND agent = ?6 AND answered_ms IS NULL",
        )?
        .execute(params![a.id, a.at_ms, a.ok, a.answer, a.office, a.agent])?;
    if stored > 0 {
        return Ok(None);
    }
    let owner = tx
        .prepare_cached("SELECT office, agent FROM commands WHERE id = ?1")?
        .query_row([&a.id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .optional()?;
    let foreign = owner.filter(|(office, agent)| (office, agent) != (&a.office, &a.agent));
    Ok(foreign.map(|(office, agent)| Foreign {
        id: a.id.clone(),
        sent_to: format!("{office}/{agent}"),
        answered_by: format!("{}/{}", a.office, a.agent),
    }))
}

/// Count and log refused answers, once their batch is committed. Counted as
/// `identity_mismatch`: the payload names another agent's command.
pub fn refused(foreign: &[Foreign], metrics: &Metrics) {
    for f in foreign {
        let reason = RejectReason::IdMismatch {
            payload: format!("command {} of {}", f.id, f.sent_to),
            topic: f.answered_by.clone(),
        };
        metrics.reject(&reason);
        let topic = format!("{}/{}/cmd/result", ronda_wire::ROOT, f.answered_by);
        tracing::warn!(%topic, command = %f.id, sent_to = %f.sent_to, reason = reason.label(), "command answer refused: the command went to another agent");
    }
}

const COLUMNS: &str =
    "id, office, agent, action, plug, turn_on, by, sent_ms, answered_ms, ok, answer";

fn row(r: &crate::store::sql::Row<'_>) -> crate::store::sql::Result<CommandRow> {
    Ok(CommandRow {
        id: r.get(0)?,
        office: r.get(1)?,
        agent: r.get(2)?,
        action: r.get(3)?,
        plug: r.get(4)?,
        on: r.get(5)?,
        by: r.get(6)?,
        sent_ms: r.get(7)?,
        answered_ms: r.get(8)?,
        ok: r.get(9)?,
        answer: r.get(10)?,
    })
}

/// Commands of `office` (every office when `None`) sent in
/// `[from_ms, to_ms)`, newest first.
pub fn list(
    conn: &Connection,
    office: Option<&str>,
    from_ms: i64,
    to_ms: i64,
    limit: u32,
) -> crate::store::sql::Result<Vec<CommandRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM commands WHERE (CAST(?1 AS TEXT) IS NULL OR office = ?1)
         AND sent_ms >= ?2 AND sent_ms < ?3 ORDER BY sent_ms DESC LIMIT ?4"
    ))?;
    let rows = stmt.query_map(params![office, from_ms, to_ms, limit], row)?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::metrics::Reason;

    fn answer(office: &str, ok: bool) -> Answer {
        Answer {
            id: "alert-1-off".into(),
            office: office.into(),
            agent: "gw".into(),
            ok,
            answer: format!("from {office}"),
            at_ms: 2,
        }
    }

    #[test]
    fn a_command_takes_an_answer_only_from_the_agent_it_went_to() {
        for (_db, conn) in crate::store::testdb::each() {
            let tx = conn.transaction().unwrap();
            let sent = Sent {
                id: "alert-1-off".into(),
                office: "dinkes".into(),
                agent: "gw".into(),
                action: "plug.set",
                plug: Some("printer".into()),
                on: Some(false),
                by: "ronda".into(),
                at_ms: 1,
            };
            write_sent(&tx, &sent).unwrap();
            let foreign = write_answer(&tx, &answer("bappeda", true)).unwrap();
            let expected = Foreign {
                id: "alert-1-off".into(),
                sent_to: "dinkes/gw".into(),
                answered_by: "bappeda/gw".into(),
            };
            assert_eq!(foreign, Some(expected.clone()));
            let mut unknown = answer("bappeda", true);
            unknown.id = "ui-1".into();
            assert_eq!(write_answer(&tx, &unknown).unwrap(), None);
            assert_eq!(write_answer(&tx, &answer("dinkes", false)).unwrap(), None);
            // A second answer from the right agent (a repeat, or a change of
            // story) neither replaces the first nor counts as foreign.
            assert_eq!(write_answer(&tx, &answer("dinkes", true)).unwrap(), None);
            tx.commit().unwrap();
            let rows = list(&conn, Some("dinkes"), 0, i64::MAX, 10).unwrap();
            assert_eq!(rows[0].ok, Some(false));
            assert_eq!(rows[0].answer.as_deref(), Some("from dinkes"));

            let metrics = Metrics::new();
            refused(&[expected], &metrics);
            let mismatch = Reason {
                reason: "identity_mismatch",
            };
            assert_eq!(metrics.rejected.get_or_create(&mismatch).get(), 1);
        }
    }
}
