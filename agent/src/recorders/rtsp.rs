//! RTSP OPTIONS then DESCRIBE per camera: the stream exists and the credentials work.

use jiff::Timestamp;

use super::{Adapter, BoxFuture, Reading, RecorderConfig};
use crate::probe::ProbeError;

pub struct Rtsp {
    config: RecorderConfig,
}

impl Rtsp {
    pub fn new(cfg: &RecorderConfig) -> Self {
        Rtsp {
            config: cfg.clone(),
        }
    }
}

impl Adapter for Rtsp {
    fn read(&self, _now: Timestamp) -> BoxFuture<'_, Result<Reading, ProbeError>> {
        let _ = &self.config;
        Box::pin(async { Err(ProbeError::Device("adapter not written yet".into())) })
    }
}
