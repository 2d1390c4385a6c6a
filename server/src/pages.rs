//! Server-rendered pages. For now one: an office's devices as its agent last
//! reported them. Templates live in `server/templates/` and are escaped by
//! minijinja (device names and error texts come from the field).

use axum::extract::{Path, State};
use axum::response::Html;
use minijinja::Environment;
use ronda_wire::{Id, Report};

use crate::http::{ApiError, AppState};

const OFFICE: &str = include_str!("../templates/office.html");

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    // `.html` names turn on HTML escaping.
    if let Err(e) = env.add_template("office.html", OFFICE) {
        tracing::error!(error = %e, "office template does not parse");
    }
    env
}

/// `GET /offices/{office}/{agent}`: the devices of one office.
pub async fn office(
    State(s): State<AppState>,
    Path((office, agent)): Path<(String, String)>,
) -> Result<Html<String>, ApiError> {
    for id in [&office, &agent] {
        Id::new(id.as_str()).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    }
    let row = s
        .reader
        .agent(office.clone(), agent.clone())
        .await?
        .ok_or(ApiError::NotFound)?;
    let report: Option<Report> = row
        .report
        .and_then(|raw| serde_json::from_str(raw.get()).ok());
    let ctx = minijinja::context! { office, agent, report };
    env()
        .get_template("office.html")
        .and_then(|t| t.render(ctx))
        .map(Html)
        .map_err(|e| ApiError::Render(e.to_string()))
}
