//! Who is asking: the session cookie or an API token becomes a [`Who`] on
//! every route, with its CSRF check and source address; and logging in and
//! out.

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
use crate::ratelimit::Attempt;
use crate::users::{self, devices, session, tokens, Role, User};

/// The connection accounts, sessions and the audit log are written through.
pub type AuthDb = Arc<Mutex<Connection>>;

/// Run `f` on the auth connection on a blocking thread.
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

/// A logged-in user or a script's token. Every route but the login page,
/// `/healthz` and `/metrics` takes one; without it a page redirects to the
/// login form and the API answers 401.
pub struct Who {
    pub user: User,
    /// The session's CSRF token; `None` for a bearer token, which a browser
    /// never sends on its own, so it needs none.
    csrf: Option<String>,
    /// The `X-CSRF-Token` header, for scripts that use a session.
    csrf_header: Option<String>,
    /// No `Origin`, or one naming this host.
    same_origin: bool,
    pub source: Option<String>,
}

impl Who {
    /// The session's token for forms on the page (empty for a script).
    pub fn csrf(&self) -> &str {
        self.csrf.as_deref().unwrap_or("")
    }

    /// A state-changing request from a session must carry its CSRF token
    /// (form field or header) and must not come from another site.
    pub fn check_csrf(&self, form: Option<&str>) -> Result<(), ApiError> {
        let Some(expected) = &self.csrf else {
            return Ok(());
        };
        if form.or(self.csrf_header.as_deref()) != Some(expected.as_str()) {
            return Err(ApiError::Forbidden("missing or wrong CSRF token".into()));
        }
        if !self.same_origin {
            return Err(ApiError::Forbidden("request from another site".into()));
        }
        Ok(())
    }

    /// 404 for an office this user may not see: not even its existence leaks.
    pub fn office(&self, office: &str) -> Result<(), ApiError> {
        if self.user.sees(office) {
            Ok(())
        } else {
            Err(ApiError::NotFound)
        }
    }

    /// 403 unless the user has one of `roles`.
    pub fn role(&self, roles: &[Role], what: &str) -> Result<(), ApiError> {
        if roles.contains(&self.user.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "the {} role cannot {what}",
                self.user.role.as_str()
            )))
        }
    }

    /// Append `action` to the audit log as this user.
    pub async fn audit(
        &self,
        s: &AppState,
        action: &'static str,
        detail: String,
    ) -> Result<(), ApiError> {
        let (name, source) = (self.user.name.clone(), self.source.clone());
        let now = jiff::Timestamp::now().as_millisecond();
        with(&s.auth, move |c| {
            Ok(users::audit(
                c,
                Some(&name),
                action,
                &detail,
                source.as_deref(),
                now,
            )?)
        })
        .await
    }
}

impl FromRequestParts<AppState> for Who {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let source = source(parts, s);
        let found = identify(&parts.headers, s)
            .await
            .map_err(IntoResponse::into_response)?;
        let Some((user, csrf)) = found else {
            let path = parts.uri.path();
            return Err(if path.starts_with("/api/") {
                ApiError::Unauthorized.into_response()
            } else {
                let next = parts.uri.path_and_query().map_or(path, |p| p.as_str());
                Redirect::to(&format!("/login?next={}", urlencode(next))).into_response()
            });
        };
        Ok(Who {
            user,
            csrf,
            csrf_header: parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .map(String::from),
            same_origin: same_origin(&parts.headers),
            source,
        })
    }
}

/// A bearer token (the configured admin token or a stored API token) or the
/// session cookie.
async fn identify(h: &HeaderMap, s: &AppState) -> Result<Option<(User, Option<String>)>, ApiError> {
    if let Some(given) = bearer(h) {
        if let Some(admin) = &s.admin_token {
            if constant_time_eq(given.as_bytes(), admin.expose().as_bytes()) {
                let user = User {
                    name: "admin-token".into(),
                    role: Role::Admin,
                    office: None,
                    disabled: false,
                };
                return Ok(Some((user, None)));
            }
        }
        let user = with(&s.auth, move |c| tokens::find(c, &given)).await?;
        // A wrong token is an error, not a fall-back to the cookie.
        return user.map(|u| Some((u, None))).ok_or(ApiError::Unauthorized);
    }
    let Some(token) = cookie(h, session::COOKIE) else {
        return Ok(None);
    };
    let now = jiff::Timestamp::now().as_millisecond();
    let found = with(&s.auth, move |c| session::find(c, &token, now)).await?;
    Ok(found.map(|(u, csrf)| (u, Some(csrf))))
}

