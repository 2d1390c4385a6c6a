//! Loading YAML config files with errors that point at `file:line:column`.
//!
//! Shared by the agent and the server. Loading is two steps: serde reads the
//! shape (stopping at the first shape error, which is all serde can do), then
//! each config's `check` collects *every* meaning error at once. Meaning errors
//! are located by their key path, so a user sees all of them in one run.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

pub mod credential;
mod read;
mod secret;
pub use read::MAX_BYTES as MAX_FILE_BYTES;
pub use secret::{
    lazy_secret_in, read_all, secret_in, LazySecret, Secret, SecretError, SecretSource,
};

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Every problem found in one file. Displays as `file:line:col: message` lines.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                p.line,
                p.column,
                p.message
            )?;
        }
        Ok(())
    }
}

/// A parsed file: its text, kept so that meaning errors can be located.
pub struct Source {
    pub file: PathBuf,
    pub text: String,
}

impl Source {
    /// A config held in memory; `file` is the name its errors carry.
    pub fn from_text(file: &Path, text: String) -> Source {
        Source {
            file: file.to_owned(),
            text,
        }
    }

    pub fn read(file: &Path) -> Result<Source, ConfigError> {
        // Bounded, regular files only, unchanged while read: see `read`.
        let text = read::text(file).map_err(|message| ConfigError {
            file: file.to_owned(),
            problems: vec![Problem {
                line: 1,
                column: 1,
                message,
            }],
        })?;
        Ok(Source {
            file: file.to_owned(),
            text,
        })
    }

    /// Deserialize the shape. Reports serde's error with its location.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        let de = yaml_serde::Deserializer::from_str(&self.text);
        T::deserialize(de).map_err(|e| {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            let text = e.to_string();
            // The location is printed in front; drop libyaml's copy at the end.
            let message = match text.rfind(" at line ") {
                Some(at) => text[..at].to_owned(),
                None => text,
            };
            self.error(vec![Problem {
                line,
                column,
                message,
            }])
        })
    }

    pub fn error(&self, problems: Vec<Problem>) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            problems,
        }
    }

    /// Start collecting meaning errors for this file.
    pub fn checker(&self) -> Checker<'_> {
        Checker {
            source: self,
            problems: Vec::new(),
        }
    }
}

/// Collects meaning errors, each located by its key path such as `broker.url`.
pub struct Checker<'a> {
    source: &'a Source,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    pub fn fail(&mut self, path: &str, message: impl Into<String>) {
        // A missing key is pointed at by its parent: the nearest part of the
        // path that is in the file.
        let mut at = path;
        let (line, column) = loop {
            if let Some(place) = locate(&self.source.text, at) {
                break place;
            }
            match at.rsplit_once('.') {
                Some((parent, _)) => at = parent,
                None => break (1, 1),
            }
        };
        self.problems.push(Problem {
            line,
            column,
            message: format!("{path}: {}", message.into()),
        });
    }

    /// Add a problem that was located some other way, such as a shape error
    /// found while reading one part of the file on its own.
    pub fn add(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    /// Every problem, in file order.
    pub fn finish(mut self) -> Result<(), ConfigError> {
        self.problems.sort_by_key(|p| (p.line, p.column));
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(self.source.error(self.problems))
        }
    }
}

/// Find where a dotted key path's value starts in block-style YAML. A number
/// in the path picks a list item: `recorders.1.url`. Good enough for
/// hand-written config files; `None` for anything fancier.
fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let mut keys = path.split('.');
    let mut key = keys.next()?;
    let mut walk = Walk {
        parent: None,
        level: Some(0),
        items_seen: 0,
    };
    for (n, line) in text.lines().enumerate() {
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let (mut indent, mut body) = (line.len() - body.len(), body);
        // A list item's first key sits on the dash's line: look at it twice,
        // once as the item and once as the key inside it.
        loop {
            match walk.step(indent, body, key)? {
                Step::Skip => break,
                Step::Matched { column, rest } => match keys.next() {
                    None => return Some((n + 1, column)),
                    Some(next) => {
                        key = next;
                        walk.enter(indent, rest.is_some());
                        match rest {
                            Some(r) => (indent, body) = (indent + 2, r),
                            None => break,
                        }
                    }
                },
            }
        }
    }
    None
}

