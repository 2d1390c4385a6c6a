//! CCTV recorders: one adapter per kind behind [`Adapter`], read concurrently
//! with a deadline each, and merged with the configured zones.
//!
//! The proof that a channel records is the end time of its newest recorded
//! segment. A live picture is not proof: a recorder can show live video while
//! it has stopped writing to disk.
//!
//! A segment's age is a fact of the recorder: its newest segment against its
//! own current time, both read from the device. The agent's clock never
//! enters it, since the office PC the agent runs on may be hours off.

pub mod config;
pub mod dahua;
pub mod folder;
pub mod frigate;
pub mod hikvision;
pub mod onvif;
pub mod picture;
pub mod rtsp;

use std::future::Future;
use std::pin::Pin;

use jiff::Timestamp;
use ronda_wire::{Channel, Recorder, RecorderDisk};

use crate::http::Clients;
use crate::probe::{with_deadline, ProbeError};
pub use config::{ChannelConfig, RecorderConfig, RecorderKind};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What an adapter learnt from its recorder in one read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    pub model: Option<String>,
    pub firmware: Option<String>,
    /// The recorder's own clock when it was read, on the same footing as
    /// the segment ends (so their difference is the age the device sees).
    /// `None` when the device does not tell its time.
    pub device_time: Option<Timestamp>,
    /// `device_time` is the device's wall clock in an unknown zone: good
    /// for ages against segment ends in the same frame, not for a skew.
    pub skew_unknown: bool,
    pub overwrite: Option<bool>,
    pub disks: Vec<RecorderDisk>,
    /// One per configured channel the adapter could say something about.
    pub channels: Vec<ChannelReading>,
    /// What the adapter found out about the firmware: `name: value`.
    pub detected: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelReading {
    /// The configured channel id.
    pub id: String,
    pub online: Option<bool>,
    pub recording: Option<bool>,
    pub last_segment_end: Option<Timestamp>,
    /// While the device's time convention is unknown: the newest segment's
    /// end under the other reading of its times.
    pub last_segment_end_other: Option<Timestamp>,
    /// Why this channel's recordings could not be read. `None` with no
    /// segment means the search ran and found nothing.
    pub error: Option<String>,
    /// The device keeps no recordings to search at all (see the wire).
    pub no_recordings: bool,
}

impl ChannelReading {
    pub fn new(id: &str) -> Self {
        ChannelReading {
            id: id.to_owned(),
            ..ChannelReading::default()
        }
    }
}

/// One kind of recorder. `read` may fail as a whole (unreachable, wrong
/// password); a failure of one channel goes into that channel's `error`.
pub trait Adapter: Send + Sync {
    fn read(&self, now: Timestamp) -> BoxFuture<'_, Result<Reading, ProbeError>>;
}

/// The recorder's [`Viewer`](crate::view::Viewer), for the kinds that give
/// snapshots.
pub fn viewer(config: &RecorderConfig, clients: &Clients) -> Option<Box<dyn crate::view::Viewer>> {
    let device = || config.device(clients, &config.url);
    match config.kind {
        RecorderKind::Hikvision => Some(Box::new(hikvision::HikvisionViewer::new(
            device().with_lock_reader(hikvision::read_lock),
        ))),
        RecorderKind::Dahua => Some(Box::new(dahua::DahuaViewer::new(config, clients))),
        RecorderKind::Onvif => Some(Box::new(onvif::OnvifViewer::new(config, clients))),
        RecorderKind::Frigate => Some(Box::new(frigate::FrigateViewer::new(device()))),
        RecorderKind::Rtsp | RecorderKind::Folder => None,
    }
}

/// A configured recorder with its adapter.
pub struct Watched {
    pub config: RecorderConfig,
    adapter: Box<dyn Adapter>,
    pause: std::sync::Arc<crate::pause::Pause>,
}

