//! What one simulated snapshot costs: draw and encode the road at the
//! sub-stream, 1080p and 4 MP sizes, a few times each, and print the time
//! per frame and the JPEG size. Run it optimised:
//! `cargo run --release -p ronda-sim --example view_frame`.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use ronda_sim::view::{frame, set::wib, CameraState, Fault, Size};

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
            let runs = 5;
            let start = Instant::now();
            let mut bytes = 0;
            for i in 0..runs {
                bytes = frame(&cam, wib(10, i), size).len();
            }
            let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
            println!("{name:<15} {fault:<8?} {ms:7.1} ms/frame {:6} KiB", bytes / 1024);
        }
    }
}
