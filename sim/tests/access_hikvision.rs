//! The simulated Hikvision access terminal over real HTTP with digest MD5,
//! held to docs/vendors/hikvision-access.md: the event search pages as §1
//! says (MORE across pages, `maxResults` cut to the device maximum without
//! a word), a wrong password is refused, and the faults set through the
//! control API show in its answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::doors::{cond, start, Doors};
use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use ronda_agent::probe::ProbeError;
use ronda_sim::access::layout::{hikvision_terminal, GUARD, STAFF};
use ronda_sim::state::{lock, Patch};
use serde_json::{json, Value};

const ID: &str = "pintu-depan";
const PASSWORD: &str = "Pintu2018";
const SEARCH: &str = "/ISAPI/AccessControl/AcsEvent?format=json";

async fn terminal() -> Doors {
    start(vec![hikvision_terminal()]).await
}

/// POST a search body: the status and the answer as JSON.
async fn search(doors: &Doors, body: String) -> (u16, Value) {
    let a = doors
        .terminal(ID, PASSWORD)
        .send(Method::POST, SEARCH, Some(("application/json", body)))
        .await
        .unwrap();
    (a.status.as_u16(), serde_json::from_str(&a.body).unwrap())
}

async fn ok_search(doors: &Doors, body: String) -> Value {
    let (status, v) = search(doors, body).await;
    assert_eq!(status, 200, "{v}");
    v["AcsEvent"].clone()
}

async fn get_json(doors: &Doors, path: &str) -> Value {
    let body = doors.terminal(ID, PASSWORD).get(path).await.unwrap();
    serde_json::from_str(&body).unwrap()
}

fn serials(page: &Value) -> Vec<u64> {
    page["InfoList"]
        .as_array()
        .map(|l| l.iter().map(|e| e["serialNo"].as_u64().unwrap()).collect())
        .unwrap_or_default()
}

