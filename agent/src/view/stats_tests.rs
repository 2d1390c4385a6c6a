//! The numbers on made-up luma: flat fields, checkerboards, gradients and a
//! synthetic street scene, shifted and with noise.

use super::*;

fn luma(w: usize, h: usize, f: impl Fn(usize, usize) -> u8) -> Luma {
    Luma {
        full_w: (w * 8) as u16,
        full_h: (h * 8) as u16,
        w,
        h,
        px: (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .map(|(x, y)| f(x, y))
            .collect(),
    }
}

/// A made-up street at 1/8 of 1080p: sky, buildings, a road, texture.
/// `dx` moves the whole scene to the right, as a camera turned a little.
fn street(dx: usize) -> Luma {
    luma(240, 135, |x, y| {
        let x = x + 240 - dx;
        let noise = ((x * 7919 + y * 104_729) % 23) as u8;
        let building = (x / 30).is_multiple_of(3) && y < 60 + (x % 40);
        let road = y > 90 && (x % 240).abs_diff(120) < (y - 60) * 2;
        match (y < 40, building, road) {
            (_, true, _) => 60 + noise,
            (true, _, _) => 200 - (y as u8) + noise / 4,
            (_, _, true) => 90 + noise,
            _ => 140 + ((x / 12 % 2) as u8) * 40 + noise,
        }
    })
}

/// `l` with every pixel moved by a pseudo-random ±`amp`, as sensor noise.
fn noisy(mut l: Luma, amp: i32, seed: u64) -> Luma {
    let mut rng = fastrand::Rng::with_seed(seed);
    for p in &mut l.px {
        *p = (i32::from(*p) + rng.i32(-amp..=amp)).clamp(0, 255) as u8;
    }
    l
}

fn bits(a: &Luma, b: &Luma) -> u32 {
    (dhash(&a.px, a.w, a.h) ^ dhash(&b.px, b.w, b.h)).count_ones()
}

#[test]
fn a_flat_field_has_no_contrast_no_edges_and_no_sharpness() {
    let s = stats(&luma(240, 135, |_, _| 100));
    assert_eq!((s.mean, s.contrast, s.entropy), (100, 0, 0));
    assert_eq!((s.dark, s.edges, s.sharp), (0, 0, 0));
    assert_eq!(s.hash, "0000000000000000");
    assert_eq!((s.w, s.h), (1920, 1080));
}

#[test]
fn a_black_field_is_all_dark() {
    let s = stats(&luma(40, 30, |_, _| 5));
    assert_eq!((s.mean, s.dark), (5, 1000));
}

#[test]
fn a_checkerboard_is_sharp_and_full_of_edges() {
    let board = luma(
        240,
        135,
        |x, y| if (x / 2 + y / 2) % 2 == 0 { 0 } else { 255 },
    );
    let s = stats(&board);
    assert!(s.sharp > 100_000, "sharp {}", s.sharp);
    assert!(s.edges > 900, "edges {}", s.edges);
    assert_eq!((s.mean, s.contrast, s.entropy, s.dark), (128, 128, 10, 500));
}

#[test]
fn a_blurred_scene_is_less_sharp_than_the_scene() {
    let sharp = street(0);
    let mut blurred = sharp.clone();
    for y in 1..sharp.h - 1 {
        for x in 1..sharp.w - 1 {
            let i = y * sharp.w + x;
            let around = [i - 1, i + 1, i - sharp.w, i + sharp.w, i];
            let sum: u32 = around.iter().map(|&j| u32::from(sharp.px[j])).sum();
            blurred.px[i] = (sum / 5) as u8;
        }
    }
    let (a, b) = (stats(&sharp), stats(&blurred));
    assert!(b.sharp * 4 < a.sharp, "{} vs {}", b.sharp, a.sharp);
    assert!(b.edges <= a.edges);
}

#[test]
fn entropy_counts_tenths_of_a_bit() {
    assert_eq!(entropy(&(0..=255).collect::<Vec<u8>>()), 80);
    assert_eq!(entropy(&[0, 0, 255, 255]), 10);
    assert_eq!(entropy(&[7; 9]), 0);
    assert_eq!(entropy(&[]), 0);
}

#[test]
fn mean_and_contrast_are_rounded() {
    assert_eq!(mean_and_contrast(&[0, 255]), (128, 128));
    assert_eq!(mean_and_contrast(&[10, 20, 30]), (20, 8));
    assert_eq!(mean_and_contrast(&[]), (0, 0));
}

#[test]
fn dark_counts_pixels_below_32_per_mille() {
    assert_eq!(dark(&[31, 32, 0, 255]), 500);
    assert_eq!(dark(&[]), 0);
}

#[test]
fn the_hash_reads_rows_left_to_right_most_significant_first() {
    // Brighter to the left everywhere: every comparison is set.
    let l = luma(90, 80, |x, _| 255 - x as u8);
    assert_eq!(dhash(&l.px, l.w, l.h), u64::MAX);
    // Only the top row of cells falls to the right.
    let l = luma(90, 80, |x, y| if y < 10 { 255 - x as u8 } else { x as u8 });
    assert_eq!(
        format!("{:016x}", dhash(&l.px, l.w, l.h)),
        "ff00000000000000"
    );
}

#[test]
fn a_shifted_scene_changes_many_bits_and_noise_few() {
    let scene = street(0);
    for seed in 0..8 {
        let n = bits(&scene, &noisy(scene.clone(), 6, seed));
        assert!(n <= 6, "noise moved {n} bits (seed {seed})");
    }
    let turned = bits(&scene, &street(60));
    assert!(turned >= 16, "a quarter turn moved only {turned} bits");
}

#[test]
fn tiny_and_short_pictures_give_numbers_without_panicking() {
    for (w, h) in [(1, 1), (2, 5), (9, 8), (3, 3), (200, 1)] {
        let l = luma(w, h, |x, y| (x * 37 + y * 11) as u8);
        let s = stats(&l);
        if w < 3 || h < 3 {
            assert_eq!((s.edges, s.sharp), (0, 0), "{w}×{h}");
        }
        assert_eq!(s.hash.len(), 16);
    }
    // A buffer shorter than it claims gives no hash, no edges, no panic.
    assert_eq!(dhash(&[1, 2, 3], 10, 10), 0);
    assert_eq!(edges(&[1, 2, 3], 10, 10), 0);
}
