//! The web side: the routes (pages, the JSON API under `/api/v1/`,
//! `/healthz`, `/metrics`), the security headers, and the parts below.
//!
//! - [`state`]: what every handler is given; [`error`]: the one error type.
//! - [`auth`]: who is asking; [`login`]: the login form; [`ratelimit`]: its throttle;
//!   [`password`]: setting a password through a one-time link.
//! - [`api`]: JSON for scripts; [`pages`]: HTML for people.
//! - [`serve`]: connections, limits and TLS ([`https`]); [`proxy`]: who a proxy forwards.

pub mod api;
pub mod auth;
pub mod error;
pub mod https;
pub mod login;
pub mod pages;
pub mod password;
pub mod proxy;
pub mod ratelimit;
pub mod serve;
pub mod state;
pub mod telegram;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

pub use error::{bounded, ApiError, MAX_BODY, MAX_TEXT};
pub use state::AppState;

pub fn app(state: AppState) -> Router {
    use pages::{alerts, office, overview, report, servers, sign, views};
    let sign_path = "/offices/{office}/letters/{letter}";
    Router::new()
        // Open to all: health checks, metrics scrapes, the login form.
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/login", get(login::form).post(login::login))
        // A one-time link from `user sync`: the token is the credential.
        .route("/password/{token}", get(password::form))
        .route("/password", post(password::set))
        .route("/static/live.js", get(pages::live_js))
        .route("/lang/{to}", get(pages::lang))
        // Everything else takes a session or a token (`auth::Who`).
        .route("/logout", post(login::logout))
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
        .route("/offices/{office}/views/snapshot", post(views::snapshot))
        .route("/offices/{office}/views/pin", post(views::pin))
        .route("/offices/{office}/views/unpin", post(views::unpin))
        .route("/alerts", get(alerts::list))
        .route("/alerts/{id}", get(alerts::one))
        .route("/alerts/{id}/ack", post(alerts::ack))
        .route("/servers", get(servers::page))
        .route("/outbox", get(pages::mail))
        // The page's name before Telegram and webhooks joined email.
        .route(
            "/mail",
            get(|| async { axum::response::Redirect::permanent("/outbox") }),
        )
        .route("/telegram", get(telegram::page))
        .route("/telegram/code", post(telegram::code))
        .route("/telegram/unlink", post(telegram::unlink))
        // The Bot API's webhook: its secret header is the credential.
        .route(
            "/telegram/updates",
            post(telegram::updates)
                .layer(axum::extract::DefaultBodyLimit::max(telegram::MAX_UPDATE)),
        )
        .route("/audit", get(pages::audit))
        .route("/api/v1/me", get(auth::me))
        .route("/api/v1/agents", get(api::list_agents))
        .route("/api/v1/agents/{office}/{agent}", get(api::one_agent))
        .route("/api/v1/letters", get(api::letters))
        .route("/api/v1/offices/{office}/compliance", get(api::compliance))
        .route("/api/v1/offices/{office}/views", get(views::api))
        .route("/api/v1/alerts", get(api::alerts))
        .route("/api/v1/alerts/{id}", get(api::alert))
        .route("/api/v1/alerts/{id}/ack", post(api::ack))
        .route("/api/v1/outbox", get(api::mail))
        .route("/api/v1/outbox/{id}", get(api::mail_one))
        // The names before Telegram and webhooks; kept for scripts.
        .route("/api/v1/mail", get(api::mail))
        .route("/api/v1/mail/{id}", get(api::mail_one))
        .layer(axum::middleware::map_response(security_headers))
        // No form or API body comes near this; a larger one is an attack.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Scripts and styles from this site only; no framing; forms post here.
pub(crate) const CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'";

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
    // A route may set a stricter or wider policy of its own (the live
    // snapshot shows its picture as a `data:` image).
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static(CSP),
        );
    }
    for (k, v) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
    ] {
        h.insert(k, header::HeaderValue::from_static(v));
    }
    r
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
