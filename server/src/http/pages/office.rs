//! The office page (devices live, the checklist per letter with evidence,
//! alert history, attestations, commands, data gaps) and plug control: a switch asked
//! for on the page, confirmed on a second page, sent through the agent's
//! command topic and audited. The agent's protected classes still decide.

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use ronda_wire::{Action, Command, Id};
use serde::Deserialize;

use super::{format_local_ms, office_name, render, Lang};
use crate::engine::worker::Msg;
use crate::engine::Outgoing;
use crate::http::auth::Who;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::store::alerts::AlertFilter;
use crate::store::users::Role;

/// Alerts and commands the office page lists.
const HISTORY: u32 = 50;

fn id(s: &str) -> Result<Id, ApiError> {
    Id::new(s).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// `GET /offices/{office}`.
pub async fn page(
    State(s): State<AppState>,
    who: Who,
    lang: Lang,
    Path(office): Path<String>,
) -> Result<Html<String>, ApiError> {
    id(&office)?;
    who.office(&office)?;
    let agents: Vec<_> = s
        .reader
        .agents_with_reports(Some(office.clone()))
        .await?
        .into_iter()
        .map(|row| {
            // The agent's clock against the server's, in whole seconds.
            let clock_s = s.views.clock(&row.office, &row.agent).map(|d| d.as_secs());
            minijinja::context! { report => row.parsed_report(), clock_s, row }
        })
        .collect();
    let o = office.clone();
    let signed =
        s.db.read(move |c| crate::store::signatures::letters_of(c, &o))
            .await??;
    let letters: Vec<_> = s
        .letters()
        .iter()
        .filter_map(|l| {
            let v = s.views.get(&l.id, &office)?;
            let items: Vec<_> = l
                .items
                .iter()
                .zip(&v.evaluation.items)
                .map(|(i, r)| minijinja::context! { id => i.id, label => i.label, text_id => i.text_id, text_en => i.text_en, status => r.status, warnings => r.warnings(), findings => r.findings, since => v.since.get(&i.id).map(|t| super::format_local(*t, &s.tz())) })
                .collect();
            Some(minijinja::context! { id => l.id, title => l.title, enforced => v.evaluation.enforced, items, signed => signed.contains(&l.id) })
        })
        .collect();
    if agents.is_empty() && letters.is_empty() {
        return Err(ApiError::NotFound);
    }
    let filter = AlertFilter {
        office: Some(office.clone()),
        ..AlertFilter::default()
    };
    let alerts = s.reader.alerts(filter, HISTORY).await?;
    let (o, tz) = (office.clone(), s.tz());
    let (attestations, commands, gaps, doors) = s
        .reader
        .with(move |c| {
            let att = crate::store::history::attestations(c, &o)?
                .into_iter()
                .map(|r| minijinja::context! { letter => r.letter, item => r.item, by => r.by, at => format_local_ms(r.at_ms, &tz) })
                .collect::<Vec<_>>();
            let cmds = crate::store::commands::list(c, Some(&o), 0, i64::MAX, HISTORY)?;
            let gaps = crate::store::history::gaps(c, &o, HISTORY)?
                .into_iter()
                .map(|r| minijinja::context! { agent => r.agent, lost => r.lost, before_seq => r.before_seq, at => format_local_ms(r.noticed_ms, &tz) })
                .collect::<Vec<_>>();
            let doors = crate::store::doors::latest(c, &o, HISTORY)?;
            Ok((att, cmds, gaps, super::doors::rows(doors, &tz)))
        })
        .await?;
    let controls = matches!(who.user.role, Role::Admin | Role::It);
    let name = office_name(&s, &office);
    let ctx = minijinja::context! { office, name, agents, letters, alerts, attestations, commands, gaps, doors, controls };
    render(&who, lang, "office.html", ctx)
}

#[derive(Deserialize)]
pub struct PlugForm {
    agent: String,
    plug: String,
    /// `on` or `off`.
    to: String,
    /// Present once the user has confirmed on the second page.
    confirm: Option<String>,
    csrf: Option<String>,
}

/// The plug as the agent last reported it, or 404.
async fn reported_plug(
    s: &AppState,
    office: &str,
    f: &PlugForm,
) -> Result<ronda_wire::Plug, ApiError> {
    let report = s
        .reader
        .agent(office.to_owned(), f.agent.clone())
        .await?
        .and_then(|row| row.parsed_report())
        .ok_or(ApiError::NotFound)?;
    report
        .plugs
        .into_iter()
        .find(|p| p.id == f.plug)
        .ok_or(ApiError::NotFound)
}

fn check_form(who: &Who, office: &str, f: &PlugForm) -> Result<bool, ApiError> {
    for x in [office, f.agent.as_str(), f.plug.as_str()] {
        id(x)?;
    }
    who.office(office)?;
    who.role(&[Role::Admin, Role::It], "switch plugs")?;
    match f.to.as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(ApiError::BadRequest(format!(
            "switch to `{other}`? on or off"
        ))),
    }
}

/// `POST /offices/{office}/plug`: without `confirm`, shows what will happen
/// and asks; with it, sends `plug.set` to the agent and logs it.
pub async fn plug(
    State(s): State<AppState>,
    who: Who,
    lang: Lang,
    Path(office): Path<String>,
    Form(f): Form<PlugForm>,
) -> Result<Response, ApiError> {
    let on = check_form(&who, &office, &f)?;
    who.check_csrf(f.csrf.as_deref())?;
    let plug = reported_plug(&s, &office, &f).await?;
    if f.confirm.as_deref() != Some("yes") {
        let protected = s
            .letters()
            .iter()
            .filter(|l| l.covers(&office))
            .any(|l| l.keep_on.contains(&plug.class));
        let ctx = minijinja::context! { office, agent => f.agent, plug, to => f.to, protected, confirm => true };
        return Ok(render(&who, lang, "office.html", ctx)?.into_response());
    }
    let command_id = format!(
        "ui-{}-{:06x}",
        jiff::Timestamp::now().as_millisecond(),
        fastrand::u32(..0xff_ffff)
    );
    let outgoing = Outgoing {
        office: office.clone(),
        agent: f.agent.clone(),
        command: Command::new(
            command_id.clone(),
            Action::PlugSet {
                plug: f.plug.clone(),
                on,
            },
        ),
        by: who.user.name.clone(),
    };
    if !s.ask(|reply| Msg::Command { outgoing, reply }).await? {
        return Err(ApiError::Unavailable);
    }
    let detail = format!(
        "{office}/{} plug {} → {} (command {command_id})",
        f.agent, f.plug, f.to
    );
    who.audit(&s, "plug.set", detail).await?;
    Ok(Redirect::to(&format!("/offices/{office}#commands")).into_response())
}

/// `GET /offices/{office}/{agent}`: the old per-agent address.
pub async fn agent(Path((office, _agent)): Path<(String, String)>) -> Result<Redirect, ApiError> {
    let office = id(&office)?;
    Ok(Redirect::to(&format!("/offices/{office}")))
}