fn bearer(h: &HeaderMap) -> Option<String> {
    h.get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_owned())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Where the request came from, for the audit log and the login throttle.
pub struct Source(pub Option<String>);

impl FromRequestParts<AppState> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Source(source(parts, s)))
    }
}

/// The peer, or the client a trusted proxy names (`http.trusted_proxies`).
fn source(parts: &Parts, s: &AppState) -> Option<String> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    Some(s.trusted_proxies.client(peer, &parts.headers).to_string())
}

/// Browsers send `Origin` on every cross-site POST; a missing one is a
/// script or an old browser, which the CSRF token still covers.
fn same_origin(h: &HeaderMap) -> bool {
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => {
            origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                == Some(host)
        }
    }
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

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
    match crate::web::render_plain("login.html", ctx) {
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

/// Reasons a login is refused before its password is checked, the labels of
/// `ronda_login_refused_total`.
pub const REFUSALS: [&str; 3] = ["throttled", "busy", "too_long"];
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
        s.metrics.refuse_login("too_long");
        let msg = "Nama atau kata sandi terlalu panjang / name or password too long";
        return Ok(page(StatusCode::BAD_REQUEST, Some(msg), None, "/"));
    }
    let next = match c.next.as_deref() {
        Some(n) if n.len() > MAX_NEXT => "/",
        n => local_path(n),
    }
    .to_owned();
    let Some(slot) = s.limiter.hashing() else {
        s.metrics.refuse_login("busy");
        let msg = "Server sibuk; coba lagi / the server is busy; try again";
        return Ok(retry_after(
            page(StatusCode::TOO_MANY_REQUESTS, Some(msg), Some(&name), &next),
            1,
        ));
    };
    let now = jiff::Timestamp::now().as_millisecond();
    let (who, device) = (name.clone(), cookie(&headers, devices::COOKIE));
    let (found, known_device) = with(&s.auth, move |conn| {
        let known = match device {
            Some(t) => devices::known(conn, &who, &t, now)?,
            None => None,
        };
        Ok((users::account(conn, &who)?, known))
    })
    .await?;
    let attempt = Attempt {
        name: name.clone(),
        source: src.unwrap_or_else(|| "unknown".into()),
        known_device,
    };
    if let Err(wait) = s.limiter.begin(&attempt, std::time::Instant::now()) {
        s.metrics.refuse_login("throttled");
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
    s.metrics.password_checks.inc();
    // Off the auth lock, which every request's session lookup takes. The
    // slot goes with the hash, so a client that hangs up frees it only
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
    let remember = attempt.known_device.is_none();
    let (started, device) = with(&s.auth, move |conn| {
        let device = remember
            .then(|| devices::remember(conn, &user.name, now))
            .transpose()?;
        Ok((session::start(conn, &user.name, now)?, device))
    })
    .await?;
    // A fresh id at every login; HttpOnly, SameSite=Strict, and Secure,
    // which `__Host-` requires (browsers accept it on http://localhost).
    let cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age={}",
        session::COOKIE,
        started.token,
        session::LIFETIME_MS / 1000
    );
    let mut r = ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response();
    if let Some(Ok(v)) = device.map(|t| devices::set_cookie(&t).parse()) {
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
    with(&s.auth, move |conn| {
        Ok(users::audit(
            conn,
            Some(&who),
            outcome,
            "",
            Some(&source),
            now,
        )?)
    })
    .await
}

#[derive(Deserialize)]
pub struct Logout {
    csrf: String,
}

pub async fn logout(
    State(s): State<AppState>,
    headers: HeaderMap,
    who: Who,
    Form(f): Form<Logout>,
) -> Result<Response, ApiError> {
    who.check_csrf(Some(&f.csrf))?;
    let token = cookie(&headers, session::COOKIE).unwrap_or_default();
    with(&s.auth, move |c| session::end(c, &token)).await?;
    who.audit(&s, "logout", String::new()).await?;
    let clear = format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=0",
        session::COOKIE
    );
    Ok(([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response())
}

/// `GET /api/v1/me`: who is asking, and the session's CSRF token for scripts.
pub async fn me(who: Who) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "user": who.user, "csrf": who.csrf }))
}
