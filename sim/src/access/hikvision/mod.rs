//! Simulated Hikvision access terminal (DS-K1T style) over ISAPI with
//! digest auth (the guard in `crate::auth`), written from
//! docs/vendors/hikvision-access.md:
//!
//! * `POST /ISAPI/AccessControl/AcsEvent?format=json`: the event search (§1, `search`);
//! * `GET /ISAPI/AccessControl/AcsEvent/capabilities?format=json`: the
//!   `maxResults` maximum and the codes it logs (§1, §6);
//! * `GET /ISAPI/AccessControl/AcsWorkStatus?format=json`: doors, mains,
//!   tamper (§3);
//! * `GET /ISAPI/System/time` (§4) and `GET /ISAPI/System/deviceInfo`.
//!
//! Times follow the device's own clock (`clock_skew_s`) on its wall clock
//! (`utc_offset_s`). The firmware variant `serial_window: false` ignores
//! `beginSerialNo`/`endSerialNo`.

pub mod search;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use minijinja::context;
use serde_json::{json, Value};

use super::DoorMode;
use crate::fixture::render;
use crate::hikvision::{numeric, posix};
use crate::state::{lock, Shared};
use search::{answer, page, Cond};

const DEVICE_INFO: &str = include_str!("../../../templates/hikvision/access_device_info.xml");
const SYSTEM_TIME: &str = include_str!("../../../templates/hikvision/system_time.xml");

/// A search condition is a few hundred bytes; anything much larger is not one.
const MAX_BODY: usize = 16 * 1024;

pub fn router(dev: Shared) -> Router {
    Router::new()
        .route("/ISAPI/System/deviceInfo", get(device_info))
        .route("/ISAPI/System/time", get(system_time))
        .route(
            "/ISAPI/AccessControl/AcsEvent",
            post(events).layer(DefaultBodyLimit::max(MAX_BODY)),
        )
        .route(
            "/ISAPI/AccessControl/AcsEvent/capabilities",
            get(capabilities),
        )
        .route("/ISAPI/AccessControl/AcsWorkStatus", get(work_status))
        .fallback(not_found)
        .with_state(dev)
}

/// `JSON_ResponseStatus` for a request the device cannot serve. The doc
/// names the message without its fields; these are the XML
/// `ResponseStatus` fields the NVR answers with, in JSON.
fn status_answer(code: StatusCode, url: &str, detail: &str) -> Response {
    let (status_code, status_string, sub) = match code {
        StatusCode::BAD_REQUEST => (6, "Invalid Content", "badJsonContent"),
        _ => (4, "Invalid Operation", "notSupport"),
    };
    let body = json!({
        "requestURL": url,
        "statusCode": status_code,
        "statusString": status_string,
        "subStatusCode": sub,
        "errorMsg": detail,
    });
    (code, Json(body)).into_response()
}

async fn not_found(uri: Uri) -> Response {
    status_answer(StatusCode::NOT_FOUND, uri.path(), "")
}

async fn events(State(dev): State<Shared>, body: String) -> Response {
    let d = lock(&dev).clone();
    let cond = match Cond::parse(&body, d.offset()) {
        Ok(c) => c,
        Err(e) => {
            return status_answer(
                StatusCode::BAD_REQUEST,
                "/ISAPI/AccessControl/AcsEvent",
                &e.to_string(),
            )
        }
    };
    let p = page(&cond, &d.access);
    Json(answer(&cond, &p, &d.access, d.offset())).into_response()
}

/// The minor codes this terminal logs (`search::codes`), by major, for
/// the capability lists.
fn minors(major: u32) -> &'static str {
    match major {
        1 => "1028,1029",
        2 => "1024,1029,1030",
        3 => "1024",
        _ => "6,25,26,27,28,75,80,152",
    }
}

/// `JSON_Cap_AcsEvent` ([ACP] §6.1.16): the `@opt`/`@max` notation is the
/// doc's; the `AcsEvent` wrapper is our reading of the message name and
/// not confirmed.
async fn capabilities(State(dev): State<Shared>) -> Json<Value> {
    let d = lock(&dev).clone();
    Json(json!({
        "AcsEvent": {
            "AcsEventCond": {
                "searchID": {"@min": 1, "@max": 32},
                "searchResultPosition": {"@min": 0, "@max": 100_000},
                "maxResults": {"@min": 1, "@max": d.access.max_results},
                "major": {"@opt": "0,1,2,3,5"},
                "minorAlarm": {"@opt": minors(1)},
                "minorException": {"@opt": minors(2)},
                "minorOperation": {"@opt": minors(3)},
                "minorEvent": {"@opt": minors(5)},
                "beginSerialNo": {"@min": 1, "@max": 2_147_483_647},
                "endSerialNo": {"@min": 1, "@max": 2_147_483_647},
            }
        }
    }))
}

/// `JSON_AcsWorkStatus` (§3): arrays indexed by door from 1.
async fn work_status(State(dev): State<Shared>) -> Json<Value> {
    let d = lock(&dev).clone();
    let a = &d.access;
    let lock_status: Vec<u8> = a
        .doors
        .iter()
        .map(|door| u8::from(door.mode == DoorMode::RemainOpen))
        .collect();
    let door_status: Vec<u8> = a
        .doors
        .iter()
        .map(|door| match door.mode {
            DoorMode::Sleep => 1,
            DoorMode::RemainOpen => 2,
            DoorMode::RemainClosed => 3,
            DoorMode::Normal => 4,
        })
        .collect();
    let magnetic: Vec<u8> = a.doors.iter().map(|door| u8::from(door.open)).collect();
    let supply = if a.mains {
        "ACPowerSupply"
    } else {
        "BatteryPowerSupply"
    };
    // What "open" means here is not confirmed (§3): the simulated device
    // says "open" while its case is open.
    let case = if a.tamper { "open" } else { "close" };
    Json(json!({
        "AcsWorkStatus": {
            "doorLockStatus": lock_status,
            "doorStatus": door_status,
            "magneticStatus": magnetic,
            "caseStatus": [],
            "batteryVoltage": if a.mains { 136 } else { 121 },
            "batteryLowVoltage": false,
            "powerSupplyStatus": supply,
            "multiDoorInterlockStatus": "close",
            "antiSneakStatus": "close",
            "hostAntiDismantleStatus": case,
            "indicatorLightStatus": "onLine",
            "cardReaderOnlineStatus": [1],
            "cardReaderAntiDismantleStatus": [],
            "cardNum": 0,
        }
    }))
}

fn xml(body: String) -> Response {
    (
        [("content-type", "application/xml; charset=\"UTF-8\"")],
        body,
    )
        .into_response()
}

async fn device_info(State(dev): State<Shared>) -> Response {
    let d = lock(&dev).clone();
    xml(render(
        "access_device_info",
        DEVICE_INFO,
        context! { model => d.model, firmware => d.firmware, serial => d.serial },
    ))
}

/// The device's clock (skew included) on its wall clock, with the POSIX
/// zone Hikvision writes (§4).
async fn system_time(State(dev): State<Shared>) -> Response {
    let (local, zone) = {
        let d = lock(&dev);
        let wall = d
            .offset()
            .to_datetime(d.now())
            .strftime("%Y-%m-%dT%H:%M:%S");
        (format!("{wall}{}", numeric(d.offset())), posix(d.offset()))
    };
    xml(render("system_time", SYSTEM_TIME, context! { local, zone }))
}
