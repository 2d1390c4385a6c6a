//! Shared by every proptest fuzz target: the run settings, a runner that
//! counts its cases, and mutations of a valid sample.
//!
//! The fuzz targets of the wire, policy and agent crates share it.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseResult, TestError, TestRunner};

/// Proptest's defaults, which take the case count from `PROPTEST_CASES`
/// (256 when unset), so that `fuzz/run-long.sh` can raise it. No failure
/// files: a failing input found here is kept as a named regression test
/// next to the parser instead.
pub fn config() -> Config {
    Config {
        failure_persistence: None,
        ..Config::default()
    }
}

/// Run `test` on values of `strategy` and print `fuzz-cases NAME N` on
/// stderr (shown with `--nocapture`), where NAME is the test's own name.
/// `fuzz/run-long.sh` adds these lines up; proptest itself does not say
/// how many cases it ran.
pub fn check<S>(strategy: S, test: impl Fn(S::Value) -> TestCaseResult)
where
    S: Strategy,
    S::Value: Debug,
{
    let name = std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_owned();
    let cases = AtomicU64::new(0);
    let mut runner = TestRunner::new(config());
    let result = runner.run(&strategy, |value| {
        cases.fetch_add(1, Ordering::Relaxed);
        test(value)
    });
    match result {
        Ok(()) => eprintln!("fuzz-cases {name} {}", cases.load(Ordering::Relaxed)),
        Err(TestError::Fail(why, value)) => {
            panic!("{name}: {why}\nminimal failing input: {value:#?}")
        }
        Err(TestError::Abort(why)) => panic!("{name}: gave up: {why}"),
    }
}

/// Values that parsers get wrong most often: number edges, floats out of
/// range, odd times, markup and YAML syntax, control and wide characters.
pub const NASTY: &[&str] = &[
    "",
    "0",
    "-0",
    "1",
    "-1",
    "2",
    "65",
    "255",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775809",
    "99999999999999999999999999999999999999999",
    "1.5",
    "1e39",
    "-1e39",
    "1e308",
    "1e400",
    "4.9e-324",
    "NaN",
    "inf",
    "-inf",
    "true",
    "false",
    "null",
    "~",
    "[]",
    "{}",
    "\"\"",
    "''",
    "2018-06-11T08:00:00Z",
    "2018-06-11T08:00:00+07:00",
    "2018-06-11T08:00:00+25:59",
    "9999-12-31T23:59:59Z",
    "-009999-01-01T00:00:00Z",
    "2018-02-30 25:61:61",
    "2018-6-11 8:0:0",
    "0-0-0 0:0:0",
    "+07:00",
    "-99:99",
    "Z",
    "1h 30m",
    "-5s",
    "99999999999999d",
    "Error",
    "OK",
    "a=b",
    "=",
    "<",
    ">",
    "</",
    "<a>",
    "&amp;",
    "&#0;",
    "&#x110000;",
    "&unknown;",
    "<![CDATA[x]]>",
    "<!DOCTYPE a [<!ENTITY e \"x\">]>",
    "\"",
    "'",
    "\\",
    "\\u0000",
    "\\ud800",
    ":",
    "- ",
    "? ",
    "#",
    "&a",
    "*a",
    "!!binary",
    "!!int",
    "%YAML 1.2",
    "---",
    "...",
    "|",
    ">-",
    "\u{0}",
    "\u{7f}",
    "\u{feff}",
    "\u{2028}",
    "é",
    "İ",
    "💥",
    "\r",
    "\r\n",
    "\n",
    "\t",
    "   ",
];

/// One change to a sample.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Cut the text at a point.
    Truncate(Index),
    /// Remove up to this many bytes.
    Delete(Index, usize),
    Insert(Index, Vec<u8>),
    FlipBit(Index, u8),
    /// Copy a stretch of the text to another place.
    Copy(Index, usize, Index),
    /// Replace one value-like token (a run of letters, digits and `._-+:`).
    Token(Index, String),
    /// Wrap one token, or the whole text, in deep nesting of one of the
    /// format's brackets.
    Nest(Index, Index, usize),
    DeleteLine(Index),
    RepeatLine(Index),
    /// Move a line's indent by this many spaces.
    Indent(Index, i8),
}

