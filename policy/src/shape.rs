//! Reading a letter's shape, with every shape error rather than only the first.
//!
//! serde stops at the first problem in a document. When the whole file does
//! not read, each top-level section and each checklist item is read again on
//! its own, padded with blank lines so that line numbers stay true. Every
//! part that fails adds its own error; every part that reads still gets its
//! meaning checked, so one run shows all the mistakes in a letter.

use std::collections::BTreeSet;

use ronda_common::conf::{Problem, Source};

use crate::raw::{RawItem, RawLetter};

/// What could be read of a letter file.
#[derive(Debug, Default)]
pub struct Shape {
    pub raw: RawLetter,
    /// Checklist items by position; `None` where an item did not read.
    pub items: Vec<Option<RawItem>>,
    /// Top-level sections that did not read: not reported again as missing.
    pub broken: BTreeSet<String>,
    pub problems: Vec<Problem>,
}

pub fn read(source: &Source) -> Shape {
    match source.parse::<RawLetter>() {
        Ok(mut raw) => Shape {
            items: raw
                .checklist
                .take()
                .unwrap_or_default()
                .into_iter()
                .map(Some)
                .collect(),
            raw,
            ..Shape::default()
        },
        Err(first) => {
            let mut shape = recover(source);
            if shape.problems.is_empty() {
                // The parts read alone but not together (an alias across
                // sections, a duplicate key): serde's own error is the answer.
                shape.problems = first.problems;
            }
            shape
        }
    }
}

fn recover(source: &Source) -> Shape {
    let lines: Vec<&str> = source.text.lines().collect();
    let mut shape = Shape::default();
    for (start, end) in sections(&lines) {
        let key = lines[start]
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_owned();
        let inline = lines[start]
            .split_once(':')
            .is_some_and(|(_, v)| !is_blank(v));
        if key == "checklist" && !inline {
            read_items(source, &lines, start + 1, end, &mut shape);
            continue;
        }
        match part::<RawLetter>(source, &lines, start, end) {
            Ok(part) => merge(&mut shape.raw, part),
            Err(p) => {
                shape.problems.extend(p);
                shape.broken.insert(key);
            }
        }
    }
    shape
}

/// `[start, end)` line ranges of the top-level keys.
fn sections(lines: &[&str]) -> Vec<(usize, usize)> {
    let starts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            l.chars()
                .next()
                .is_some_and(|c| !c.is_whitespace() && c != '#' && c != '-')
        })
        .map(|(n, _)| n)
        .collect();
    let ends = starts.iter().skip(1).copied().chain([lines.len()]);
    starts.iter().copied().zip(ends).collect()
}

fn read_items(source: &Source, lines: &[&str], from: usize, to: usize, shape: &mut Shape) {
    let dash = |l: &str| l.trim_start().starts_with('-');
    let Some(indent) = lines[from..to]
        .iter()
        .find(|l| !is_blank(l))
        .filter(|l| dash(l))
        .map(|l| l.len() - l.trim_start().len())
    else {
        shape.broken.insert("checklist".into());
        return;
    };
    let starts: Vec<usize> = (from..to)
        .filter(|&n| dash(lines[n]) && lines[n].len() - lines[n].trim_start().len() == indent)
        .collect();
    let ends = starts.iter().skip(1).copied().chain([to]);
    for (s, e) in starts.iter().copied().zip(ends) {
        match part::<Vec<RawItem>>(source, lines, s, e) {
            Ok(mut one) => shape.items.push(one.pop()),
            Err(p) => {
                // The item was read as a list of one: name it by its place.
                let path = format!("checklist.{}", shape.items.len());
                shape.problems.extend(p.into_iter().map(|mut p| {
                    if let Some(rest) = p.message.strip_prefix(".[0]") {
                        p.message = format!("{path}{rest}");
                    }
                    p
                }));
                shape.items.push(None);
            }
        }
    }
}

/// Read lines `[start, end)` alone, at their true line numbers.
fn part<T: serde::de::DeserializeOwned>(
    source: &Source,
    lines: &[&str],
    start: usize,
    end: usize,
) -> Result<T, Vec<Problem>> {
    let text = "\n".repeat(start) + &lines[start..end].join("\n");
    Source::from_text(&source.file, text)
        .parse()
        .map_err(|e| e.problems)
}

fn is_blank(l: &str) -> bool {
    let t = l.trim();
    t.is_empty() || t.starts_with('#')
}

fn merge(into: &mut RawLetter, part: RawLetter) {
    macro_rules! take {
        ($($f:ident),*) => { $( if let Some(v) = part.$f { into.$f = Some(v); } )* };
    }
    take!(letter, timezone, window, readiness, offices, keep_on, checklist, notify);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn shape(text: &str) -> Shape {
        read(&Source::from_text(Path::new("l.yaml"), text.to_owned()))
    }

    #[test]
    fn a_good_file_reads_in_one_go() {
        let s = shape("timezone: Asia/Jakarta\nchecklist:\n  - id: a\n  - id: b\n");
        assert!(s.problems.is_empty());
        assert_eq!(s.items.len(), 2);
    }

    #[test]
    fn every_broken_part_is_reported_at_its_own_line() {
        let text = "timezon: Asia/Jakarta\nwindow: always\nchecklist:\n  - id: a\n    severty: info\n  - id: b\n  - id: c\n    for: soon\nnotify:\n  repeat: 1h\n";
        let s = shape(text);
        let at: Vec<(usize, usize)> = s.problems.iter().map(|p| (p.line, p.column)).collect();
        assert_eq!(at, vec![(1, 1), (5, 5), (8, 10)], "{:?}", s.problems);
        assert!(s.problems[0].message.contains("unknown field `timezon`"));
        assert!(s.problems[1].message.contains("unknown field `severty`"));
        assert!(s.problems[2].message.contains("not a duration"));
        // The parts that read are kept, in their places.
        assert!(matches!(s.raw.window, Some(crate::raw::RawWindow::Always)));
        assert_eq!(s.items.len(), 3);
        assert!(s.items[0].is_none() && s.items[2].is_none());
        assert_eq!(s.items[1].as_ref().unwrap().id.as_deref(), Some("b"));
        assert!(s.raw.notify.is_some());
        assert!(s.broken.contains("timezon"));
    }
}
