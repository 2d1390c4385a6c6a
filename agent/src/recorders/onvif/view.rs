//! ONVIF pictures, as /root/i23/VENDOR.md sets them out: the Media service
//! (from GetServices, else GetCapabilities), the channel's profile from
//! GetProfiles (a profile token, or the N-th camera's smallest profile),
//! GetSnapshotUri, then a GET of that URI's path on the configured host
//! with the recorder's credentials (HTTP Digest, ONVIF Core 5.9.1). The
//! URI is kept per channel and asked again after a failure.
//!
//! View events are not read: ONVIF gives them only through a PullPoint
//! subscription, three calls and a subscription per look. `events` answers
//! none, and ONVIF channels are judged by their pictures alone.

use std::collections::HashMap;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};
use ronda_wire::ViewEvent;

use super::media::{self, MEDIA_NS};
use super::{Onvif, Op, GET_CAPABILITIES, GET_SERVICES};
use crate::http::Clients;
use crate::probe::ProbeError;
use crate::recorders::picture::{self, Turn};
use crate::recorders::{BoxFuture, RecorderConfig};
use crate::view::Viewer;

const GET_SNAPSHOT_URI: Op = Op::new(MEDIA_NS, "GetSnapshotUri", "");

pub struct OnvifViewer {
    onvif: Onvif,
    turn: Turn,
    /// How far the device's clock is ahead of ours, for login tokens.
    offset: Mutex<Option<SignedDuration>>,
    /// The snapshot path per configured channel.
    uris: Mutex<HashMap<String, String>>,
}

impl OnvifViewer {
    pub fn new(cfg: &RecorderConfig, clients: &Clients) -> Self {
        OnvifViewer {
            onvif: Onvif::new(cfg, clients),
            turn: Turn::default(),
            offset: Mutex::new(None),
            uris: Mutex::default(),
        }
    }

    async fn picture(&self, channel: &str, cap: usize) -> Result<Vec<u8>, ProbeError> {
        let _turn = self.turn.lock().await;
        let kept = self.uris.lock().ok().and_then(|u| u.get(channel).cloned());
        let path = match kept {
            Some(path) => path,
            None => self.snapshot_path(channel).await?,
        };
        let got = match self.onvif.device.fetch(&path, cap).await {
            Ok(raw) => picture::jpeg(raw, |_| None),
            Err(e) => Err(e),
        };
        if let Ok(mut uris) = self.uris.lock() {
            match &got {
                Ok(_) => uris.insert(channel.to_owned(), path),
                Err(_) => uris.remove(channel),
            };
        }
        got
    }

    /// Media service, profile, snapshot URI: three calls, once per channel.
    async fn snapshot_path(&self, channel: &str) -> Result<String, ProbeError> {
        let offset = self.offset().await?;
        let media = self.media_path(offset).await?;
        let profiles = self
            .onvif
            .call(&media, &media::GET_PROFILES, Some(offset))
            .await?;
        let profiles = media::parse_profiles(&profiles)?;
        let profile = media::profile_for(&profiles, channel).ok_or_else(|| {
            ProbeError::Device(format!(
                "no media profile for channel `{channel}` ({} profiles)",
                profiles.len()
            ))
        })?;
        let body = media::snapshot_uri_request(&profile.token);
        let answer = self
            .onvif
            .call_with(&media, &GET_SNAPSHOT_URI, &body, Some(offset))
            .await?;
        media::parse_snapshot_uri(&answer)
    }

    async fn media_path(&self, offset: SignedDuration) -> Result<String, ProbeError> {
        let device = &self.onvif.path;
        let from_services = match self.onvif.call(device, &GET_SERVICES, Some(offset)).await {
            Ok(body) => media::media_path(&body)?,
            Err(e @ (ProbeError::Device(_) | ProbeError::Status { .. })) => {
                tracing::debug!(error = %e, "GetServices refused; asking GetCapabilities");
                None
            }
            Err(e) => return Err(e),
        };
        if let Some(path) = from_services {
            return Ok(path);
        }
        let caps = self
            .onvif
            .call(device, &GET_CAPABILITIES, Some(offset))
            .await?;
        media::capabilities_media_path(&caps)?
            .ok_or_else(|| ProbeError::Device("the device offers no media service".into()))
    }

    /// The clock offset, read once (and again by `clock`).
    async fn offset(&self) -> Result<SignedDuration, ProbeError> {
        if let Some(o) = self.offset.lock().ok().and_then(|o| *o) {
            return Ok(o);
        }
        let (_, offset) = self.onvif.clock().await?;
        if let Ok(mut o) = self.offset.lock() {
            *o = Some(offset);
        }
        Ok(offset)
    }
}

impl Viewer for OnvifViewer {
    fn snapshot<'a>(
        &'a self,
        channel: &'a str,
        cap: usize,
    ) -> BoxFuture<'a, Result<Vec<u8>, ProbeError>> {
        Box::pin(self.picture(channel, cap))
    }

    /// Not read (see the module's header): none.
    fn events<'a>(
        &'a self,
        _channel: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ViewEvent>, ProbeError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn clock(&self) -> BoxFuture<'_, Option<Timestamp>> {
        Box::pin(async {
            let _turn = self.turn.lock().await;
            let (now, offset) = self.onvif.clock().await.ok()?;
            if let Ok(mut o) = self.offset.lock() {
                *o = Some(offset);
            }
            now
        })
    }
}
