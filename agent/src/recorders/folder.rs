//! Software recorders: the newest file under each camera's recording folder.

use jiff::Timestamp;

use super::{Adapter, BoxFuture, Reading, RecorderConfig};
use crate::probe::ProbeError;

pub struct Folder {
    config: RecorderConfig,
}

impl Folder {
    pub fn new(cfg: &RecorderConfig) -> Self {
        Folder {
            config: cfg.clone(),
        }
    }
}

impl Adapter for Folder {
    fn read(&self, _now: Timestamp) -> BoxFuture<'_, Result<Reading, ProbeError>> {
        let _ = &self.config;
        Box::pin(async { Err(ProbeError::Device("adapter not written yet".into())) })
    }
}
