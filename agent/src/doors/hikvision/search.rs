//! The event search: `POST /ISAPI/AccessControl/AcsEvent?format=json`
//! (`docs/vendors/hikvision-access.md` §1), page by page, each page kept in
//! the outbox before the next is asked for.
//!
//! Paging follows `responseStatusStrg` (`MORE`) and moves
//! `searchResultPosition` by the items received, never by the page size
//! asked for (the device silently caps `maxResults`). A poll reads at most
//! [`MAX_PAGES`] pages, so a device that always says `MORE` cannot hold the
//! agent; the next poll goes on from where the log stands.

use jiff::SignedDuration;
use serde_json::{json, Value};

use super::clock::Frame;
use super::log::{Log, Mode, Place, Taken, Why};
use super::parse::{parse_events, More, Page};
use crate::doors::Hub;
use crate::http::Device;
use crate::probe::ProbeError;

pub const PATH: &str = "/ISAPI/AccessControl/AcsEvent?format=json";
/// Events asked for per page, as public clients do.
pub const PAGE: u32 = 30;
/// Pages read in one poll, at most.
pub const MAX_PAGES: usize = 10;
/// How far back the first search of a new device looks.
pub const FIRST_LOOKBACK: SignedDuration = SignedDuration::from_hours(24);
/// How far back a search by time looks when the agent restarts with a
/// cursor but no time: as long as the outbox keeps anything, so that an
/// agent off for a long weekend still takes the weekend's events.
pub const RESUME_LOOKBACK: SignedDuration = SignedDuration::from_hours(14 * 24);
/// How far past the device's now a window ends, for a clock that moves.
const AHEAD: SignedDuration = SignedDuration::from_hours(24);
/// The largest `endSerialNo`, as a public client sends it.
const LAST_SERIAL: u64 = 2_147_483_647;

/// The search's state between polls.
#[derive(Debug)]
pub struct Search {
    pub mode: Mode,
    pub log: Log,
    pub unmapped: u64,
}

/// What one poll's search needs.
pub struct Ctx<'a> {
    pub device: &'a Device,
    pub hub: &'a Hub,
    pub frame: &'a Frame,
    pub place: Place<'a>,
}

/// Why a search with `beginSerialNo` is given up for one by time.
enum Step {
    Fallback(Why),
    Failed(ProbeError),
}

impl Search {
    pub fn new(cursor: Option<u64>) -> Search {
        Search {
            mode: Mode::Unknown,
            log: Log {
                cursor,
                ..Log::default()
            },
            unmapped: 0,
        }
    }

    /// Take every new event this poll may, keeping each page. Problems that
    /// did not stop the device answering come back as text for the report;
    /// a refused login or a dead connection is an error.
    pub async fn poll(&mut self, ctx: &Ctx<'_>) -> Result<Vec<String>, ProbeError> {
        let mut problems = Vec::new();
        let by_serial =
            matches!(self.mode, Mode::Unknown | Mode::Serial) && self.log.cursor.is_some();
        let first = self.pages(ctx, by_serial, &mut problems).await;
        let result = match first {
            Err(Step::Fallback(why)) => {
                tracing::info!(device = %ctx.place.config.id, ?why, "searching events by time");
                self.mode = Mode::Time(why);
                self.pages(ctx, false, &mut problems).await
            }
            other => other,
        };
        match result {
            Ok(()) => Ok(problems),
            Err(Step::Failed(e)) if e.got_past_login() => {
                problems.push(format!("event search: {e}"));
                Ok(problems)
            }
            Err(Step::Failed(e)) => Err(e),
            // A search by time never falls back.
            Err(Step::Fallback(_)) => Ok(problems),
        }
    }