impl Watched {
    pub fn new(config: RecorderConfig, clients: &Clients) -> Self {
        let adapter: Box<dyn Adapter> = match config.kind {
            RecorderKind::Hikvision => Box::new(hikvision::Hikvision::new(&config, clients)),
            RecorderKind::Dahua => Box::new(dahua::Dahua::new(&config, clients)),
            RecorderKind::Onvif => Box::new(onvif::Onvif::new(&config, clients)),
            RecorderKind::Rtsp => Box::new(rtsp::Rtsp::new(&config)),
            RecorderKind::Frigate => Box::new(frigate::Frigate::new(&config, clients)),
            RecorderKind::Folder => Box::new(folder::Folder::new(&config)),
        };
        Watched {
            config,
            adapter,
            pause: std::sync::Arc::default(),
        }
    }

    /// The recorder's login record, shared with its view sampler so that a
    /// wrong password pauses both.
    pub fn pause(&self) -> std::sync::Arc<crate::pause::Pause> {
        std::sync::Arc::clone(&self.pause)
    }

    /// Read the recorder within its deadline and describe it for the report.
    /// A recorder paused after a refused login is not asked.
    pub async fn probe(&self) -> Recorder {
        let now = Timestamp::now();
        let read = with_deadline(
            crate::probe::backstop(self.config.timeout),
            self.adapter.read(now),
        );
        match self.pause.ask(&self.config.id, read).await {
            Ok(result) => describe(&self.config, result, now, None),
            Err(p) => describe(&self.config, Err(ProbeError::Unauthorized), now, Some(p)),
        }
    }
}

/// Merge a reading with the configuration: every configured channel appears,
/// with its zone, whether or not the device said anything about it.
/// `paused`: not asked this round, after a refused login.
pub fn describe(
    cfg: &RecorderConfig,
    result: Result<Reading, ProbeError>,
    now: Timestamp,
    paused: Option<ronda_wire::Paused>,
) -> Recorder {
    let (reachable, error) = crate::pause::reported(&result, paused.as_ref());
    let reading = result.unwrap_or_default();
    let channels = cfg
        .channels
        .iter()
        .map(|ch| {
            let r = reading.channels.iter().find(|r| r.id == ch.id);
            channel(ch, r, reading.device_time)
        })
        .collect();
    Recorder {
        id: cfg.id.clone(),
        kind: cfg.kind.name().to_owned(),
        reachable,
        error,
        model: reading.model,
        firmware: reading.firmware,
        clock_skew_s: reading
            .device_time
            .filter(|_| !reading.skew_unknown)
            .map(|t| t.duration_since(now).as_secs()),
        overwrite: reading.overwrite,
        disks: reading.disks,
        channels,
        detected: reading.detected,
        paused,
    }
}

