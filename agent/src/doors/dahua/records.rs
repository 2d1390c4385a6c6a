//! Taking a Dahua controller's entry records (`AccessControlCardRec`,
//! `docs/vendors/dahua-access.md` §1) page by page into the outbox.
//!
//! `find` has no offset: each page asks again from the newest record time
//! taken (`StartTime` = that second, not the next, since several records
//! share a second) and drops the `RecNo`s already taken. More pages follow
//! while `totalCount` exceeds the rows sent (or, without it, while pages
//! come back full), at most [`MAX_PAGES`] a poll. The cursor kept with the
//! events is the last `RecNo`.

use jiff::{SignedDuration, Timestamp};
use ronda_wire::{DeviceTime, DoorEvent, DoorEventKind};

use super::parse::{parse_records, record_time, Record};
use crate::doors::{AccessConfig, Hub};
use crate::http::Device;
use crate::probe::ProbeError;

/// Records asked for per page, as public clients do.
pub const PAGE: usize = 100;
/// Pages read in one poll, at most.
pub const MAX_PAGES: usize = 10;
/// How far back the first search of a new device looks.
const FIRST_LOOKBACK: SignedDuration = SignedDuration::from_hours(24);
/// How far back the agent looks when it restarts with a cursor but no
/// time: as long as the outbox keeps anything.
const RESUME_LOOKBACK: SignedDuration = SignedDuration::from_hours(14 * 24);
/// How far past the device's now a window ends, for a clock that moves.
const AHEAD: SignedDuration = SignedDuration::from_hours(24);

/// Where the device's records stand, as far as this adapter has taken them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Log {
    pub cursor: Option<u64>,
    /// The newest record time taken.
    pub since: Option<Timestamp>,
}

/// What a page came to.
#[derive(Debug, Default)]
pub struct Taken {
    pub events: Vec<DoorEvent>,
    pub log: Log,
    pub unmapped: u64,
    /// Records without a `RecNo` or a usable `CreateTime`.
    pub unreadable: u64,
}

impl Log {
    /// Take a page: new records mapped, the log moved past all of them.
    pub fn take(&self, mut records: Vec<Record>, config: &AccessConfig) -> Taken {
        records.sort_by_key(|r| r.rec_no);
        let mut t = Taken {
            log: self.clone(),
            ..Taken::default()
        };
        for r in records {
            let (Some(n), Some(at)) = (
                r.rec_no,
                r.create_time
                    .as_deref()
                    .and_then(|c| record_time(c, config.offset)),
            ) else {
                t.unreadable += 1;
                continue;
            };
            // Past records taken before too, so that a restart's long look
            // back pages through them instead of asking for them again.
            t.log.since = Some(t.log.since.map_or(at, |s| s.max(at)));
            // The running cursor also drops a number repeated on the page.
            if t.log.cursor.is_some_and(|c| n <= c) {
                continue;
            }
            t.log.cursor = Some(t.log.cursor.map_or(n, |c| c.max(n)));
            match event(&r, n, at, config) {
                Some(e) => t.events.push(e),
                None => {
                    t.unmapped += 1;
                    tracing::debug!(device = %config.id, rec = n, "record not mapped; skipped");
                }
            }
        }
        t
    }
}

/// The kind of a record: `Status` says granted or refused; among grants,
/// `Method` 5 (remote: platform or indoor station) is a remote open and 6
/// (exit button) an opening with nobody identified. No `Status`, no kind.
pub fn kind(status: Option<bool>, method: Option<u32>) -> Option<DoorEventKind> {
    match (status?, method) {
        (true, Some(5)) => Some(DoorEventKind::RemoteOpen),
        (true, Some(6)) => Some(DoorEventKind::Open),
        (true, _) => Some(DoorEventKind::Granted),
        (false, _) => Some(DoorEventKind::Denied),
    }
}

