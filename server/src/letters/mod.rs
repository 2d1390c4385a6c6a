//! The letters the server enforces: loading a folder of them, checking
//! files for `policy check`, and one-line summaries. [`live`] holds the set
//! in force while the server runs; [`reload`] reads it again on SIGHUP.

pub mod live;
pub mod reload;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ronda_policy::{Letter, Registry, Scope, Window};

pub use live::{Failure, Live, PolicySet};
pub use reload::{Reloaded, Reloader};

/// More letter files than any region has: `policies` names the wrong folder.
pub const MAX_LETTERS: usize = 1_000;

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
    let (letters, registry) = read(
        config.policies_dir.as_deref(),
        config.offices_file.as_deref(),
        None,
    )
    .map_err(|problems| problems.join("\n"))?;
    config.letters = std::sync::Arc::new(letters.unwrap_or_default());
    config.registry = registry.map(std::sync::Arc::new);
    Ok(())
}

/// What [`read`] found: the letters and the registry, each `None` when
/// not asked for.
pub type Read = (Option<Vec<Letter>>, Option<Registry>);

/// The letters of `dir` and the registry `offices`; or every problem found,
/// as `file:line:column: message` lines. Without a registry file, letters
/// are checked against `registry`.
pub fn read(
    dir: Option<&Path>,
    offices: Option<&Path>,
    registry: Option<&Registry>,
) -> Result<Read, Vec<String>> {
    // One problem a line: a file's error holds each of its problems.
    let lines = |errors: &[String]| -> Vec<String> {
        errors
            .iter()
            .flat_map(|e| e.lines().map(str::to_owned))
            .collect()
    };
    let read_registry = match offices {
        Some(f) => Some(Registry::load(f).map_err(|e| lines(&[e.to_string()]))?),
        None => None,
    };
    let Some(dir) = dir else {
        return Ok((None, read_registry));
    };
    let files =
        files_in(dir).map_err(|e| vec![format!("{}: cannot list letters: {e}", dir.display())])?;
    if files.len() > MAX_LETTERS {
        return Err(vec![format!(
            "{}: {} letter files; at most {MAX_LETTERS} are read: is `policies` the right folder?",
            dir.display(),
            files.len()
        )]);
    }
    let checked = check_files(&files, read_registry.as_ref().or(registry));
    if !checked.errors.is_empty() {
        return Err(lines(&checked.errors));
    }
    Ok((Some(checked.letters), read_registry))
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
