//! RTSP cameras, one stream URL per channel: `OPTIONS`, then `DESCRIBE`
//! with the recorder's credentials (RFC 2326 sections 10.1, 10.2). A `200`
//! with an SDP that has a video stream proves the stream exists and the
//! credentials work.
//!
//! RTSP proves the stream, not the recording: a camera whose stream answers
//! is online, and its channel says why there is no segment to judge by
//! ([`NO_RECORDINGS`]): footage that cannot be read is not footage missing.
//! A camera whose stream does not answer is offline: nothing can be
//! recording it. A camera's recordings are watched through the recorder or
//! folder they go to.
//!
//! A small client over a tokio `TcpStream` rather than the `retina` crate.
//! The verdict of the research (`rtsp.md`, section 5): retina is "usable but
//! not worth it for a health probe: it cannot send OPTIONS, brings ~90
//! crates (mostly for RTP depacketising we never use) and needs its own
//! timeout/size guards anyway". It goes straight to DESCRIBE and pulls in a
//! video stack; this client needs only `http-auth`, already a dependency.

mod answer;
mod client;

use std::time::Duration;

use jiff::Timestamp;

use super::{Adapter, BoxFuture, ChannelReading, Reading, RecorderConfig};
use crate::http::Creds;
use crate::probe::{bounded, ProbeError};
pub use answer::{check_describe, parse_answer, Answer, MAX_BODY};
pub use client::{read_answer, request_text, target, Outcome};

/// A live stream's channel error: there are no recordings here to read.
pub const NO_RECORDINGS: &str = "an RTSP camera keeps no recordings to read: its stream answers, \
which does not prove it records (watch its recorder or folder for that)";

/// Cameras probed at once. Each is its own device, so this bounds the
/// agent's sockets, not any one camera's load.
const CONCURRENCY: usize = 4;

pub struct Rtsp {
    cameras: Vec<(String, String)>,
    creds: Option<Creds>,
    timeout: Duration,
}

impl Rtsp {
    pub fn new(cfg: &RecorderConfig) -> Self {
        Rtsp {
            cameras: cfg
                .channels
                .iter()
                .filter_map(|c| Some((c.id.clone(), c.url.clone()?)))
                .collect(),
            creds: cfg.creds.clone(),
            timeout: cfg.timeout,
        }
    }

    /// Each camera's share of the recorder's deadline. The cameras run in
    /// rounds of [`CONCURRENCY`]; a tenth is kept back so that one hung
    /// camera ends as its own channel's timeout instead of the whole
    /// recorder's.
    fn per_camera(&self) -> Duration {
        let rounds = self.cameras.len().div_ceil(CONCURRENCY).max(1);
        let rounds = u32::try_from(rounds).unwrap_or(u32::MAX);
        self.timeout.mul_f64(0.9) / rounds
    }

    async fn read_all(&self) -> Result<Reading, ProbeError> {
        let deadline = self.per_camera();
        let probes = self
            .cameras
            .iter()
            .map(|(_, url)| client::probe(url, self.creds.as_ref(), deadline))
            .collect();
        let outcomes = bounded(probes, CONCURRENCY).await;
        if let Some(e) = recorder_error(&outcomes) {
            return Err(e);
        }
        let channels = self
            .cameras
            .iter()
            .zip(outcomes)
            .map(|((id, _), o)| channel(id, o.result))
            .collect();
        Ok(Reading {
            channels,
            detected: vec!["recordings: none to read (RTSP proves the stream only)".into()],
            ..Reading::default()
        })
    }
}

impl Adapter for Rtsp {
    fn read(&self, _now: Timestamp) -> BoxFuture<'_, Result<Reading, ProbeError>> {
        Box::pin(self.read_all())
    }
}

/// The recorder as a whole is reachable if at least one camera answered.
/// When none did, or all failed alike (every camera says 401), that one
/// error is the recorder's.
pub fn recorder_error(outcomes: &[Outcome]) -> Option<ProbeError> {
    let first = outcomes.first()?.result.as_ref().err()?;
    let all_alike = outcomes
        .iter()
        .all(|o| o.result.as_ref().err() == Some(first));
    let none_answered = outcomes.iter().all(|o| !o.answered);
    (all_alike || none_answered).then(|| first.clone())
}

/// One camera's channel. Credentials that do not work leave `online`
/// unknown: the camera is there, its stream unproven. A live stream is
/// online, with no segment and the reason why.
pub fn channel(id: &str, result: Result<(), ProbeError>) -> ChannelReading {
    let mut c = ChannelReading::new(id);
    match result {
        Ok(()) => {
            c.online = Some(true);
            c.error = Some(NO_RECORDINGS.into());
            c.no_recordings = true;
        }
        Err(e) => {
            if !matches!(e, ProbeError::Unauthorized | ProbeError::Auth(_)) {
                c.online = Some(false);
            }
            c.error = Some(e.to_string());
        }
    }
    c
}

#[cfg(test)]
mod adapter_tests;
#[cfg(test)]
mod tests;
