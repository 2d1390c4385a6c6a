//! The letter report for the leadership: per office, who signed and when
//! (or late, or missing), the items that failed and for how long, the
//! incidents in the window, and the plugs switched off remotely. A
//! printable page and the same rows as CSV.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use jiff::Timestamp;
use ronda_policy::{Letter, Window};
use serde::Serialize;

use super::{format_local, format_local_ms, letter, render, Lang};
use crate::http::auth::Who;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::store::history::Incident;
use crate::store::signatures::{self, Signature};

/// A letter that is always in force is reported over the last 30 days.
const ALWAYS_DAYS: i64 = 30;

#[derive(Serialize)]
pub struct Failed {
    item: String,
    incidents: usize,
    minutes: i64,
}

#[derive(Serialize)]
pub struct OfficeReport {
    office: String,
    name: String,
    compliant_now: bool,
    signed: Option<Signature>,
    failed: Vec<Failed>,
    incidents: usize,
    switched_off: Vec<String>,
    /// Entries through the letter's listed doors during the window.
    entries: Vec<EntryRow>,
}

/// One entry for the report: device time as the device told it.
#[derive(Serialize)]
pub struct EntryRow {
    at: String,
    device: String,
    door: String,
    who: String,
    verdict: ronda_policy::eval::access::Verdict,
}

/// The report's span: the letter's periods, never past now.
fn span(l: &Letter, now: Timestamp) -> (i64, i64) {
    let now_ms = now.as_millisecond();
    match &l.window {
        Window::Always => (now_ms - ALWAYS_DAYS * 86_400_000, now_ms),
        Window::Periods(ps) => {
            let from = ps.iter().map(|p| p.start).min().unwrap_or(now);
            let to = ps.iter().map(|p| p.end).max().unwrap_or(now);
            (
                from.as_millisecond(),
                to.as_millisecond().min(now_ms).max(from.as_millisecond()),
            )
        }
    }
}

/// Per failing item: incidents and minutes firing, clipped to the span.
fn failed(incidents: &[&Incident], (from, to): (i64, i64)) -> Vec<Failed> {
    let mut by_item: BTreeMap<&str, (usize, i64)> = BTreeMap::new();
    for i in incidents {
        let start = i.fired_ms.max(from);
        let end = i.resolved_ms.unwrap_or(to).min(to);
        let e = by_item.entry(&i.item).or_default();
        e.0 += 1;
        e.1 += (end - start).max(0);
    }
    by_item
        .into_iter()
        .map(|(item, (n, ms))| Failed {
            item: item.to_owned(),
            incidents: n,
            minutes: ms / 60_000,
        })
        .collect()
}

async fn build(
    s: &AppState,
    who: &Who,
    l: &Letter,
) -> Result<(Vec<OfficeReport>, (i64, i64)), ApiError> {
    let now = Timestamp::now();
    let window = span(l, now);
    let id = l.id.clone();
    let (incidents, commands, doors_read) = s
        .reader
        .with(move |c| {
            let inc = crate::store::history::incidents(c, &id, window.0, window.1)?;
            let cmds = crate::store::commands::list(c, None, window.0, window.1, 10_000)?;
            let doors = crate::store::doors::between(c, window.0, window.1)?;
            Ok((inc, cmds, doors))
        })
        .await?;
    let id = l.id.clone();
    let mut signed = s.db.read(move |c| signatures::of_letter(c, &id)).await??;
    // Read in office order: one run of events per office.
    let mut doors: BTreeMap<String, Vec<ronda_policy::eval::DoorSeen>> = BTreeMap::new();
    for d in doors_read {
        doors.entry(d.office).or_default().push(d.seen);
    }
    let mut views = s.views.letter(&l.id);
    views.retain(|v| who.user.sees(&v.evaluation.office));
    views.sort_by(|a, b| a.evaluation.office.cmp(&b.evaluation.office));
    let rows = views
        .into_iter()
        .map(|v| {
            let office = v.evaluation.office;
            let mine: Vec<&Incident> = incidents.iter().filter(|i| i.office == office).collect();
            let statuses: Vec<_> = v.evaluation.items.iter().map(|i| i.status).collect();
            let switched_off = commands
                .iter()
                .filter(|c| c.office == office && c.on == Some(false) && c.ok == Some(true))
                .map(|c| {
                    format!(
                        "{}/{} {} ({})",
                        c.agent,
                        c.plug.as_deref().unwrap_or("?"),
                        format_local_ms(c.sent_ms, &s.tz()),
                        c.by
                    )
                })
                .collect();
            let seen = doors.remove(&office).unwrap_or_default();
            let entries = entries(l, &office, &seen);
            OfficeReport {
                entries,
                name: super::office_name(s, &office),
                compliant_now: super::overview::compliant(&statuses),
                signed: signed.remove(&office),
                failed: failed(&mine, window),
                incidents: mine.len(),
                switched_off,
                office,
            }
        })
        .collect();
    Ok((rows, window))
}

