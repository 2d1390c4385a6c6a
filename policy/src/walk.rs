//! What the meaning checks of one letter file share while they walk it: the
//! problems found so far, the sections that did not read, the registry.

use std::collections::BTreeSet;

use ronda_common::conf::Checker;

use crate::registry::Registry;

/// What the meaning checks share while they walk one file.
pub(crate) struct LetterCheck<'a, 'b> {
    pub checker: &'a mut Checker<'b>,
    pub broken: &'a BTreeSet<String>,
    pub registry: Option<&'a Registry>,
}

impl LetterCheck<'_, '_> {
    /// A required value, or a "missing" problem (unless its section did not read).
    pub fn need<T>(&mut self, path: &str, v: Option<T>) -> Option<T> {
        if v.is_none() && !self.broken.contains(path.split('.').next().unwrap_or(path)) {
            self.checker.fail(path, "missing; it is required");
        }
        v
    }

    pub fn fail(&mut self, path: &str, message: impl Into<String>) {
        self.checker.fail(path, message);
    }
}
