//! A public-service web application (the kind an office must keep reachable
//! over the holiday): a login page, or whatever status the control API sets.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;
use axum::Router;

use crate::state::{lock, Shared};

pub fn router(dev: Shared) -> Router {
    Router::new().route("/", get(page)).with_state(dev)
}

async fn page(State(dev): State<Shared>) -> (StatusCode, Html<String>) {
    let (status, name) = {
        let d = lock(&dev);
        (d.status, d.model.clone())
    };
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = if code.is_success() {
        format!("<!doctype html><title>{name}</title><h1>{name}</h1><form><label>NIP</label><input name=nip><button>Masuk</button></form>")
    } else {
        format!("<!doctype html><title>{status}</title><h1>Layanan sedang gangguan</h1>")
    };
    (code, Html(body))
}
