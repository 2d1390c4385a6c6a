//! The letters the server enforces: loading a folder of them, checking
//! files for `policy check`, and one-line summaries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ronda_policy::{Letter, Registry, Scope, Window};

/// Every letter read, and every file's problems.
pub struct Checked {
    pub letters: Vec<Letter>,
    pub errors: Vec<String>,
}

/// Check each file; also that no two letters share an id.
pub fn check_files(files: &[PathBuf], registry: Option<&Registry>) -> Checked {
    let mut out = Checked {
        letters: Vec::new(),
        errors: Vec::new(),
    };
    let mut ids: BTreeMap<String, PathBuf> = BTreeMap::new();
    for file in files {
        match ronda_policy::load(file, registry) {
            Ok(letter) => {
                if let Some(first) = ids.insert(letter.id.clone(), file.clone()) {
                    out.errors.push(format!(
                        "{}: letter id `{}` is already used by {}",
                        file.display(),
                        letter.id,
                        first.display()
                    ));
                    continue;
                }
                out.letters.push(letter);
            }
            Err(e) => out.errors.push(e.to_string()),
        }
    }
    out
}

/// The `*.yaml` files of a folder, in name order.
pub fn files_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

pub fn summary(l: &Letter) -> String {
    let window = match &l.window {
        Window::Always => "always".to_owned(),
        Window::Periods(ps) => ps
            .iter()
            .map(|p| {
                format!(
                    "{} – {}",
                    ronda_policy::local(p.start, &l.tz),
                    ronda_policy::local(p.end, &l.tz)
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    let offices = match &l.offices {
        Scope::All => "all offices".to_owned(),
        Scope::Offices(set) if set.is_empty() => "no offices yet".to_owned(),
        Scope::Offices(set) => set.iter().cloned().collect::<Vec<_>>().join(", "),
    };
    let attest = l
        .items
        .iter()
        .filter(|i| matches!(i.check, ronda_policy::Check::Attestation))
        .count();
    format!(
        "{}: ok: {} \"{}\" ({}); window {window}; {} items ({attest} attested by hand); {offices}",
        l.file.display(),
        l.id,
        l.title,
        l.timezone,
        l.items.len(),
    )
}
