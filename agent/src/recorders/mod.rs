//! CCTV recorders: one adapter per kind behind [`Adapter`], read concurrently
//! with a deadline each, and merged with the configured zones.
//!
//! The proof that a channel records is the end time of its newest recorded
//! segment. A live picture is not proof: a recorder can show live video while
//! it has stopped writing to disk.

pub mod config;
pub mod dahua;
pub mod folder;
pub mod frigate;
pub mod hikvision;
pub mod onvif;
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
    /// The recorder's own clock, for the skew.
    pub device_time: Option<Timestamp>,
    pub overwrite: Option<bool>,
    pub disks: Vec<RecorderDisk>,
    /// One per configured channel the adapter could say something about.
    pub channels: Vec<ChannelReading>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelReading {
    /// The configured channel id.
    pub id: String,
    pub online: Option<bool>,
    pub recording: Option<bool>,
    pub last_segment_end: Option<Timestamp>,
    /// A failure that concerns this channel only.
    pub error: Option<String>,
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

/// A configured recorder with its adapter.
pub struct Watched {
    pub config: RecorderConfig,
    adapter: Box<dyn Adapter>,
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
        Watched { config, adapter }
    }

    /// Read the recorder within its deadline and describe it for the report.
    pub async fn probe(&self) -> Recorder {
        let now = Timestamp::now();
        let result = with_deadline(self.config.timeout, self.adapter.read(now)).await;
        if let Err(e) = &result {
            tracing::debug!(recorder = %self.config.id, error = %e, "recorder probe failed");
        }
        describe(&self.config, result, now)
    }
}

/// Merge a reading with the configuration: every configured channel appears,
/// with its zone, whether or not the device said anything about it.
pub fn describe(
    cfg: &RecorderConfig,
    result: Result<Reading, ProbeError>,
    now: Timestamp,
) -> Recorder {
    let (reading, error) = match result {
        Ok(r) => (r, None),
        Err(e) => (Reading::default(), Some(e.to_string())),
    };
    let channels = cfg
        .channels
        .iter()
        .map(|ch| {
            let r = reading.channels.iter().find(|r| r.id == ch.id);
            channel(ch, r, now)
        })
        .collect();
    Recorder {
        id: cfg.id.clone(),
        kind: cfg.kind.name().to_owned(),
        reachable: error.is_none(),
        error,
        model: reading.model,
        firmware: reading.firmware,
        clock_skew_s: reading.device_time.map(|t| t.duration_since(now).as_secs()),
        overwrite: reading.overwrite,
        disks: reading.disks,
        channels,
    }
}

fn channel(cfg: &ChannelConfig, r: Option<&ChannelReading>, now: Timestamp) -> Channel {
    let last = r.and_then(|r| r.last_segment_end);
    Channel {
        id: cfg.id.clone(),
        name: cfg.name.clone(),
        zone: cfg.zone.clone(),
        online: r.and_then(|r| r.online),
        recording: r.and_then(|r| r.recording),
        last_segment_end: last,
        segment_age_s: last.map(|t| u64::try_from(now.duration_since(t).as_secs()).unwrap_or(0)),
        error: r.and_then(|r| r.error.clone()),
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
        let r = describe(&cfg(), Ok(reading), now);
        assert!(r.reachable);
        assert_eq!(r.clock_skew_s, Some(7));
        assert_eq!(r.channels[0].segment_age_s, Some(30));
        assert_eq!(r.channels[0].zone, "front-road");
        assert_eq!(r.channels[1].zone, "interior");
        assert_eq!(r.channels[1].online, None);
    }

    #[test]
    fn a_failed_read_is_an_unreachable_recorder_with_the_reason() {
        let now = Timestamp::now();
        let r = describe(&cfg(), Err(ProbeError::Unauthorized), now);
        assert!(!r.reachable);
        assert_eq!(r.error.as_deref(), Some("wrong username or password"));
        assert_eq!(r.channels.len(), 2);
    }
}
