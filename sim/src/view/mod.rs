//! What a simulated camera sees: synthetic pictures of the road in front of
//! an office, by day and night, with the faults a real camera suffers
//! (covered, dark, frozen, turned, defocused, no signal), encoded as the
//! baseline 4:2:0 JPEG a camera sends. [`frame`] is a pure function of the
//! camera's state, the instant and the size, so a test can walk a whole
//! simulated day without a server.
//!
//! The pictures are made, not recorded: no person is in them (UU 27/2022
//! does not reach a drawing), and they can be written to disk to look at
//! (`ronda-sim scenes DIR`, [`set`]).

mod cache;
pub mod control;
mod raster;
mod scene;
pub mod serve;
pub mod set;

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use jiff::tz::Offset;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use raster::{encode, Raster};
pub use scene::light_level;

/// What a channel's picture shows, set through the control API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The road, lit by the hour.
    #[default]
    Normal,
    /// Tape or a bag over the lens: a near-uniform field.
    Cover,
    /// The infrared is dead at night: near black with sensor noise, at
    /// any hour (set `light` to night for the realistic case).
    Dark,
    /// The encoder hangs on one frame: the same bytes every time.
    Freeze,
    /// Someone turned the camera: it looks at the sky over the rooftops.
    Turn,
    /// Out of focus: a strong blur of the road.
    Defocus,
    /// The recorder lost the camera: its "NO VIDEO" screen.
    NoSignal,
}

/// A forced light, instead of the one the hour gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Light {
    Day,
    Night,
}

/// An event the device itself raises about a channel's picture, in the
/// sim's own words; each vendor's routes write it in theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceEvent {
    /// Hikvision `tamperdetection`, Dahua `VideoBlind`, ONVIF tamper.
    Tamper,
    /// Hikvision `videoloss`, Dahua `VideoLoss`.
    VideoLoss,
    /// Hikvision `defocus`, Dahua `VideoUnFocus`, ONVIF `ImageTooBlurry`.
    Defocus,
    /// Hikvision `scenechangedetection`, Dahua `VideoAbnormalDetection`,
    /// ONVIF `GlobalSceneChange`.
    SceneChange,
    /// ONVIF `ImageTooDark`.
    TooDark,
}

/// How a device's firmware serves its snapshots: the variants the agent
/// must cope with; each device module names where it is documented.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PictureFirmware {
    #[default]
    Standard,
    /// Hikvision NVR firmware (DS-7616NI-Q2) that refuses
    /// `Streaming/channels/…/picture` with HTTP 400 and serves only
    /// `ContentMgmt/StreamingProxy/channels/…/picture`.
    ProxyOnly,
    /// Dahua firmware that sends bytes after the JPEG's end marker.
    TailAfterEoi,
}

/// A channel's picture settings, kept in its state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChannelView {
    pub fault: Fault,
    /// `None`: the light follows the device's wall clock.
    pub light: Option<Light>,
    /// While frozen: the instant whose frame is sent again and again.
    pub frozen_at: Option<Timestamp>,
    /// The next snapshot shows a truck passing close, filling the frame.
    pub odd_frame: bool,
    /// Events the device reports as active on this channel.
    pub events: BTreeSet<DeviceEvent>,
}

/// Everything a frame depends on besides the instant and the size.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraState {
    pub view: ChannelView,
    /// Makes two cameras' noise and passing cars differ.
    pub seed: u64,
    /// The device's wall clock, for the light of the hour.
    pub offset: Offset,
}

impl CameraState {
    /// A camera on a device in WIB with the default settings.
    pub fn new(seed: u64) -> Self {
        CameraState {
            view: ChannelView::default(),
            seed,
            offset: Offset::constant(7),
        }
    }

    /// The camera of `channel` on `device`, as its routes see it.
    pub fn of(device: &str, channel: &str, view: &ChannelView, offset: Offset) -> Self {
        CameraState {
            view: view.clone(),
            seed: seed_of(device, channel),
            offset,
        }
    }
}

/// A stable seed from names (FNV-1a): the same camera looks the same in
/// every run.
pub fn seed_of(device: &str, channel: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in device.bytes().chain([0]).chain(channel.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A picture size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub w: u16,
    pub h: u16,
}

impl Size {
    pub const FULL_HD: Size = Size { w: 1920, h: 1080 };
    /// A sub-stream size (D1 at 16:9, as many NVRs send).
    pub const SUB: Size = Size { w: 640, h: 360 };
    /// The largest picture the sim draws: 4K UHD, so a silly request
    /// cannot make it draw gigapixels.
    pub const MAX: Size = Size { w: 3840, h: 2160 };

    /// `w`×`h` within 16×16 and [`Size::MAX`], or `None`.
    pub fn new(w: u32, h: u32) -> Option<Size> {
        let ok = |v: u32, max: u16| (16..=u32::from(max)).contains(&v);
        (ok(w, Size::MAX.w) && ok(h, Size::MAX.h)).then_some(Size {
            w: w as u16,
            h: h as u16,
        })
    }

    /// The size with height `h` and this size's shape (Frigate's `h=`).
    pub fn with_height(self, h: u32) -> Option<Size> {
        let w = u64::from(h) * u64::from(self.w) / u64::from(self.h.max(1));
        Size::new(u32::try_from(w).ok()?, h)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.w, self.h)
    }
}

impl FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Size, String> {
        let bad = || format!("`{s}` is not WIDTHxHEIGHT between 16x16 and {}", Size::MAX);
        let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
        let (w, h) = (w.parse().map_err(|_| bad())?, h.parse().map_err(|_| bad())?);
        Size::new(w, h).ok_or_else(bad)
    }
}

/// The JPEG the camera sends at true instant `t` (its picture clock), at
/// `size`. Frozen: the frame of the freeze instant, byte for byte.
pub fn frame(cam: &CameraState, t: Timestamp, size: Size) -> Vec<u8> {
    encode(&picture(cam, t, size))
}

/// The picture before encoding.
pub fn picture(cam: &CameraState, t: Timestamp, size: Size) -> Raster {
    let v = &cam.view;
    // Frozen without an instant (set so in a layout): a fixed morning.
    let t = match v.fault {
        Fault::Freeze => v.frozen_at.unwrap_or_else(|| set::wib(10, 0)),
        _ => t,
    };
    let light = match v.light {
        Some(Light::Day) => 1.0,
        Some(Light::Night) => 0.0,
        None => light_level(t, cam.offset),
    };
    let seed = cam.seed ^ (t.as_nanosecond() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let odd = v.odd_frame && v.fault != Fault::Freeze;
    let drift = (t.as_second() / 600).rem_euclid(1 << 20) as u32;
    scene::draw(v.fault, odd, light, seed, drift, size)
}

#[cfg(test)]
mod tests;
