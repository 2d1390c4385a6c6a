//! What one simulated snapshot costs: draw and encode the road at the
//! sub-stream, 1080p and 4 MP sizes, and print the time of the first frame
//! (drawn), of the next ones (the clean picture kept, only noise and
//! encoding), of the encoding alone, and the JPEG's size. Run it optimised:
//! `cargo run --release -p ronda-sim --example view_frame`.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use ronda_sim::view::{encode, frame, picture, set::wib, CameraState, Fault, Size};

fn ms(start: Instant, runs: u32) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0 / f64::from(runs)
}

fn main() {
    let sizes = [
        ("sub 640x360", Size::SUB),
        ("1080p", Size::FULL_HD),
        ("4 MP 2688x1520", Size { w: 2688, h: 1520 }),
    ];
    for (name, size) in sizes {
        for fault in [Fault::Normal, Fault::Defocus] {
            let mut cam = CameraState::new(1);
            cam.view.fault = fault;
            let start = Instant::now();
            let bytes = frame(&cam, wib(10, 0), size).len();
            let cold = ms(start, 1);
            let runs = 5;
            let start = Instant::now();
            for i in 1..=runs {
                frame(&cam, wib(10, i as i8), size);
            }
            let warm = ms(start, runs);
            let raster = picture(&cam, wib(10, 0), size);
            let start = Instant::now();
            for _ in 0..runs {
                encode(&raster);
            }
            let enc = ms(start, runs);
            println!(
                "{name:<15} {fault:<8?} first {cold:6.1} ms, then {warm:5.1} ms/frame (encoding {enc:5.1}), {:4} KiB",
                bytes / 1024
            );
        }
    }
}
