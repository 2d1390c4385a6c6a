//! What a camera should see: a live snapshot asked for by an admin, IT or
//! the office's own head, with a reason, audited before it is sent, shown
//! once and never kept; and the day and night views pinned from it (the
//! numbers only), which `cctv.view` judges `moved` and `blurred` against.
//!
//! The picture is personal data (UU 27/2022, Pasal 16–17 and 34; see
//! docs/SECURITY.md): it is in memory from the agent's answer to this page,
//! in no log line, no file and no table, and the page is `no-store`.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use ronda_wire::{Action, Command, Id, ViewStats};
use serde::Deserialize;

use super::{office_name, render, Lang};
use crate::engine::pins::PinRequest;
use crate::engine::worker::Msg;
use crate::engine::Outgoing;
use crate::http::auth::Who;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::snapshots::{jpeg_size, Answer, Held};
use crate::store::users::Role;
use crate::store::view_pins::{self, PinKey, PinRow};

/// Longest reason for a live snapshot, in characters.
pub const MAX_REASON: usize = 200;
/// Longest recorder or channel id taken from a form, in bytes.
const MAX_DEVICE_ID: usize = 64;
/// The snapshot page may show its picture, and nothing else more.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'";

/// Which camera a form names, and where to go back to.
#[derive(Deserialize)]
pub struct CameraForm {
    agent: String,
    recorder: String,
    channel: String,
    reason: Option<String>,
    light: Option<String>,
    /// The letter whose signing page the form was on.
    letter: Option<String>,
    csrf: Option<String>,
}

#[derive(Deserialize)]
pub struct PinForm {
    token: String,
    light: String,
    letter: Option<String>,
    csrf: Option<String>,
}

/// Admin, IT or the office's own head, signed in, with the form's CSRF
/// token. Another office's head gets 404, as on every route.
fn may_look(who: &Who, office: &str, csrf: Option<&str>) -> Result<(), ApiError> {
    Id::new(office).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    who.office(office)?;
    who.role(
        &[Role::Admin, Role::It, Role::Head],
        "see or pin a camera's view",
    )?;
    if !who.in_session() {
        return Err(ApiError::Forbidden(
            "a camera's picture is shown only to a person signed in, not to a token".into(),
        ));
    }
    who.check_csrf(csrf)
}

fn back(office: &str, letter: Option<&str>) -> Response {
    let to = match letter.filter(|l| Id::new(*l).is_ok()) {
        Some(l) => format!("/offices/{office}/letters/{l}#views"),
        None => format!("/offices/{office}"),
    };
    Redirect::to(&to).into_response()
}

/// The camera as the agent last reported it, or 404: a form can name only
/// a camera the office has.
async fn reported(s: &AppState, office: &str, f: &CameraForm) -> Result<(), ApiError> {
    let sane = |x: &str| !x.is_empty() && x.len() <= MAX_DEVICE_ID;
    if Id::new(f.agent.as_str()).is_err() || !sane(&f.recorder) || !sane(&f.channel) {
        return Err(ApiError::NotFound);
    }
    let report = s
        .reader
        .agent(office.to_owned(), f.agent.clone())
        .await?
        .and_then(|row| row.parsed_report())
        .ok_or(ApiError::NotFound)?;
    let found = report
        .recorders
        .iter()
        .filter(|r| r.id == f.recorder)
        .any(|r| r.channels.iter().any(|c| c.id == f.channel));
    found.then_some(()).ok_or(ApiError::NotFound)
}

/// The reason given, trimmed: required, at most [`MAX_REASON`] characters.
fn reason(f: &CameraForm) -> Result<String, ApiError> {
    let r = f.reason.as_deref().map(str::trim).unwrap_or("");
    if r.is_empty() {
        return Err(ApiError::BadRequest(
            "say why you need to see this camera".into(),
        ));
    }
    if r.chars().count() > MAX_REASON {
        return Err(ApiError::BadRequest(format!(
            "the reason is longer than {MAX_REASON} characters"
        )));
    }
    Ok(r.to_owned())
}

