//! Turning a letter's recipient words into addresses for one office at one
//! moment: `head`, `it`, `piket` (whoever is on duty now), a contact list of
//! the registry, a literal address, or `telegram:NAME` / `webhook:NAME`
//! (kept as they are: the outbox splits them off by channel).

use std::collections::BTreeSet;

use jiff::Timestamp;
use ronda_policy::{Letter, Registry, Severity};

/// The words of the letter for a severity.
pub fn words(letter: &Letter, severity: Severity) -> &[String] {
    match severity {
        Severity::Critical => &letter.notify.critical,
        Severity::Warning => &letter.notify.warning,
        Severity::Info => &letter.notify.info,
    }
}

/// Addresses for `words`, sorted and without repeats. Words the registry
/// cannot answer (no head on file, no one on duty) add nothing.
pub fn resolve(
    words: &[String],
    letter: &Letter,
    registry: Option<&Registry>,
    office: &str,
    now: Timestamp,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let entry = registry.and_then(|r| r.offices.get(office));
    for w in words {
        match w.as_str() {
            "head" => out.extend(entry.and_then(|o| o.head.as_ref()).map(|p| p.email.clone())),
            "it" => out.extend(
                entry
                    .iter()
                    .flat_map(|o| o.it.iter().map(|p| p.email.clone())),
            ),
            "piket" => {
                let on_duty = letter
                    .notify
                    .piket
                    .iter()
                    .filter(|s| s.office == office && s.from <= now && now < s.to);
                for s in on_duty {
                    out.insert(s.email.clone());
                    out.extend(s.telegram.as_ref().map(|c| format!("telegram:{c}")));
                }
            }
            addr if addr.contains('@') || ronda_policy::registry::Channel::of(addr).is_some() => {
                out.insert(addr.to_owned());
            }
            list => out.extend(
                registry
                    .and_then(|r| r.contacts.get(list))
                    .into_iter()
                    .flatten()
                    .cloned(),
            ),
        }
    }
    out
}
