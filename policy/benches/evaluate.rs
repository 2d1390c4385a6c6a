//! How long one report takes to evaluate against the Kotim letter, and to
//! move the alerts that follow from it.
//!
//! `office-report.json` is one real `ronda-agent probe` of the default
//! `ronda-sim` office (6 recorders, 12 channels, 8 plugs, 1 service).
//! Run: `cargo bench -p ronda-policy`.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use jiff::SignedDuration;
use ronda_policy::alert::Book;
use ronda_policy::eval::{evaluate, AgentView, OfficeState};

const ROUNDS: usize = 15;
const PER_ROUND: u32 = 20_000;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text =
        std::fs::read_to_string(dir.join("benches/office-report.json")).expect("report fixture");
    let report: ronda_wire::Report = serde_json::from_str(&text).expect("report parses");
    let now = report.observed_at;
    let letter = ronda_policy::load(&dir.join("../letters/kotim-idul-fitri-2018.yaml"), None)
        .expect("Kotim letter")
        .shifted_to(now - SignedDuration::from_hours(1));
    let mut agent = AgentView::new("kantor-utama");
    agent.online = true;
    agent.last_seen = Some(now);
    agent.report = Some(Arc::new(report));
    let state = OfficeState {
        office: "dinkes".into(),
        agents: vec![agent],
        ..OfficeState::default()
    };
    let mut book = Book::default();

    let eval_ns = measure(|i| {
        black_box(evaluate(
            &letter,
            &state,
            now + SignedDuration::from_millis(i64::from(i)),
        ));
    });
    let full_ns = measure(|i| {
        let e = evaluate(
            &letter,
            &state,
            now + SignedDuration::from_millis(i64::from(i)),
        );
        black_box(book.apply(&letter, &e));
    });
    let decode_ns = measure(|_| {
        black_box(serde_json::from_str::<ronda_wire::Report>(&text).expect("parses"));
    });
    println!(
        "report: {} bytes; letter: {} items",
        text.len(),
        letter.items.len()
    );
    println!(
        "evaluate(letter, office, now):            median {:>7.2} µs  (min {:.2}, max {:.2})",
        eval_ns.0, eval_ns.1, eval_ns.2
    );
    println!(
        "evaluate + alert lifecycle (Book::apply):  median {:>7.2} µs  (min {:.2}, max {:.2})",
        full_ns.0, full_ns.1, full_ns.2
    );
    println!(
        "decode the report JSON (for comparison):   median {:>7.2} µs  (min {:.2}, max {:.2})",
        decode_ns.0, decode_ns.1, decode_ns.2
    );
    println!(
        "=> {:.0} office evaluations per second on one core",
        1e6 / full_ns.0
    );
}

/// Median, min and max over rounds of the mean time per call, in µs.
fn measure(mut f: impl FnMut(u32)) -> (f64, f64, f64) {
    let mut per_call: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for i in 0..PER_ROUND {
                f(i);
            }
            start.elapsed().as_secs_f64() * 1e6 / f64::from(PER_ROUND)
        })
        .collect();
    per_call.sort_by(f64::total_cmp);
    (per_call[ROUNDS / 2], per_call[0], per_call[ROUNDS - 1])
}