/// The office's entries in the window, each marked against the allowlist.
fn entries(l: &Letter, office: &str, seen: &[ronda_policy::eval::DoorSeen]) -> Vec<EntryRow> {
    ronda_policy::eval::access::entries(l, office, seen)
        .into_iter()
        .map(|e| {
            let ev = &e.seen.event;
            let door = match (&ev.door, ev.door_no) {
                (Some(p), _) => p.clone(),
                (None, Some(n)) => format!("#{n}"),
                (None, None) => "–".into(),
            };
            EntryRow {
                at: ev.at.to_string(),
                device: ev.device.clone(),
                door,
                who: ev.who.clone().unwrap_or_default(),
                verdict: e.verdict,
            }
        })
        .collect()
}

/// `GET /letters/{letter}/report`: the printable page.
pub async fn page(
    State(s): State<AppState>,
    who: Who,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Html<String>, ApiError> {
    let l = letter(&s, &id)?;
    let (rows, (from, to)) = build(&s, &who, &l).await?;
    let deadline = l
        .readiness
        .as_ref()
        .map(|r| format_local(r.deadline, &s.tz()));
    let letter = minijinja::context! { id => l.id, title => l.title, number => l.number, issuer => l.issuer };
    let ctx = minijinja::context! { letter, rows, from => format_local_ms(from, &s.tz()), to => format_local_ms(to, &s.tz()), deadline, made => format_local(Timestamp::now(), &s.tz()) };
    render(&who, lang, "report.html", ctx)
}

/// `GET /letters/{letter}/report.csv`: one row per office.
pub async fn csv(
    State(s): State<AppState>,
    who: Who,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let l = letter(&s, &id)?;
    let (rows, _) = build(&s, &who, &l).await?;
    let mut out = String::from("office,name,compliant_now,signed_by,signed_at,late,incidents,failed_items,switched_off,entries,entries_not_allowed\r\n");
    for r in &rows {
        let failed: Vec<String> = r
            .failed
            .iter()
            .map(|f| format!("{} {}x {} min", f.item, f.incidents, f.minutes))
            .collect();
        let fields = [
            r.office.clone(),
            r.name.clone(),
            r.compliant_now.to_string(),
            r.signed.as_ref().map(|x| x.by.clone()).unwrap_or_default(),
            r.signed
                .as_ref()
                .map(|x| format_local(x.at, &s.tz()))
                .unwrap_or_default(),
            r.signed
                .as_ref()
                .map(|x| x.late.to_string())
                .unwrap_or_default(),
            r.incidents.to_string(),
            failed.join("; "),
            r.switched_off.join("; "),
            r.entries.len().to_string(),
            r.entries
                .iter()
                .filter(|e| e.verdict != ronda_policy::eval::access::Verdict::Allowed)
                .count()
                .to_string(),
        ];
        let line: Vec<String> = fields.iter().map(|f| field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    let disposition = format!("attachment; filename=\"ronda-{}-report.csv\"", l.id);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        out,
    )
        .into_response())
}

/// RFC 4180 quoting; a leading `=`, `+`, `-`, `@`, tab or carriage return
/// is prefixed with `'` so a spreadsheet does not run a name from the field
/// as a formula (OWASP's CSV injection list).
fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(field("dinkes"), "dinkes");
        assert_eq!(field("a, b"), "\"a, b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }

    #[test]
    fn a_leading_tab_or_carriage_return_is_defused_too() {
        // OWASP's list: spreadsheets skip a leading tab or CR and then read
        // the `=` behind it as a formula.
        assert_eq!(field("\t=1+1"), "'\t=1+1");
        assert_eq!(field("\r=1+1"), "\"'\r=1+1\"");
    }

    #[test]
    fn firing_time_is_clipped_to_the_window() {
        let i = |item: &str, fired, resolved| Incident {
            office: "x".into(),
            item: item.into(),
            subject: "s".into(),
            fired_ms: fired,
            resolved_ms: resolved,
        };
        let a = i("cctv", -60_000, Some(120_000));
        let b = i("cctv", 300_000, None);
        let f = failed(&[&a, &b], (0, 600_000));
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].incidents, f[0].minutes), (2, 2 + 5));
    }
}
