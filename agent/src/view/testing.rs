//! Test support: JPEGs as cameras send them (baseline 4:2:0, made with
//! `jpeg-encoder`) and a viewer that hands them out from memory, standing
//! in for a vendor adapter (slice of its own, tested on HTTP there).
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use ronda_wire::ViewEvent;

use super::Viewer;
use crate::probe::ProbeError;
use crate::recorders::{BoxFuture, ChannelConfig, RecorderConfig, RecorderKind};

/// A baseline 4:2:0 JPEG of a busy made-up scene; `seed` moves it.
pub fn jpeg(w: u16, h: u16, seed: usize, quality: u8) -> Vec<u8> {
    let rgb: Vec<u8> = (0..usize::from(h))
        .flat_map(|y| (0..usize::from(w)).map(move |x| (x, y)))
        .flat_map(|(x, y)| {
            let v = (((x + seed) / 16 + y / 16) % 2 * 120 + ((x + seed) * 7 + y * 13) % 60) as u8;
            [v, v / 2 + 40, 255 - v]
        })
        .collect();
    let mut out = Vec::new();
    let mut e = Encoder::new(&mut out, quality);
    e.set_sampling_factor(SamplingFactor::R_4_2_0);
    e.encode(&rgb, w, h, ColorType::Rgb).unwrap();
    out
}

/// A recorder config with channels "1" and "2", view every second.
pub fn recorder(id: &str, view: bool) -> RecorderConfig {
    let ch = |id: &str| ChannelConfig {
        id: id.into(),
        name: None,
        zone: "front-road".into(),
        url: None,
        path: None,
    };
    RecorderConfig {
        id: id.into(),
        kind: RecorderKind::Hikvision,
        url: "http://127.0.0.1:9".into(),
        creds: None,
        insecure_tls: false,
        timeout: Duration::from_secs(1),
        lookback: Duration::from_secs(3600),
        channels: vec![ch("1"), ch("2")],
        view: view.then(|| super::ViewConfig {
            every: Duration::from_secs(1),
            cap: super::config::DEFAULT_CAP,
        }),
    }
}

/// Hands out `body` as every channel's snapshot; counts how many
/// snapshots are in flight at once.
#[derive(Default)]
pub struct MemoryViewer {
    pub body: Mutex<Vec<u8>>,
    pub events: Option<Vec<ViewEvent>>,
    pub clock: Mutex<Option<Timestamp>>,
    pub hang: bool,
    /// Answer every snapshot as a device does a wrong password.
    pub refuse_login: bool,
    pub in_flight: AtomicUsize,
    pub most_in_flight: AtomicUsize,
    pub asked: AtomicUsize,
}

impl Viewer for std::sync::Arc<MemoryViewer> {
    fn snapshot<'a>(
        &'a self,
        _: &'a str,
        cap: usize,
    ) -> BoxFuture<'a, Result<Vec<u8>, ProbeError>> {
        Box::pin(async move {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_in_flight.fetch_max(now, Ordering::SeqCst);
            self.asked.fetch_add(1, Ordering::SeqCst);
            if self.hang {
                std::future::pending::<()>().await;
            }
            if self.refuse_login {
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                return Err(ProbeError::Unauthorized);
            }
            // Give the others every chance to come in meanwhile.
            for _ in 0..20 {
                tokio::task::yield_now().await;
            }
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            let body = self.body.lock().unwrap().clone();
            if body.len() > cap {
                return Err(ProbeError::TooLarge(cap));
            }
            Ok(body)
        })
    }

    fn events<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Vec<ViewEvent>, ProbeError>> {
        let events = self.events.clone();
        Box::pin(async move {
            events.ok_or_else(|| ProbeError::Status {
                status: 404,
                detail: "no events".into(),
            })
        })
    }

    fn clock(&self) -> BoxFuture<'_, Option<Timestamp>> {
        let clock = *self.clock.lock().unwrap();
        Box::pin(async move { clock })
    }
}
