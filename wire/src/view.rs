//! What an agent saw of a camera's picture: a few numbers per snapshot,
//! never the picture itself, and the events the device raised.
//!
//! ```json
//! {"samples":[{"at":"2026-12-24T01:00:00Z","stats":{"w":1920,"h":1080,"mean":112,
//!   "contrast":41,"entropy":68,"dark":12,"edges":87,"sharp":310,"hash":"f0e1d2c3b4a59687"},
//!   "unchanged_s":0}]}
//! ```

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// How many samples a channel's view carries, newest first: a finding
/// fires when it holds in most of them, so one odd frame pages nobody.
pub const VIEW_SAMPLES: usize = 3;

/// The latest samples of one channel, newest first, at most [`VIEW_SAMPLES`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct View {
    pub samples: Vec<ViewSample>,
}

/// One look at a channel: the device's events, and the snapshot's numbers
/// or why there is no snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ViewSample {
    /// When it was taken (agent clock).
    pub at: Timestamp,
    /// What the device itself reported of this channel at that moment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<ViewEvent>,
    /// Absent when no picture could be read; `error` says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<ViewStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long the snapshot has come back byte for byte the same, in
    /// seconds on the device's clock (the agent's when the device tells
    /// none). 0 when it changed. A live sensor never repeats its bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unchanged_s: Option<u64>,
    /// The device's clock moved on between the previous sample and this
    /// one: a frozen picture is only frozen while time passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_advanced: Option<bool>,
}

/// An event the device raised about a channel's picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ViewEvent {
    /// Hikvision tamper, Dahua `VideoBlind`, ONVIF tamper detector.
    Tamper,
    /// Hikvision video loss, Dahua `VideoLoss`, Frigate at 0 fps.
    VideoLoss,
    /// Hikvision defocus, Dahua `VideoUnFocus`, ONVIF `ImageTooBlurry`.
    Defocus,
    /// Hikvision scene change, Dahua `VideoAbnormalDetection`, ONVIF
    /// `GlobalSceneChange`.
    SceneChange,
    /// ONVIF `ImageTooDark`.
    TooDark,
}

/// A snapshot reduced to numbers, from its luma decoded at 1/8 scale.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewStats {
    /// The snapshot's own size in pixels.
    pub w: u16,
    pub h: u16,
    /// Mean luma, 0–255.
    pub mean: u8,
    /// Standard deviation of luma, 0–128.
    pub contrast: u8,
    /// Shannon entropy of the luma histogram, in tenths of a bit (0–80).
    pub entropy: u8,
    /// Share of pixels darker than 32, in per mille.
    pub dark: u16,
    /// Share of pixels on an edge (gradient above 24), in per mille.
    pub edges: u16,
    /// Variance of the Laplacian: sharpness.
    pub sharp: u32,
    /// 64-bit difference hash, 16 hex digits: where things are in the frame.
    pub hash: String,
}

impl ViewStats {
    /// Bits in which two difference hashes differ; `None` if either is not
    /// 16 hex digits.
    pub fn hash_distance(&self, other: &ViewStats) -> Option<u32> {
        let a = u64::from_str_radix(&self.hash, 16).ok()?;
        let b = u64::from_str_radix(&other.hash, 16).ok()?;
        (self.hash.len() == 16 && other.hash.len() == 16).then(|| (a ^ b).count_ones())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_reads_back_the_documented_shape() {
        let text = r#"{"samples":[{"at":"2026-12-24T01:00:00Z","events":["tamper"],"stats":{"w":1920,"h":1080,"mean":112,"contrast":41,"entropy":68,"dark":12,"edges":87,"sharp":310,"hash":"f0e1d2c3b4a59687"},"unchanged_s":0}]}"#;
        let v: View = serde_json::from_str(text).unwrap();
        assert_eq!(v.samples[0].events, vec![ViewEvent::Tamper]);
        assert_eq!(serde_json::to_string(&v).unwrap(), text);
    }

    #[test]
    fn hash_distance_counts_bits_and_refuses_junk() {
        let s = |h: &str| ViewStats {
            hash: h.into(),
            ..ViewStats::default()
        };
        let a = s("00000000000000ff");
        assert_eq!(a.hash_distance(&s("000000000000000f")), Some(4));
        assert_eq!(a.hash_distance(&s("zz")), None);
        assert_eq!(a.hash_distance(&s("ff")), None);
    }
}
