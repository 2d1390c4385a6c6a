//! Decoding real JPEGs made by `jpeg-encoder` (baseline 4:2:0, as cameras
//! send them; T.81 markers), and hostile ones: truncated, bit-flipped,
//! empty, not a JPEG, a frame header claiming 65535×65535, a progressive
//! 4000×3000, bytes after the end marker.
#![allow(clippy::unwrap_used)]

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

use super::*;

/// A busy made-up picture, RGB.
fn picture(w: u16, h: u16) -> Vec<u8> {
    let (w, h) = (usize::from(w), usize::from(h));
    (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .flat_map(|(x, y)| {
            let v = ((x / 16 + y / 16) % 2 * 120 + (x * 7 + y * 13) % 60) as u8;
            [v, v / 2 + 40, 255 - v]
        })
        .collect()
}

fn encode(w: u16, h: u16, progressive: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = Encoder::new(&mut out, 80);
    e.set_sampling_factor(SamplingFactor::R_4_2_0);
    e.set_progressive(progressive);
    e.encode(&picture(w, h), w, h, ColorType::Rgb).unwrap();
    out
}

fn decode(jpeg: &[u8]) -> Result<Luma, DecodeError> {
    let mut l = Luma::default();
    decode_into(jpeg, 2 << 20, &mut l).map(|()| l)
}

/// `jpeg` with its frame header (SOF0 or SOF2) claiming `w`×`h`.
fn claim(mut jpeg: Vec<u8>, w: u16, h: u16) -> Vec<u8> {
    let sof = jpeg
        .windows(2)
        .position(|m| m == [0xFF, 0xC0] || m == [0xFF, 0xC2])
        .unwrap();
    // Marker, length (2), precision (1), then height and width.
    jpeg[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    jpeg
}

#[test]
fn a_baseline_snapshot_decodes_at_one_eighth() {
    let l = decode(&encode(640, 480, false)).unwrap();
    assert_eq!((l.full_w, l.full_h, l.w, l.h), (640, 480, 80, 60));
    assert_eq!(l.px.len(), 80 * 60);
    // Odd sizes round up.
    let l = decode(&encode(1001, 333, false)).unwrap();
    assert_eq!((l.w, l.h), (126, 42));
}

#[test]
fn the_luma_is_that_of_the_picture() {
    let (w, h) = (320u16, 240u16);
    let rgb = picture(w, h);
    let want: u64 = rgb
        .chunks(3)
        .map(|p| (77 * u64::from(p[0]) + 150 * u64::from(p[1]) + 29 * u64::from(p[2])) >> 8)
        .sum::<u64>()
        / (u64::from(w) * u64::from(h));
    let l = decode(&encode(w, h, false)).unwrap();
    let got = l.px.iter().map(|&p| u64::from(p)).sum::<u64>() / l.px.len() as u64;
    assert!(got.abs_diff(want) <= 3, "mean luma {got}, picture's {want}");
}

#[test]
fn grey_and_cmyk_pictures_reduce_to_luma() {
    let mut grey = Vec::new();
    Encoder::new(&mut grey, 80)
        .encode(&[200; 64 * 48], 64, 48, ColorType::Luma)
        .unwrap();
    let l = decode(&grey).unwrap();
    assert!(l.px.iter().all(|&p| p.abs_diff(200) <= 2));
    let mut cmyk = Vec::new();
    Encoder::new(&mut cmyk, 80)
        .encode(&[0, 0, 0, 255].repeat(64 * 48), 64, 48, ColorType::Cmyk)
        .unwrap();
    let l = decode(&cmyk).unwrap();
    assert_eq!(l.px.len(), 8 * 6);
}

#[test]
fn the_luma_buffer_is_reused() {
    let jpeg = encode(640, 480, false);
    let mut l = Luma::default();
    decode_into(&jpeg, 1 << 20, &mut l).unwrap();
    let at = l.px.as_ptr();
    decode_into(&jpeg, 1 << 20, &mut l).unwrap();
    assert_eq!(l.px.as_ptr(), at);
}

#[test]
fn empty_and_foreign_bodies_are_refused_by_name() {
    assert_eq!(decode(b"").unwrap_err(), DecodeError::Empty);
    for body in [
        &b"<html><body>401 Unauthorized</body></html>"[..],
        b"GIF89a\x01\x00\x01\x00",
        b"\x89PNG\r\n\x1a\n",
        b"\xFF",
        b"\xFF\xD9",
    ] {
        assert_eq!(decode(body).unwrap_err(), DecodeError::NotJpeg, "{body:?}");
    }
    assert_eq!(DecodeError::NotJpeg.to_string(), "not a JPEG");
}

#[test]
fn a_body_over_the_cap_is_refused_before_decoding() {
    let jpeg = encode(64, 64, false);
    let mut l = Luma::default();
    let e = decode_into(&jpeg, 100, &mut l).unwrap_err();
    assert_eq!(e, DecodeError::TooLarge(jpeg.len(), 100));
}

#[test]
fn every_truncation_is_refused() {
    let jpeg = encode(160, 120, false);
    for cut in 0..jpeg.len() - 1 {
        let e = decode(&jpeg[..cut]).unwrap_err();
        if cut > 2 {
            assert_eq!(e, DecodeError::Truncated, "cut at {cut}");
        }
    }
    assert_eq!(DecodeError::Truncated.to_string(), "truncated");
}

#[test]
fn bit_flips_give_numbers_or_a_refusal_never_a_panic() {
    let jpeg = encode(160, 120, false);
    let mut rng = fastrand::Rng::with_seed(23);
    for _ in 0..2000 {
        let mut bad = jpeg.clone();
        for _ in 0..rng.usize(1..4) {
            let i = rng.usize(..bad.len());
            bad[i] ^= 1 << rng.u8(..8);
        }
        let _ = decode(&bad);
    }
}

#[test]
fn a_decompression_bomb_is_refused_before_decoding() {
    let bomb = claim(encode(64, 64, false), 65535, 65535);
    assert!(bomb.len() < 60_000);
    let e = decode(&bomb).unwrap_err();
    assert_eq!(
        e.to_string(),
        "claims 65535×65535 pixels, over the 16 MP limit"
    );
    // Under the limit passes the check. jpeg-decoder fills what the scan
    // lacks, so the lie decodes: to 1/8 of what it claims, and no more.
    let r = decode(&claim(encode(64, 64, false), 4000, 4000));
    assert!(!matches!(r, Err(DecodeError::TooManyPixels { .. })));
    assert_eq!(r.map(|l| l.px.len()).ok(), Some(500 * 500));
}

#[test]
fn a_large_progressive_snapshot_is_refused() {
    let small = encode(320, 240, true);
    let l = decode(&small).unwrap();
    assert_eq!((l.w, l.h), (40, 30), "a small progressive one decodes");
    let e = decode(&claim(small, 4000, 3000)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "progressive JPEG of 12 MP: over the 4 MP limit for progressive"
    );
    // The same size in baseline is not refused for being progressive.
    let r = decode(&claim(encode(320, 240, false), 4000, 3000));
    assert!(!matches!(r, Err(DecodeError::Progressive { .. })));
}

#[test]
fn bytes_after_the_end_marker_are_stripped() {
    let jpeg = encode(160, 120, false);
    let want = decode(&jpeg).unwrap().px;
    for tail in [
        &b"\0\0\0\0"[..],
        b"\xFF\xD9\xFF\xD8garbage",
        b"--myboundary\r\nContent-Type: text/plain\r\n\r\n",
        &[0xFF; 300],
    ] {
        let mut body = jpeg.clone();
        body.extend_from_slice(tail);
        assert_eq!(jpeg_end(&body).unwrap(), &jpeg[..]);
        assert_eq!(decode(&body).unwrap().px, want);
    }
}

#[test]
fn an_end_marker_inside_an_exif_thumbnail_is_not_the_end() {
    let mut out = Vec::new();
    let mut e = Encoder::new(&mut out, 80);
    e.add_exif_metadata(b"MM\0\x2a\0\0\0\x08\xFF\xD8\xFF\xD9thumb")
        .unwrap();
    e.encode(&picture(64, 64), 64, 64, ColorType::Rgb).unwrap();
    assert_eq!(jpeg_end(&out).unwrap().len(), out.len());
    assert!(decode(&out).is_ok());
}

#[test]
fn restart_markers_and_fill_bytes_do_not_end_a_scan() {
    let mut out = Vec::new();
    let mut e = Encoder::new(&mut out, 80);
    e.set_restart_interval(4);
    e.encode(&picture(160, 120), 160, 120, ColorType::Rgb)
        .unwrap();
    assert_eq!(jpeg_end(&out).unwrap().len(), out.len());
    assert_eq!(decode(&out).unwrap().w, 20);
}
