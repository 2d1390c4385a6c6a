//! The simulated devices' pictures and picture events over real HTTP, with
//! each device's own auth: Hikvision (digest MD5), Dahua (digest MD5),
//! ONVIF (WS-Security for SOAP, digest SHA-256 for the snapshot URI) and
//! Frigate (none), as the documents named in the headers of
//! `ronda_sim::{hikvision::view, dahua::view, onvif::media, frigate}`
//! describe them; the controls that change them; hostile requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

const IDS: [&str; 4] = ["nvr-depan", "dvr-gudang", "nvr-aula", "frigate-pos"];

struct Office {
    one: common::One,
    http: reqwest::Client,
}

struct Answer {
    status: StatusCode,
    kind: String,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The JPEG's size, from its header.
    fn jpeg_size(&self) -> (u16, u16) {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text());
        assert_eq!(self.kind, "image/jpeg");
        assert_eq!(&self.body[..2], &[0xff, 0xd8]);
        let mut d = jpeg_decoder::Decoder::new(&self.body[..]);
        d.read_info().unwrap();
        let i = d.info().unwrap();
        (i.width, i.height)
    }
}

impl Office {
    async fn start() -> Office {
        Office {
            one: common::start(&IDS).await,
            http: reqwest::Client::new(),
        }
    }

    fn base(&self, id: &str) -> String {
        format!("http://{}", self.one.sim.device(id).unwrap().addr.unwrap())
    }

    /// GET with the device's own user and `password`, answering its
    /// challenge (`None`: no credentials at all).
    async fn get(&self, id: &str, path: &str, password: Option<&str>) -> Answer {
        let url = format!("{}{path}", self.base(id));
        let first = self.http.get(&url).send().await.unwrap();
        let challenge = first.headers().get("www-authenticate").cloned();
        let resp = match (first.status(), challenge, password) {
            (StatusCode::UNAUTHORIZED, Some(c), Some(pw)) => {
                let user = self.one.state(id).auth.username.clone();
                let mut client = http_auth::PasswordClient::try_from(c.to_str().unwrap()).unwrap();
                let header = client
                    .respond(&http_auth::PasswordParams {
                        username: &user,
                        password: pw,
                        uri: path,
                        method: "GET",
                        body: None,
                    })
                    .unwrap();
                self.http
                    .get(&url)
                    .header("authorization", header)
                    .send()
                    .await
                    .unwrap()
            }
            _ => first,
        };
        let kind = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        Answer {
            status: resp.status(),
            kind,
            body: resp.bytes().await.unwrap().to_vec(),
        }
    }

