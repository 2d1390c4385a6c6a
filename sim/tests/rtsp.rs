//! The agent's RTSP probe against simulated cameras (`cam-gerbang`, and a
//! copy of it as a second camera), with digest auth over real TCP.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use ronda_agent::http::{Clients, Creds};
use ronda_agent::recorders::{ChannelConfig, RecorderConfig, RecorderKind, Watched};
use ronda_common::conf::Secret;
use ronda_sim::state::{lock, DeviceState};
use ronda_sim::{Options, Sim};
use ronda_wire::Recorder;
use tokio_util::sync::CancellationToken;

struct Cams {
    sim: Sim,
    stop: CancellationToken,
}

impl Cams {
    /// `cam-gerbang` from the default office, and the same camera model as
    /// `cam-samping` on its own port with its own password.
    async fn start() -> Cams {
        let stop = CancellationToken::new();
        let gerbang = ronda_sim::layout::default_office()
            .into_iter()
            .find(|d| d.id == "cam-gerbang")
            .unwrap();
        let mut samping = gerbang.clone();
        samping.id = "cam-samping".into();
        samping.auth.password = "Samping2018".into();
        let opts = Options {
            base_port: None,
            mqtt: None,
            folder_root: None,
        };
        let sim = ronda_sim::start(vec![gerbang, samping], opts, stop.clone())
            .await
            .unwrap();
        Cams { sim, stop }
    }

    fn state(&self, id: &str) -> std::sync::MutexGuard<'_, DeviceState> {
        lock(&self.sim.device(id).unwrap().state)
    }

    fn url(&self, id: &str, channel: &str) -> String {
        let addr = self.sim.device(id).unwrap().addr.unwrap();
        format!("rtsp://{addr}/Streaming/Channels/{channel}")
    }

    /// A recorder of camera URLs: `(channel id, camera, stream)`.
    fn recorder(
        &self,
        channels: &[(&str, &str, &str)],
        password: &str,
        timeout: Duration,
    ) -> Watched {
        let channels = channels
            .iter()
            .map(|(id, cam, stream)| ChannelConfig {
                id: (*id).into(),
                name: None,
                zone: "front-road".into(),
                url: Some(self.url(cam, stream)),
                path: None,
            })
            .collect();
        let cfg = RecorderConfig {
            id: "kamera".into(),
            kind: RecorderKind::Rtsp,
            url: String::new(),
            creds: Some(Creds {
                username: "admin".into(),
                password: Secret::new(password),
            }),
            insecure_tls: false,
            timeout,
            lookback: Duration::from_secs(3600),
            channels,
            view: None,
        };
        Watched::new(cfg, &Clients::new().unwrap())
    }

    fn gerbang(&self, password: &str, timeout: Duration) -> Watched {
        self.recorder(
            &[("101", "cam-gerbang", "101"), ("201", "cam-gerbang", "201")],
            password,
            timeout,
        )
    }
}

impl Drop for Cams {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

const T: Duration = Duration::from_secs(3);

fn channel<'a>(r: &'a Recorder, id: &str) -> &'a ronda_wire::Channel {
    r.channels.iter().find(|c| c.id == id).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stream_is_described_and_nothing_claims_recording() {
    let cams = Cams::start().await;
    let r = cams.gerbang("Gerbang2018", T).probe().await;
    assert!(r.reachable, "{r:?}");
    assert_eq!(r.channels.len(), 2);
    for ch in &r.channels {
        // RTSP proves the stream, not the recording: online, no segment,
        // and the reason there is none (issue 17 point 5).
        let error = ch.error.as_deref().unwrap_or("");
        assert_eq!(ch.online, Some(true), "{ch:?}");
        assert!(
            error.starts_with("an RTSP camera keeps no recordings to read"),
            "{ch:?}"
        );
        assert_eq!((ch.recording, ch.last_segment_end), (None, None), "{ch:?}");
        assert_eq!(ch.segment_age_s, None, "{ch:?}");
    }
    assert_eq!((r.model.as_deref(), r.clock_skew_s), (None, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_or_unknown_stream_is_not_found() {
    let cams = Cams::start().await;
    cams.state("cam-gerbang").channels[1].online = false;
    let r = cams
        .recorder(
            &[
                ("101", "cam-gerbang", "101"),
                ("201", "cam-gerbang", "201"),
                ("999", "cam-gerbang", "999"),
            ],
            "Gerbang2018",
            T,
        )
        .probe()
        .await;
    assert!(r.reachable, "{r:?}");
    assert_eq!(channel(&r, "101").online, Some(true));
    for id in ["201", "999"] {
        let ch = channel(&r, id);
        assert_eq!(
            (ch.online, ch.error.as_deref()),
            (Some(false), Some("stream not found")),
            "{ch:?}"
        );
    }
    cams.state("cam-gerbang").channels[1].online = true;
    let r = cams.gerbang("Gerbang2018", T).probe().await;
    assert_eq!(channel(&r, "201").online, Some(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_unauthorized_for_the_recorder_or_one_camera() {
    let cams = Cams::start().await;
    let r = cams.gerbang("Gerbang2019", T).probe().await;
    assert!(!r.reachable);
    common::assert_wrong_password(&r);

    // Two cameras under one recorder's credentials: the one whose password
    // differs is that channel's error, and the recorder is still reachable.
    let both = cams.recorder(
        &[
            ("101", "cam-gerbang", "101"),
            ("samping", "cam-samping", "101"),
        ],
        "Gerbang2018",
        T,
    );
    let r = both.probe().await;
    assert!(r.reachable, "{r:?}");
    assert_eq!(channel(&r, "101").online, Some(true));
    let ch = channel(&r, "samping");
    assert_eq!(
        (ch.online, ch.error.as_deref()),
        (None, Some("wrong username or password"))
    );
    assert!(!format!("{r:?}").contains("Gerbang2018"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_camera_times_out_within_the_deadline() {
    let cams = Cams::start().await;
    let timeout = Duration::from_millis(300);
    let slack = Duration::from_millis(200);

    // One camera hung, one answering: the hung one is that channel's timeout.
    cams.state("cam-samping").hang = true;
    let both = cams.recorder(
        &[
            ("101", "cam-gerbang", "101"),
            ("samping", "cam-samping", "101"),
        ],
        "Gerbang2018",
        timeout,
    );
    let started = Instant::now();
    let r = both.probe().await;
    assert!(
        started.elapsed() < timeout + slack,
        "{:?}",
        started.elapsed()
    );
    assert!(r.reachable, "{r:?}");
    assert_eq!(channel(&r, "101").online, Some(true));
    let ch = channel(&r, "samping");
    assert_eq!(ch.online, Some(false));
    assert!(
        ch.error.as_deref().unwrap().starts_with("no answer within"),
        "{ch:?}"
    );

    // Every camera hung: the recorder times out, within its deadline.
    cams.state("cam-gerbang").hang = true;
    let started = Instant::now();
    let r = cams.gerbang("Gerbang2018", timeout).probe().await;
    assert!(
        started.elapsed() < timeout + slack,
        "{:?}",
        started.elapsed()
    );
    assert!(!r.reachable);
    assert!(
        r.error.as_deref().unwrap().starts_with("no answer within"),
        "{r:?}"
    );
}