/// `device_now` is the recorder's own clock: a segment's age is measured
/// against it, never against the agent's.
fn channel(
    cfg: &ChannelConfig,
    r: Option<&ChannelReading>,
    device_now: Option<Timestamp>,
) -> Channel {
    let last = r.and_then(|r| r.last_segment_end);
    let age = |end: Option<Timestamp>| {
        let (end, now) = (end?, device_now?);
        Some(u64::try_from(now.duration_since(end).as_secs()).unwrap_or(0))
    };
    Channel {
        id: cfg.id.clone(),
        name: cfg.name.clone(),
        zone: cfg.zone.clone(),
        online: r.and_then(|r| r.online),
        recording: r.and_then(|r| r.recording),
        last_segment_end: last,
        segment_age_s: age(last),
        segment_age_other_s: age(r.and_then(|r| r.last_segment_end_other)),
        error: r.and_then(|r| r.error.clone()),
        no_recordings: r.is_some_and(|r| r.no_recordings),
        view: None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn cfg() -> RecorderConfig {
        let ch = |id: &str, zone: &str| ChannelConfig {
            id: id.into(),
            name: None,
            zone: zone.into(),
            url: None,
            path: None,
        };
        RecorderConfig {
            id: "nvr".into(),
            kind: RecorderKind::Hikvision,
            url: "http://x".into(),
            creds: None,
            insecure_tls: false,
            timeout: Duration::from_secs(1),
            lookback: Duration::from_secs(3600),
            channels: vec![ch("1", "front-road"), ch("2", "interior")],
            view: None,
        }
    }

    #[test]
    fn every_configured_channel_is_reported_with_its_zone_and_age() {
        let now: Timestamp = "2018-06-11T01:00:00Z".parse().unwrap();
        let reading = Reading {
            device_time: Some("2018-06-11T01:00:07Z".parse().unwrap()),
            channels: vec![ChannelReading {
                online: Some(true),
                last_segment_end: Some("2018-06-11T00:59:30Z".parse().unwrap()),
                ..ChannelReading::new("1")
            }],
            ..Reading::default()
        };
        let r = describe(&cfg(), Ok(reading), now, None);
        assert!(r.reachable);
        assert_eq!(r.clock_skew_s, Some(7));
        // On the recorder's clock: 01:00:07 less 00:59:30.
        assert_eq!(r.channels[0].segment_age_s, Some(37));
        assert_eq!(r.channels[0].zone, "front-road");
        assert_eq!(r.channels[1].zone, "interior");
        assert_eq!(r.channels[1].online, None);
    }

    #[test]
    fn a_reading_in_the_wall_frame_gives_ages_but_no_skew() {
        let reading = Reading {
            device_time: Some("2018-06-11T08:00:00Z".parse().unwrap()),
            skew_unknown: true,
            channels: vec![ChannelReading {
                last_segment_end: Some("2018-06-11T07:59:30Z".parse().unwrap()),
                ..ChannelReading::new("1")
            }],
            ..Reading::default()
        };
        let r = describe(
            &cfg(),
            Ok(reading),
            "2018-06-11T01:00:00Z".parse().unwrap(),
            None,
        );
        assert_eq!(r.clock_skew_s, None);
        assert_eq!(r.channels[0].segment_age_s, Some(30));
    }

    #[test]
    fn a_wrong_agent_clock_does_not_change_the_age() {
        let reading = Reading {
            device_time: Some("2018-06-11T01:00:00Z".parse().unwrap()),
            channels: vec![ChannelReading {
                last_segment_end: Some("2018-06-11T00:59:00Z".parse().unwrap()),
                ..ChannelReading::new("1")
            }],
            ..Reading::default()
        };
        for agent_clock in [
            "2018-06-10T18:00:00Z",
            "2018-06-10T01:00:00Z",
            "2018-06-11T03:00:00Z",
        ] {
            let r = describe(
                &cfg(),
                Ok(reading.clone()),
                agent_clock.parse().unwrap(),
                None,
            );
            assert_eq!(
                r.channels[0].segment_age_s,
                Some(60),
                "agent clock {agent_clock}"
            );
        }
    }

    #[test]
    fn without_the_recorders_clock_no_age_is_claimed() {
        let reading = Reading {
            channels: vec![ChannelReading {
                last_segment_end: Some("2018-06-11T00:59:00Z".parse().unwrap()),
                ..ChannelReading::new("1")
            }],
            ..Reading::default()
        };
        let r = describe(
            &cfg(),
            Ok(reading),
            "2018-06-11T01:00:00Z".parse().unwrap(),
            None,
        );
        assert_eq!(r.channels[0].segment_age_s, None);
        assert!(r.channels[0].last_segment_end.is_some());
    }

    #[test]
    fn an_answer_that_could_not_be_read_is_reachable_with_the_reason() {
        let now = Timestamp::now();
        let bad = ProbeError::Parse("no <model> in DeviceInfo".into());
        let r = describe(&cfg(), Err(bad), now, None);
        assert!(
            r.reachable,
            "it answered: could not read is not does not answer"
        );
        assert_eq!(
            r.error.as_deref(),
            Some("unexpected answer: no <model> in DeviceInfo")
        );
        let hung = describe(
            &cfg(),
            Err(ProbeError::Timeout(Duration::from_secs(5))),
            now,
            None,
        );
        assert!(!hung.reachable);
    }

    #[test]
    fn a_failed_read_is_an_unreachable_recorder_with_the_reason() {
        let now = Timestamp::now();
        let r = describe(&cfg(), Err(ProbeError::Unauthorized), now, None);
        assert!(!r.reachable);
        assert_eq!(r.error.as_deref(), Some("wrong username or password"));
        assert_eq!(r.channels.len(), 2);
    }
}
