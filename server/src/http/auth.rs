//! Who is asking: the session cookie or an API token becomes a [`Who`] on
//! every route, with its CSRF check and source address. Logging in and out
//! is the login module's.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};

use super::error::ApiError;
use super::state::AppState;
use crate::store::users::{session, tokens, Role, User};

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
    /// A person who acts through another channel than the web (the
    /// Telegram account linked to `user`): no session, so no CSRF token to
    /// check, and `source` says where they were.
    pub fn linked(user: User, source: String) -> Who {
        Who {
            user,
            csrf: None,
            csrf_header: None,
            same_origin: true,
            source: Some(source),
        }
    }

    /// Signed in through the login form (not a script's bearer token).
    pub fn in_session(&self) -> bool {
        self.csrf.is_some()
    }

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
        s.db.write(move |c| {
            crate::store::audit::append(c, Some(&name), action, &detail, source.as_deref(), now)
        })
        .await??;
        Ok(())
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
        let user = s.db.read(move |c| tokens::find(c, &given)).await??;
        // A wrong token is an error, not a fall-back to the cookie.
        return user.map(|u| Some((u, None))).ok_or(ApiError::Unauthorized);
    }
    let Some(token) = cookie(h, session::COOKIE) else {
        return Ok(None);
    };
    let now = jiff::Timestamp::now().as_millisecond();
    let found = s.db.read(move |c| session::find(c, &token, now)).await??;
    Ok(found.map(|(u, csrf)| (u, Some(csrf))))
}

fn bearer(h: &HeaderMap) -> Option<String> {
    h.get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_owned())
}

/// A form that carries nothing but its CSRF token (log out, make a link
/// code, unlink).
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

/// Equal bytes, compared in time that does not depend on where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
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
pub(crate) fn same_origin(h: &HeaderMap) -> bool {
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

/// `GET /api/v1/me`: who is asking, and the session's CSRF token for scripts.
pub async fn me(who: Who) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "user": who.user, "csrf": who.csrf }))
}
