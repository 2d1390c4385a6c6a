//! The compliance acknowledgement: a head (or an admin) attests the items a
//! machine cannot check, explains every item that is not green, and signs.
//! The signature keeps the checklist as it stood; it can be withdrawn and
//! signed again; one after the letter's deadline is marked late.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{letter, render, Lang};
use crate::engine::worker::Msg;
use crate::http::{ApiError, AppState};
use crate::login::{with, Who};
use crate::users::{self, Role};

#[derive(Debug, Clone, Serialize)]
pub struct Signature {
    pub by: String,
    pub at: jiff::Timestamp,
    pub late: bool,
    pub explanations: BTreeMap<String, String>,
}

/// A head (or an admin) acting on one office's letter through a form.
struct Act {
    who: Who,
    office: String,
    letter: String,
}

impl Act {
    /// The form's CSRF token right, and allowed to sign here.
    fn check(
        who: Who,
        (office, letter): (String, String),
        form: &BTreeMap<String, String>,
    ) -> Result<Act, ApiError> {
        who.check_csrf(Some(form.get("csrf").map_or("", String::as_str)))?;
        for (field, value) in form {
            crate::http::bounded(field, value)?;
        }
        who.office(&office)?;
        who.role(&[Role::Head, Role::Admin], "sign for an office")?;
        Ok(Act {
            who,
            office,
            letter,
        })
    }

