//! Read side of the store, for the HTTP API. WAL lets it read while the
//! writer commits.

use std::sync::{Arc, Mutex};

use crate::store::sql::{Connection, Dialect, OptionalExtension, Row};
use serde::Serialize;

use super::StoreError;

/// One agent as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AgentRow {
    pub office: String,
    pub agent: String,
    pub online: bool,
    /// When the agent last went online or offline.
    pub online_since: Option<jiff::Timestamp>,
    /// When the server received the agent's latest report.
    pub last_seen: Option<jiff::Timestamp>,
    pub last_observed: Option<jiff::Timestamp>,
    pub last_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Box<serde_json::value::RawValue>>,
}

impl AgentRow {
    /// The latest report decoded (it was checked when it was accepted).
    pub fn parsed_report(&self) -> Option<ronda_wire::Report> {
        serde_json::from_str(self.report.as_ref()?.get()).ok()
    }
}

#[derive(Clone)]
pub struct Reader {
    conn: Arc<Mutex<Connection>>,
}

const COLUMNS: &str =
    "office, agent, online, online_changed_ms, last_received_ms, last_observed_ms, last_seq";

impl Reader {
    pub fn open(location: impl Into<super::Location>) -> Result<Reader, StoreError> {
        let location = location.into();
        Ok(Reader {
            conn: Arc::new(Mutex::new(location.open_read_only()?)),
        })
    }

    /// Run a query on a blocking thread so the async workers stay free.
    pub(crate) async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> crate::store::sql::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        Ok(self.call(f).await??)
    }

    /// Run `f` on this connection on a blocking thread, keeping its own error.
    pub(crate) async fn call<T, E>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<Result<T, E>, StoreError>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let conn = conn
                .lock()
                .map_err(|_| StoreError::Join("reader lock poisoned".into()))?;
            Ok(f(&conn))
        })
        .await
        .map_err(|e| StoreError::Join(e.to_string()))?
    }

    pub async fn agents(&self) -> Result<Vec<AgentRow>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM agents ORDER BY office, agent"
            ))?;
            let rows = stmt.query_map([], |r| row(r, None))?;
            rows.collect()
        })
        .await
    }

    /// Every agent (of one office, if given) with its latest report, in one
    /// query: for the pages that show devices.
    pub async fn agents_with_reports(
        &self,
        office: Option<String>,
    ) -> Result<Vec<AgentRow>, StoreError> {
        self.with(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS}, latest_report FROM agents WHERE CAST(?1 AS TEXT) IS NULL OR office = ?1 ORDER BY office, agent"
            ))?;
            let rows = stmt.query_map([office], |r| row(r, report(r)?))?;
            rows.collect()
        })
        .await
    }

    pub async fn agent(
        &self,
        office: String,
        agent: String,
    ) -> Result<Option<AgentRow>, StoreError> {
        self.with(move |c| {
            c.query_row(
                &format!(
                    "SELECT {COLUMNS}, latest_report FROM agents WHERE office = ?1 AND agent = ?2"
                ),
                [office, agent],
                |r| row(r, report(r)?),
            )
            .optional()
        })
        .await
    }
}

impl Reader {
    pub async fn alerts(
        &self,
        filter: super::alerts::AlertFilter,
        limit: u32,
    ) -> Result<Vec<ronda_policy::alert::Alert>, StoreError> {
        self.with(move |c| super::alerts::list(c, &filter, limit))
            .await
    }

    pub async fn alert(
        &self,
        id: i64,
    ) -> Result<
        Option<(
            ronda_policy::alert::Alert,
            Vec<ronda_policy::alert::Transition>,
        )>,
        StoreError,
    > {
        self.with(move |c| super::alerts::one(c, id)).await
    }
}

/// One outbox message as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct MailRow {
    pub id: i64,
    pub kind: String,
    /// `email`, `telegram` or `webhook`.
    pub channel: String,
    /// The registry's name of the chat or webhook.
    pub target: Option<String>,
    pub office: Option<String>,
    pub recipients: Vec<String>,
    pub subject: String,
    /// `queued`, `sent` or `dead`.
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub message_id: String,
    pub alert_ids: Vec<i64>,
    pub created: Option<jiff::Timestamp>,
    pub sent: Option<jiff::Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
}

impl Reader {
    /// Newest first: one message when `id` is given, the messages about
    /// one alert when `alert` is; with their plain-text bodies when `bodies`.
    pub async fn mail(
        &self,
        id: Option<i64>,
        alert: Option<i64>,
        limit: u32,
        bodies: bool,
    ) -> Result<Vec<MailRow>, StoreError> {
        self.with(move |c| {
            // `alert_ids` is a JSON array of numbers; each engine reads it its own way.
            let has_alert = match c.dialect() {
                Dialect::Sqlite => "EXISTS (SELECT 1 FROM json_each(outbox.alert_ids) WHERE value = ?3)",
                Dialect::Postgres => "outbox.alert_ids::jsonb @> to_jsonb(?3::bigint)",
            };
            let sql = format!(
                "SELECT id, kind, office, recipients, subject, state, attempts, last_error, message_id,
                        alert_ids, created_ms, sent_ms, body_text, channel, target
                 FROM outbox WHERE (CAST(?1 AS BIGINT) IS NULL OR id = ?1)
                   AND (CAST(?3 AS BIGINT) IS NULL OR {has_alert})
                 ORDER BY id DESC LIMIT ?2"
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(crate::params![id, limit, alert], |r| {
                let ts = |i: usize| -> crate::store::sql::Result<Option<jiff::Timestamp>> {
                    Ok(r.get::<_, Option<i64>>(i)?
                        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok()))
                };
                Ok(MailRow {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    channel: r.get(13)?,
                    target: r.get(14)?,
                    office: r.get(2)?,
                    recipients: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or_default(),
                    subject: r.get(4)?,
                    state: r.get(5)?,
                    attempts: r.get(6)?,
                    last_error: r.get(7)?,
                    message_id: r.get(8)?,
                    alert_ids: serde_json::from_str(&r.get::<_, String>(9)?).unwrap_or_default(),
                    created: ts(10)?,
                    sent: ts(11)?,
                    body_text: if bodies { r.get(12)? } else { None },
                })
            })?;
            rows.collect()
        })
        .await
    }
}

/// The `latest_report` column, selected after [`COLUMNS`].
fn report(r: &Row<'_>) -> crate::store::sql::Result<Option<Box<serde_json::value::RawValue>>> {
    Ok(r.get::<_, Option<String>>(7)?
        .and_then(|s| serde_json::value::RawValue::from_string(s).ok()))
}

fn row(
    r: &Row<'_>,
    report: Option<Box<serde_json::value::RawValue>>,
) -> crate::store::sql::Result<AgentRow> {
    let ts = |i: usize| -> crate::store::sql::Result<Option<jiff::Timestamp>> {
        Ok(r.get::<_, Option<i64>>(i)?
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok()))
    };
    Ok(AgentRow {
        office: r.get(0)?,
        agent: r.get(1)?,
        online: r.get(2)?,
        online_since: ts(3)?,
        last_seen: ts(4)?,
        last_observed: ts(5)?,
        last_seq: r.get::<_, Option<i64>>(6)?.map(|s| s.max(0) as u64),
        report,
    })
}
