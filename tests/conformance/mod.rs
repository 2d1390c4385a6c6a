//! The conformance matrix (issue 17): every adapter × firmware variant ×
//! fault, end to end from the simulated device (written from the vendor's
//! documents) through the real agent code to the real policy engine. The
//! verdict of each item must be the one a monitoring product owes: `ok`,
//! `fail`, or `no-data` when the evidence cannot support either.
//!
//! The matrix is printed in `docs/conformance.md`; this test keeps it in
//! sync (`RONDA_BLESS=1` rewrites it after a deliberate change).

mod cases;
mod run;
mod table;

use futures_util::stream::{self, StreamExt};

/// Cells run at once: each starts its own simulated device and agent.
const PARALLEL: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_adapter_variant_and_fault_gets_the_verdict_it_is_owed() {
    let letter = run::letter();
    let variants = cases::variants();
    let cells: Vec<(usize, cases::Fault)> = variants
        .iter()
        .enumerate()
        .flat_map(|(i, v)| cases::faults(v.class).into_iter().map(move |f| (i, f)))
        .collect();
    let results: Vec<_> = stream::iter(cells)
        .map(|(i, fault)| {
            let (v, letter) = (&variants[i], &letter);
            async move { (i, fault, run::cell(v, fault, letter).await) }
        })
        .buffered(PARALLEL)
        .collect()
        .await;
    let mut wrong = Vec::new();
    for (i, fault, got) in &results {
        let v = &variants[*i];
        let readable = run::device(v).overwrite_readable;
        let want = cases::expected(v.class, readable, *fault);
        if *got != want {
            let show = |x: &cases::Verdicts| {
                x.iter()
                    .map(|s| run::word(*s))
                    .collect::<Vec<_>>()
                    .join(" / ")
            };
            wrong.push(format!(
                "{} × {}: got {}, want {}",
                v.name,
                fault.name(),
                show(got),
                show(&want)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    table::keep_in_sync(&variants, &results);
}
