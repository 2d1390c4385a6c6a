//! Setting a password through a one-time link (`ronda-server user sync`):
//! `GET /password/{token}` shows the form, `POST /password` sets it.
//!
//! The token is the only credential, so every answer about a token that
//! does not work is the same (used, expired, another's, guessed, malformed
//! all read "this link does not work"), and showing the form never uses
//! the token up: mail scanners open links. Only a POST with a password the
//! rules accept uses it, in the same transaction that sets the password
//! (`store::users::links::consume`), so of many requests at once one wins.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use super::auth::{same_origin, Source};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::metrics::LoginRefused as Refused;
use crate::store::users::{self, links};

/// Longest password taken, as at login.
const MAX_PASSWORD: usize = 1024;

fn page(status: StatusCode, ctx: minijinja::Value) -> Response {
    let ctx = minijinja::context! { min => users::MIN_PASSWORD, ..ctx };
    match crate::http::pages::render_plain("password.html", ctx) {
        Ok(h) => (status, h).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The one answer for every token that does not work.
fn dead_link() -> Response {
    page(StatusCode::NOT_FOUND, minijinja::context! {})
}

fn form_page(status: StatusCode, user: &str, token: &str, error: Option<&str>) -> Response {
    page(status, minijinja::context! { user, token, error })
}

/// The account a token is the live link of; `None` for anything else,
/// malformed ones refused before the database is asked.
async fn holder(s: &AppState, token: &str) -> Result<Option<String>, ApiError> {
    if !links::well_formed(token) {
        return Ok(None);
    }
    let token = token.to_owned();
    let now = jiff::Timestamp::now().as_millisecond();
    Ok(s.db.read(move |c| links::find(c, &token, now)).await??)
}

pub async fn form(State(s): State<AppState>, Path(token): Path<String>) -> Response {
    match holder(&s, &token).await {
        Ok(Some(user)) => form_page(StatusCode::OK, &user, &token, None),
        Ok(None) => dead_link(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub struct NewPassword {
    token: String,
    password: String,
    again: String,
}

pub async fn set(
    State(s): State<AppState>,
    headers: HeaderMap,
    Source(src): Source,
    Form(f): Form<NewPassword>,
) -> Result<Response, ApiError> {
    // Another site could post a token it knows into a victim's browser.
    if !same_origin(&headers) {
        return Err(ApiError::Forbidden("request from another site".into()));
    }
    if f.password.len() > MAX_PASSWORD || f.again.len() > MAX_PASSWORD {
        let msg = "Kata sandi terlalu panjang / password too long";
        return dead_or_form(&s, &f.token, msg).await;
    }
    let Some(user) = holder(&s, &f.token).await? else {
        return Ok(dead_link());
    };
    if f.password != f.again {
        let msg = "Kedua kata sandi berbeda / the two passwords differ";
        return Ok(form_page(
            StatusCode::BAD_REQUEST,
            &user,
            &f.token,
            Some(msg),
        ));
    }
    if let Err(e) = users::check_password(&f.password) {
        let msg = match e {
            users::UserError::Common => "Kata sandi itu terlalu umum / that password is too common",
            _ => "Kata sandi terlalu pendek / the password is too short",
        };
        return Ok(form_page(
            StatusCode::BAD_REQUEST,
            &user,
            &f.token,
            Some(msg),
        ));
    }
    // The hash takes a slot of the login's, so links cannot be used to
    // make the server hash without bound.
    let Some(slot) = s.limiter.hashing() else {
        s.metrics.refuse_login(Refused::Busy.label());
        let msg = "Server sibuk; coba lagi / the server is busy; try again";
        return Ok(form_page(
            StatusCode::TOO_MANY_REQUESTS,
            &user,
            &f.token,
            Some(msg),
        ));
    };
    let password = f.password;
    let phc = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        users::hash(&password)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    let (token, source) = (f.token, src.unwrap_or_else(|| "unknown".into()));
    let now = jiff::Timestamp::now().as_millisecond();
    let done =
        s.db.write(move |c| {
            let Some(user) = links::consume(c, &token, &phc, now)? else {
                return Ok::<_, users::UserError>(None);
            };
            let detail = "by one-time link";
            crate::store::audit::append(
                c,
                Some(&user),
                "user.password_set",
                detail,
                Some(&source),
                now,
            )?;
            Ok(Some(user))
        })
        .await??;
    match done {
        Some(user) => Ok(page(
            StatusCode::OK,
            minijinja::context! { done => true, user },
        )),
        // Another request with the same token won, or it just expired.
        None => Ok(dead_link()),
    }
}

/// A refusal that keeps the form if the token still works.
async fn dead_or_form(s: &AppState, token: &str, msg: &str) -> Result<Response, ApiError> {
    Ok(match holder(s, token).await? {
        Some(user) => form_page(StatusCode::BAD_REQUEST, &user, token, Some(msg)),
        None => dead_link(),
    })
}
