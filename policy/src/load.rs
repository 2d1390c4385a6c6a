//! Turning a letter file into a checked [`Letter`], reporting every problem.

use std::collections::BTreeSet;
use std::path::Path;

use jiff::tz::TimeZone;
use jiff::{civil, Timestamp};
use ronda_common::conf::{ConfigError, Source};

use crate::walk::LetterCheck;

use crate::model::{Letter, Period, Readiness, Scope, Window};
use crate::raw::{RawHeader, RawScope, RawWindow};
use crate::registry::{check_zone, Registry};
use crate::{items, notify, shape};

/// The classes that stay on when a letter does not say: the circular's own
/// examples (network servers, CCTV monitors) and what they need to run.
pub const DEFAULT_KEEP_ON: [&str; 4] = ["server", "network", "cctv-recorder", "cctv-monitor"];

pub fn load(path: &Path, registry: Option<&Registry>) -> Result<Letter, ConfigError> {
    check(&Source::read(path)?, registry)
}

pub fn from_text(
    name: &Path,
    text: String,
    registry: Option<&Registry>,
) -> Result<Letter, ConfigError> {
    check(&Source::from_text(name, text), registry)
}

fn check(source: &Source, registry: Option<&Registry>) -> Result<Letter, ConfigError> {
    let shape = shape::read(source);
    let mut c = source.checker();
    for p in shape.problems.iter().cloned() {
        c.add(p);
    }
    let letter = LetterCheck {
        checker: &mut c,
        broken: &shape.broken,
        registry,
    }
    .letter(shape.raw, shape.items, &source.file);
    c.finish()?;
    letter.ok_or_else(|| source.error(Vec::new()))
}

impl LetterCheck<'_, '_> {
    fn letter(
        &mut self,
        mut raw: crate::raw::RawLetter,
        raw_items: Vec<Option<crate::raw::RawItem>>,
        file: &Path,
    ) -> Option<Letter> {
        let header = self.need("letter", raw.letter.take());
        let header = header.and_then(|h| self.header(h));
        let timezone = self.need("timezone", raw.timezone.take());
        let tz = timezone
            .as_deref()
            .and_then(|z| check_zone(self.checker, "timezone", z));
        let zone = tz.clone().unwrap_or(TimeZone::UTC);
        let window = self
            .need("window", raw.window.take())
            .and_then(|w| self.window(w, &zone));
        let readiness = raw.readiness.take().and_then(|r| {
            let deadline = self
                .need("readiness.deadline", r.deadline)
                .and_then(|d| self.time("readiness.deadline", &d, &zone))?;
            Some(Readiness {
                deadline,
                remind_before: r.remind_before.into_iter().map(|d| d.0).collect(),
            })
        });
        let offices = self
            .need("offices", raw.offices.take())
            .and_then(|s| self.scope(s));
        let keep_on = raw
            .keep_on
            .take()
            .unwrap_or_else(|| DEFAULT_KEEP_ON.map(String::from).to_vec());
        self.classes("keep_on", &keep_on);
        if raw.checklist.is_none() && raw_items.is_empty() && !self.broken.contains("checklist") {
            self.fail("checklist", "missing; a letter needs at least one item");
        }
        let items = items::check_all(self, raw_items, &keep_on);
        let notify = notify::check(self, raw.notify.take().unwrap_or_default(), &zone);
        if let (Some(items), Some(notify)) = (&items, &notify) {
            items::roster_has_ids(self, items, &notify.piket);
        }
        let (id, number, title, issuer, issued, source) = header?;
        Some(Letter {
            id,
            number,
            title,
            issuer,
            issued,
            source,
            file: file.to_owned(),
            timezone: timezone?,
            tz: tz?,
            window: window?,
            readiness,
            offices: offices?,
            keep_on,
            items: items?,
            notify: notify?,
        })
    }

    #[allow(clippy::type_complexity)]
    fn header(
        &mut self,
        h: RawHeader,
    ) -> Option<(String, String, String, String, civil::Date, Option<String>)> {
        let id = self.need("letter.id", h.id);
        if let Some(id) = &id {
            self.id("letter.id", id);
        }
        let number = self.need("letter.number", h.number);
        let title = self.need("letter.title", h.title);
        let issuer = self.need("letter.issuer", h.issuer);
        let issued =
            self.need("letter.issued", h.issued)
                .and_then(|d| match d.parse::<civil::Date>() {
                    Ok(d) => Some(d),
                    Err(_) => {
                        self.fail(
                            "letter.issued",
                            format!("`{d}` is not a date like 2018-06-08"),
                        );
                        None
                    }
                });
        Some((id?, number?, title?, issuer?, issued?, h.source))
    }

