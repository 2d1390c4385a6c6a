//! Simulated hikvision device.

use axum::Router;

use crate::state::Shared;

pub fn router(dev: Shared) -> Router {
    let _ = dev;
    Router::new()
}
