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

/// Read the registry and the letters a server config names. Every problem
/// in every file is in the error, one per line.
pub fn load(config: &mut crate::ServerConfig) -> Result<(), String> {
    let registry = match &config.offices_file {
        Some(f) => Some(Registry::load(f).map_err(|e| e.to_string())?),
        None => None,
    };
    let mut letters = Vec::new();
    if let Some(dir) = &config.policies_dir {
        let files =
            files_in(dir).map_err(|e| format!("{}: cannot list letters: {e}", dir.display()))?;
        let checked = check_files(&files, registry.as_ref());
        if !checked.errors.is_empty() {
            return Err(checked.errors.join("\n"));
        }
        letters = checked.letters;
    }
    config.letters = std::sync::Arc::new(letters);
    config.registry = registry.map(std::sync::Arc::new);
    Ok(())
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

/// The window in the letter's own zone: `always`, or its periods.
pub fn window_text(l: &Letter) -> String {
    match &l.window {
        Window::Always => "always".to_owned(),
        Window::Periods(ps) => ps
            .iter()
            .map(|p| {
                format!(
                    "{} – {}",
                    ronda_policy::format_local_minute(p.start, &l.tz),
                    ronda_policy::format_local_minute(p.end, &l.tz)
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

pub fn summary(l: &Letter) -> String {
    let window = window_text(l);
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
