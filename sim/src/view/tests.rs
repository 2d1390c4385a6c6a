//! The drawn pictures are what they claim, measured on the decoded JPEG
//! with simple statistics computed here (not the agent's).

use jiff::SignedDuration;

use super::set::wib;
use super::*;

/// Decoded luma of a JPEG, with its size.
fn luma(jpeg: &[u8]) -> (Vec<f32>, usize, usize) {
    let mut d = jpeg_decoder::Decoder::new(jpeg);
    let px = d.decode().expect("a JPEG that decodes");
    let info = d.info().expect("its header");
    let (w, h) = (usize::from(info.width), usize::from(info.height));
    assert_eq!(
        info.coding_process,
        jpeg_decoder::CodingProcess::DctSequential
    );
    let y = px
        .chunks_exact(3)
        .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
        .collect();
    (y, w, h)
}

fn mean(y: &[f32]) -> f32 {
    y.iter().sum::<f32>() / y.len() as f32
}

fn std_dev(y: &[f32]) -> f32 {
    let m = mean(y);
    (y.iter().map(|v| (v - m).powi(2)).sum::<f32>() / y.len() as f32).sqrt()
}

/// Mean absolute Laplacian: high-frequency energy.
fn sharpness(y: &[f32], w: usize, h: usize) -> f32 {
    let mut sum = 0.0;
    for r in 1..h - 1 {
        for c in 1..w - 1 {
            let i = r * w + c;
            sum += (4.0 * y[i] - y[i - 1] - y[i + 1] - y[i - w] - y[i + w]).abs();
        }
    }
    sum / ((w - 2) * (h - 2)) as f32
}

/// Mean luma of an 8×8 grid of blocks: where things are.
fn grid(y: &[f32], w: usize, h: usize) -> Vec<f32> {
    let mut g = vec![0.0; 64];
    for (i, v) in y.iter().enumerate() {
        g[(i / w) * 8 / h * 8 + (i % w) * 8 / w] += v / (w * h / 64) as f32;
    }
    g
}

fn cam(fault: Fault, light: Option<Light>) -> CameraState {
    let mut c = CameraState::new(7);
    c.view.fault = fault;
    c.view.light = light;
    c
}

const SIZE: Size = Size { w: 320, h: 180 };

fn shot(fault: Fault, light: Option<Light>) -> (Vec<f32>, usize, usize) {
    luma(&frame(&cam(fault, light), wib(10, 0), SIZE))
}

#[test]
fn a_frame_is_a_baseline_4_2_0_jpeg_of_the_asked_size() {
    let jpeg = frame(&cam(Fault::Normal, None), wib(10, 0), Size::SUB);
    assert_eq!(&jpeg[..2], &[0xff, 0xd8]);
    assert_eq!(&jpeg[jpeg.len() - 2..], &[0xff, 0xd9]);
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xff, 0xc0])
        .expect("SOF0");
    // Luma sampled 2×2 against chroma 1×1: 4:2:0.
    assert_eq!(jpeg[sof + 11], 0x22);
    let (_, w, h) = luma(&jpeg);
    assert_eq!((w, h), (640, 360));
}

#[test]
fn the_road_has_texture_and_edges() {
    let (y, w, h) = shot(Fault::Normal, Some(Light::Day));
    assert!(std_dev(&y) > 35.0, "contrast {}", std_dev(&y));
    assert!(
        sharpness(&y, w, h) > 8.0,
        "sharpness {}",
        sharpness(&y, w, h)
    );
}

#[test]
fn night_is_darker_than_day_and_grey() {
    let (day, ..) = shot(Fault::Normal, Some(Light::Day));
    let (night, ..) = shot(Fault::Normal, Some(Light::Night));
    assert!(
        mean(&night) + 40.0 < mean(&day),
        "{} vs {}",
        mean(&night),
        mean(&day)
    );
    let rgb = jpeg_decoder::Decoder::new(
        &frame(&cam(Fault::Normal, Some(Light::Night)), wib(1, 0), SIZE)[..],
    )
    .decode()
    .unwrap();
    let chroma = rgb
        .chunks_exact(3)
        .map(|p| i32::from(p[0]).abs_diff(i32::from(p[2])))
        .max()
        .unwrap();
    assert!(
        chroma < 24,
        "infrared is grey: red and blue differ by {chroma}"
    );
}

#[test]
fn the_cover_is_nearly_uniform_and_dark_is_near_black() {
    let (cover, w, h) = shot(Fault::Cover, None);
    assert!(std_dev(&cover) < 8.0, "cover contrast {}", std_dev(&cover));
    assert!(sharpness(&cover, w, h) < 4.0);
    let (dark, ..) = shot(Fault::Dark, Some(Light::Night));
    assert!(mean(&dark) < 12.0, "dark mean {}", mean(&dark));
    let share = dark.iter().filter(|v| **v < 32.0).count() as f32 / dark.len() as f32;
    assert!(share > 0.97, "dark share {share}");
}

