//! The region overview and the wall view: every office against the active
//! letter's checklist, how many are compliant and have signed, and how
//! long until the window opens or closes. Both pages update live.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use ronda_policy::eval::Status;
use ronda_policy::{Letter, Window};
use serde::{Deserialize, Serialize};

use super::{format_local, render, Lang};
use crate::http::auth::Who;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::store::signatures::{self, Signature};

/// Seconds between live refreshes.
const LIVE_S: u32 = 5;

#[derive(Deserialize)]
pub struct Pick {
    letter: Option<String>,
}

/// One office's row.
#[derive(Serialize)]
pub struct Row {
    office: String,
    name: String,
    /// Per item: its status and how many advisory findings fail.
    cells: Vec<(Status, usize)>,
    /// The failing findings, for the wall.
    failing: Vec<ronda_policy::Text>,
    compliant: bool,
    signed: Option<Signature>,
}

#[derive(Serialize)]
pub struct Board {
    rows: Vec<Row>,
    compliant: usize,
    signed: usize,
    /// `start` or `end` of the window, and in how many seconds.
    edge: Option<(&'static str, i64, String)>,
    deadline: Option<String>,
    enforced: bool,
}

/// The letter asked for; else the first in force; else the next to start.
fn choose<'a>(letters: &'a [Letter], asked: Option<&str>, now: Timestamp) -> Option<&'a Letter> {
    if let Some(id) = asked {
        return letters.iter().find(|l| l.id == id);
    }
    let dated = |l: &&Letter| matches!(l.window, Window::Periods(_));
    letters
        .iter()
        .filter(dated)
        .find(|l| l.enforced_at(now))
        .or_else(|| {
            letters
                .iter()
                .filter(dated)
                .min_by_key(|l| l.next_edge(now))
        })
        .or_else(|| letters.first())
}

/// Machine-checked compliance: attestations still to sign show apart.
pub fn compliant(statuses: &[Status]) -> bool {
    statuses
        .iter()
        .all(|s| matches!(s, Status::Ok | Status::Pending))
}

pub async fn board(s: &AppState, who: &Who, l: &Letter, now: Timestamp) -> Result<Board, ApiError> {
    let mut views = s.views.letter(&l.id);
    views.retain(|v| who.user.sees(&v.evaluation.office));
    views.sort_by(|a, b| a.evaluation.office.cmp(&b.evaluation.office));
    let id = l.id.clone();
    let mut signed: BTreeMap<String, Signature> =
        s.db.read(move |c| signatures::of_letter(c, &id)).await??;
    let rows: Vec<Row> = views
        .into_iter()
        .map(|v| {
            let e = v.evaluation;
            let statuses: Vec<Status> = e.items.iter().map(|i| i.status).collect();
            let cells = e.items.iter().map(|i| (i.status, i.warnings())).collect();
            let failing = e
                .items
                .iter()
                .flat_map(|i| &i.findings)
                .filter(|f| f.status == Status::Fail)
                .map(|f| f.message.clone())
                .collect();
            Row {
                name: super::office_name(s, &e.office),
                compliant: compliant(&statuses),
                signed: signed.remove(&e.office),
                office: e.office,
                cells,
                failing,
            }
        })
        .collect();
    let enforced = l.enforced_at(now);
    let edge = l.next_edge(now).map(|t| {
        let which = if enforced { "end" } else { "start" };
        (
            which,
            t.duration_since(now).as_secs(),
            format_local(t, &s.tz()),
        )
    });
    Ok(Board {
        compliant: rows.iter().filter(|r| r.compliant).count(),
        signed: rows.iter().filter(|r| r.signed.is_some()).count(),
        deadline: l
            .readiness
            .as_ref()
            .map(|r| format_local(r.deadline, &s.tz())),
        rows,
        edge,
        enforced,
    })
}

async fn show(
    s: AppState,
    who: Who,
    lang: Lang,
    q: Pick,
    template: &str,
) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    // One set for the whole page, whatever a reload does meanwhile.
    let all = s.letters();
    let Some(l) = choose(&all, q.letter.as_deref(), now) else {
        if q.letter.is_some() {
            return Err(ApiError::NotFound);
        }
        let reload = refused(&s, &who);
        let ctx = minijinja::context! { letters => Vec::<()>::new(), live => LIVE_S, reload };
        return Ok(render(&who, lang, template, ctx)?.into_response());
    };
    let board = board(&s, &who, l, now).await?;
    let letters: Vec<_> = all
        .iter()
        .map(|x| minijinja::context! { id => x.id, title => x.title, enforced => x.enforced_at(now) })
        .collect();
    let items: Vec<_> = l
        .items
        .iter()
        .map(|i| minijinja::context! { id => i.id, label => i.label, text_id => i.text_id, text_en => i.text_en, kind => i.check.kind(), severity => i.severity })
        .collect();
    let letter = minijinja::context! { id => l.id, title => l.title, number => l.number, issuer => l.issuer, window => crate::letters::window_text(l), items };
    let reload = refused(&s, &who);
    let ctx = minijinja::context! { letters, letter, board, now => format_local(now, &s.tz()), live => LIVE_S, reload };
    Ok(render(&who, lang, template, ctx)?.into_response())
}

/// For the people who look after the server (admin, IT): why the last
/// reload of the letters was refused, and since when the set in force was
/// loaded. Shown until a reload succeeds.
fn refused(s: &AppState, who: &Who) -> Option<minijinja::Value> {
    use crate::store::users::Role;
    if !matches!(who.user.role, Role::Admin | Role::It) {
        return None;
    }
    let failure = s.policy.failure()?;
    let (tz, since) = (s.tz(), s.policy.current().loaded);
    Some(minijinja::context! {
        at => format_local(failure.at, &tz),
        since => format_local(since, &tz),
        problems => failure.problems.clone(),
    })
}

/// `GET /?letter=`: the region overview.
pub async fn page(
    State(s): State<AppState>,
    who: Who,
    lang: Lang,
    Query(q): Query<Pick>,
) -> Result<Response, ApiError> {
    show(s, who, lang, q, "overview.html").await
}

/// `GET /wall?letter=`: the same in large type for a command-centre screen.
pub async fn wall(
    State(s): State<AppState>,
    who: Who,
    lang: Lang,
    Query(q): Query<Pick>,
) -> Result<Response, ApiError> {
    show(s, who, lang, q, "wall.html").await
}

/// `GET /letters/{letter}`: the overview of that letter (the old address).
pub async fn letter(
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Redirect, ApiError> {
    let id = ronda_wire::Id::new(id.as_str()).map_err(|_| ApiError::NotFound)?;
    Ok(Redirect::to(&format!("/?letter={id}")))
}
