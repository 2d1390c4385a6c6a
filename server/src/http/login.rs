//! The login form: logging in (throttled, and counted before the password
//! is checked; see [`crate::http::ratelimit`]) and out.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::auth::{cookie, same_origin, Source, Who};
use crate::http::error::ApiError;
use crate::http::ratelimit::Attempt;
use crate::http::state::AppState;
use crate::metrics::LoginRefused as Refused;
use crate::store::users::{self, devices, session};

/// Only a path on this site: never `//evil` or `https://…`.
fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.chars().all(|c| c.is_ascii_graphic() && c != '\\') =>
        {
            n
        }
        _ => "/",
    }
}

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

fn page(status: StatusCode, error: Option<&str>, name: Option<&str>, next: &str) -> Response {
    let ctx = minijinja::context! { error, name, next };
    match crate::http::pages::render_plain("login.html", ctx) {
        Ok(h) => (status, h).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn form(axum::extract::Query(q): axum::extract::Query<Next>) -> Response {
    page(StatusCode::OK, None, None, local_path(q.next.as_deref()))
}

#[derive(Deserialize)]
pub struct Credentials {
    name: String,
    password: String,
    next: Option<String>,
}

/// Longest password checked: argon2 takes any length, the form need not.
const MAX_PASSWORD: usize = 1024;
/// Longest `next` path kept.
const MAX_NEXT: usize = 2048;

pub async fn login(
    State(s): State<AppState>,
    headers: HeaderMap,
    Source(src): Source,
    Form(c): Form<Credentials>,
) -> Result<Response, ApiError> {
    // Logging a victim into an attacker's account is an attack too.
    if !same_origin(&headers) {
        return Err(ApiError::Forbidden("request from another site".into()));
    }
    let name = c.name.trim().to_owned();
    // Before anything is stored or counted: the name goes into the audit
    // log and the throttle's keys.
    if name.len() > users::MAX_NAME || c.password.len() > MAX_PASSWORD {
        s.metrics.refuse_login(Refused::TooLong.label());
        let msg = "Nama atau kata sandi terlalu panjang / name or password too long";
        return Ok(page(StatusCode::BAD_REQUEST, Some(msg), None, "/"));
    }
    let next = match c.next.as_deref() {
        Some(n) if n.len() > MAX_NEXT => "/",
        n => local_path(n),
    }
    .to_owned();
    let now = jiff::Timestamp::now().as_millisecond();
    let device = cookie(&headers, devices::COOKIE);
    let (who, token) = (name.clone(), device.clone());
    let (found, known_device) =
        s.db.read(move |conn| {
            let known = match token {
                Some(t) => devices::known(conn, &who, &t, now)?,
                None => None,
            };
            Ok::<_, users::UserError>((users::account(conn, &who)?, known))
        })
        .await??;
    let attempt = Attempt {
        name: name.clone(),
        source: src.unwrap_or_else(|| "unknown".into()),
        known_device,
    };
    if let Err(wait) = s.limiter.begin(&attempt, std::time::Instant::now()) {
        s.metrics.refuse_login(Refused::Throttled.label());
        let msg = format!(
            "Terlalu banyak percobaan; coba lagi dalam {m} menit / too many attempts; try again in {m} min",
            m = wait.as_secs().div_ceil(60)
        );
        let r = page(
            StatusCode::TOO_MANY_REQUESTS,
            Some(&msg),
            Some(&name),
            &next,
        );
        return Ok(retry_after(r, wait.as_secs()));
    }
    // Only an attempt that is counted and will be hashed takes a slot, so
    // throttled requests cannot keep the owner's out.
    let Some(slot) = s.limiter.hashing() else {
        s.limiter.refund(&attempt);
        s.metrics.refuse_login(Refused::Busy.label());
        let msg = "Server sibuk; coba lagi / the server is busy; try again";
        let r = page(StatusCode::TOO_MANY_REQUESTS, Some(msg), Some(&name), &next);
        return Ok(retry_after(r, 1));
    };
    s.metrics.password_checks.inc();
    // On the blocking pool, not on a database connection or a runtime
    // worker: argon2 takes tens of milliseconds. The slot goes with the hash, so a client that hangs up frees it only
    // when the hash is done.
    let user = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        users::check(found, &c.password)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let Some(user) = user else {
        audit_login(&s, &attempt, "login.failed", now).await?;
        let msg = "Nama atau kata sandi salah / wrong name or password";
        return Ok(page(
            StatusCode::UNAUTHORIZED,
            Some(msg),
            Some(&name),
            &next,
        ));
    };
    s.limiter.succeeded(&attempt);
    audit_login(&s, &attempt, "login", now).await?;
    let (started, device) =
        s.db.write(move |conn| {
            let device = devices::remember(conn, &user.name, device.as_deref(), now)?;
            Ok::<_, users::UserError>((session::start(conn, &user.name, now)?, device))
        })
        .await??;
    // A fresh id at every login; HttpOnly, SameSite=Strict, and Secure,
    // which `__Host-` requires (browsers accept it on http://localhost).
    let cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age={}",
        session::COOKIE,
        started.token,
        session::LIFETIME_MS / 1000
    );
    let mut r = ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response();
    if let Ok(v) = devices::set_cookie(&device).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

fn retry_after(mut r: Response, secs: u64) -> Response {
    if let Ok(v) = secs.to_string().parse() {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

async fn audit_login(
    s: &AppState,
    a: &Attempt,
    outcome: &'static str,
    now: i64,
) -> Result<(), ApiError> {
    let (who, source) = (a.name.clone(), a.source.clone());
    s.db.write(move |conn| {
        crate::store::audit::append(conn, Some(&who), outcome, "", Some(&source), now)
    })
    .await??;
    Ok(())
}

pub async fn logout(
    State(s): State<AppState>,
    headers: HeaderMap,
    who: Who,
    Form(f): Form<super::auth::CsrfForm>,
) -> Result<Response, ApiError> {
    who.check_csrf(Some(&f.csrf))?;
    let token = cookie(&headers, session::COOKIE).unwrap_or_default();
    s.db.write(move |c| session::end(c, &token)).await??;
    who.audit(&s, "logout", String::new()).await?;
    let clear = format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=0",
        session::COOKIE
    );
    Ok(([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response())
}
