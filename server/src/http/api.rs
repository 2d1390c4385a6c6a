//! The policy API: letters, compliance per office, alerts and their
//! acknowledgement.

use axum::extract::{Path, Query, State};
use axum::Json;
use jiff::Timestamp;
use ronda_policy::alert::{AckError, Alert, Transition};
use ronda_policy::{Letter, Window};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::engine::worker::{AckRequest, Msg};
use crate::engine::OfficeView;
use crate::http::auth::Who;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::store::alerts::AlertFilter;
use crate::store::users::Role;
use crate::store::AgentRow;
use ronda_wire::Id;

/// Most alerts one list request returns.
const LIST_LIMIT: u32 = 500;

pub async fn letters(State(s): State<AppState>, _who: Who) -> Json<Vec<Value>> {
    let now = Timestamp::now();
    Json(s.letters().iter().map(|l| letter_json(l, now)).collect())
}

fn letter_json(l: &Letter, now: Timestamp) -> Value {
    let window = match &l.window {
        Window::Always => json!("always"),
        Window::Periods(ps) => json!(ps),
    };
    let items: Vec<Value> = l
        .items
        .iter()
        .map(|i| json!({ "id": i.id, "text": { "id": i.text_id, "en": i.text_en }, "check": i.check.kind(), "for_s": i.grace.as_secs(), "severity": i.severity, "remediation": i.remediation }))
        .collect();
    json!({
        "id": l.id, "number": l.number, "title": l.title, "issuer": l.issuer, "issued": l.issued.to_string(),
        "source": l.source, "timezone": l.timezone, "window": window, "enforced": l.enforced_at(now),
        "next_window_edge": l.next_edge(now), "readiness_deadline": l.readiness.as_ref().map(|r| r.deadline),
        "offices": match &l.offices { ronda_policy::Scope::All => json!("all"), ronda_policy::Scope::Offices(s) => json!(s) },
        "items": items,
    })
}

#[derive(Deserialize)]
pub struct LetterQuery {
    letter: Option<String>,
}

#[derive(Serialize)]
pub struct Compliance {
    office: String,
    letters: Vec<OfficeView>,
}

pub async fn compliance(
    State(s): State<AppState>,
    who: Who,
    Path(office): Path<String>,
    Query(q): Query<LetterQuery>,
) -> Result<Json<Compliance>, ApiError> {
    ronda_wire::Id::new(office.as_str()).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    who.office(&office)?;
    if let Some(l) = &q.letter {
        if !s.letters().iter().any(|x| &x.id == l) {
            return Err(ApiError::NotFound);
        }
    }
    let letters: Vec<OfficeView> = s
        .letters()
        .iter()
        .filter(|l| q.letter.as_ref().is_none_or(|id| id == &l.id))
        .filter_map(|l| s.views.get(&l.id, &office))
        .collect();
    if letters.is_empty() {
        return Err(ApiError::NotFound);
    }
    Ok(Json(Compliance { office, letters }))
}

pub async fn alerts(
    State(s): State<AppState>,
    who: Who,
    Query(f): Query<AlertFilter>,
) -> Result<Json<Vec<Alert>>, ApiError> {
    Ok(Json(s.reader.alerts(scoped(&who, f)?, LIST_LIMIT).await?))
}

/// A checked filter; a head's is pinned to their own office.
pub fn scoped(who: &Who, mut f: AlertFilter) -> Result<AlertFilter, ApiError> {
    if let Some(state) = &f.state {
        ronda_policy::alert::State::parse(state).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "unknown state `{state}`: pending, firing, acknowledged or resolved"
            ))
        })?;
    }
    if let Some(sev) = &f.severity {
        ronda_policy::Severity::parse(sev).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "unknown severity `{sev}`: info, warning or critical"
            ))
        })?;
    }
    if let Some(o) = &f.office {
        who.office(o)?;
    }
    if who.user.role == Role::Head {
        f.office = who.user.office.clone();
    }
    Ok(f)
}