/// A value to put in place of a token: a nasty one, a random text or a
/// random number.
pub fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(NASTY).prop_map(str::to_owned),
        2 => any::<String>(),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(|n| n.to_string()),
        1 => (0usize..5000).prop_map(|n| "9".repeat(n)),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        1 => any::<Index>().prop_map(Edit::Truncate),
        2 => (any::<Index>(), 1usize..16).prop_map(|(i, n)| Edit::Delete(i, n)),
        2 => (any::<Index>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        1 => (any::<Index>(), value()).prop_map(|(i, v)| Edit::Insert(i, v.into_bytes())),
        2 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Edit::FlipBit(i, b)),
        1 => (any::<Index>(), 1usize..200, any::<Index>())
            .prop_map(|(i, n, at)| Edit::Copy(i, n, at)),
        6 => (any::<Index>(), value()).prop_map(|(i, v)| Edit::Token(i, v)),
        1 => (any::<Index>(), any::<Index>(), 1usize..300)
            .prop_map(|(i, b, d)| Edit::Nest(i, b, d)),
        1 => any::<Index>().prop_map(Edit::DeleteLine),
        1 => any::<Index>().prop_map(Edit::RepeatLine),
        1 => (any::<Index>(), -4i8..5).prop_map(|(i, d)| Edit::Indent(i, d)),
    ]
}

/// `sample` with one to four edits. `brackets` are the format's nesting
/// pairs, such as `("[", "]")` for JSON or `("<a>", "</a>")` for XML. The
/// result is text: a bit flip that breaks UTF-8 reads as U+FFFD, as it does
/// where the agent reads a device's answer.
pub fn mutated(
    sample: impl Into<String>,
    brackets: &'static [(&'static str, &'static str)],
) -> impl Strategy<Value = String> {
    let sample: String = sample.into();
    proptest::collection::vec(edit(), 1..5).prop_map(move |edits| {
        let mut text = sample.clone().into_bytes();
        for e in &edits {
            apply(&mut text, e, brackets);
        }
        String::from_utf8_lossy(&text).into_owned()
    })
}

/// Any one of `samples`, mutated.
pub fn mutated_any(
    samples: Vec<String>,
    brackets: &'static [(&'static str, &'static str)],
) -> impl Strategy<Value = String> {
    proptest::sample::select(samples).prop_flat_map(move |s| mutated(s, brackets))
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._-+:".contains(&b)
}

fn tokens(text: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &b) in text.iter().enumerate() {
        match (is_token_byte(b), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

/// `[start, end)` of each line, its newline included.
fn lines(text: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        if b == b'\n' {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push((start, text.len()));
    }
    out
}

fn apply(text: &mut Vec<u8>, edit: &Edit, brackets: &[(&str, &str)]) {
    let len = text.len();
    match edit {
        Edit::Truncate(i) => text.truncate(i.index(len + 1)),
        Edit::Delete(i, n) => {
            let start = i.index(len + 1);
            text.drain(start..(start + n).min(len));
        }
        Edit::Insert(i, bytes) => {
            let at = i.index(len + 1);
            text.splice(at..at, bytes.iter().copied());
        }
        Edit::FlipBit(i, bit) => {
            if len > 0 {
                text[i.index(len)] ^= 1 << bit;
            }
        }
        Edit::Copy(i, n, at) => {
            let start = i.index(len + 1);
            let part = text[start..(start + n).min(len)].to_vec();
            let at = at.index(len + 1);
            text.splice(at..at, part);
        }
        Edit::Token(i, v) => {
            let t = tokens(text);
            if !t.is_empty() {
                let (s, e) = t[i.index(t.len())];
                text.splice(s..e, v.bytes());
            }
        }
        Edit::Nest(i, b, depth) => {
            if brackets.is_empty() {
                return;
            }
            let (open, close) = brackets[b.index(brackets.len())];
            let t = tokens(text);
            let (s, e) = if t.is_empty() {
                (0, len)
            } else {
                t[i.index(t.len())]
            };
            let inner = text[s..e].to_vec();
            let mut nested = open.repeat(*depth).into_bytes();
            nested.extend(inner);
            nested.extend(close.repeat(*depth).into_bytes());
            text.splice(s..e, nested);
        }
        Edit::DeleteLine(i) => {
            let l = lines(text);
            if !l.is_empty() {
                let (s, e) = l[i.index(l.len())];
                text.drain(s..e);
            }
        }
        Edit::RepeatLine(i) => {
            let l = lines(text);
            if !l.is_empty() {
                let (s, e) = l[i.index(l.len())];
                let line = text[s..e].to_vec();
                text.splice(e..e, line);
            }
        }
        Edit::Indent(i, delta) => {
            let l = lines(text);
            if !l.is_empty() {
                let (s, _) = l[i.index(l.len())];
                if *delta >= 0 {
                    text.splice(s..s, std::iter::repeat_n(b' ', *delta as usize));
                } else {
                    let spaces = text[s..].iter().take_while(|b| **b == b' ').count();
                    text.drain(s..s + spaces.min(delta.unsigned_abs() as usize));
                }
            }
        }
    }
}

/// Text drawn mostly from `alphabet` (a regex character class body such
/// as `a-z<>/`), so that random input reaches past a parser's first check.
pub fn soup(alphabet: &str, max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[{alphabet}]{{0,{max}}}"))
        .unwrap_or_else(|e| panic!("bad alphabet {alphabet}: {e}"))
}