    fn condition(&self, frame: &Frame, by_serial: bool) -> Value {
        let mut cond = json!({
            "searchID": format!("ronda-{:016x}", fastrand::u64(..)),
            "searchResultPosition": 0,
            "maxResults": PAGE,
            "major": 0,
            "minor": 0,
        });
        if by_serial {
            let begin = self.log.cursor.unwrap_or(0).saturating_add(1);
            cond["beginSerialNo"] = json!(begin);
            cond["endSerialNo"] = json!(LAST_SERIAL.max(begin));
        } else {
            let start = match (&self.log.since, self.log.cursor) {
                (Some((_, written)), _) => written.clone(),
                (None, Some(_)) => frame.from_now(-RESUME_LOOKBACK),
                (None, None) => frame.from_now(-FIRST_LOOKBACK),
            };
            cond["startTime"] = json!(start);
            cond["endTime"] = json!(frame.from_now(AHEAD));
        }
        cond
    }

    async fn pages(
        &mut self,
        ctx: &Ctx<'_>,
        by_serial: bool,
        problems: &mut Vec<String>,
    ) -> Result<(), Step> {
        let mut cond = self.condition(ctx.frame, by_serial);
        let mut position = 0u64;
        for _ in 0..MAX_PAGES {
            cond["searchResultPosition"] = json!(position);
            let body = json!({ "AcsEventCond": cond }).to_string();
            let answer = ctx.device.post(PATH, "application/json", body).await;
            let page = match answer.and_then(|b| parse_events(&b)) {
                Ok(p) => p,
                Err(e) if by_serial && refused(&e) => return Err(Step::Fallback(Why::Refused)),
                Err(e) => return Err(Step::Failed(e)),
            };
            if by_serial {
                self.check_serial(&page)?;
            } else if self.mode == Mode::Unknown
                && !page.events.is_empty()
                && page.events.iter().all(|e| e.serial.is_none())
            {
                self.mode = Mode::Time(Why::Unnumbered);
            }
            let items = page.events.len() + page.malformed;
            if page.malformed > 0 {
                problems.push(format!("{} events unreadable and skipped", page.malformed));
            }
            let more = page.status == More::More;
            let taken = self.log.take(page.events, &ctx.place);
            if !self.keep(ctx, taken, problems).await {
                return Ok(());
            }
            if !more {
                return Ok(());
            }
            if items == 0 {
                problems.push("the device says MORE with an empty page; search stopped".into());
                return Ok(());
            }
            position = position.saturating_add(items as u64);
        }
        tracing::debug!(device = %ctx.place.config.id, pages = MAX_PAGES, "page limit reached; the next poll goes on");
        Ok(())
    }

    /// A device honours `beginSerialNo` when every event it answers is
    /// numbered past the cursor.
    fn check_serial(&mut self, page: &Page) -> Result<(), Step> {
        let cursor = self.log.cursor.unwrap_or(0);
        if page.events.iter().any(|e| e.serial.is_none()) {
            return Err(Step::Fallback(Why::Unnumbered));
        }
        if page
            .events
            .iter()
            .any(|e| e.serial.is_some_and(|s| s <= cursor))
        {
            return Err(Step::Fallback(Why::Ignored));
        }
        if !page.events.is_empty() {
            self.mode = Mode::Serial;
        }
        Ok(())
    }

    /// Keep a page's events with where the log then stands; the log moves
    /// only once they are on disk.
    async fn keep(&mut self, ctx: &Ctx<'_>, taken: Taken, problems: &mut Vec<String>) -> bool {
        if let Some(why) = &taken.time_error {
            problems.push(format!("{} events skipped: {why}", taken.untimed));
        }
        let moved = taken.log.cursor != self.log.cursor;
        if moved || !taken.events.is_empty() {
            let cursor = taken.log.cursor.map(|c| c.to_string());
            if !ctx
                .hub
                .keep(&ctx.place.config.id, taken.events, cursor)
                .await
            {
                problems
                    .push("the outbox did not keep the events; they are asked for again".into());
                return false;
            }
        }
        self.unmapped = self.unmapped.saturating_add(taken.unmapped);
        self.log = taken.log;
        true
    }
}

/// The device's way of saying it does not take the condition: 400 Bad
/// Request, or its `JSON_ResponseStatus`. A 403 or 404 is about the URI,
/// not the condition, and stays an error.
fn refused(e: &ProbeError) -> bool {
    match e {
        ProbeError::Status { status, .. } => *status == 400,
        ProbeError::Device(_) => true,
        _ => false,
    }
}
