//! What one camera snapshot costs the agent: a busy synthetic scene is
//! encoded as a camera would send it (baseline JPEG, 4:2:0, quality 80),
//! then decoded at 1/8 scale and reduced to the view numbers 20 times.
//! Prints per size the median process CPU time and the median transient
//! heap peak of one decode+numbers (the body and the reused luma buffer are
//! held outside it and printed apart), as FIGURE lines.
//!
//! ```sh
//! cargo run --release -p ronda-agent --example view_cost -- 1920x1080 2688x1520
//! ```
#![allow(clippy::unwrap_used)]

use cpu_time::ProcessTime;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use peak_alloc::PeakAlloc;
use ronda_agent::view::decode::{decode_into, Luma};
use ronda_agent::view::stats::stats;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

const RUNS: usize = 20;

/// A street-like scene with fine texture and sensor noise: costlier to
/// entropy-decode than a plain one.
fn scene(w: usize, h: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(23);
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let block = ((x / 64 + y / 48) % 3) as u8 * 60;
            let stripe = if (x / 7) % 2 == 0 { 30 } else { 0 };
            let sky = if y < h / 3 { 120 } else { 0 };
            let v = block
                .saturating_add(stripe)
                .saturating_add(sky)
                .saturating_add(rng.u8(..24));
            rgb.extend_from_slice(&[v, v.wrapping_add(x as u8 / 4), 255 - v]);
        }
    }
    rgb
}

fn jpeg(w: u16, h: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = Encoder::new(&mut out, 80);
    e.set_sampling_factor(SamplingFactor::R_4_2_0);
    e.encode(&scene(w.into(), h.into()), w, h, ColorType::Rgb)
        .unwrap();
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn measure(size: &str) {
    let (w, h) = size.split_once('x').expect("a size like 1920x1080");
    let (w, h): (u16, u16) = (w.parse().unwrap(), h.parse().unwrap());
    let body = jpeg(w, h);
    let mut luma = Luma::default();
    // Once to size the reused luma buffer, as the agent's first sample does.
    decode_into(&body, 8 << 20, &mut luma).unwrap();
    let (mut cpu, mut peak) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let before = HEAP.current_usage();
        HEAP.reset_peak_usage();
        let start = ProcessTime::now();
        decode_into(&body, 8 << 20, &mut luma).unwrap();
        let s = stats(&luma);
        cpu.push(start.elapsed().as_secs_f64() * 1000.0);
        peak.push((HEAP.peak_usage() - before) as f64);
        std::hint::black_box(s);
    }
    println!(
        "FIGURE view_cost {size} jpeg_bytes={} luma={}x{} luma_buffer_bytes={} cpu_ms_median={:.2} heap_peak_bytes_median={:.0} heap_peak_bytes_max={:.0} runs={RUNS}",
        body.len(),
        luma.w,
        luma.h,
        luma.px.capacity(),
        median(cpu),
        median(peak.clone()),
        peak.iter().copied().fold(0.0, f64::max),
    );
}

fn main() {
    let sizes: Vec<String> = std::env::args().skip(1).collect();
    let sizes = if sizes.is_empty() {
        vec!["1920x1080".into(), "2688x1520".into()]
    } else {
        sizes
    };
    sizes.iter().for_each(|s| measure(s));
}
