//! HTTP surface: JSON API under `/api/v1/`, `/healthz`, `/metrics` and a
//! plain start page.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ronda_wire::Id;
use serde_json::json;
use tokio::sync::watch;

use crate::api;
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
    pub admin_token: Option<ronda_agent::conffile::Secret>,
    /// The demo's capture folder, shown on the email page.
    pub mail_capture: Option<std::path::PathBuf>,
    /// Accounts, sessions and the audit log.
    pub auth: crate::login::AuthDb,
}

pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/agents", get(list_agents))
        .route("/api/v1/agents/{office}/{agent}", get(one_agent))
        .route("/api/v1/letters", get(api::letters))
        .route("/api/v1/offices/{office}/compliance", get(api::compliance))
        .route("/api/v1/alerts", get(api::alerts))
        .route("/api/v1/alerts/{id}", get(api::alert))
        .route("/api/v1/alerts/{id}/ack", post(api::ack))
        .route("/login", get(crate::login::form).post(crate::login::login))
        .route("/logout", post(crate::login::logout))
        .route("/offices/{office}/letters/{letter}", get(crate::sign::page))
        .route(
            "/offices/{office}/letters/{letter}/attest",
            post(crate::sign::attest),
        )
        .route(
            "/offices/{office}/letters/{letter}/sign",
            post(crate::sign::sign),
        )
        .route(
            "/offices/{office}/letters/{letter}/withdraw",
            post(crate::sign::withdraw),
        )
        .route("/api/v1/me", get(crate::login::me))
        .route("/api/v1/mail", get(api::mail))
        .route("/api/v1/mail/{id}", get(api::mail_one))
        .route("/mail", get(crate::pages::mail))
        .route("/letters/{letter}", get(crate::pages::letter))
        .route("/offices/{office}/{agent}", get(crate::pages::office))
        .with_state(state)
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

async fn list_agents(State(s): State<AppState>) -> Result<Json<Vec<AgentRow>>, ApiError> {
    Ok(Json(s.reader.agents().await?))
}

async fn one_agent(
    State(s): State<AppState>,
    Path((office, agent)): Path<(String, String)>,
) -> Result<Json<AgentRow>, ApiError> {
    for id in [&office, &agent] {
        Id::new(id.as_str()).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    }
    s.reader
        .agent(office, agent)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}

/// A plain page so the demo has something to open in a browser. The real
/// dashboard is its own piece of work; this lists agents and links the API.
async fn index(State(s): State<AppState>) -> Result<Html<String>, ApiError> {
    let agents = s.reader.agents().await?;
    let mut rows = String::new();
    for a in &agents {
        // Ids are [a-z0-9-] by construction, so they need no escaping.
        let state = if a.online { "online" } else { "offline" };
        let seen = a
            .last_seen
            .map(|t| t.to_string())
            .unwrap_or_else(|| "never".into());
        rows.push_str(&format!(
            "<tr><td><a href=\"/offices/{o}/{g}\">{o}</a></td><td><a href=\"/api/v1/agents/{o}/{g}\">{g}</a></td><td class=\"{state}\">{state}</td><td>{seen}</td><td>{seq}</td></tr>\n",
            o = a.office,
            g = a.agent,
            seq = a.last_seq.map(|s| s.to_string()).unwrap_or_default(),
        ));
    }
    let letters: String = s
        .letters
        .iter()
        .map(|l| {
            let state = if l.enforced_at(jiff::Timestamp::now()) {
                "berlaku / in force"
            } else {
                "tidak berlaku / not in force"
            };
            // Letter ids are [a-z0-9-] by construction; titles are escaped.
            format!(
                "<li><a href=\"/letters/{id}\">{title}</a> ({state})</li>",
                id = l.id,
                title = escape(&l.title)
            )
        })
        .collect();
    let letters = if letters.is_empty() {
        String::new()
    } else {
        format!("<h2>Surat edaran / Letters</h2><ul>{letters}</ul>")
    };
    Ok(Html(format!(
        "<!doctype html><html lang=\"id\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>Ronda</title><style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{padding:.3em .8em;border-bottom:1px solid #ccc;text-align:left}}\
.online{{color:#075e00}}.offline{{color:#a00;font-weight:bold}}</style></head><body>\
<h1>Ronda</h1><p>{n} agen terdaftar / {n} agents known. <a href=\"/api/v1/agents\">API</a> · <a href=\"/mail\">email</a> · <a href=\"/metrics\">metrics</a> · <a href=\"/healthz\">healthz</a></p>\
{letters}<h2>Agen / Agents</h2><table><tr><th>Kantor / Office</th><th>Agen / Agent</th><th>Status</th><th>Laporan terakhir / Last report</th><th>Seq</th></tr>\n{rows}</table></body></html>",
        n = agents.len()
    )))
}

/// Minimal HTML escaping for text placed between tags.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
