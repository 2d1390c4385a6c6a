//! HTTP surface: the routes (pages, JSON API under `/api/v1/`, `/healthz`,
//! `/metrics`), the security headers and the one error type.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ronda_wire::Id;
use serde_json::json;
use tokio::sync::watch;

use crate::api;
use crate::login::Who;
use crate::metrics::Metrics;
use crate::store::{AgentRow, Reader, StoreError};

#[derive(Clone)]
pub struct AppState {
    pub reader: Reader,
    pub metrics: Arc<Metrics>,
    pub subscribed: watch::Receiver<bool>,
    pub letters: Arc<Vec<ronda_policy::Letter>>,
    pub views: crate::engine::Views,
    pub engine: tokio::sync::mpsc::Sender<crate::engine::worker::Msg>,
    pub admin_token: Option<ronda_common::conf::Secret>,
    /// The demo's capture folder, shown on the email page.
    pub mail_capture: Option<std::path::PathBuf>,
    /// Accounts, sessions and the audit log.
    pub auth: crate::login::AuthDb,
    /// Failed logins per source and account.
    pub limiter: Arc<crate::ratelimit::LoginLimiter>,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: crate::proxy::TrustedProxies,
    /// Office names and contacts, when `offices:` is configured.
    pub registry: Option<Arc<ronda_policy::Registry>>,
    /// The clock pages show times on ([`crate::web::page_zone`]).
    pub tz: jiff::tz::TimeZone,
}

impl AppState {
    /// Ask the policy engine something and wait for its answer. `make`
    /// builds the message around the reply channel.
    pub async fn ask<T>(
        &self,
        make: impl FnOnce(tokio::sync::oneshot::Sender<T>) -> crate::engine::worker::Msg,
    ) -> Result<T, ApiError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.engine
            .send(make(reply))
            .await
            .map_err(|_| ApiError::Unavailable)?;
        answer.await.map_err(|_| ApiError::Unavailable)
    }
}

pub fn app(state: AppState) -> Router {
    use crate::web::{alerts, office, overview, report, servers, sign};
    let sign_path = "/offices/{office}/letters/{letter}";
    Router::new()
        // Open to all: health checks, metrics scrapes, the login form.
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/login", get(crate::login::form).post(crate::login::login))
        .route("/static/live.js", get(crate::web::live_js))
        .route("/lang/{to}", get(crate::web::lang))
        // Everything else takes a session or a token (`login::Who`).
        .route("/logout", post(crate::login::logout))
        .route("/", get(overview::page))
        .route("/wall", get(overview::wall))
        .route("/letters/{letter}", get(overview::letter))
        .route("/letters/{letter}/report", get(report::page))
        .route("/letters/{letter}/report.csv", get(report::csv))
        .route("/offices/{office}", get(office::page))
        .route("/offices/{office}/plug", post(office::plug))
        .route("/offices/{office}/{agent}", get(office::agent))
        .route(sign_path, get(sign::page))
        .route(&format!("{sign_path}/attest"), post(sign::attest))
        .route(&format!("{sign_path}/sign"), post(sign::sign))
        .route(&format!("{sign_path}/withdraw"), post(sign::withdraw))
        .route("/alerts", get(alerts::list))
        .route("/alerts/{id}", get(alerts::one))
        .route("/alerts/{id}/ack", post(alerts::ack))
        .route("/servers", get(servers::page))
        .route("/mail", get(crate::web::mail))
        .route("/audit", get(crate::web::audit))
        .route("/api/v1/me", get(crate::login::me))
        .route("/api/v1/agents", get(list_agents))
        .route("/api/v1/agents/{office}/{agent}", get(one_agent))
        .route("/api/v1/letters", get(api::letters))
        .route("/api/v1/offices/{office}/compliance", get(api::compliance))
        .route("/api/v1/alerts", get(api::alerts))
        .route("/api/v1/alerts/{id}", get(api::alert))
        .route("/api/v1/alerts/{id}/ack", post(api::ack))
        .route("/api/v1/mail", get(api::mail))
        .route("/api/v1/mail/{id}", get(api::mail_one))
        .layer(axum::middleware::map_response(security_headers))
        // No form or API body comes near this; a larger one is an attack.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Largest request body accepted, on every route.
pub const MAX_BODY: usize = 64 << 10;
/// Longest free text a form takes: a note, an explanation.
pub const MAX_TEXT: usize = 4000;

/// Refuse a free-text field longer than [`MAX_TEXT`] bytes, by name.
pub fn bounded(field: &str, value: &str) -> Result<(), ApiError> {
    if value.len() > MAX_TEXT {
        return Err(ApiError::BadRequest(format!(
            "`{field}` is longer than {MAX_TEXT} bytes"
        )));
    }
    Ok(())
}

/// No framing, no sniffing, no referrer leaks, and scripts only from this
/// site (the live pages' one file), so injected markup cannot run. Nothing
/// is cached unless the route says so: a page shown to one user must not
/// be shown from a shared PC's cache to the next.
async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    for (k, v) in [
        ("content-security-policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'"),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
    ] {
        h.insert(k, header::HeaderValue::from_static(v));
    }
    r
}

/// The one error type of the HTTP layer. Internal details go to the log,
/// never to the client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or wrong bearer token")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the policy engine is not running")]
    Unavailable,
    #[error("internal: {0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("page cannot be rendered: {0}")]
    Render(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            ApiError::NotFound => (StatusCode::NOT_FOUND, self.to_string()),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, self.to_string()),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, m.clone()),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, self.to_string()),
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error".to_owned(),
                )
            }
            ApiError::Render(e) => {
                tracing::error!(error = %e, "page rendering failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error".to_owned(),
                )
            }
            ApiError::Store(e) => {
                tracing::error!(error = %e, "store query failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error".to_owned(),
                )
            }
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

async fn healthz(State(s): State<AppState>) -> Response {
    if *s.subscribed.borrow() {
        (StatusCode::OK, Json(json!({ "status": "ok" }))).into_response()
    } else {
        let body = json!({ "status": "degraded", "reason": "not subscribed to the MQTT broker" });
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    }
}

async fn metrics(State(s): State<AppState>) -> Response {
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], s.metrics.encode()).into_response()
}

async fn list_agents(State(s): State<AppState>, who: Who) -> Result<Json<Vec<AgentRow>>, ApiError> {
    let mut agents = s.reader.agents().await?;
    agents.retain(|a| who.user.sees(&a.office));
    Ok(Json(agents))
}

async fn one_agent(
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