/// `POST /offices/{office}/views/snapshot`: audit, ask the agent for one
/// picture, wait for it, and show it with the day and night pin buttons.
pub async fn snapshot(
    State(s): State<AppState>,
    who: Who,
    lang: Lang,
    Path(office): Path<String>,
    Form(f): Form<CameraForm>,
) -> Result<Response, ApiError> {
    may_look(&who, &office, f.csrf.as_deref())?;
    let why = reason(&f)?;
    reported(&s, &office, &f).await?;
    s.snapshots
        .count(&who.user.name, Instant::now())
        .map_err(|e| ApiError::TooMany(e.to_string()))?;
    let hex: String = crate::store::users::random_bytes::<12>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let id = format!("view-{hex}");
    // Waiting before the command goes: the answer cannot come too early.
    let ticket = s
        .snapshots
        .wait(&id, &office, &f.agent)
        .map_err(|e| ApiError::TooMany(e.to_string()))?;
    let camera = format!("{office}/{} {}/{}", f.agent, f.recorder, f.channel);
    who.audit(
        &s,
        "view.snapshot",
        format!("{camera} (command {id}): {why}"),
    )
    .await?;
    let outgoing = Outgoing {
        office: office.clone(),
        agent: f.agent.clone(),
        command: Command::new(
            id,
            Action::ViewSnapshot {
                recorder: f.recorder.clone(),
                channel: f.channel.clone(),
            },
        ),
        by: who.user.name.clone(),
    };
    if !s.ask(|reply| Msg::Command { outgoing, reply }).await? {
        return Err(ApiError::Unavailable);
    }
    let picture = match ticket.answer(crate::snapshots::WAIT).await {
        Some(Answer::Picture(p)) => p,
        Some(Answer::Refused(e)) => {
            return Err(ApiError::BadGateway(format!(
                "the agent could not take the snapshot: {e}"
            )))
        }
        None => {
            return Err(ApiError::GatewayTimeout(format!(
                "the agent did not answer within {} s; it may be offline",
                crate::snapshots::WAIT.as_secs()
            )))
        }
    };
    let size = jpeg_size(&picture.jpeg)
        .ok_or_else(|| ApiError::BadGateway("the agent's answer is not a JPEG picture".into()))?;
    let held = Held {
        user: who.user.name.clone(),
        office: office.clone(),
        agent: f.agent.clone(),
        recorder: f.recorder.clone(),
        channel: f.channel.clone(),
        stats: picture.stats.clone(),
    };
    let token = s.snapshots.hold(held, Instant::now());
    let name = office_name(&s, &office);
    let ctx = minijinja::context! {
        office, name, agent => f.agent, recorder => f.recorder, channel => f.channel,
        jpeg => picture.jpeg, kb => size.div_ceil(1024), stats => picture.stats, token,
        letter => f.letter.filter(|l| Id::new(l.as_str()).is_ok()),
        ttl_min => crate::snapshots::TOKEN_TTL.as_secs() / 60,
    };
    let page = render(&who, lang, "view.html", ctx)?;
    let headers = [
        (header::CACHE_CONTROL, "no-store"),
        (header::CONTENT_SECURITY_POLICY, CSP),
    ];
    Ok((headers, page).into_response())
}

/// `POST /offices/{office}/views/pin`: the numbers behind the form's
/// one-time token become the camera's `light` view.
pub async fn pin(
    State(s): State<AppState>,
    who: Who,
    Path(office): Path<String>,
    Form(f): Form<PinForm>,
) -> Result<Response, ApiError> {
    may_look(&who, &office, f.csrf.as_deref())?;
    let light = ronda_policy::eval::Light::parse(&f.light)
        .ok_or_else(|| ApiError::BadRequest("light is `day` or `night`".into()))?;
    let held = s
        .snapshots
        .take(&f.token, &who.user.name, &office, Instant::now())
        .ok_or_else(|| {
            ApiError::Forbidden(
                "this snapshot's form is used, expired or not yours; take a new snapshot".into(),
            )
        })?;
    let row = PinRow {
        office: office.clone(),
        agent: held.agent,
        recorder: held.recorder,
        channel: held.channel,
        light: light.name().into(),
        stats: held.stats,
        by: who.user.name.clone(),
        at_ms: jiff::Timestamp::now().as_millisecond(),
    };
    let detail = format!(
        "{office}/{} {}/{} {} hash {}",
        row.agent, row.recorder, row.channel, row.light, row.stats.hash
    );
    let stored = row.clone();
    store_and_audit(&s, &who, "view.pin", detail, move |c| {
        view_pins::set(c, &stored).map(|()| true)
    })
    .await?;
    s.ask(|reply| Msg::Pin {
        pin: row.into(),
        reply,
    })
    .await?;
    Ok(back(&office, f.letter.as_deref()))
}

