//! The scene set: every picture the simulated cameras can send, by name,
//! written as JPEG files by `ronda-sim scenes DIR` so that anyone can look
//! at them, and drawn by the tests from the same list.

use std::path::{Path, PathBuf};

use jiff::civil::date;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::{encode, picture, scene, CameraState, Fault, Light, Raster, Size};

/// The scene set's names, in the order they are written.
pub const NAMES: [&str; 14] = [
    "road-day",
    "road-dusk",
    "road-night",
    "black",
    "cover",
    "sky",
    "dark",
    "freeze",
    "turn",
    "defocus",
    "no-signal",
    "odd-frame",
    "cover-night",
    "defocus-night",
];

/// The seed of the camera the set is drawn from.
const SEED: u64 = 20_260_101;

/// A wall-clock time in WIB on a fixed day, as an instant.
pub fn wib(hour: i8, minute: i8) -> Timestamp {
    date(2026, 1, 5)
        .at(hour, minute, 0, 0)
        .to_zoned(TimeZone::fixed(jiff::tz::Offset::constant(7)))
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

fn camera(fault: Fault, light: Option<Light>, odd: bool) -> CameraState {
    let mut cam = CameraState::new(SEED);
    cam.view.fault = fault;
    cam.view.light = light;
    cam.view.odd_frame = odd;
    if fault == Fault::Freeze {
        cam.view.frozen_at = Some(wib(10, 0));
    }
    cam
}

/// The picture of one name in the set, or `None` for a name not in it.
pub fn draw(name: &str, size: Size) -> Option<Raster> {
    let at = |fault, light, odd| picture(&camera(fault, light, odd), wib(10, 0), size);
    let night = Some(Light::Night);
    Some(match name {
        "road-day" => at(Fault::Normal, None, false),
        "road-dusk" => picture(&camera(Fault::Normal, None, false), wib(18, 0), size),
        "road-night" => at(Fault::Normal, night, false),
        "black" => scene::black(SEED, size),
        "sky" => scene::open_sky(SEED, size),
        "cover" => at(Fault::Cover, None, false),
        "cover-night" => at(Fault::Cover, night, false),
        "dark" => at(Fault::Dark, night, false),
        "freeze" => at(Fault::Freeze, None, false),
        "turn" => at(Fault::Turn, None, false),
        "defocus" => at(Fault::Defocus, None, false),
        "defocus-night" => at(Fault::Defocus, night, false),
        "no-signal" => at(Fault::NoSignal, None, false),
        "odd-frame" => at(Fault::Normal, None, true),
        _ => return None,
    })
}

/// Write the whole set into `dir` as `<name>.jpg`; returns the files.
pub fn write(dir: &Path, size: Size) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for name in NAMES {
        let Some(r) = draw(name, size) else { continue };
        let path = dir.join(format!("{name}.jpg"));
        std::fs::write(&path, encode(&r))?;
        written.push(path);
    }
    Ok(written)
}