fn event(r: &Record, n: u64, at: Timestamp, config: &AccessConfig) -> Option<DoorEvent> {
    let kind = kind(r.status, r.method)?;
    let who = [&r.user_id, &r.card_no]
        .into_iter()
        .flatten()
        .find(|w| ronda_wire::is_user_id(w))
        .cloned();
    let offset = config.offset.unwrap_or(jiff::tz::Offset::UTC);
    let method = r.method.map_or("-".to_owned(), |m| m.to_string());
    Some(DoorEvent {
        device: config.id.clone(),
        door_no: r.door,
        door: r.door.and_then(|d| config.place(d)),
        kind,
        who,
        at: DeviceTime::new(at, offset),
        number: Some(n),
        code: format!("cardrec {}/{method}", u8::from(r.status == Some(true))),
    })
}

/// The search's state between polls.
#[derive(Debug)]
pub struct Search {
    pub log: Log,
    pub unmapped: u64,
}

impl Search {
    pub fn new(cursor: Option<u64>) -> Search {
        Search {
            log: Log {
                cursor,
                since: None,
            },
            unmapped: 0,
        }
    }

    /// Take every new record this poll may, keeping each page. Problems the
    /// device answered through come back as text; a refused login or a dead
    /// connection is an error.
    pub async fn poll(
        &mut self,
        device: &Device,
        hub: &Hub,
        config: &AccessConfig,
        now: Timestamp,
    ) -> Result<Vec<String>, ProbeError> {
        let mut problems = Vec::new();
        let end = now.checked_add(AHEAD).unwrap_or(now);
        for _ in 0..MAX_PAGES {
            let start = self.start(now);
            let path = format!(
                "/cgi-bin/recordFinder.cgi?action=find&name=AccessControlCardRec\
                 &StartTime={}&EndTime={}&count={PAGE}",
                start.as_second(),
                end.as_second()
            );
            let found = match device.get(&path).await.and_then(|b| parse_records(&b)) {
                Ok(f) => f,
                Err(e) if e.got_past_login() => {
                    problems.push(format!("records: {e}"));
                    return Ok(problems);
                }
                Err(e) => return Err(e),
            };
            let rows = found.records.len();
            // More remain when the device counts more matches than it sent
            // (it may cap the page without a word), or, where it gives no
            // total, when the page came back full.
            let more = found.total.map_or(rows >= PAGE, |t| (rows as u64) < t);
            let taken = self.log.take(found.records, config);
            if taken.unreadable > 0 {
                problems.push(format!(
                    "{} records without a RecNo or a readable CreateTime skipped",
                    taken.unreadable
                ));
            }
            let before = self.log.clone();
            if !self.keep(hub, config, taken).await {
                problems
                    .push("the outbox did not keep the records; they are asked for again".into());
                return Ok(problems);
            }
            if !more || rows == 0 {
                return Ok(problems);
            }
            if self.log == before {
                problems.push(
                    "the device says more records remain but sent none new; search stopped".into(),
                );
                return Ok(problems);
            }
        }
        tracing::debug!(device = %config.id, pages = MAX_PAGES, "page limit reached; the next poll goes on");
        Ok(problems)
    }

    fn start(&self, now: Timestamp) -> Timestamp {
        let back = match (self.log.since, self.log.cursor) {
            (Some(s), _) => return s,
            (None, Some(_)) => RESUME_LOOKBACK,
            (None, None) => FIRST_LOOKBACK,
        };
        now.checked_sub(back).unwrap_or(now)
    }

    async fn keep(&mut self, hub: &Hub, config: &AccessConfig, taken: Taken) -> bool {
        if taken.log.cursor != self.log.cursor || !taken.events.is_empty() {
            let cursor = taken.log.cursor.map(|c| c.to_string());
            if !hub.keep(&config.id, taken.events, cursor).await {
                return false;
            }
        }
        self.unmapped = self.unmapped.saturating_add(taken.unmapped);
        self.log = taken.log;
        true
    }
}
