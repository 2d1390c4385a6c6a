//! A new set of letters and registry in the engine (a reload), and the
//! alerts whose rule is gone: closed on the record, with the reason, never
//! left open with nothing to close them.
//!
//! An office is judged when no registry is loaded, or when the registry
//! lists it: an office taken out of the registry stops being judged, at a
//! reload and after a restart alike. Its agents' reports are still stored.

use std::sync::Arc;

use jiff::Timestamp;
use ronda_policy::alert::{AlertKey, Change};
use ronda_policy::{text, Letter, Registry, Text};

use super::{Effects, Engine};

impl Engine {
    /// Put `letters` and `registry` in force as of `now`: close the open
    /// alerts they no longer hold up, drop the views they no longer have,
    /// and evaluate every office under them. Also returns how many alerts
    /// were closed because their rule is gone.
    pub fn replace(
        &mut self,
        letters: Arc<Vec<Letter>>,
        registry: Option<Arc<Registry>>,
        now: Timestamp,
    ) -> (Effects, usize) {
        self.letters = letters;
        self.registry = registry;
        self.settled = true;
        let mut fx = Effects {
            changes: self.withdraw_stale(now),
            commands: Vec::new(),
        };
        let withdrawn = fx.changes.len();
        let (letters, registry) = (self.letters.clone(), self.registry.clone());
        self.views.retain(|office, letter| {
            judged(registry.as_deref(), office)
                && letters.iter().any(|l| l.id == letter && l.covers(office))
        });
        let more = self.evaluate_all(now, false);
        fx.changes.extend(more.changes);
        fx.commands.extend(more.commands);
        (fx, withdrawn)
    }

    /// Whether any letter may judge `office`.
    pub(super) fn judged(&self, office: &str) -> bool {
        judged(self.registry.as_deref(), office)
    }

    /// Once, at the first evaluation after a start: the letters or the
    /// registry may have changed while the server was stopped.
    pub(super) fn settle(&mut self, now: Timestamp) -> Effects {
        if self.settled {
            return Effects::default();
        }
        self.settled = true;
        Effects {
            changes: self.withdraw_stale(now),
            commands: Vec::new(),
        }
    }

    /// Resolve every open alert whose letter, item or office is gone.
    fn withdraw_stale(&mut self, now: Timestamp) -> Vec<Change> {
        let stale: Vec<(AlertKey, Text)> = self
            .book
            .open()
            .filter_map(|a| Some((a.key.clone(), self.gone(&a.key)?)))
            .collect();
        let mut changes = Vec::new();
        for (key, cause) in stale {
            changes.extend(self.book.withdraw(&key, cause, now));
            self.views.set_since(&key.office, &self.book);
        }
        changes
    }

    /// Why the rule behind an alert no longer holds, if it does not.
    fn gone(&self, key: &AlertKey) -> Option<Text> {
        if !self.judged(&key.office) {
            return Some(text!(
                "kantor dihapus dari daftar kantor",
                "office removed from the office registry"
            ));
        }
        let Some(letter) = self.letter(&key.letter) else {
            return Some(text!(
                "surat edaran dicabut dari server",
                "letter withdrawn from the server"
            ));
        };
        if !letter.covers(&key.office) {
            Some(text!(
                "surat tidak lagi mencakup kantor ini",
                "the letter no longer covers this office"
            ))
        } else if letter.item(&key.item).is_none() {
            Some(text!(
                "butir dihapus dari surat edaran",
                "item removed from the letter"
            ))
        } else {
            None
        }
    }
}

fn judged(registry: Option<&Registry>, office: &str) -> bool {
    registry.is_none_or(|r| r.offices.contains_key(office))
}

#[cfg(test)]
mod tests;
