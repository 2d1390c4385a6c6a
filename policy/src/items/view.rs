//! Checking a `cctv.view` item's parameters.

use std::time::Duration;

use crate::model::ViewRule;
use crate::raw::RawCheck;
use crate::walk::LetterCheck;

pub(super) const PARAMETERS: [&str; 8] = [
    "zones",
    "dark_below",
    "covered_contrast",
    "covered_edges",
    "blurred_ratio",
    "moved_bits",
    "frozen_after",
    "max_sample_age",
];

pub(super) fn check(cx: &mut LetterCheck<'_, '_>, at: &str, r: RawCheck) -> ViewRule {
    let zones = super::zones(cx, at, r.zones);
    let blurred_ratio = r.blurred_ratio.unwrap_or(ViewRule::BLURRED_RATIO);
    if !(blurred_ratio > 0.0 && blurred_ratio < 1.0) {
        cx.fail(
            &format!("{at}.blurred_ratio"),
            format!("{blurred_ratio} is not a share: expected more than 0 and less than 1"),
        );
    }
    let moved_bits = r.moved_bits.unwrap_or(ViewRule::MOVED_BITS);
    if !(1..64).contains(&moved_bits) {
        cx.fail(
            &format!("{at}.moved_bits"),
            format!("{moved_bits} bits: a difference hash has 64, expected 1 to 63"),
        );
    }
    let covered_edges = r.covered_edges.unwrap_or(ViewRule::COVERED_EDGES);
    if covered_edges > 1000 {
        cx.fail(
            &format!("{at}.covered_edges"),
            format!("{covered_edges} ‰ is more than the whole picture (1000)"),
        );
    }
    let frozen_after = r.frozen_after.map_or(ViewRule::FROZEN_AFTER, |d| d.0);
    if frozen_after < Duration::from_secs(600) {
        cx.fail(
            &format!("{at}.frozen_after"),
            "under 10m: a camera looked at every 15 to 30 minutes needs at least two looks",
        );
    }
    ViewRule {
        zones,
        dark_below: r.dark_below.unwrap_or(ViewRule::DARK_BELOW),
        covered_contrast: r.covered_contrast.unwrap_or(ViewRule::COVERED_CONTRAST),
        covered_edges,
        blurred_ratio,
        moved_bits,
        frozen_after,
        max_sample_age: r.max_sample_age.map_or(ViewRule::MAX_SAMPLE_AGE, |d| d.0),
    }
}
