//! The alerts pages: the list with filters (live), and one alert with its
//! transitions, the emails sent about it and the acknowledgement form.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use super::{render, Lang};
use crate::http::api::{acknowledge, one_alert, scoped};
use crate::http::auth::Who;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::store::alerts::AlertFilter;
use crate::store::users::Role;

/// Alerts the list page shows.
const PAGE: u32 = 200;

/// `GET /alerts?state=&severity=&office=`.
pub async fn list(
    State(s): State<AppState>,
    who: Who,
    lang: Lang,
    Query(f): Query<AlertFilter>,
) -> Result<Html<String>, ApiError> {
    // An empty select sends `state=`: that means "any".
    let nonempty = |v: Option<String>| v.filter(|x| !x.is_empty());
    let f = AlertFilter {
        state: nonempty(f.state),
        severity: nonempty(f.severity),
        office: nonempty(f.office),
        letter: nonempty(f.letter),
    };
    let f = scoped(&who, f)?;
    let alerts = s.reader.alerts(f.clone(), PAGE).await?;
    let offices: Vec<String> = s
        .views
        .offices()
        .into_iter()
        .filter(|o| who.user.sees(o))
        .collect();
    let ctx = minijinja::context! { alerts, filter => f, offices, live => 5 };
    render(&who, lang, "alerts.html", ctx)
}

/// `GET /alerts/{id}`.
pub async fn one(
    State(s): State<AppState>,
    who: Who,
    lang: Lang,
    Path(id): Path<i64>,
) -> Result<Html<String>, ApiError> {
    let (alert, transitions) = one_alert(&s, &who, id).await?;
    let mail = if who.user.role == Role::Head {
        Vec::new()
    } else {
        s.reader.mail(None, Some(id), 50, false).await?
    };
    // As the engine allows: any open alert, again to change the note or expiry.
    let may_ack =
        who.user.role != Role::Viewer && alert.state != ronda_policy::alert::State::Resolved;
    let ctx = minijinja::context! { alert, transitions, mail, may_ack };
    render(&who, lang, "alert.html", ctx)
}

#[derive(Deserialize)]
pub struct AckForm {
    csrf: String,
    note: String,
    /// Hours until the acknowledgement lapses; empty: until recovery.
    hours: Option<String>,
}

/// `POST /alerts/{id}/ack` from the form.
pub async fn ack(
    State(s): State<AppState>,
    who: Who,
    Path(id): Path<i64>,
    Form(f): Form<AckForm>,
) -> Result<Response, ApiError> {
    who.check_csrf(Some(&f.csrf))?;
    let until = match f.hours.as_deref().map(str::trim).filter(|h| !h.is_empty()) {
        None => None,
        Some(h) => {
            let hours: i64 = h
                .parse()
                .ok()
                .filter(|h| (1..=24 * 30).contains(h))
                .ok_or_else(|| ApiError::BadRequest(format!("`{h}` hours? 1 to 720")))?;
            Some(Timestamp::now() + SignedDuration::from_hours(hours))
        }
    };
    acknowledge(&s, &who, id, f.note, until).await?;
    Ok(Redirect::to(&format!("/alerts/{id}")).into_response())
}
