//! The agent's ONVIF adapter against the simulated Profile G recorder
//! `nvr-aula`, over real HTTP with a WS-Security UsernameToken.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use jiff::{SignedDuration, Timestamp};
use ronda_agent::http::{Clients, Creds};
use ronda_agent::recorders::onvif::VIA_CAPABILITIES;
use ronda_agent::recorders::{ChannelConfig, RecorderConfig, RecorderKind, Watched};
use ronda_common::conf::Secret;
use ronda_sim::auth;
use ronda_sim::state::{lock, Auth, DeviceState, Patch, Scheme};
use ronda_sim::{Options, Sim};
use tokio_util::sync::CancellationToken;

struct Aula {
    sim: Sim,
    stop: CancellationToken,
}

impl Aula {
    async fn start() -> Aula {
        let stop = CancellationToken::new();
        let nvr = ronda_sim::layout::default_office()
            .into_iter()
            .find(|d| d.id == "nvr-aula")
            .unwrap();
        let opts = Options {
            base_port: None,
            mqtt: None,
            folder_root: None,
        };
        let sim = ronda_sim::start(vec![nvr], opts, stop.clone())
            .await
            .unwrap();
        Aula { sim, stop }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, DeviceState> {
        lock(&self.sim.device("nvr-aula").unwrap().state)
    }

    /// The agent's view of the recorder, as `agent.yaml` would configure it.
    fn recorder(&self, password: &str, timeout: Duration) -> Watched {
        let addr = self.sim.device("nvr-aula").unwrap().addr.unwrap();
        Watched::new(config(addr, password, timeout), &Clients::new().unwrap())
    }
}

/// The agent's config for an ONVIF recorder at `addr`, one channel.
fn config(addr: std::net::SocketAddr, password: &str, timeout: Duration) -> RecorderConfig {
    RecorderConfig {
        id: "nvr-aula".into(),
        kind: RecorderKind::Onvif,
        url: format!("http://{addr}/onvif/device_service"),
        creds: Some(Creds {
            username: "operator".into(),
            password: Secret::new(password),
        }),
        insecure_tls: false,
        timeout,
        lookback: Duration::from_secs(3600),
        channels: vec![ChannelConfig {
            id: "1".into(),
            name: Some("Aula".into()),
            zone: "interior".into(),
            url: None,
            path: None,
        }],
        view: None,
    }
}

impl Drop for Aula {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

const T: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_model_clock_and_the_newest_recording() {
    let aula = Aula::start().await;
    let r = aula.recorder("Aula2018", T).probe().await;
    assert!(r.reachable, "{r:?}");
    assert_eq!(r.model.as_deref(), Some("Ronda Sim NVR-ONVIF-4"));
    assert_eq!(r.firmware.as_deref(), Some("2.6.1"));
    assert!(r.clock_skew_s.unwrap().abs() <= 2, "{r:?}");
    let ch = &r.channels[0];
    assert_eq!((ch.id.as_str(), ch.zone.as_str()), ("1", "interior"));
    assert_eq!(
        (ch.online, ch.recording, ch.error.as_deref()),
        (Some(true), None, None)
    );
    // The simulated recorder's newest segment ended 4 s ago.
    assert!(ch.segment_age_s.unwrap() < 30, "{ch:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_recording_stops_data_until_stops_advancing() {
    let aula = Aula::start().await;
    let nvr = aula.recorder("Aula2018", T);
    let stopped = Timestamp::now() - SignedDuration::from_mins(45);
    {
        let mut s = aula.state();
        s.channels[0].recording = false;
        s.channels[0].stopped_at = Some(stopped);
    }
    let first = nvr.probe().await;
    let ch = &first.channels[0];
    // DataUntil is whole seconds.
    let end = ch.last_segment_end.unwrap();
    let lag = stopped.duration_since(end);
    assert!(lag.is_positive() || lag.is_zero(), "{end} vs {stopped}");
    assert!(lag < SignedDuration::from_secs(1), "{end} vs {stopped}");
    assert!((2690..2800).contains(&ch.segment_age_s.unwrap()), "{ch:?}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = nvr.probe().await;
    assert_eq!(second.channels[0].last_segment_end, ch.last_segment_end);
    assert!(second.channels[0].segment_age_s > ch.segment_age_s);

    aula.state().channels[0].recording = true;
    let again = nvr.probe().await;
    assert!(again.channels[0].segment_age_s.unwrap() < 30, "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_unauthorized() {
    let aula = Aula::start().await;
    let r = aula.recorder("Aula2019", T).probe().await;
    assert!(!r.reachable);
    common::assert_wrong_password(&r);

    // The device's password changed under a correct config: the same.
    aula.state().auth.password = "changed".into();
    let r = aula.recorder("Aula2018", T).probe().await;
    common::assert_wrong_password(&r);
    assert!(!format!("{r:?}").contains("Aula2018"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_recorder_times_out_within_the_deadline() {
    let aula = Aula::start().await;
    aula.state().hang = true;
    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    let r = aula.recorder("Aula2018", timeout).probe().await;
    let took = started.elapsed();
    assert!(!r.reachable);
    assert_eq!(r.error.as_deref(), Some("no answer within 300ms"));
    assert!(took < timeout + Duration::from_millis(200), "{took:?}");
}

/// A recorder that answers from the fixtures, one fixture per operation:
/// for the cases the simulated device never shows.
#[derive(Clone)]
struct Fixtures {
    clock: &'static str,
    services: &'static str,
    capabilities: &'static str,
    summary: &'static str,
    /// HTTP Digest demanded on every request (ONVIF Core 5.9.1).
    http_digest: Option<Auth>,
    /// The clock answered only with a UsernameToken (spec: some cameras).
    clock_needs_login: bool,
    /// Logins refused with HTTP 401 and the fault, without a challenge.
    refuse_with_401: bool,
}

const PROFILE_G: Fixtures = Fixtures {
    clock: "get_system_date_and_time.xml",
    services: "get_services.xml",
    capabilities: "get_capabilities.xml",
    summary: "get_recording_summary.xml",
    http_digest: None,
    clock_needs_login: false,
    refuse_with_401: false,
};

fn fixture(name: &str) -> String {
    let path = format!("{}/fixtures/onvif/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    ronda_sim::fixture::body(&text).to_owned()
}

impl Fixtures {
    fn answer(&self, authorization: Option<&str>, body: &str) -> Response {
        if let Some(a) = &self.http_digest {
            if !auth::check(a, "POST", authorization) {
                let challenge = [("www-authenticate", auth::challenge_header(a))];
                return (StatusCode::UNAUTHORIZED, challenge).into_response();
            }
        }
        let name = if body.contains("GetSystemDateAndTime") {
            if self.clock_needs_login && !body.contains("UsernameToken") {
                let refused = fixture("fault_not_authorized.xml");
                return (StatusCode::BAD_REQUEST, refused).into_response();
            }
            self.clock
        } else if body.contains("GetDeviceInformation") {
            if self.refuse_with_401 {
                let refused = fixture("fault_not_authorized_env.xml");
                return (StatusCode::UNAUTHORIZED, refused).into_response();
            }
            "get_device_information.xml"
        } else if body.contains("GetServices") {
            self.services
        } else if body.contains("GetCapabilities") {
            self.capabilities
        } else {
            self.summary
        };
        fixture(name).into_response()
    }

    async fn serve(self, stop: &CancellationToken) -> std::net::SocketAddr {
        let answer = move |headers: HeaderMap, body: String| async move {
            let authorization = headers.get("authorization").and_then(|h| h.to_str().ok());
            self.answer(authorization, &body)
        };
        let app = axum::Router::new()
            .route("/onvif/device_service", post(answer.clone()))
            .route("/onvif/search_service", post(answer));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        });
        addr
    }

    async fn probe(self, password: &str) -> ronda_wire::Recorder {
        let stop = CancellationToken::new();
        let addr = self.serve(&stop).await;
        let cfg = config(addr, password, T);
        let r = Watched::new(cfg, &Clients::new().unwrap()).probe().await;
        stop.cancel();
        r
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_recording_search_the_channels_say_why() {
    let camera = Fixtures {
        services: "get_services_no_search.xml",
        ..PROFILE_G
    };
    let r = camera.probe("Aula2018").await;
    assert!(r.reachable, "{r:?}");
    assert_eq!(r.model.as_deref(), Some("Dahua NVR4104HS-4KS2"));
    let ch = &r.channels[0];
    assert_eq!((ch.online, ch.last_segment_end), (Some(true), None));
    assert_eq!(
        ch.error.as_deref(),
        Some("the device offers no recording search (ONVIF Profile G)")
    );
    assert!(r.channels[0].no_recordings, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_summary_is_nothing_recorded_and_a_broken_one_a_channel_error() {
    let empty = Fixtures {
        summary: "get_recording_summary_empty.xml",
        ..PROFILE_G
    };
    let r = empty.probe("Aula2018").await;
    assert!(r.reachable, "{r:?}");
    let ch = &r.channels[0];
    assert_eq!(ch.last_segment_end, None, "the epoch is not a segment");
    // The search ran and found nothing: that is "did not record", which
    // must be able to fail its zone, not "could not read".
    assert_eq!((ch.error.as_deref(), ch.no_recordings), (None, false));

    let broken = Fixtures {
        summary: "get_recording_summary_truncated.xml",
        ..PROFILE_G
    };
    let r = broken.probe("Aula2018").await;
    assert!(r.reachable, "{r:?}");
    assert_eq!(r.firmware.as_deref(), Some("4.001.0000000.3"));
    // The fixture's clock is 2018: the skew says so.
    assert!(r.clock_skew_s.unwrap() < -86_400, "{r:?}");
    let error = r.channels[0].error.as_deref().unwrap();
    assert!(
        error.starts_with("GetRecordingSummary failed: unexpected answer"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fixture_recorder_reads_in_full() {
    let r = PROFILE_G.probe("Aula2018").await;
    assert!(r.reachable, "{r:?}");
    let end: Timestamp = "2018-06-11T00:59:30Z".parse().unwrap();
    assert_eq!(r.channels[0].last_segment_end, Some(end));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_wants_http_digest_gets_it() {
    let digest = Fixtures {
        http_digest: Some(Auth {
            scheme: Scheme::DigestMd5,
            realm: "Login to 5K0123PAZ00000".into(),
            username: "operator".into(),
            password: "Aula2018".into(),
        }),
        ..PROFILE_G
    };
    let r = digest.clone().probe("Aula2018").await;
    assert!(r.reachable, "{r:?}");
    assert_eq!(r.model.as_deref(), Some("Dahua NVR4104HS-4KS2"));
    assert!(r.channels[0].last_segment_end.is_some(), "{r:?}");
    let r = digest.probe("Aula2019").await;
    common::assert_wrong_password(&r);

    // HTTP 401 with the NotAuthorized fault and no challenge to answer.
    let refusing = Fixtures {
        refuse_with_401: true,
        ..PROFILE_G
    };
    let r = refusing.probe("Aula2018").await;
    common::assert_wrong_password(&r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clocks_that_want_a_login_or_have_no_utc_still_read() {
    let strict = Fixtures {
        clock_needs_login: true,
        ..PROFILE_G
    };
    let r = strict.probe("Aula2018").await;
    assert!(r.reachable, "{r:?}");
    assert!(r.clock_skew_s.is_some(), "{r:?}");

    let old = Fixtures {
        clock: "get_system_date_and_time_no_utc.xml",
        ..PROFILE_G
    };
    let r = old.probe("Aula2018").await;
    assert!(r.reachable, "{r:?}");
    assert_eq!(r.clock_skew_s, None, "local time alone is no clock");
    assert_eq!(r.model.as_deref(), Some("Dahua NVR4104HS-4KS2"));
}

/// Issue 17 point 8: the age is the recorder's own (`DataUntil` against its
/// `UTCDateTime`), so a clock hours or a day off changes nothing; its login
/// tokens are dated on its clock, so it still lets the agent in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ages_come_from_the_recorders_own_clock_however_far_off_it_is() {
    for skew_h in [7, -24, 2, -7] {
        let aula = Aula::start().await;
        aula.state().clock_skew_s = skew_h * 3600;
        let r = aula.recorder("Aula2018", T).probe().await;
        assert!(
            r.channels[0].segment_age_s.unwrap() < 30,
            "skew {skew_h} h: {r:?}"
        );
        assert!(
            (r.clock_skew_s.unwrap() - skew_h * 3600).abs() <= 2,
            "{r:?}"
        );
        let stop = Patch {
            channel: Some("1".into()),
            recording: Some(false),
            ..Patch::default()
        };
        let two_hours_ago = Timestamp::now() - SignedDuration::from_hours(2);
        stop.apply(&mut aula.state(), two_hours_ago).unwrap();
        let r = aula.recorder("Aula2018", T).probe().await;
        let age = r.channels[0].segment_age_s.unwrap();
        assert!((7190..7230).contains(&age), "skew {skew_h} h: {r:?}");
    }
}

/// Issue 17 point 6: an ONVIF 1.x recorder refuses `GetServices`
/// (`ter:ActionNotSupported`) and is read through `GetCapabilities`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_without_get_services_is_read_through_get_capabilities() {
    let aula = Aula::start().await;
    aula.state().get_services = false;
    let r = aula.recorder("Aula2018", T).probe().await;
    assert!(r.reachable, "{r:?}");
    assert_eq!(r.channels[0].error, None, "{r:?}");
    assert!(r.channels[0].segment_age_s.unwrap() < 30, "{r:?}");
    assert!(r.detected.contains(&VIA_CAPABILITIES.to_owned()), "{r:?}");

    // The same from the spec fixtures, with and without a search service.
    let old = Fixtures {
        services: "fault_action_not_supported.xml",
        ..PROFILE_G
    };
    let r = old.clone().probe("Aula2018").await;
    let end: Timestamp = "2018-06-11T00:59:30Z".parse().unwrap();
    assert_eq!(r.channels[0].last_segment_end, Some(end), "{r:?}");
    let camera = Fixtures {
        capabilities: "get_capabilities_no_search.xml",
        ..old
    };
    let r = camera.probe("Aula2018").await;
    assert_eq!(
        r.channels[0].error.as_deref(),
        Some("the device offers no recording search (ONVIF Profile G)")
    );
}
