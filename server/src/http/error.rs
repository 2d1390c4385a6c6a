//! The one error type of the web side, and the limits on what a request may
//! carry. Internal details go to the log, never to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::store::StoreError;

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
    /// Asked too often: a limit per user, with when to try again.
    #[error("{0}")]
    TooMany(String),
    /// An agent answered, but not with what was asked.
    #[error("{0}")]
    BadGateway(String),
    /// An agent did not answer in time.
    #[error("{0}")]
    GatewayTimeout(String),
    /// The engine did not answer: it is stopping, or this server shares its
    /// database and another one leads (only the leader's engine acts).
    #[error("the policy engine is not taking requests here now (where two servers share a database, the one that leads does); try again in a moment")]
    Unavailable,
    #[error("internal: {0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("page cannot be rendered: {0}")]
    Render(String),
}

/// A query that failed is the server's problem, not the client's.
impl From<crate::store::sql::Error> for ApiError {
    fn from(e: crate::store::sql::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}

/// An account query that failed is the server's problem, not the client's.
impl From<crate::store::users::UserError> for ApiError {
    fn from(e: crate::store::users::UserError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            ApiError::NotFound => (StatusCode::NOT_FOUND, self.to_string()),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, self.to_string()),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, m.clone()),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
            ApiError::TooMany(m) => (StatusCode::TOO_MANY_REQUESTS, m.clone()),
            ApiError::BadGateway(m) => (StatusCode::BAD_GATEWAY, m.clone()),
            ApiError::GatewayTimeout(m) => (StatusCode::GATEWAY_TIMEOUT, m.clone()),
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
