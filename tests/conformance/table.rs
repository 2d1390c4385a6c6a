//! `docs/conformance.md`: the matrix as tables, written from the verdicts
//! the test saw (which it has checked against the expected ones).

use std::fmt::Write as _;

use super::cases::{self, Class, Fault, Variant, Verdicts};
use super::run::word;

pub fn render(variants: &[Variant], results: &[(usize, Fault, Verdicts)]) -> String {
    let mut out = String::from(HEAD);
    for (title, plugs) in [("Recorders", false), ("Smart plugs", true)] {
        let columns: &[&str] = if plugs {
            &cases::PLUG_COLUMNS
        } else {
            &cases::RECORDER_COLUMNS
        };
        let _ = writeln!(out, "\n## {title}\n");
        let _ = writeln!(
            out,
            "| device and firmware | fault | {} |",
            columns.join(" | ")
        );
        let _ = writeln!(out, "|---|---|{}", "---|".repeat(columns.len()));
        for (i, v) in variants.iter().enumerate() {
            if matches!(v.class, Class::PlugHttp | Class::PlugMqtt) != plugs {
                continue;
            }
            for (n, (_, fault, got)) in results.iter().filter(|(j, _, _)| *j == i).enumerate() {
                let name = if n == 0 {
                    format!("**{}**<br>{}", v.name, v.follows)
                } else {
                    String::new()
                };
                let cells: Vec<&str> = got.iter().map(|s| word(*s)).collect();
                let _ = writeln!(out, "| {name} | {} | {} |", fault.name(), cells.join(" | "));
            }
        }
    }
    out
}

const HEAD: &str = "# Conformance matrix

Every adapter, every firmware variant the simulator implements from the
vendors' documents, and every fault, judged end to end: the simulated device,
the real agent code (two probe rounds), the real policy engine. Written by
`tests/conformance/mod.rs`, which checks every cell against the verdict a
monitoring product owes and fails when this file is out of date
(`RONDA_BLESS=1 cargo test --test e2e conformance` rewrites it).

Columns:

- **zone**: `cctv.recording` for the camera's zone (one camera covers it here);
- **channel**: the camera's own finding, raised even while another camera
  covers the zone (a warning by default);
- **storage**: `cctv.storage` for the recorder's disk, or the recorder itself
  when it does not answer;
- **login**: the warning that asks IT to fix a device's password (the agent
  leaves the device alone meanwhile, so the recorder does not lock);
- **clock**: the warning about the office PC's clock (the verdicts themselves
  never use that clock);
- **power**: `power.off` for a plug whose equipment must be off.

`ok` and `fail` are verdicts the evidence supports; `no-data` means Ronda
could not read enough to say, and says why; `–` means the item has nothing
to say about this device.
";

/// Compare with the committed file; rewrite it when asked to.
pub fn keep_in_sync(variants: &[Variant], results: &[(usize, Fault, Verdicts)]) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/conformance.md");
    let fresh = render(variants, results);
    if std::env::var_os("RONDA_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "docs/conformance.md is out of date; run `RONDA_BLESS=1 cargo test --test e2e conformance` and commit it"
    );
}
