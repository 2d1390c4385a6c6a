//! The web side of Telegram: the page where a person links their Telegram
//! account (a one-time code to send the bot), and `POST /telegram/updates`,
//! where the Bot API delivers updates when the bot is set up with
//! `updates: webhook`.

use axum::body::Bytes;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::auth::{CsrfForm, Who};
use super::error::ApiError;
use super::pages::{render, Lang};
use super::AppState;
use crate::store::telegram as links;
use crate::store::users::Role;
use crate::telegram::link;

/// The most an update may weigh: a message is at most 4096 characters,
/// and an update is that plus its envelope.
pub const MAX_UPDATE: usize = 64 * 1024;
/// The header the Bot API sends the webhook's secret in.
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// Who may link: whoever may acknowledge an alert.
const ROLES: [Role; 3] = [Role::Admin, Role::It, Role::Head];

/// `GET /telegram`: whether this account is linked, and a code to link it.
pub async fn page(
    State(s): State<AppState>,
    who: Who,
    lang: Lang,
) -> Result<Html<String>, ApiError> {
    page_with(&s, &who, lang, None).await
}

async fn page_with(
    s: &AppState,
    who: &Who,
    lang: Lang,
    code: Option<String>,
) -> Result<Html<String>, ApiError> {
    who.role(&ROLES, "link a Telegram account")?;
    let name = who.user.name.clone();
    let linked = s.db.read(move |c| links::link_of(c, &name)).await??;
    let bot = s.telegram.is_some();
    let minutes = link::CODE_TTL.as_mins();
    render(
        who,
        lang,
        "telegram.html",
        minijinja::context! { linked, code, bot, minutes },
    )
}

/// `POST /telegram/code`: a new one-time code, shown once.
pub async fn code(
    State(s): State<AppState>,
    who: Who,
    lang: Lang,
    Form(f): Form<CsrfForm>,
) -> Result<Html<String>, ApiError> {
    who.check_csrf(Some(&f.csrf))?;
    who.role(&ROLES, "link a Telegram account")?;
    if s.telegram.is_none() {
        return Err(ApiError::Conflict(
            "this server has no Telegram bot set up".into(),
        ));
    }
    let code = link::new_code();
    let (name, hash) = (who.user.name.clone(), link::hash(&code));
    let now = jiff::Timestamp::now();
    let expires = now
        .checked_add(link::CODE_TTL)
        .unwrap_or(now)
        .as_millisecond();
    s.db.write(move |c| links::issue_code(c, &name, &hash, expires))
        .await??;
    who.audit(&s, "telegram.code", "a link code was shown".into())
        .await?;
    page_with(&s, &who, lang, Some(code)).await
}

/// `POST /telegram/unlink`: forget this account's Telegram link.
pub async fn unlink(
    State(s): State<AppState>,
    who: Who,
    Form(f): Form<CsrfForm>,
) -> Result<Redirect, ApiError> {
    who.check_csrf(Some(&f.csrf))?;
    who.role(&ROLES, "link a Telegram account")?;
    let name = who.user.name.clone();
    if s.db.write(move |c| links::unlink(c, &name)).await?? {
        who.audit(&s, "telegram.unlink", "Telegram account unlinked".into())
            .await?;
    }
    Ok(Redirect::to("/telegram"))
}

/// `POST /telegram/updates`: one update from the Bot API. Refused unless
/// it carries the webhook's secret; answered 200 once handled (or found
/// malformed), so that the Bot API does not send it again.
pub async fn updates(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(bot) = s.telegram.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(secret) = bot.api.webhook_secret() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !super::auth::constant_time_eq(given, secret.expose().as_bytes()) {
        tracing::warn!("telegram update without the webhook's secret refused");
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match serde_json::from_slice::<crate::telegram::api::Update>(&body) {
        Ok(update) => crate::telegram::updates::handle(&s, &bot, update).await,
        Err(e) => tracing::warn!(error = %e, "telegram update not understood; dropped"),
    }
    StatusCode::OK.into_response()
}
