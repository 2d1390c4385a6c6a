//! The control API's picture settings (documented in `crate::control`):
//! a channel's fault, its device events, a passing truck, and the light.

use jiff::Timestamp;
use serde::Deserialize;

use super::{DeviceEvent, Fault, Light};
use crate::state::{DeviceState, Patch};

/// `{"light": …}`: forced day or night, or `auto` (the hour's light).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LightSetting {
    Day,
    Night,
    Auto,
}

impl LightSetting {
    fn forced(self) -> Option<Light> {
        match self {
            LightSetting::Day => Some(Light::Day),
            LightSetting::Night => Some(Light::Night),
            LightSetting::Auto => None,
        }
    }
}

/// Apply the picture fields of `p` to `d` at `now` on the device's clock.
pub fn apply(p: &Patch, d: &mut DeviceState, now: Timestamp) -> Result<(), String> {
    if p.view_event.is_some() != p.active.is_some() {
        return Err("`view_event` and `active` go together".into());
    }
    if let Some(f) = p.picture_firmware {
        d.picture_firmware = f;
    }
    let per_channel = p.view.is_some() || p.view_event.is_some() || p.odd_frame.is_some();
    if per_channel || (p.light.is_some() && p.channel.is_some()) {
        let id = p
            .channel
            .as_deref()
            .ok_or("`view`, `view_event` and `odd_frame` need `channel`")?;
        let ch = d
            .channels
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(|| format!("no channel `{id}`"))?;
        let v = &mut ch.view;
        if let Some(f) = p.view {
            set_fault(v, f, now);
        }
        if let (Some(e), Some(on)) = (p.view_event, p.active) {
            set_event(&mut v.events, e, on);
        }
        if let Some(o) = p.odd_frame {
            v.odd_frame = o;
        }
        if let Some(l) = p.light {
            v.light = l.forced();
        }
    } else if let Some(l) = p.light {
        for ch in &mut d.channels {
            ch.view.light = l.forced();
        }
    }
    Ok(())
}

fn set_fault(v: &mut super::ChannelView, f: Fault, now: Timestamp) {
    // Freezing again keeps the frame already frozen.
    if f != Fault::Freeze {
        v.frozen_at = None;
    } else if v.fault != Fault::Freeze {
        v.frozen_at = Some(now);
    }
    v.fault = f;
}

fn set_event(events: &mut std::collections::BTreeSet<DeviceEvent>, e: DeviceEvent, on: bool) {
    if on {
        events.insert(e);
    } else {
        events.remove(&e);
    }
}
