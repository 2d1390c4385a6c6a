//! The latest evaluation of every (letter, office), shared with the HTTP
//! side. The engine writes; pages and the API read.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use jiff::Timestamp;
use ronda_policy::alert::Book;
use ronda_policy::eval::Evaluation;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct OfficeView {
    pub evaluation: Evaluation,
    /// Item id → when its oldest open alert started.
    pub since: BTreeMap<String, Timestamp>,
}

/// Keyed by (office, letter): each report updates one office's views.
/// Beside them, each agent's clock offset as last measured.
#[derive(Clone, Default)]
pub struct Views(
    Arc<RwLock<BTreeMap<(String, String), OfficeView>>>,
    Arc<RwLock<BTreeMap<(String, String), jiff::SignedDuration>>>,
);

impl Views {
    /// The agent's clock minus the server's, as last measured.
    /// Written only when it moved by a second or more: it is measured on
    /// every report, and the pages need no millisecond of it.
    pub(super) fn set_clock(&self, office: &str, agent: &str, offset: jiff::SignedDuration) {
        let moved = |old: Option<jiff::SignedDuration>| {
            old.is_none_or(|o| (o - offset).abs() >= jiff::SignedDuration::from_secs(1))
        };
        if !moved(self.clock(office, agent)) {
            return;
        }
        if let Ok(mut map) = self.1.write() {
            map.insert((office.to_owned(), agent.to_owned()), offset);
        }
    }

    pub fn clock(&self, office: &str, agent: &str) -> Option<jiff::SignedDuration> {
        let map = self.1.read().ok()?;
        map.get(&(office.to_owned(), agent.to_owned())).copied()
    }

    pub(super) fn put(&self, evaluation: Evaluation) {
        let key = (evaluation.office.clone(), evaluation.letter.clone());
        if let Ok(mut map) = self.0.write() {
            let since = map.remove(&key).map(|v| v.since).unwrap_or_default();
            map.insert(key, OfficeView { evaluation, since });
        }
    }

    /// Keep only the views whose (office, letter) `keep` says still exist.
    pub(super) fn retain(&self, keep: impl Fn(&str, &str) -> bool) {
        if let Ok(mut map) = self.0.write() {
            map.retain(|(office, letter), _| keep(office, letter));
        }
    }

    pub(super) fn set_since(&self, office: &str, book: &Book) {
        let Ok(mut map) = self.0.write() else { return };
        let from = (office.to_owned(), String::new());
        for ((_, letter), view) in map.range_mut(from..).take_while(|((o, _), _)| o == office) {
            view.since.clear();
            for a in book.open_in(letter, office) {
                let t = view.since.entry(a.key.item.clone()).or_insert(a.started);
                *t = (*t).min(a.started);
            }
        }
    }

    pub fn get(&self, letter: &str, office: &str) -> Option<OfficeView> {
        self.0
            .read()
            .ok()?
            .get(&(office.to_owned(), letter.to_owned()))
            .cloned()
    }

    /// Every office's view of one letter.
    pub fn letter(&self, letter: &str) -> Vec<OfficeView> {
        self.0
            .read()
            .map(|m| {
                m.iter()
                    .filter(|((_, l), _)| l == letter)
                    .map(|(_, v)| v.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every office some letter covers, sorted.
    pub fn offices(&self) -> Vec<String> {
        let set: std::collections::BTreeSet<String> = self
            .0
            .read()
            .map(|m| m.keys().map(|(o, _)| o.clone()).collect())
            .unwrap_or_default();
        set.into_iter().collect()
    }
}