#[derive(Serialize)]
pub struct AlertDetail {
    #[serde(flatten)]
    alert: Alert,
    transitions: Vec<Transition>,
}

pub async fn alert(
    State(s): State<AppState>,
    who: Who,
    Path(id): Path<i64>,
) -> Result<Json<AlertDetail>, ApiError> {
    let (alert, transitions) = one_alert(&s, &who, id).await?;
    Ok(Json(AlertDetail { alert, transitions }))
}

/// An alert and its transitions, or 404 when it is not the user's to see.
pub async fn one_alert(
    s: &AppState,
    who: &Who,
    id: i64,
) -> Result<(Alert, Vec<Transition>), ApiError> {
    let (alert, transitions) = s.reader.alert(id).await?.ok_or(ApiError::NotFound)?;
    who.office(&alert.key.office)?;
    Ok((alert, transitions))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    note: String,
    /// When the acknowledgement lapses (RFC 3339); absent: until recovery.
    until: Option<Timestamp>,
}

pub async fn ack(
    State(s): State<AppState>,
    who: Who,
    Path(id): Path<i64>,
    Json(body): Json<AckBody>,
) -> Result<Json<Alert>, ApiError> {
    who.check_csrf(None)?;
    Ok(Json(
        acknowledge(&s, &who, id, body.note, body.until).await?,
    ))
}

/// Acknowledge an open alert as `who`: admins and IT staff, or the head of
/// the alert's office; viewers may not. Audited.
pub async fn acknowledge(
    s: &AppState,
    who: &Who,
    id: i64,
    note: String,
    until: Option<Timestamp>,
) -> Result<Alert, ApiError> {
    crate::http::error::bounded("note", &note)?;
    one_alert(s, who, id).await?;
    who.role(&[Role::Admin, Role::It, Role::Head], "acknowledge alerts")?;
    let answer = s
        .ask(|reply| Msg::Ack {
            ack: AckRequest {
                id,
                by: who.user.name.clone(),
                note: note.clone(),
                until,
            },
            reply,
        })
        .await?;
    let alert = match answer {
        Ok(alert) => alert,
        Err(AckError::NotOpen(_)) => {
            return Err(ApiError::Conflict(format!("alert {id} is not open")))
        }
        Err(e) => return Err(ApiError::BadRequest(e.to_string())),
    };
    who.audit(s, "alert.ack", format!("alert {id}: {}", note.trim()))
        .await?;
    Ok(alert)
}

/// `GET /api/v1/outbox`: the outbox on every channel, newest first,
/// including dead messages.
pub async fn mail(
    State(s): State<AppState>,
    who: Who,
) -> Result<Json<Vec<crate::store::MailRow>>, ApiError> {
    who.role(&[Role::Admin, Role::It, Role::Viewer], "read the outbox")?;
    Ok(Json(s.reader.mail(None, None, LIST_LIMIT, false).await?))
}

/// `GET /api/v1/outbox/{id}`: one message with its plain-text body.
pub async fn mail_one(
    State(s): State<AppState>,
    who: Who,
    Path(id): Path<i64>,
) -> Result<Json<crate::store::MailRow>, ApiError> {
    who.role(&[Role::Admin, Role::It, Role::Viewer], "read the outbox")?;
    s.reader
        .mail(Some(id), None, 1, true)
        .await?
        .pop()
        .map(Json)
        .ok_or(ApiError::NotFound)
}

pub async fn list_agents(
    State(s): State<AppState>,
    who: Who,
) -> Result<Json<Vec<AgentRow>>, ApiError> {
    let mut agents = s.reader.agents().await?;
    agents.retain(|a| who.user.sees(&a.office));
    Ok(Json(agents))
}

pub async fn one_agent(
    State(s): State<AppState>,
    who: Who,
    Path((office, agent)): Path<(String, String)>,
) -> Result<Json<AgentRow>, ApiError> {
    for id in [&office, &agent] {
        Id::new(id.as_str()).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    }
    who.office(&office)?;
    s.reader
        .agent(office, agent)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}
