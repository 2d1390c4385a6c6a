//! A picture's luma (at 1/8 scale) reduced to the numbers of `cctv.view`:
//! brightness, contrast, entropy, dark share, edge share, sharpness and a
//! difference hash. Pure functions; the thresholds the policy applies to
//! them live with the policy.
//!
//! Gradients and the Laplacian use the interior pixels only (a border pixel
//! lacks a neighbour), so a picture under 3×3 has no edges and no sharpness.

use ronda_wire::ViewStats;

use super::decode::Luma;

/// Darker than this is "dark" (of 255).
pub const DARK_BELOW: u8 = 32;
/// A pixel is on an edge when its central-difference gradient magnitude,
/// `sqrt(gx² + gy²)` with `gx = p[x+1] − p[x−1]`, exceeds this.
pub const EDGE_ABOVE: u32 = 24;

/// All the numbers of one picture.
pub fn stats(l: &Luma) -> ViewStats {
    let (mean, contrast) = mean_and_contrast(&l.px);
    ViewStats {
        w: l.full_w,
        h: l.full_h,
        mean,
        contrast,
        entropy: entropy(&l.px),
        dark: dark(&l.px),
        edges: edges(&l.px, l.w, l.h),
        sharp: sharpness(&l.px, l.w, l.h),
        hash: format!("{:016x}", dhash(&l.px, l.w, l.h)),
    }
}

/// Mean luma and its standard deviation, both rounded.
pub fn mean_and_contrast(px: &[u8]) -> (u8, u8) {
    if px.is_empty() {
        return (0, 0);
    }
    let n = px.len() as f64;
    let (sum, sq) = px.iter().fold((0u64, 0u64), |(s, q), &p| {
        (s + u64::from(p), q + u64::from(p) * u64::from(p))
    });
    let mean = sum as f64 / n;
    let var = (sq as f64 / n - mean * mean).max(0.0);
    (round_u8(mean), round_u8(var.sqrt()))
}

/// Shannon entropy of the 256-bin histogram, in tenths of a bit.
pub fn entropy(px: &[u8]) -> u8 {
    if px.is_empty() {
        return 0;
    }
    let mut hist = [0u32; 256];
    px.iter().for_each(|&p| hist[usize::from(p)] += 1);
    let n = px.len() as f64;
    let bits: f64 = hist
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum();
    round_u8(bits * 10.0)
}

/// Share of pixels darker than [`DARK_BELOW`], in per mille.
pub fn dark(px: &[u8]) -> u16 {
    per_mille(px.iter().filter(|&&p| p < DARK_BELOW).count(), px.len())
}

/// Share of interior pixels on an edge (see [`EDGE_ABOVE`]), per mille.
pub fn edges(px: &[u8], w: usize, h: usize) -> u16 {
    let mut on = 0;
    interior(px, w, h, |p, i| {
        let gx = i32::from(p[i + 1]) - i32::from(p[i - 1]);
        let gy = i32::from(p[i + w]) - i32::from(p[i - w]);
        on += usize::from((gx * gx + gy * gy) as u32 > EDGE_ABOVE * EDGE_ABOVE);
    });
    per_mille(on, w.saturating_sub(2) * h.saturating_sub(2))
}

/// Variance of the 4-neighbour Laplacian over the interior pixels: low for
/// a defocused or covered lens, high for a sharp, busy scene.
pub fn sharpness(px: &[u8], w: usize, h: usize) -> u32 {
    let (mut n, mut sum, mut sq) = (0u64, 0i64, 0u64);
    interior(px, w, h, |p, i| {
        let around =
            i32::from(p[i - 1]) + i32::from(p[i + 1]) + i32::from(p[i - w]) + i32::from(p[i + w]);
        let lap = i64::from(around - 4 * i32::from(p[i]));
        n += 1;
        sum += lap;
        sq += lap.unsigned_abs() * lap.unsigned_abs();
    });
    if n == 0 {
        return 0;
    }
    let mean = sum as f64 / n as f64;
    let var = (sq as f64 / n as f64 - mean * mean).max(0.0);
    var.round().min(f64::from(u32::MAX)) as u32
}

/// 64-bit difference hash: the picture averaged down to 9×8 cells, then in
/// each row one bit per neighbouring pair, set when the left cell is
/// brighter. Most significant bit first, row by row. Robust to noise and
/// brightness; a turned camera changes many bits.
pub fn dhash(px: &[u8], w: usize, h: usize) -> u64 {
    if w == 0 || h == 0 || px.len() < w * h {
        return 0;
    }
    let cells = grid::<9, 8>(px, w, h);
    let mut hash = 0u64;
    for row in &cells {
        for pair in row.windows(2) {
            hash = (hash << 1) | u64::from(pair[0] > pair[1]);
        }
    }
    hash
}

/// Area averages over a `C`×`R` grid of the picture; a picture smaller than
/// the grid gives each cell at least its nearest pixel.
fn grid<const C: usize, const R: usize>(px: &[u8], w: usize, h: usize) -> [[u32; C]; R] {
    let span = |i: usize, cells: usize, len: usize| {
        let a = i * len / cells;
        (a.min(len - 1), ((i + 1) * len / cells).max(a + 1).min(len))
    };
    let mut out = [[0u32; C]; R];
    for (r, row) in out.iter_mut().enumerate() {
        let (y0, y1) = span(r, R, h);
        for (c, cell) in row.iter_mut().enumerate() {
            let (x0, x1) = span(c, C, w);
            let sum: u64 = (y0..y1)
                .flat_map(|y| &px[y * w + x0..y * w + x1])
                .map(|&p| u64::from(p))
                .sum();
            // Scaled by 16 before dividing, so close cells still compare.
            *cell = (sum * 16 / ((y1 - y0) * (x1 - x0)) as u64) as u32;
        }
    }
    out
}

/// Call `f(px, i)` for every interior pixel index `i`.
fn interior(px: &[u8], w: usize, h: usize, mut f: impl FnMut(&[u8], usize)) {
    if w < 3 || h < 3 || px.len() < w * h {
        return;
    }
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            f(px, y * w + x);
        }
    }
}

fn per_mille(part: usize, whole: usize) -> u16 {
    if whole == 0 {
        return 0;
    }
    ((part as u64 * 1000 + whole as u64 / 2) / whole as u64) as u16
}

fn round_u8(v: f64) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