    /// Make `change` and log `action` in one step, then back to the page.
    async fn done(
        self,
        s: &AppState,
        action: &'static str,
        detail: String,
        change: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<()> + Send + 'static,
    ) -> Result<Response, ApiError> {
        let back = format!("/offices/{}/letters/{}", self.office, self.letter);
        let now = jiff::Timestamp::now().as_millisecond();
        let detail = format!("{} {} {detail}", self.letter, self.office);
        let (name, source) = (self.who.user.name.clone(), self.who.source.clone());
        with(&s.auth, move |c| {
            change(c)?;
            Ok(users::audit(
                c,
                Some(&name),
                action,
                detail.trim_end(),
                source.as_deref(),
                now,
            )?)
        })
        .await?;
        Ok(Redirect::to(&back).into_response())
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<String, ApiError> {
    serde_json::to_string(v).map_err(|e| ApiError::Internal(e.to_string()))
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Signature> {
    Ok(Signature {
        by: r.get(0)?,
        at: jiff::Timestamp::from_millisecond(r.get(1)?).unwrap_or_default(),
        late: r.get(2)?,
        explanations: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or_default(),
    })
}

pub fn signature(
    conn: &rusqlite::Connection,
    letter: &str,
    office: &str,
) -> rusqlite::Result<Option<Signature>> {
    conn.query_row(
        "SELECT by, at_ms, late, explanations FROM signatures WHERE letter = ?1 AND office = ?2",
        params![letter, office],
        row,
    )
    .optional()
}

/// Every office's signature of one letter.
pub fn signatures(
    conn: &rusqlite::Connection,
    letter: &str,
) -> rusqlite::Result<BTreeMap<String, Signature>> {
    let mut stmt = conn.prepare_cached(
        "SELECT by, at_ms, late, explanations, office FROM signatures WHERE letter = ?1",
    )?;
    let rows = stmt.query_map([letter], |r| Ok((r.get::<_, String>(4)?, row(r)?)))?;
    rows.collect()
}

/// `GET /offices/{office}/letters/{letter}`: the checklist and the form.
pub async fn page(
    State(s): State<AppState>,
    who: Who,
    lang: Lang,
    Path((office, letter_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    who.office(&office)?;
    let l = letter(&s, &letter_id)?;
    let view = s.views.get(&letter_id, &office).ok_or(ApiError::NotFound)?;
    let (lid, oid) = (letter_id.clone(), office.clone());
    let signed = with(&s.auth, move |c| Ok(signature(c, &lid, &oid)?)).await?;
    let items: Vec<_> = l
        .items
        .iter()
        .zip(&view.evaluation.items)
        .map(|(i, r)| minijinja::context! { id => i.id, text => i.text_id, en => i.text_en, kind => r.kind, status => r.status, attest => i.check == ronda_policy::Check::Attestation, findings => r.findings })
        .collect();
    let may_sign = matches!(who.user.role, Role::Head | Role::Admin);
    let deadline = l
        .readiness
        .as_ref()
        .map(|r| super::format_local(r.deadline, &s.tz));
    let name = super::office_name(&s, &office);
    let ctx = minijinja::context! { office, name, letter => l.title, letter_id, items, signed, may_sign, deadline };
    Ok(render(&who, lang, "sign.html", ctx)?.into_response())
}

/// `POST …/attest` with `item` and `csrf`.
pub async fn attest(
    State(s): State<AppState>,
    who: Who,
    Path(path): Path<(String, String)>,
    Form(f): Form<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let act = Act::check(who, path, &f)?;
    let item = f
        .get("item")
        .cloned()
        .ok_or_else(|| ApiError::BadRequest("which item?".into()))?;
    s.ask(|reply| Msg::Attest {
        letter: act.letter.clone(),
        office: act.office.clone(),
        item: item.clone(),
        by: act.who.user.name.clone(),
        reply,
    })
    .await?
    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    act.done(&s, "attest", item, |_| Ok(())).await
}

/// `POST …/sign`: every item that is not green needs `explain_<item>`.
pub async fn sign(
    State(s): State<AppState>,
    who: Who,
    Path(path): Path<(String, String)>,
    Form(f): Form<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let act = Act::check(who, path, &f)?;
    let l = letter(&s, &act.letter)?;
    let view = s
        .views
        .get(&act.letter, &act.office)
        .ok_or(ApiError::NotFound)?;
    let mut explanations = BTreeMap::new();
    for r in view
        .evaluation
        .items
        .iter()
        .filter(|r| r.status != ronda_policy::eval::Status::Ok)
    {
        let given = f
            .get(&format!("explain_{}", r.item))
            .map(|e| e.trim())
            .filter(|e| !e.is_empty());
        let e = given.ok_or_else(|| {
            ApiError::BadRequest(format!(
                "explain why `{}` is not green before signing",
                r.item
            ))
        })?;
        explanations.insert(r.item.clone(), e.to_owned());
    }
    let now = jiff::Timestamp::now();
    let late = l.readiness.as_ref().is_some_and(|r| now > r.deadline);
    let (snapshot, explained) = (to_json(&view.evaluation)?, to_json(&explanations)?);
    let (lid, oid, by) = (
        act.letter.clone(),
        act.office.clone(),
        act.who.user.name.clone(),
    );
    let detail = if late {
        "(late)".to_owned()
    } else {
        String::new()
    };
    act.done(&s, "sign", detail, move |c| {
        c.execute(
            "INSERT INTO signatures (letter, office, by, at_ms, snapshot, explanations, late) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (letter, office) DO UPDATE SET by = excluded.by, at_ms = excluded.at_ms,
                snapshot = excluded.snapshot, explanations = excluded.explanations, late = excluded.late",
            params![lid, oid, by, now.as_millisecond(), snapshot, explained, late],
        )
        .map(drop)
    })
    .await
}

/// `POST …/withdraw`: the signature is taken back (and can be given again).
pub async fn withdraw(
    State(s): State<AppState>,
    who: Who,
    Path(path): Path<(String, String)>,
    Form(f): Form<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let act = Act::check(who, path, &f)?;
    letter(&s, &act.letter)?;
    let (lid, oid) = (act.letter.clone(), act.office.clone());
    act.done(&s, "sign.withdraw", String::new(), move |c| {
        c.execute(
            "DELETE FROM signatures WHERE letter = ?1 AND office = ?2",
            params![lid, oid],
        )
        .map(drop)
    })
    .await
}
