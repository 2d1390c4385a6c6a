//! The policy API: letters, compliance per office, alerts and their
//! acknowledgement.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use jiff::Timestamp;
use ronda_policy::alert::{AckError, Alert, Transition};
use ronda_policy::{Letter, Window};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::engine::worker::Msg;
use crate::engine::OfficeView;
use crate::http::{ApiError, AppState};
use crate::login::{check_csrf, Session, Source};
use crate::store::alerts::AlertFilter;
use crate::users::{self, Role};

/// Most alerts one list request returns.
const LIST_LIMIT: u32 = 500;

pub async fn letters(State(s): State<AppState>) -> Json<Vec<Value>> {
    let now = Timestamp::now();
    Json(s.letters.iter().map(|l| letter_json(l, now)).collect())
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
    Path(office): Path<String>,
    Query(q): Query<LetterQuery>,
) -> Result<Json<Compliance>, ApiError> {
    ronda_wire::Id::new(office.as_str()).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if let Some(l) = &q.letter {
        if !s.letters.iter().any(|x| &x.id == l) {
            return Err(ApiError::NotFound);
        }
    }
    let letters: Vec<OfficeView> = s
        .letters
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
    Query(f): Query<AlertFilter>,
) -> Result<Json<Vec<Alert>>, ApiError> {
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
    Ok(Json(s.reader.alerts(f, LIST_LIMIT).await?))
}

#[derive(Serialize)]
pub struct AlertDetail {
    #[serde(flatten)]
    alert: Alert,
    transitions: Vec<Transition>,
}

pub async fn alert(
    State(s): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<AlertDetail>, ApiError> {
    let (alert, transitions) = s.reader.alert(id).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(AlertDetail { alert, transitions }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    note: String,
    /// Who acknowledges; user accounts replace this with the session's user.
    by: Option<String>,
    /// When the acknowledgement lapses (RFC 3339); absent: until recovery.
    until: Option<Timestamp>,
}

pub async fn ack(
    State(s): State<AppState>,
    headers: HeaderMap,
    Session(session): Session,
    Source(source): Source,
    Path(id): Path<i64>,
    Json(body): Json<AckBody>,
) -> Result<Json<Alert>, ApiError> {
    let by = match session {
        // A logged-in user: admins and IT staff, or the head of the alert's office.
        Some((user, csrf)) => {
            check_csrf(&headers, &csrf, None)?;
            let (alert, _) = s.reader.alert(id).await?.ok_or(ApiError::NotFound)?;
            if !user.sees(&alert.key.office) {
                return Err(ApiError::NotFound);
            }
            if user.role == Role::Viewer {
                return Err(ApiError::Forbidden(
                    "viewers cannot acknowledge alerts".into(),
                ));
            }
            user.name
        }
        // A script with the admin token.
        None => {
            authorize(&s, &headers)?;
            body.by
                .filter(|b| !b.trim().is_empty())
                .unwrap_or_else(|| "admin".into())
        }
    };
    let (reply, answer) = oneshot::channel();
    let msg = Msg::Ack {
        id,
        by: by.clone(),
        note: body.note.clone(),
        until: body.until,
        reply,
    };
    s.engine
        .send(msg)
        .await
        .map_err(|_| ApiError::Unavailable)?;
    let alert = match answer.await.map_err(|_| ApiError::Unavailable)? {
        Ok(alert) => alert,
        Err(AckError::NotOpen(_)) => {
            return Err(ApiError::Conflict(format!("alert {id} is not open")))
        }
        Err(e) => return Err(ApiError::BadRequest(e.to_string())),
    };
    let now = Timestamp::now().as_millisecond();
    let detail = format!("alert {id}: {}", body.note.trim());
    crate::login::with(&s.auth, move |c| {
        Ok(users::audit(
            c,
            Some(&by),
            "alert.ack",
            &detail,
            source.as_deref(),
            now,
        )?)
    })
    .await?;
    Ok(Json(alert))
}

/// Until user accounts exist, only the configured admin token may act.
fn authorize(s: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = &s.admin_token else {
        return Err(ApiError::Forbidden(
            "set api.admin_token in server.yaml to allow this".into(),
        ));
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    if constant_time_eq(given.as_bytes(), token.expose().as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `GET /api/v1/mail`: the outbox, newest first, including dead messages.
pub async fn mail(State(s): State<AppState>) -> Result<Json<Vec<crate::store::MailRow>>, ApiError> {
    Ok(Json(s.reader.mail(None, LIST_LIMIT, false).await?))
}

/// `GET /api/v1/mail/{id}`: one message with its plain-text body.
pub async fn mail_one(
    State(s): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<crate::store::MailRow>, ApiError> {
    s.reader
        .mail(Some(id), 1, true)
        .await?
        .pop()
        .map(Json)
        .ok_or(ApiError::NotFound)
}