/// `POST /offices/{office}/views/unpin`: the camera's `light` view is
/// forgotten; `moved` and `blurred` have nothing to compare with.
pub async fn unpin(
    State(s): State<AppState>,
    who: Who,
    Path(office): Path<String>,
    Form(f): Form<CameraForm>,
) -> Result<Response, ApiError> {
    may_look(&who, &office, f.csrf.as_deref())?;
    let light = f
        .light
        .as_deref()
        .and_then(ronda_policy::eval::Light::parse)
        .ok_or_else(|| ApiError::BadRequest("light is `day` or `night`".into()))?;
    let key = PinKey {
        office: office.clone(),
        agent: f.agent.clone(),
        recorder: f.recorder.clone(),
        channel: f.channel.clone(),
        light: light.name().into(),
    };
    let detail = format!(
        "{office}/{} {}/{} {}",
        key.agent, key.recorder, key.channel, key.light
    );
    let k = key.clone();
    let removed = store_and_audit(&s, &who, "view.unpin", detail, move |c| {
        view_pins::remove(c, &k)
    })
    .await?;
    if !removed {
        return Err(ApiError::NotFound);
    }
    let pin = PinRequest {
        office: key.office,
        agent: key.agent,
        recorder: key.recorder,
        channel: key.channel,
        light: key.light,
        stats: None,
        by: who.user.name.clone(),
        at_ms: jiff::Timestamp::now().as_millisecond(),
    };
    s.ask(|reply| Msg::Pin { pin, reply }).await?;
    Ok(back(&office, f.letter.as_deref()))
}

/// Make `change` and log `action` in one transaction; the audit line only
/// when the change did something (`change` answers whether).
async fn store_and_audit(
    s: &AppState,
    who: &Who,
    action: &'static str,
    detail: String,
    change: impl FnOnce(&crate::store::sql::Connection) -> crate::store::sql::Result<bool>
        + Send
        + 'static,
) -> Result<bool, ApiError> {
    let (name, source) = (who.user.name.clone(), who.source.clone());
    let now = jiff::Timestamp::now().as_millisecond();
    let done =
        s.db.write(move |c| {
            let tx = c.unchecked_transaction()?;
            let changed = change(&tx)?;
            if changed {
                let src = source.as_deref();
                crate::store::audit::append(&tx, Some(&name), action, &detail, src, now)?;
            }
            tx.commit().map(|()| changed)
        })
        .await??;
    Ok(done)
}

/// `GET /api/v1/offices/{office}/views`: the pinned views (numbers only).
pub async fn api(
    State(s): State<AppState>,
    who: Who,
    Path(office): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.office(&office)?;
    let o = office.clone();
    let pins = s.db.read(move |c| view_pins::list(c, Some(&o))).await??;
    Ok(Json(serde_json::json!({ "office": office, "pins": pins })))
}

/// The office's cameras from its agents' latest reports, each with its
/// pinned views, for the signing page.
pub async fn cameras(s: &AppState, office: &str) -> Result<Vec<minijinja::Value>, ApiError> {
    let rows = s
        .reader
        .agents_with_reports(Some(office.to_owned()))
        .await?;
    let o = office.to_owned();
    let pins = s.db.read(move |c| view_pins::list(c, Some(&o))).await??;
    let tz = s.tz();
    let pinned = |agent: &str, rec: &str, ch: &str, light: &str| {
        pins.iter()
            .find(|p| (p.agent.as_str(), p.recorder.as_str(), p.channel.as_str(), p.light.as_str()) == (agent, rec, ch, light))
            .map(|p| minijinja::context! { by => p.by, at => super::format_local_ms(p.at_ms, &tz), stats => stats_of(&p.stats) })
    };
    let mut out = Vec::new();
    for row in rows {
        let Some(report) = row.parsed_report() else {
            continue;
        };
        for r in &report.recorders {
            for c in &r.channels {
                let (a, rec, ch) = (row.agent.as_str(), r.id.as_str(), c.id.as_str());
                out.push(minijinja::context! {
                    agent => a, recorder => rec, channel => ch, name => c.name, zone => c.zone,
                    day => pinned(a, rec, ch, "day"), night => pinned(a, rec, ch, "night"),
                });
            }
        }
    }
    Ok(out)
}

fn stats_of(s: &ViewStats) -> minijinja::Value {
    minijinja::Value::from_serialize(s)
}

#[cfg(test)]
mod tests;
