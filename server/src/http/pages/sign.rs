//! The compliance acknowledgement: a head (or an admin) attests the items a
//! machine cannot check, explains every item that is not green, and signs.
//! The signature keeps the checklist as it stood; it can be withdrawn and
//! signed again; one after the letter's deadline is marked late. Below the
//! checklist, the office's cameras with the views pinned for them
//! ([`super::views`]).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Serialize;

use super::{letter, render, Lang};
use crate::engine::worker::{AttestRequest, Msg};
use crate::http::auth::Who;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::store::signatures;
use crate::store::users::Role;

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
            crate::http::error::bounded(field, value)?;
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
        change: impl FnOnce(&crate::store::sql::Connection) -> crate::store::sql::Result<()>
            + Send
            + 'static,
    ) -> Result<Response, ApiError> {
        let back = format!("/offices/{}/letters/{}", self.office, self.letter);
        let now = jiff::Timestamp::now().as_millisecond();
        let detail = format!("{} {} {detail}", self.letter, self.office);
        let (name, source) = (self.who.user.name.clone(), self.who.source.clone());
        s.db.write(move |c| {
            let tx = c.unchecked_transaction()?;
            change(&tx)?;
            crate::store::audit::append(
                &tx,
                Some(&name),
                action,
                detail.trim_end(),
                source.as_deref(),
                now,
            )?;
            tx.commit()
        })
        .await??;
        Ok(Redirect::to(&back).into_response())
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<String, ApiError> {
    serde_json::to_string(v).map_err(|e| ApiError::Internal(e.to_string()))
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
    let signed = s.db.read(move |c| signatures::one(c, &lid, &oid)).await??;
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
        .map(|r| super::format_local(r.deadline, &s.tz()));
    let name = super::office_name(&s, &office);
    let cameras = super::views::cameras(&s, &office).await?;
    let may_look = matches!(who.user.role, Role::Head | Role::Admin | Role::It) && who.in_session();
    let max_reason = super::views::MAX_REASON;
    let ctx = minijinja::context! { office, name, letter => l.title, letter_id, items, signed, may_sign, deadline, cameras, may_look, max_reason };
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
        attest: AttestRequest {
            letter: act.letter.clone(),
            office: act.office.clone(),
            item: item.clone(),
            by: act.who.user.name.clone(),
        },
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
    let signed = signatures::Signed {
        letter: lid,
        office: oid,
        by,
        at_ms: now.as_millisecond(),
        snapshot,
        explanations: explained,
        late,
    };
    act.done(&s, "sign", detail, move |c| signatures::sign(c, &signed))
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
        signatures::withdraw(c, &lid, &oid)
    })
    .await
}