#[test]
fn defocus_loses_most_high_frequencies() {
    let (road, w, h) = shot(Fault::Normal, Some(Light::Day));
    let (blur, ..) = shot(Fault::Defocus, Some(Light::Day));
    let (a, b) = (sharpness(&road, w, h), sharpness(&blur, w, h));
    assert!(b * 3.0 < a, "defocused {b} against {a}");
    // Still the same place: the brightness of the blocks barely moves.
    let d: f32 = grid(&road, w, h)
        .iter()
        .zip(grid(&blur, w, h))
        .map(|(x, y)| (x - y).abs())
        .sum::<f32>()
        / 64.0;
    assert!(d < 12.0, "blocks moved by {d}");
}

#[test]
fn a_turned_camera_sees_another_scene() {
    let (road, w, h) = shot(Fault::Normal, Some(Light::Day));
    let (turned, ..) = shot(Fault::Turn, Some(Light::Day));
    let d: f32 = grid(&road, w, h)
        .iter()
        .zip(grid(&turned, w, h))
        .map(|(x, y)| (x - y).abs())
        .sum::<f32>()
        / 64.0;
    assert!(d > 30.0, "blocks moved by only {d}");
}

#[test]
fn frozen_and_no_signal_repeat_their_bytes_and_live_frames_never_do() {
    let mut c = cam(Fault::Freeze, None);
    c.view.frozen_at = Some(wib(9, 0));
    let a = frame(&c, wib(10, 0), SIZE);
    assert_eq!(a, frame(&c, wib(15, 0), SIZE));
    // Frozen in a layout, with no instant: still the same bytes.
    let c = cam(Fault::Freeze, None);
    assert_eq!(frame(&c, wib(10, 0), SIZE), frame(&c, wib(22, 0), SIZE));
    let c = cam(Fault::NoSignal, None);
    assert_eq!(frame(&c, wib(10, 0), SIZE), frame(&c, wib(11, 0), SIZE));
    let c = cam(Fault::Normal, None);
    let t = wib(10, 0);
    let b = frame(&c, t + SignedDuration::from_millis(1), SIZE);
    assert_ne!(frame(&c, t, SIZE), b, "sensor noise differs per frame");
    // Two cameras at the same instant differ too.
    assert_ne!(
        frame(&CameraState::new(8), t, SIZE),
        frame(&CameraState::new(9), t, SIZE)
    );
}

#[test]
fn the_odd_frame_is_a_truck_filling_the_view() {
    let mut c = cam(Fault::Normal, Some(Light::Day));
    c.view.odd_frame = true;
    let (truck, w, h) = luma(&frame(&c, wib(10, 0), SIZE));
    let (road, ..) = shot(Fault::Normal, Some(Light::Day));
    assert!(sharpness(&truck, w, h) * 2.0 < sharpness(&road, w, h));
    assert!(mean(&truck) > mean(&road) + 20.0);
}

#[test]
fn the_light_follows_the_wall_clock_over_a_day() {
    let offset = jiff::tz::Offset::constant(7);
    assert_eq!(light_level(wib(12, 0), offset), 1.0);
    assert_eq!(light_level(wib(0, 0), offset), 0.0);
    let dawn = light_level(wib(6, 0), offset);
    assert!(dawn > 0.2 && dawn < 0.8, "dawn {dawn}");
    // A walk through a day, every two hours: the picture's brightness
    // follows the light, darkest at night.
    let c = cam(Fault::Normal, None);
    let means: Vec<f32> = (0..12)
        .map(|i| {
            let t = wib(0, 0) + SignedDuration::from_hours(2 * i);
            mean(&luma(&frame(&c, t, SIZE)).0)
        })
        .collect();
    let (night, noon) = (means[0], means[6]);
    assert!(night + 40.0 < noon, "{means:?}");
    assert!(
        means
            .iter()
            .all(|m| *m >= night - 10.0 && *m <= noon + 10.0),
        "{means:?}"
    );
}

#[test]
fn sizes_parse_within_bounds() {
    assert_eq!("1920x1080".parse::<Size>(), Ok(Size::FULL_HD));
    for bad in ["0x0", "99999x10", "axb", "1920", "", "1920x1080x3", "-5x10"] {
        assert!(bad.parse::<Size>().is_err(), "{bad}");
    }
    assert_eq!(
        Size::FULL_HD.with_height(360),
        Some(Size { w: 640, h: 360 })
    );
    assert_eq!(Size::FULL_HD.with_height(99_999), None);
}

#[test]
fn the_scene_set_draws_every_name() {
    let dir = tempfile::tempdir().unwrap();
    let files = set::write(dir.path(), SIZE).unwrap();
    assert_eq!(files.len(), set::NAMES.len());
    for f in files {
        luma(&std::fs::read(f).unwrap());
    }
    assert!(set::draw("nothing", SIZE).is_none());
}