    async fn control(&self, id: &str, patch: Value) -> StatusCode {
        let url = format!("http://{}/devices/{id}", self.one.sim.control);
        self.http
            .post(url)
            .header("content-type", "application/json")
            .body(patch.to_string())
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn change(&self, id: &str, patch: Value) {
        assert_eq!(self.control(id, patch).await, StatusCode::OK);
    }
}

impl Drop for Office {
    fn drop(&mut self) {
        self.one.stop.cancel();
    }
}

const HIK: Option<&str> = Some("Kantor2018");
const DAHUA: Option<&str> = Some("Gudang2018");

#[tokio::test]
async fn hikvision_pictures_need_the_password_and_come_at_each_streams_size() {
    let o = Office::start().await;
    let path = "/ISAPI/Streaming/channels/102/picture";
    assert_eq!(
        o.get("nvr-depan", path, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        o.get("nvr-depan", path, Some("wrong")).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(o.get("nvr-depan", path, HIK).await.jpeg_size(), (640, 360));
    let main = o
        .get("nvr-depan", "/ISAPI/Streaming/channels/401/picture", HIK)
        .await;
    assert_eq!(main.jpeg_size(), (1920, 1080));
    let asked = "/ISAPI/ContentMgmt/StreamingProxy/channels/201/picture?videoResolutionWidth=352&videoResolutionHeight=288";
    assert_eq!(o.get("nvr-depan", asked, HIK).await.jpeg_size(), (352, 288));
    // Channels it does not have, streams it does not know, hostile ids.
    for bad in ["901", "103", "1", "99999999999999999999", "%00%ff"] {
        let a = o
            .get(
                "nvr-depan",
                &format!("/ISAPI/Streaming/channels/{bad}/picture"),
                HIK,
            )
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{bad}");
        assert!(a.text().contains("<ResponseStatus"), "{bad}");
    }
    let huge = "/ISAPI/Streaming/channels/101/picture?videoResolutionWidth=65535&videoResolutionHeight=65535";
    assert_eq!(
        o.get("nvr-depan", huge, HIK).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn a_proxy_only_nvr_refuses_the_streaming_path_as_documented() {
    let o = Office::start().await;
    o.change("nvr-depan", json!({"picture_firmware": "proxy_only"}))
        .await;
    let a = o
        .get("nvr-depan", "/ISAPI/Streaming/channels/102/picture", HIK)
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.text().contains("<statusCode>6</statusCode>"),
        "{}",
        a.text()
    );
    assert!(a.text().contains("badXmlContent"));
    let proxy = "/ISAPI/ContentMgmt/StreamingProxy/channels/102/picture";
    assert_eq!(o.get("nvr-depan", proxy, HIK).await.jpeg_size(), (640, 360));
}

#[tokio::test]
async fn freeze_repeats_the_bytes_and_a_live_channel_never_does() {
    let o = Office::start().await;
    let path = "/ISAPI/Streaming/channels/102/picture";
    let a = o.get("nvr-depan", path, HIK).await.body;
    let b = o.get("nvr-depan", path, HIK).await.body;
    assert_ne!(a, b);
    o.change("nvr-depan", json!({"channel": "1", "view": "freeze"}))
        .await;
    let a = o.get("nvr-depan", path, HIK).await.body;
    let b = o.get("nvr-depan", path, HIK).await.body;
    assert_eq!(a, b);
    // Freezing again keeps the frame; another view thaws it.
    o.change("nvr-depan", json!({"channel": "1", "view": "freeze"}))
        .await;
    assert_eq!(o.get("nvr-depan", path, HIK).await.body, a);
    o.change("nvr-depan", json!({"channel": "1", "view": "normal"}))
        .await;
    assert_ne!(o.get("nvr-depan", path, HIK).await.body, a);
}

/// Mean luma of a JPEG.
fn brightness(jpeg: &[u8]) -> f32 {
    let px = jpeg_decoder::Decoder::new(jpeg).decode().unwrap();
    px.chunks_exact(3).map(|p| f32::from(p[1])).sum::<f32>() / (px.len() / 3) as f32
}

#[tokio::test]
async fn the_odd_frame_is_seen_once_and_the_light_can_be_forced() {
    let o = Office::start().await;
    let path = "/cgi-bin/snapshot.cgi?channel=1&subtype=1";
    o.change("dvr-gudang", json!({"light": "day"})).await;
    let day = brightness(&o.get("dvr-gudang", path, DAHUA).await.body);
    o.change("dvr-gudang", json!({"channel": "1", "odd_frame": true}))
        .await;
    let truck = brightness(&o.get("dvr-gudang", path, DAHUA).await.body);
    let after = brightness(&o.get("dvr-gudang", path, DAHUA).await.body);
    assert!(truck > day + 20.0, "truck {truck}, road {day}");
    assert!((after - day).abs() < 10.0, "after {after}, road {day}");
    o.change("dvr-gudang", json!({"light": "night"})).await;
    let night = brightness(&o.get("dvr-gudang", path, DAHUA).await.body);
    assert!(night + 40.0 < day, "night {night}, day {day}");
}

#[tokio::test]
async fn dahua_snapshots_and_the_tail_after_the_end_marker() {
    let o = Office::start().await;
    let path = "/cgi-bin/snapshot.cgi?channel=2";
    assert_eq!(
        o.get("dvr-gudang", path, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        o.get("dvr-gudang", path, DAHUA).await.jpeg_size(),
        (1920, 1080)
    );
    let sub = o
        .get(
            "dvr-gudang",
            "/cgi-bin/snapshot.cgi?channel=2&subtype=1",
            DAHUA,
        )
        .await;
    assert_eq!(sub.jpeg_size(), (640, 360));
    assert_eq!(&sub.body[sub.body.len() - 2..], &[0xff, 0xd9]);
    o.change("dvr-gudang", json!({"picture_firmware": "tail_after_eoi"}))
        .await;
    let tail = o
        .get(
            "dvr-gudang",
            "/cgi-bin/snapshot.cgi?channel=2&subtype=1",
            DAHUA,
        )
        .await;
    let eoi = tail
        .body
        .windows(2)
        .rposition(|w| w == [0xff, 0xd9])
        .unwrap();
    assert_eq!(tail.body.len() - eoi - 2, 1026, "1 KiB of zeros and CRLF");
    assert!(tail.body.ends_with(b"\x00\r\n"));
    for bad in [
        "channel=9",
        "channel=../../etc",
        "channel=1&subtype=7",
        "channel=%ff%fe",
    ] {
        let a = o
            .get("dvr-gudang", &format!("/cgi-bin/snapshot.cgi?{bad}"), DAHUA)
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(a.text(), "Error\r\nBad Request!\r\n");
    }
}

#[tokio::test]
async fn dahua_event_indexes_are_zero_based_and_say_when_none() {
    let o = Office::start().await;
    let q = |code: &str| format!("/cgi-bin/eventManager.cgi?action=getEventIndexes&code={code}");
    let none = o.get("dvr-gudang", &q("VideoBlind"), DAHUA).await;
    assert_eq!(
        (none.status, none.text().as_str()),
        (StatusCode::OK, "Error: No Events\r\n")
    );
    o.change(
        "dvr-gudang",
        json!({"channel": "2", "view_event": "tamper", "active": true}),
    )
    .await;
    o.change(
        "dvr-gudang",
        json!({"channel": "1", "view_event": "defocus", "active": true}),
    )
    .await;
    o.change(
        "dvr-gudang",
        json!({"channel": "2", "view_event": "defocus", "active": true}),
    )
    .await;
    assert_eq!(
        o.get("dvr-gudang", &q("VideoBlind"), DAHUA).await.text(),
        "channels[0]=1\r\n"
    );
    let unfocus = o.get("dvr-gudang", &q("VideoUnFocus"), DAHUA).await.text();
    assert_eq!(unfocus, "channels[0]=0\r\nchannels[1]=1\r\n");
    assert_eq!(
        o.get("dvr-gudang", &q("VideoLoss"), DAHUA).await.text(),
        "Error: No Events\r\n"
    );
    o.change(
        "dvr-gudang",
        json!({"channel": "2", "view_event": "tamper", "active": false}),
    )
    .await;
    assert_eq!(
        o.get("dvr-gudang", &q("VideoBlind"), DAHUA).await.text(),
        "Error: No Events\r\n"
    );
    let unknown = o.get("dvr-gudang", &q("<script>"), DAHUA).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        o.get("dvr-gudang", &q("VideoBlind"), None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// Read the alertStream until `want` shows, or fail after 64 KiB.
async fn alert_stream_until(o: &Office, want: &str) -> String {
    let url = format!(
        "{}/ISAPI/Event/notification/alertStream",
        o.base("nvr-depan")
    );
    let first = o.http.get(&url).send().await.unwrap();
    let c = first
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let mut client = http_auth::PasswordClient::try_from(c.as_str()).unwrap();
    let header = client
        .respond(&http_auth::PasswordParams {
            username: "admin",
            password: "Kantor2018",
            uri: "/ISAPI/Event/notification/alertStream",
            method: "GET",
            body: None,
        })
        .unwrap();
    let mut resp = o
        .http
        .get(&url)
        .header("authorization", header)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let kind = resp
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(kind, "multipart/mixed; boundary=boundary");
    let mut seen = String::new();
    while !seen.contains(want) {
        assert!(seen.len() < 65_536, "no {want} in {seen}");
        let chunk = resp.chunk().await.unwrap().expect("the stream goes on");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    seen
}

#[tokio::test]
async fn hikvision_alert_stream_pushes_active_events_and_a_heartbeat() {
    let o = Office::start().await;
    let idle = alert_stream_until(&o, "</EventNotificationAlert>").await;
    assert!(idle.starts_with(
        "--boundary\r\nContent-Type: application/xml; charset=\"UTF-8\"\r\nContent-Length: "
    ));
    assert!(idle.contains("<channelID>0</channelID>"));
    assert!(idle.contains("<eventType>videoloss</eventType>\r\n<eventState>inactive</eventState>"));
    o.change(
        "nvr-depan",
        json!({"channel": "3", "view_event": "tamper", "active": true}),
    )
    .await;
    o.change(
        "nvr-depan",
        json!({"channel": "3", "view_event": "scene_change", "active": true}),
    )
    .await;
    let seen = alert_stream_until(&o, "scenechangedetection").await;
    assert!(seen.contains("<dynChannelID>3</dynChannelID>"), "{seen}");
    assert!(
        seen.contains("<eventType>tamperdetection</eventType>\r\n<eventState>active</eventState>")
    );
    // Content-Length is the XML's own length.
    let part = seen.split("--boundary\r\n").nth(1).unwrap();
    let (head, xml) = part.split_once("\r\n\r\n").unwrap();
    let len: usize = head
        .rsplit("Content-Length: ")
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(len, xml.len());
}

/// A SOAP request to the ONVIF recorder with a fresh UsernameToken.
async fn soap(o: &Office, service: &str, body: &str, password: &str) -> (StatusCode, String) {
    let created = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let nonce: Vec<u8> = (0..16).map(|_| fastrand::u8(..)).collect();
    let digest = ronda_agent::recorders::onvif::password_digest(&nonce, &created, password);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&nonce);
    let envelope = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:trt="http://www.onvif.org/ver10/media/wsdl"><s:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><wsse:UsernameToken><wsse:Username>operator</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">{digest}</wsse:Password><wsse:Nonce>{b64}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header><s:Body>{body}</s:Body></s:Envelope>"#
    );
    let url = format!("{}/onvif/{service}", o.base("nvr-aula"));
    let r = o.http.post(url).body(envelope).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn onvif_profiles_snapshot_uri_and_the_digest_guarded_picture() {
    let o = Office::start().await;
    let (status, profiles) = soap(&o, "media_service", "<trt:GetProfiles/>", "Aula2018").await;
    assert_eq!(status, StatusCode::OK, "{profiles}");
    assert!(profiles.contains(r#"<trt:Profiles token="Profile_1_sub""#));
    assert!(profiles.contains("<tt:SourceToken>VideoSource_1</tt:SourceToken>"));
    assert!(profiles.contains("<tt:Width>640</tt:Width><tt:Height>360</tt:Height>"));
    let (status, _) = soap(&o, "media_service", "<trt:GetProfiles/>", "wrong").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let ask = "<trt:GetSnapshotUri><trt:ProfileToken>Profile_1_sub</trt:ProfileToken></trt:GetSnapshotUri>";
    let (status, uri) = soap(&o, "media_service", ask, "Aula2018").await;
    assert_eq!(status, StatusCode::OK, "{uri}");
    let base = o.base("nvr-aula");
    let want = format!("<tt:Uri>{base}/onvif/snapshot?token=Profile_1_sub</tt:Uri>");
    assert!(uri.contains(&want), "{uri}");
    let path = "/onvif/snapshot?token=Profile_1_sub";
    assert_eq!(
        o.get("nvr-aula", path, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        o.get("nvr-aula", path, Some("wrong")).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        o.get("nvr-aula", path, Some("Aula2018")).await.jpeg_size(),
        (640, 360)
    );
    let main = "/onvif/snapshot?token=Profile_1_main";
    assert_eq!(
        o.get("nvr-aula", main, Some("Aula2018")).await.jpeg_size(),
        (1920, 1080)
    );
    // Someone else's profile, or none.
    for bad in ["Profile_9_sub", "Profile_1_", "../../x", ""] {
        let ask = format!(
            "<trt:GetSnapshotUri><trt:ProfileToken>{bad}</trt:ProfileToken></trt:GetSnapshotUri>"
        );
        assert_eq!(
            soap(&o, "media_service", &ask, "Aula2018").await.0,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
        let path = format!("/onvif/snapshot?token={bad}");
        assert_eq!(
            o.get("nvr-aula", &path, Some("Aula2018")).await.status,
            StatusCode::NOT_FOUND
        );
    }
}

#[tokio::test]
async fn frigate_latest_frame_at_the_asked_height_and_fps_without_signal() {
    let o = Office::start().await;
    let a = o
        .get("frigate-pos", "/api/depan/latest.jpg?h=360", None)
        .await;
    assert_eq!(a.jpeg_size(), (640, 360));
    assert_eq!(
        o.get("frigate-pos", "/api/depan/latest.jpg", None)
            .await
            .jpeg_size(),
        (1280, 720)
    );
    let huge = o
        .get("frigate-pos", "/api/depan/latest.jpg?h=4294967295", None)
        .await;
    assert_eq!(huge.jpeg_size(), (3840, 2160), "capped at the largest size");
    let tiny = o
        .get("frigate-pos", "/api/depan/latest.jpg?h=0", None)
        .await;
    assert_eq!(tiny.jpeg_size().1, 16);
    let unknown = o.get("frigate-pos", "/api/gudang/latest.jpg", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let v: Value = serde_json::from_slice(&unknown.body).unwrap();
    assert_eq!(v, json!({"success": false, "message": "Camera not found"}));
    assert_eq!(fps(&o).await, (Some(5.1), Some(5.1)));
    o.change(
        "frigate-pos",
        json!({"channel": "depan", "view": "no_signal"}),
    )
    .await;
    assert_eq!(fps(&o).await, (Some(0.0), Some(5.1)));
    let screen = o
        .get("frigate-pos", "/api/depan/latest.jpg?h=360", None)
        .await;
    assert_eq!(
        screen.body,
        o.get("frigate-pos", "/api/depan/latest.jpg?h=360", None)
            .await
            .body
    );
}

/// Frigate's `camera_fps` of its two cameras.
async fn fps(o: &Office) -> (Option<f64>, Option<f64>) {
    let stats = o.get("frigate-pos", "/api/stats", None).await.body;
    let stats: Value = serde_json::from_slice(&stats).unwrap();
    let cam = |c: &str| stats["cameras"][c]["camera_fps"].as_f64();
    (cam("depan"), cam("halaman"))
}

#[tokio::test]
async fn the_controls_refuse_what_they_cannot_apply() {
    let o = Office::start().await;
    for bad in [
        json!({"view": "cover"}),
        json!({"channel": "9", "view": "cover"}),
        json!({"channel": "1", "view": "smashed"}),
        json!({"channel": "1", "view_event": "tamper"}),
        json!({"channel": "1", "active": true}),
        json!({"channel": "1", "view_event": "fire", "active": true}),
        json!({"light": "dusk"}),
        json!({"picture_firmware": "x".repeat(100_000)}),
    ] {
        let status = o.control("nvr-depan", bad.clone()).await;
        assert!(status.is_client_error(), "{bad}: {status}");
    }
    o.change(
        "nvr-depan",
        json!({"channel": "2", "view": "cover", "view_event": "tamper", "active": true}),
    )
    .await;
    let ch = o.one.state("nvr-depan").channels[1].view.clone();
    assert_eq!(ch.fault, ronda_sim::view::Fault::Cover);
    assert!(ch.events.contains(&ronda_sim::view::DeviceEvent::Tamper));
    // `light` without a channel sets every channel's.
    o.change("nvr-depan", json!({"light": "night"})).await;
    let lights: Vec<_> = o
        .one
        .state("nvr-depan")
        .channels
        .iter()
        .map(|c| c.view.light)
        .collect();
    assert_eq!(lights, vec![Some(ronda_sim::view::Light::Night); 4]);
}

#[tokio::test]
async fn many_snapshots_at_once_are_all_answered() {
    let o = Office::start().await;
    let path = "/ISAPI/Streaming/channels/102/picture";
    let all = futures_util::future::join_all((0..16).map(|_| o.get("nvr-depan", path, HIK))).await;
    assert!(all.iter().all(|a| a.jpeg_size() == (640, 360)));
}