struct Walk {
    /// Indent of the matched parent key (or list dash).
    parent: Option<usize>,
    /// Indent of the block being searched, learnt from its first line.
    level: Option<usize>,
    items_seen: usize,
}

enum Step<'a> {
    Skip,
    /// `rest` is the text after a list item's dash.
    Matched {
        column: usize,
        rest: Option<&'a str>,
    },
}

impl Walk {
    fn step<'a>(&mut self, indent: usize, body: &'a str, key: &str) -> Option<Step<'a>> {
        let item = body.strip_prefix("- ").or((body == "-").then_some(""));
        let index: Option<usize> = key.parse().ok();
        if let Some(p) = self.parent {
            // Items of a list may sit at their key's own indent.
            if indent < p || (indent == p && (index.is_none() || item.is_none())) {
                return None;
            }
        }
        if *self.level.get_or_insert(indent) != indent {
            return Some(Step::Skip);
        }
        if let Some(i) = index {
            let Some(rest) = item else {
                return Some(Step::Skip);
            };
            self.items_seen += 1;
            if self.items_seen - 1 != i {
                return Some(Step::Skip);
            }
            let rest = rest.trim_start();
            let rest = (!rest.is_empty()).then_some(rest);
            return Some(Step::Matched {
                column: indent + 1,
                rest,
            });
        }
        let Some(value) = body.strip_prefix(key).and_then(|r| r.strip_prefix(':')) else {
            return Some(Step::Skip);
        };
        let gap = value.len() - value.trim_start().len();
        Some(Step::Matched {
            column: indent + key.len() + 1 + gap + 1,
            rest: None,
        })
    }

    /// Descend into the block under the key or item just matched at `indent`.
    fn enter(&mut self, indent: usize, inline_item: bool) {
        self.parent = Some(indent);
        self.level = inline_item.then_some(indent + 2);
        self.items_seen = 0;
    }
}

/// A duration written like `30s`, `5m`, `1h 30m` or `30d` (a day is 24 hours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        // A visitor, not String-then-parse: an error raised inside the
        // deserializer call gets the value's line and column attached.
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration like 30s, 5m, 2h or 30d")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Dur, E> {
                parse_duration(v).map(Dur).map_err(E::custom)
            }
        }
        d.deserialize_str(Visitor)
    }
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration like 30s, 5m, 2h or 30d");
    let span: jiff::Span = text.trim().parse().map_err(|_| bad())?;
    let exact = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|_| bad())?;
    Duration::try_from(exact).map_err(|_| format!("`{text}` is negative"))
}

/// A duration setting, defaulted, that must lie within `secs` seconds.
pub fn duration_in(
    c: &mut Checker<'_>,
    path: &str,
    value: Option<Dur>,
    default: Duration,
    secs: std::ops::RangeInclusive<u64>,
) -> Option<Duration> {
    let Some(value) = value else {
        return Some(default);
    };
    match value.0 {
        d if d >= Duration::from_secs(*secs.start()) && d <= Duration::from_secs(*secs.end()) => {
            Some(d)
        }
        _ => {
            c.fail(
                path,
                format!(
                    "expected a duration from {}s to {}s, like `30s` or `5m`",
                    secs.start(),
                    secs.end()
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_keys() {
        let text = "a: 1\nbroker:\n  # comment\n  url: mqtt://x\nurl: top\n";
        assert_eq!(locate(text, "broker.url"), Some((4, 8)));
        assert_eq!(locate(text, "url"), Some((5, 6)));
        assert_eq!(locate(text, "a"), Some((1, 4)));
        assert_eq!(locate(text, "missing"), None);
    }

    #[test]
    fn locates_keys_inside_list_items() {
        let text = "plugs:\n  - id: a\n    url: x\n  - id: b\n    class: pc\nrecorders:\n- id: r\n  channels:\n    - zone: front\n";
        assert_eq!(locate(text, "plugs.0.id"), Some((2, 9)));
        assert_eq!(locate(text, "plugs.1.class"), Some((5, 12)));
        assert_eq!(locate(text, "plugs.1"), Some((4, 3)));
        assert_eq!(locate(text, "plugs.2"), None);
        assert_eq!(locate(text, "recorders.0.channels.0.zone"), Some((9, 13)));
    }

    #[test]
    fn durations_in_friendly_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-5s").is_err());
    }
}