/// `n` entries by the staff member, straight into the device's state.
fn entries(doors: &Doors, n: usize) {
    let served = doors.sim.device(ID).unwrap();
    let mut d = lock(&served.state);
    for _ in 0..n {
        let p = Patch {
            door_event: Some(ronda_sim::access::DoorAction::Entry),
            user: Some(STAFF.into()),
            ..Patch::default()
        };
        p.apply(&mut d, Timestamp::now()).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paged_search_says_more_and_is_cut_to_the_device_maximum() {
    let doors = terminal().await;
    // The power-on, then 20 entries of three events each: 61 in all.
    entries(&doors, 20);
    let first = ok_search(&doors, cond(0, 100, json!({}))).await;
    assert_eq!(first["searchID"], "test-1");
    assert_eq!(first["responseStatusStrg"], "MORE");
    assert_eq!(first["numOfMatches"], 30, "cut to the maximum of 30");
    assert_eq!(first["totalMatches"], 61);
    let second = ok_search(&doors, cond(30, 100, json!({}))).await;
    assert_eq!(
        (&second["responseStatusStrg"], &second["numOfMatches"]),
        (&json!("MORE"), &json!(30))
    );
    let last = ok_search(&doors, cond(60, 100, json!({}))).await;
    assert_eq!(
        (&last["responseStatusStrg"], &last["numOfMatches"]),
        (&json!("OK"), &json!(1))
    );
    let all: Vec<u64> = [&first, &second, &last]
        .iter()
        .flat_map(|p| serials(p))
        .collect();
    assert_eq!(
        all,
        (1..=61).collect::<Vec<_>>(),
        "every serial once, rising"
    );
    let past = ok_search(&doors, cond(61, 30, json!({}))).await;
    assert_eq!(past["responseStatusStrg"], "NO MATCH");
    assert_eq!(past["numOfMatches"], 0);
    assert!(past.get("InfoList").is_none(), "{past}");

    // A smaller ask than the maximum is honoured.
    let small = ok_search(&doors, cond(0, 5, json!({}))).await;
    assert_eq!(serials(&small), [1, 2, 3, 4, 5]);
    // Newest first when asked.
    let newest = ok_search(&doors, cond(0, 2, json!({"timeReverseOrder": true}))).await;
    assert_eq!(serials(&newest), [61, 60]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_pick_by_code_serial_person_and_time() {
    let doors = terminal().await;
    entries(&doors, 3);
    let grants = ok_search(&doors, cond(0, 30, json!({"major": 5, "minor": 75}))).await;
    assert_eq!(grants["totalMatches"], 3);
    let e = &grants["InfoList"][0];
    assert_eq!(
        (&e["major"], &e["minor"], &e["doorNo"]),
        (&json!(5), &json!(75), &json!(1))
    );
    assert_eq!(e["employeeNoString"], STAFF);
    assert_eq!(e["currentVerifyMode"], "face");
    assert!(e["time"].as_str().unwrap().ends_with("+07:00"), "{e}");

    // The Java client's resume: beginSerialNo = last + 1.
    let after = ok_search(
        &doors,
        cond(
            0,
            30,
            json!({"beginSerialNo": 8, "endSerialNo": 2_147_483_647}),
        ),
    )
    .await;
    assert_eq!(serials(&after), [8, 9, 10]);
    let mine = ok_search(&doors, cond(0, 30, json!({"employeeNoString": GUARD}))).await;
    assert_eq!(mine["responseStatusStrg"], "NO MATCH");
    let attendance = ok_search(&doors, cond(0, 30, json!({"eventAttribute": "attendance"}))).await;
    assert_eq!(attendance["totalMatches"], 3);

    let later = (Timestamp::now() + SignedDuration::from_hours(1))
        .strftime("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string();
    let none = ok_search(&doors, cond(0, 30, json!({"startTime": later}))).await;
    assert_eq!(none["responseStatusStrg"], "NO MATCH");
    let earlier = (Timestamp::now() - SignedDuration::from_hours(1))
        .strftime("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string();
    let some = ok_search(&doors, cond(0, 30, json!({"startTime": earlier}))).await;
    assert_eq!(some["totalMatches"], 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firmware_without_the_serial_window_ignores_it() {
    let doors = terminal().await;
    entries(&doors, 2);
    doors.change(ID, json!({"serial_window": false})).await;
    let page = ok_search(&doors, cond(0, 30, json!({"beginSerialNo": 6}))).await;
    assert_eq!(serials(&page), [1, 2, 3, 4, 5, 6, 7]);
    doors
        .change(ID, json!({"max_results": 24, "serial_window": true}))
        .await;
    entries(&doors, 10);
    let cut = ok_search(&doors, cond(0, 30, json!({}))).await;
    assert_eq!(cut["numOfMatches"], 24);
    let caps = get_json(
        &doors,
        "/ISAPI/AccessControl/AcsEvent/capabilities?format=json",
    )
    .await;
    assert_eq!(caps["AcsEvent"]["AcsEventCond"]["maxResults"]["@max"], 24);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_digest_password_is_refused() {
    let doors = terminal().await;
    let wrong = doors
        .terminal(ID, "Pintu2019")
        .send(
            Method::POST,
            SEARCH,
            Some(("application/json", cond(0, 30, json!({})))),
        )
        .await;
    assert!(matches!(wrong, Err(ProbeError::Unauthorized)), "{wrong:?}");
    assert_eq!(doors.state(ID).failed_logins_total, 1);
    // No credentials at all: the digest challenge.
    let addr = doors.sim.device(ID).unwrap().addr.unwrap();
    let bare = reqwest::get(format!("http://{addr}/ISAPI/System/time"))
        .await
        .unwrap();
    assert_eq!(bare.status().as_u16(), 401);
    let challenge = bare.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Digest ") && challenge.contains("DS-K1T341AMF"),
        "{challenge}"
    );
    // The right one is let in.
    let time = doors
        .terminal(ID, PASSWORD)
        .get("/ISAPI/System/time")
        .await
        .unwrap();
    assert!(time.contains("<timeZone>CST-7:00:00</timeZone>"), "{time}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn door_faults_show_in_events_and_status() {
    let doors = terminal().await;
    doors
        .change(ID, json!({"door_event": "forced", "door": 1}))
        .await;
    let status = get_json(&doors, "/ISAPI/AccessControl/AcsWorkStatus?format=json").await;
    assert_eq!(status["AcsWorkStatus"]["magneticStatus"], json!([1]));
    doors.change(ID, json!({"door_event": "close"})).await;
    doors.change(ID, json!({"door_event": "held_open"})).await;
    doors
        .change(ID, json!({"door_event": "entry", "user": GUARD}))
        .await;
    doors
        .change(ID, json!({"tamper": true, "mains": false}))
        .await;
    doors.change(ID, json!({"door_event": "remote_open"})).await;
    let page = ok_search(&doors, cond(1, 30, json!({}))).await;
    let codes: Vec<(u64, u64)> = page["InfoList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["major"].as_u64().unwrap(), e["minor"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            (5, 27),
            (5, 26),
            (5, 25),
            (5, 28),
            (5, 75),
            (5, 25),
            (5, 26),
            (1, 1028),
            (2, 1029),
            (3, 1024)
        ]
    );
    let grant = &page["InfoList"][4];
    assert_eq!(grant["employeeNoString"], GUARD);
    let status = get_json(&doors, "/ISAPI/AccessControl/AcsWorkStatus?format=json").await;
    let s = &status["AcsWorkStatus"];
    assert_eq!(s["powerSupplyStatus"], "BatteryPowerSupply");
    assert_eq!(s["hostAntiDismantleStatus"], "open");
    assert_eq!(s["magneticStatus"], json!([0]), "closed after the entry");
    // Mains back: one event, and only one however often it is said.
    doors.change(ID, json!({"mains": true})).await;
    doors.change(ID, json!({"mains": true})).await;
    let back = ok_search(&doors, cond(0, 30, json!({"major": 2, "minor": 1030}))).await;
    assert_eq!(back["totalMatches"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_a_day_off_shows_in_its_time_and_its_events() {
    let doors = terminal().await;
    for (skew, sign) in [(86_400_i64, 1_i64), (-86_400, -1)] {
        doors.change(ID, json!({"clock_skew_s": skew})).await;
        let xml = doors
            .terminal(ID, PASSWORD)
            .get("/ISAPI/System/time")
            .await
            .unwrap();
        let local = xml
            .split("<localTime>")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap();
        let told: Timestamp = local.parse().unwrap();
        let off = told.duration_since(Timestamp::now()).as_secs();
        assert!((off - sign * 86_400).abs() < 120, "{local}");
        doors.change(ID, json!({"door_event": "forced"})).await;
        let page = ok_search(&doors, cond(0, 1, json!({"timeReverseOrder": true}))).await;
        let at: Timestamp = page["InfoList"][0]["time"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let off = at.duration_since(Timestamp::now()).as_secs();
        assert!((off - sign * 86_400).abs() < 120, "{page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_terminal_answers_nothing() {
    let doors = terminal().await;
    doors.change(ID, json!({"hang": true})).await;
    let served = doors.sim.device(ID).unwrap();
    let quick = ronda_agent::http::Device::new(
        reqwest::Client::new(),
        &format!("http://{}", served.addr.unwrap()),
        None,
        Duration::from_millis(300),
    );
    assert!(matches!(
        quick.get("/ISAPI/System/time").await,
        Err(ProbeError::Timeout(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_api_refuses_what_a_device_cannot_do() {
    let doors = terminal().await;
    let (status, body) = doors.control(ID, json!({"door_event": "entry"})).await;
    assert_eq!(status, 422, "an entry needs a user: {body}");
    let (status, _) = doors
        .control(ID, json!({"door_event": "forced", "door": 9}))
        .await;
    assert_eq!(status, 422, "no door 9");
    let (status, _) = doors
        .control(ID, json!({"door_event": "entry", "user": "a\tb"}))
        .await;
    assert_eq!(status, 422);
    let (status, _) = doors.control("nobody", json!({"tamper": true})).await;
    assert_eq!(status, 404);
}

/// As an attacker on the office LAN would try the search: broken, wrong
/// types, out of range, too long, absurd page sizes, another's search id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_searches_get_the_devices_error() {
    let doors = terminal().await;
    for body in [
        "{".to_owned(),
        "[]".to_owned(),
        r#"{"AcsEventCond":{"searchID":"x","searchResultPosition":0,"maxResults":30,"minor":0}}"#
            .to_owned(),
        cond(0, 30, json!({"major": "5"})),
        cond(0, 0, json!({})),
        cond(0, 30, json!({"searchResultPosition": -1})),
        cond(0, 30, json!({"endTime": "tomorrow"})),
    ] {
        let (status, v) = search(&doors, body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(v["statusCode"], 6, "{v}");
        assert_eq!(v["subStatusCode"], "badJsonContent");
    }
    let huge = cond(0, u64::from(u32::MAX), json!({"searchID": "someone-else"}));
    let page = ok_search(&doors, huge).await;
    assert_eq!(page["searchID"], "someone-else");
    assert_eq!(page["numOfMatches"], 1);
    // Too long: refused with 413, or the connection closed while it is
    // still being sent (the device answers before reading it all).
    let long = cond(0, 30, json!({"name": "x".repeat(100_000)}));
    let a = doors
        .terminal(ID, PASSWORD)
        .send(Method::POST, SEARCH, Some(("application/json", long)))
        .await;
    match a {
        Ok(a) => assert_eq!(a.status.as_u16(), 413),
        Err(e) => assert!(matches!(e, ProbeError::Transport(_)), "{e:?}"),
    }
    let missing = doors
        .terminal(ID, PASSWORD)
        .send(Method::GET, "/ISAPI/Nope", None)
        .await
        .unwrap();
    assert_eq!(missing.status.as_u16(), 404);
}
