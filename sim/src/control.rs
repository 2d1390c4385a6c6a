//! The control API: read the devices' state and change it while they run.
//!
//! - `GET  /devices`       every device's state
//! - `GET  /devices/{id}`  one device
//! - `POST /devices/{id}`  apply a change, e.g. `{"channel":"1","recording":false}`,
//!   `{"disk":"1","disk_status":"error"}`, `{"relay_on":true}`,
//!   `{"fault":"overpower"}`, `{"hang":true}`, `{"password":"wrong"}`

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use jiff::Timestamp;

use crate::state::{lock, DeviceState, Patch};
use crate::Served;

pub fn router(devices: Vec<Served>) -> Router {
    Router::new()
        .route("/devices", get(list))
        .route("/devices/{id}", get(show).post(change))
        .with_state(devices)
}

async fn list(State(devices): State<Vec<Served>>) -> Json<Vec<DeviceState>> {
    Json(devices.iter().map(|d| lock(&d.state).clone()).collect())
}

fn find<'a>(devices: &'a [Served], id: &str) -> Result<&'a Served, (StatusCode, String)> {
    devices
        .iter()
        .find(|d| d.id == id)
        .ok_or_else(|| (StatusCode::NOT_FOUND, format!("no device `{id}`\n")))
}

async fn show(
    State(devices): State<Vec<Served>>,
    Path(id): Path<String>,
) -> Result<Json<DeviceState>, (StatusCode, String)> {
    let d = find(&devices, &id)?;
    Ok(Json(lock(&d.state).clone()))
}

async fn change(
    State(devices): State<Vec<Served>>,
    Path(id): Path<String>,
    Json(patch): Json<Patch>,
) -> Result<Json<DeviceState>, (StatusCode, String)> {
    let d = find(&devices, &id)?;
    let mut state = lock(&d.state);
    patch
        .apply(&mut state, Timestamp::now())
        .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, format!("{e}\n")))?;
    tracing::info!(device = %id, ?patch, "device changed");
    Ok(Json(state.clone()))
}
