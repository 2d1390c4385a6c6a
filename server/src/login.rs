//! Logging in and out, and who is asking: the session cookie, the CSRF
//! check and the source address for the audit log.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use rusqlite::Connection;
use serde::Deserialize;

use crate::http::{ApiError, AppState};
use crate::users::{self, session, User};

/// The connection accounts, sessions and the audit log are written through.
pub type AuthDb = Arc<Mutex<Connection>>;

/// Run `f` on the auth connection on a blocking thread (argon2 takes ~50 ms).
pub async fn with<T: Send + 'static>(
    db: &AuthDb,
    f: impl FnOnce(&Connection) -> Result<T, users::UserError> + Send + 'static,
) -> Result<T, ApiError> {
    let db = db.clone();
    tokio::task::spawn_blocking(move || {
        let conn = db.lock().map_err(|_| ApiError::Unavailable)?;
        f(&conn).map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// The logged-in user, if any, with the session's CSRF token.
pub struct Session(pub Option<(User, String)>);

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(token) = cookie(&parts.headers, session::COOKIE) else {
            return Ok(Session(None));
        };
        let now = jiff::Timestamp::now().as_millisecond();
        let found = with(&state.auth, move |c| session::find(c, &token, now)).await?;
        Ok(Session(found))
    }
}

/// Where the request came from, for the audit log.
pub struct Source(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Source(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string()),
        ))
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn page(status: StatusCode, error: Option<&str>, name: Option<&str>) -> Response {
    match crate::pages::render("login.html", minijinja::context! { error, name }) {
        Ok(h) => (status, h).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn form() -> Response {
    page(StatusCode::OK, None, None)
}

#[derive(Deserialize)]
pub struct Credentials {
    name: String,
    password: String,
}

pub async fn login(
    State(s): State<AppState>,
    Source(source): Source,
    Form(c): Form<Credentials>,
) -> Result<Response, ApiError> {
    let now = jiff::Timestamp::now().as_millisecond();
    let name = c.name.trim().to_owned();
    let who = name.clone();
    let started = with(&s.auth, move |conn| {
        let user = users::authenticate(conn, &who, &c.password)?;
        let outcome = match &user {
            Some(_) => "login",
            None => "login.failed",
        };
        users::audit(conn, Some(&who), outcome, "", source.as_deref(), now)?;
        user.map(|u| session::start(conn, &u.name, now)).transpose()
    })
    .await?;
    let Some(started) = started else {
        return Ok(page(
            StatusCode::UNAUTHORIZED,
            Some("Nama atau kata sandi salah / wrong name or password"),
            Some(&name),
        ));
    };
    // A fresh id at every login; HttpOnly, SameSite=Strict, and Secure,
    // which `__Host-` requires (browsers accept it on http://localhost).
    let cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age={}",
        session::COOKIE,
        started.token,
        session::LIFETIME_MS / 1000
    );
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response())
}

#[derive(Deserialize)]
pub struct Logout {
    csrf: String,
}

pub async fn logout(
    State(s): State<AppState>,
    headers: HeaderMap,
    Source(source): Source,
    Session(session): Session,
    Form(f): Form<Logout>,
) -> Result<Response, ApiError> {
    let (user, csrf) = session.ok_or(ApiError::Unauthorized)?;
    if f.csrf != csrf {
        return Err(ApiError::Forbidden(
            "the form is stale or came from another site; reload and try again".into(),
        ));
    }
    let token = cookie(&headers, session::COOKIE).unwrap_or_default();
    let now = jiff::Timestamp::now().as_millisecond();
    with(&s.auth, move |c| {
        session::end(c, &token)?;
        Ok(users::audit(
            c,
            Some(&user.name),
            "logout",
            "",
            source.as_deref(),
            now,
        )?)
    })
    .await?;
    let clear = format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=0",
        session::COOKIE
    );
    Ok(([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response())
}

/// `GET /api/v1/me`: who the session belongs to, and its CSRF token for scripts.
pub async fn me(Session(session): Session) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let (user, csrf) = session.ok_or(ApiError::Unauthorized)?;
    Ok(axum::Json(
        serde_json::json!({ "user": user, "csrf": csrf }),
    ))
}

/// A state-changing request from a session must carry the session's CSRF
/// token (form field or `X-CSRF-Token`) and, when the browser says where it
/// comes from, come from this site.
pub fn check_csrf(
    headers: &HeaderMap,
    expected: &str,
    given: Option<&str>,
) -> Result<(), ApiError> {
    let header_token = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    if given.or(header_token) != Some(expected) {
        return Err(ApiError::Forbidden("missing or wrong CSRF token".into()));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let same = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            == Some(host);
        if !same {
            return Err(ApiError::Forbidden("request from another site".into()));
        }
    }
    Ok(())
}
