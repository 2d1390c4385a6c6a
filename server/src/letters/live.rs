//! The letters and the registry in force while the server runs, and what
//! the last reload said. The engine worker swaps the set (after it has
//! moved its alerts to it); the pages and the mailer read it on each use.

use std::sync::{Arc, PoisonError, RwLock};

use jiff::Timestamp;
use ronda_policy::{Letter, Registry};

/// One consistent set: every letter was checked against this registry.
pub struct PolicySet {
    pub letters: Arc<Vec<Letter>>,
    pub registry: Option<Arc<Registry>>,
    /// Letters a reload took out of force. They judge nothing; the mailer
    /// still needs them to tell the people their alerts reached that those
    /// alerts were closed (until the server restarts).
    pub retired: Arc<Vec<Letter>>,
    /// When its files were read.
    pub loaded: Timestamp,
    /// The clock pages show times on (the registry's region, else the
    /// first letter's zone).
    pub tz: jiff::tz::TimeZone,
}

impl PolicySet {
    pub fn new(
        letters: Arc<Vec<Letter>>,
        registry: Option<Arc<Registry>>,
        loaded: Timestamp,
    ) -> PolicySet {
        let tz = crate::http::pages::page_zone(registry.as_deref(), &letters);
        PolicySet {
            letters,
            registry,
            retired: Arc::default(),
            loaded,
            tz,
        }
    }

    /// The set that follows this one: `letters` and `registry` in force,
    /// and every letter of this set (in force or retired) that is not among
    /// them retired.
    pub fn next(
        &self,
        letters: Arc<Vec<Letter>>,
        registry: Option<Arc<Registry>>,
        loaded: Timestamp,
    ) -> PolicySet {
        let mut retired: Vec<Letter> = Vec::new();
        for l in self.letters.iter().chain(self.retired.iter()) {
            let known = |x: &Letter| x.id == l.id;
            if !letters.iter().any(known) && !retired.iter().any(known) {
                retired.push(l.clone());
            }
        }
        PolicySet {
            retired: Arc::new(retired),
            ..PolicySet::new(letters, registry, loaded)
        }
    }

    /// A letter in force.
    pub fn letter(&self, id: &str) -> Option<&Letter> {
        self.letters.iter().find(|l| l.id == id)
    }
}

/// Why the last reload was refused, until one succeeds.
#[derive(Debug, Clone)]
pub struct Failure {
    pub at: Timestamp,
    /// `file:line:column: message`, one per problem.
    pub problems: Vec<String>,
}

/// The set in force, shared. Cloning shares it.
#[derive(Clone)]
pub struct Live(Arc<RwLock<Inner>>);

struct Inner {
    set: Arc<PolicySet>,
    failure: Option<Arc<Failure>>,
    /// Goes up with every set put in force.
    generation: u64,
}

impl Live {
    pub fn new(set: PolicySet) -> Live {
        Live(Arc::new(RwLock::new(Inner {
            set: Arc::new(set),
            failure: None,
            generation: 0,
        })))
    }

    /// The set in force now.
    pub fn current(&self) -> Arc<PolicySet> {
        self.read(|i| i.set.clone())
    }

    /// The last reload's problems, if it was refused and none succeeded since.
    pub fn failure(&self) -> Option<Arc<Failure>> {
        self.read(|i| i.failure.clone())
    }

    pub fn generation(&self) -> u64 {
        self.read(|i| i.generation)
    }

    /// Put `set` in force and forget any failure.
    pub(crate) fn publish(&self, set: Arc<PolicySet>) {
        self.write(|i| {
            i.set = set;
            i.failure = None;
            i.generation += 1;
        });
    }

    /// Note a refused reload; the set in force stays.
    pub(crate) fn fail(&self, failure: Failure) {
        self.write(|i| i.failure = Some(Arc::new(failure)));
    }

    // A panic while holding the lock cannot leave `Inner` half-changed
    // (each write is one assignment or three), so a poisoned lock is used
    // as it is rather than taking the pages down with it.
    fn read<T>(&self, f: impl FnOnce(&Inner) -> T) -> T {
        f(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn write(&self, f: impl FnOnce(&mut Inner)) {
        f(&mut self.0.write().unwrap_or_else(PoisonError::into_inner));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(id: &str) -> Letter {
        let text = include_str!("../../../letters/baseline-server.yaml")
            .replace("id: baseline-server", &format!("id: {id}"));
        ronda_policy::from_text(std::path::Path::new("t.yaml"), text, None).unwrap()
    }

    #[test]
    fn withdrawn_letters_are_retired_once_and_come_back_when_restored() {
        let t = Timestamp::UNIX_EPOCH;
        let first = PolicySet::new(Arc::new(vec![letter("a"), letter("b")]), None, t);
        let second = first.next(Arc::new(vec![letter("b")]), None, t);
        assert_eq!(ids(&second.retired), ["a"]);
        let third = second.next(Arc::new(vec![]), None, t);
        assert_eq!(ids(&third.retired), ["b", "a"]);
        let fourth = third.next(Arc::new(vec![letter("a")]), None, t);
        assert_eq!(ids(&fourth.retired), ["b"]);
        assert!(fourth.letter("a").is_some() && fourth.letter("b").is_none());
    }

    #[test]
    fn a_failure_shows_until_a_set_is_published() {
        let t = Timestamp::UNIX_EPOCH;
        let live = Live::new(PolicySet::new(Arc::default(), None, t));
        live.fail(Failure {
            at: t,
            problems: vec!["x.yaml:1:1: broken".into()],
        });
        assert_eq!(live.failure().unwrap().problems.len(), 1);
        assert_eq!(live.generation(), 0);
        live.publish(Arc::new(PolicySet::new(Arc::default(), None, t)));
        assert!(live.failure().is_none());
        assert_eq!(live.generation(), 1);
    }

    fn ids(l: &[Letter]) -> Vec<&str> {
        l.iter().map(|l| l.id.as_str()).collect()
    }
}