    pub fn id(&mut self, path: &str, id: &str) {
        if ronda_wire::Id::new(id).is_err() {
            self.fail(path, format!("`{id}` is not an id: use a-z, 0-9 and -"));
        }
    }

    pub fn classes(&mut self, path: &str, classes: &[String]) {
        for (i, class) in classes.iter().enumerate() {
            if !ronda_wire::vocab::is_class(class) {
                self.fail(
                    &format!("{path}.{i}"),
                    format!(
                        "unknown class `{class}`; known: {}",
                        ronda_wire::vocab::CLASSES.join(", ")
                    ),
                );
            }
        }
    }

    fn window(&mut self, w: RawWindow, tz: &TimeZone) -> Option<Window> {
        let RawWindow::Periods(raw) = w else {
            return Some(Window::Always);
        };
        if raw.is_empty() {
            self.fail("window", "give at least one period, or write `always`");
            return None;
        }
        let mut periods = Vec::new();
        for (i, p) in raw.into_iter().enumerate() {
            let at = format!("window.{i}");
            let start = self
                .need(&format!("{at}.start"), p.start)
                .and_then(|t| self.time(&format!("{at}.start"), &t, tz));
            let end = self
                .need(&format!("{at}.end"), p.end)
                .and_then(|t| self.time(&format!("{at}.end"), &t, tz));
            if let (Some(start), Some(end)) = (start, end) {
                if end <= start {
                    self.fail(
                        &format!("{at}.end"),
                        format!(
                            "the period ends ({}) before it starts ({})",
                            format_local_minute(end, tz),
                            format_local_minute(start, tz)
                        ),
                    );
                    continue;
                }
                periods.push(Period { start, end });
            }
        }
        periods.sort_by_key(|p| p.start);
        for pair in periods.windows(2) {
            if pair[1].start < pair[0].end {
                self.fail(
                    "window",
                    format!(
                        "periods overlap: one ends {} after the next starts {}",
                        format_local_minute(pair[0].end, tz),
                        format_local_minute(pair[1].start, tz)
                    ),
                );
            }
        }
        Some(Window::Periods(periods))
    }

    fn scope(&mut self, s: RawScope) -> Option<Scope> {
        let (groups, listed) = match s {
            RawScope::All => return Some(Scope::All),
            RawScope::Listed(l) => (Vec::new(), l),
            RawScope::Groups(g) => (g.groups, g.offices),
        };
        let mut set = BTreeSet::new();
        for (i, office) in listed.into_iter().enumerate() {
            self.office(&format!("offices.{i}"), &office);
            set.insert(office);
        }
        for (i, g) in groups.iter().enumerate() {
            let at = format!("offices.groups.{i}");
            match self.registry.map(|r| r.groups.get(g)) {
                None => self.fail(
                    &at,
                    format!("group `{g}` needs the office registry; give --offices FILE"),
                ),
                Some(None) => self.fail(&at, format!("unknown group `{g}`")),
                Some(Some(members)) => set.extend(members.iter().cloned()),
            }
        }
        Some(Scope::Offices(set))
    }

    /// An office id, checked against the registry when there is one.
    pub fn office(&mut self, path: &str, office: &str) {
        self.id(path, office);
        if let Some(r) = self.registry {
            if !r.offices.contains_key(office) {
                self.fail(path, format!("unknown office `{office}`"));
            }
        }
    }

    pub fn time(&mut self, path: &str, text: &str, tz: &TimeZone) -> Option<Timestamp> {
        parse_time(text, tz).map_err(|e| self.fail(path, e)).ok()
    }
}

/// A time in the letter's zone, unless it carries its own offset.
pub fn parse_time(text: &str, tz: &TimeZone) -> Result<Timestamp, String> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    let civil = text.parse::<civil::DateTime>().or_else(|_| {
        text.parse::<civil::Date>()
            .map(|d| d.to_datetime(civil::Time::midnight()))
    });
    civil
        .and_then(|dt| dt.to_zoned(tz.clone()))
        .map(|z| z.timestamp())
        .map_err(|_| format!("`{text}` is not a time: write 2018-06-11 08:00 (in the letter's zone) or 2018-06-11T08:00+07:00"))
}

pub fn format_local_minute(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}
