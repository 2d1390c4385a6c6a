//! An RGB picture in memory and what is done to it after drawing: blur
//! (defocus), sensor noise, a line of text, JPEG encoding.

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

use super::Size;

/// JPEG quality of a camera's snapshot: most firmware sends about 80.
const QUALITY: u8 = 80;

/// An 8-bit RGB picture, row by row.
#[derive(Clone, PartialEq, Eq)]
pub struct Raster {
    pub w: u16,
    pub h: u16,
    pub rgb: Vec<u8>,
}

impl std::fmt::Debug for Raster {
    // A picture is never printed, even a drawn one: a test failure would
    // otherwise dump megabytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Raster({}x{})", self.w, self.h)
    }
}

impl Raster {
    /// A picture filled by `paint(u, v)`, with `u` and `v` the pixel's
    /// centre in 0..1 across and down.
    pub fn paint(size: Size, mut paint: impl FnMut(f32, f32) -> [f32; 3]) -> Raster {
        let (w, h) = (usize::from(size.w), usize::from(size.h));
        let mut rgb = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            let v = (y as f32 + 0.5) / h as f32;
            for x in 0..w {
                let u = (x as f32 + 0.5) / w as f32;
                rgb.extend(paint(u, v).map(|c| c.clamp(0.0, 255.0) as u8));
            }
        }
        Raster {
            w: size.w,
            h: size.h,
            rgb,
        }
    }

    /// The luma (BT.601) of every pixel, for tests and figures.
    pub fn luma(&self) -> Vec<u8> {
        self.rgb
            .chunks_exact(3)
            .map(|p| {
                let y = 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]);
                y.round().clamp(0.0, 255.0) as u8
            })
            .collect()
    }

    /// Sensor noise of about `sigma` levels, the same on the three colours
    /// (luma noise), and a frame-wide `gain` (auto exposure breathing).
    pub fn noise(&mut self, rng: &mut fastrand::Rng, sigma: f32, gain: f32) {
        // The sum of two uniforms is triangular with a standard deviation
        // of 0.408: cheap, and close enough to a sensor's Gaussian.
        let k = sigma / 0.408;
        for px in self.rgb.chunks_exact_mut(3) {
            let r = rng.u32(..);
            let (a, b) = ((r & 0xffff) as f32, (r >> 16) as f32);
            let n = ((a + b) / 65536.0 - 1.0) * k;
            for c in px.iter_mut() {
                *c = (f32::from(*c) * gain + n).round().clamp(0.0, 255.0) as u8;
            }
        }
    }

    /// A strong blur: three box passes each way, close to a Gaussian of
    /// about `radius` pixels.
    pub fn blur(&mut self, radius: usize) {
        let (w, h) = (usize::from(self.w), usize::from(self.h));
        let mut line = Vec::new();
        for _ in 0..3 {
            for y in 0..h {
                box_pass(&mut self.rgb, y * w * 3, 3, w, radius, &mut line);
            }
            for x in 0..w {
                box_pass(&mut self.rgb, x * 3, w * 3, h, radius, &mut line);
            }
        }
    }

    /// `text` in a blocky 5×7 font, white, centred, `scale` pixels a dot.
    pub fn text(&mut self, text: &str, scale: usize) {
        let (w, h) = (usize::from(self.w), usize::from(self.h));
        let cols = text.chars().count() * 6;
        let (x0, y0) = (
            w.saturating_sub(cols * scale) / 2,
            h.saturating_sub(7 * scale) / 2,
        );
        for (i, ch) in text.chars().enumerate() {
            for (row, bits) in glyph(ch).iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        self.fill(x0 + (i * 6 + col) * scale, y0 + row * scale, scale);
                    }
                }
            }
        }
    }

    fn fill(&mut self, x0: usize, y0: usize, n: usize) {
        let (w, h) = (usize::from(self.w), usize::from(self.h));
        for y in y0..(y0 + n).min(h) {
            for x in x0..(x0 + n).min(w) {
                let i = (y * w + x) * 3;
                self.rgb[i..i + 3].copy_from_slice(&[235, 235, 235]);
            }
        }
    }
}

/// One box-blur pass along `n` pixels of `buf` from `start`, `stride`
/// bytes apart, three colours each; the edges repeat.
fn box_pass(buf: &mut [u8], start: usize, stride: usize, n: usize, r: usize, line: &mut Vec<u8>) {
    line.clear();
    line.extend((0..n).flat_map(|i| {
        let p = start + i * stride;
        [buf[p], buf[p + 1], buf[p + 2]]
    }));
    let at = |i: isize, c: usize| u32::from(line[(i.clamp(0, n as isize - 1) as usize) * 3 + c]);
    let (r, width) = (r as isize, 2 * r as u32 + 1);
    for c in 0..3 {
        let mut sum: u32 = (-r..=r).map(|i| at(i, c)).sum();
        for i in 0..n as isize {
            buf[start + i as usize * stride + c] = (sum / width) as u8;
            sum = sum + at(i + r + 1, c) - at(i - r, c);
        }
    }
}

/// Rows of a 5×7 glyph, high bit left; the letters of "NO VIDEO" and a
/// few more, a space for the rest.
fn glyph(ch: char) -> [u8; 7] {
    match ch.to_ascii_uppercase() {
        'N' => [0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x11],
        'O' => [0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04],
        'I' => [0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e],
        'D' => [0x1e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1e],
        'E' => [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f],
        'S' => [0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e],
        'G' => [0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f],
        'A' => [0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
        _ => [0; 7],
    }
}

/// A baseline JPEG, 4:2:0, quality 80: what a camera sends.
pub fn encode(r: &Raster) -> Vec<u8> {
    let mut out = Vec::with_capacity(usize::from(r.w) * usize::from(r.h) / 4);
    let mut enc = Encoder::new(&mut out, QUALITY);
    enc.set_sampling_factor(SamplingFactor::R_4_2_0);
    // A Vec cannot fail to take bytes, and the size and length agree by
    // construction; an empty answer would only make the agent say "not a
    // JPEG", which is what a broken camera gives too.
    if let Err(e) = enc.encode(&r.rgb, r.w, r.h, ColorType::Rgb) {
        tracing::error!(error = %e, "cannot encode a simulated picture");
        return Vec::new();
    }
    out
}
