//! Server-rendered pages: the one template environment, the frame every
//! page shares (who is logged in, the language, the menu), and the pages.
//! Templates live in `server/templates/` and are escaped by minijinja
//! (device names and error texts come from the field). There is no
//! JavaScript build step; the live pages load one small script.

pub mod alerts;
mod doors;
pub mod office;
pub mod overview;
pub mod report;
pub mod servers;
pub mod sign;
pub mod views;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::Environment;
use serde::Serialize;

use crate::http::auth::Who;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::store::users::Role;

/// Messages the email page shows with their bodies.
const MAIL_PAGE: u32 = 50;
/// Audit lines the audit page shows.
const AUDIT_PAGE: u32 = 300;
/// The cookie that keeps the chosen language.
const LANG_COOKIE: &str = "ronda-lang";

/// Every page template, parsed once. `.html` names turn on HTML escaping.
fn env() -> &'static Environment<'static> {
    static ENV: std::sync::OnceLock<Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, text) in [
            ("base.html", include_str!("../../../templates/base.html")),
            (
                "overview.html",
                include_str!("../../../templates/overview.html"),
            ),
            ("wall.html", include_str!("../../../templates/wall.html")),
            (
                "office.html",
                include_str!("../../../templates/office.html"),
            ),
            (
                "alerts.html",
                include_str!("../../../templates/alerts.html"),
            ),
            ("alert.html", include_str!("../../../templates/alert.html")),
            (
                "servers.html",
                include_str!("../../../templates/servers.html"),
            ),
            (
                "report.html",
                include_str!("../../../templates/report.html"),
            ),
            (
                "outbox.html",
                include_str!("../../../templates/outbox.html"),
            ),
            (
                "telegram.html",
                include_str!("../../../templates/telegram.html"),
            ),
            ("audit.html", include_str!("../../../templates/audit.html")),
            ("login.html", include_str!("../../../templates/login.html")),
            (
                "password.html",
                include_str!("../../../templates/password.html"),
            ),
            ("sign.html", include_str!("../../../templates/sign.html")),
            ("view.html", include_str!("../../../templates/view.html")),
        ] {
            if let Err(e) = env.add_template(name, text) {
                tracing::error!(template = name, error = %e, "template does not parse");
            }
        }
        // `t("Bahasa text", "English text")`: the page's language picks one.
        env.add_function("t", |st: &minijinja::State, id: String, en: String| {
            if st.lookup("lang").is_some_and(|l| l.as_str() == Some("en")) {
                en
            } else {
                id
            }
        });
        // `message|tr`: a two-language text in the page's language.
        env.add_filter("tr", |st: &minijinja::State, v: minijinja::Value| {
            let en = st.lookup("lang").is_some_and(|l| l.as_str() == Some("en"));
            let pick = v
                .get_attr(if en { "en" } else { "id" })
                .ok()
                .filter(|x| !x.is_undefined());
            pick.map_or_else(|| v.to_string(), |x| x.to_string())
        });
        // `state(status)`: a symbol and a word, so colour is never the only sign.
        env.add_function("state", |st: &minijinja::State, s: String| {
            let en = st.lookup("lang").is_some_and(|l| l.as_str() == Some("en"));
            state_word(&s, en)
        });
        env.add_function("door_kind", |st: &minijinja::State, k: String| {
            let en = st.lookup("lang").is_some_and(|l| l.as_str() == Some("en"));
            doors::kind_word(&k, en)
        });
        env.add_function("door_state", |st: &minijinja::State, v: Option<String>| {
            let en = st.lookup("lang").is_some_and(|l| l.as_str() == Some("en"));
            doors::state_word(v.as_deref(), en)
        });
        env.add_filter("ago", ago);
        env.add_filter("ms", ms);
        env.add_filter("when", when);
        env
    })
}

/// A status or alert state as a symbol and a word in the page's language.
fn state_word(s: &str, en: bool) -> String {
    let (sym, id, en_word) = match s {
        "ok" => ("✓", "baik", "ok"),
        "fail" => ("✗", "gagal", "fail"),
        "no-data" => ("?", "tanpa data", "no data"),
        "pending" => ("…", "menunggu", "pending"),
        "firing" => ("✗", "aktif", "firing"),
        "acknowledged" => ("✋", "ditangani", "acknowledged"),
        "resolved" => ("✓", "selesai", "resolved"),
        other => return other.to_owned(),
    };
    format!("{sym} {}", if en { en_word } else { id })
}

/// "3 min" from seconds, for ages and countdowns.
fn ago(secs: i64) -> String {
    let s = secs.abs();
    match s {
        0..=89 => format!("{s} s"),
        90..=5399 => format!("{} min", (s + 30) / 60),
        5400..=172_799 => format!("{:.1} h", s as f64 / 3600.0),
        _ => format!("{:.1} d", s as f64 / 86_400.0),
    }
}

/// A page without the frame (the login form).
pub(crate) fn render_plain(name: &str, ctx: minijinja::Value) -> Result<Html<String>, ApiError> {
    env()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map(Html)
        .map_err(|e| ApiError::Render(e.to_string()))
}

/// How a page speaks to its reader: its language (Bahasa Indonesia unless
/// the user chose English) and the clock its times are read on (the
/// region's, [`AppState::tz`]), which the `when` and `ms` filters use.
#[derive(Clone)]
pub struct Lang(pub &'static str, pub jiff::tz::TimeZone);

impl FromRequestParts<AppState> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let en = crate::http::auth::cookie(&parts.headers, LANG_COOKIE).as_deref() == Some("en");
        Ok(Lang(if en { "en" } else { "id" }, s.tz()))
    }
}

/// The page's clock, handed to the time filters through the frame.
#[derive(Debug)]
struct Clock(jiff::tz::TimeZone);

impl minijinja::value::Object for Clock {}

/// A page in the frame: the menu for the user's role, the language switch
/// and the logout form around `ctx`.
pub fn render(
    who: &Who,
    lang: Lang,
    name: &str,
    ctx: minijinja::Value,
) -> Result<Html<String>, ApiError> {
    let u = &who.user;
    let frame = minijinja::context! {
        lang => lang.0,
        clock => minijinja::Value::from_object(Clock(lang.1)),
        user => u,
        csrf => who.csrf(),
        wide => u.role != Role::Head,
        admin => u.role == Role::Admin,
        acts => u.role != Role::Viewer,
        home => u.office.as_ref().map(|o| format!("/offices/{o}")),
        ..ctx
    };
    render_plain(name, frame)
}

/// `GET /lang/{id|en}`: remember the language and go back where we were.
pub async fn lang(Path(to): Path<String>, headers: HeaderMap) -> Response {
    let to = if to == "en" { "en" } else { "id" };
    let back = headers
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|r| r.find('/').map(|i| r[i..].to_owned()))
        .filter(|p| !p.starts_with("//"))
        .unwrap_or_else(|| "/".into());
    let cookie = format!("{LANG_COOKIE}={to}; Path=/; SameSite=Lax; Max-Age=31536000");
    ([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response()
}

/// `GET /static/live.js`: reloads the `<main>` of a live page every few
/// seconds without a full reload (so a form being typed is not lost: pages
/// with forms are not live).
pub async fn live_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("../../../templates/live.js"),
    )
        .into_response()
}

/// `GET /outbox`: the latest messages and their state; in the demo, the
/// messages captured instead of sent. Mail names every office, so heads
/// do not see it.
pub async fn mail(
    State(s): State<AppState>,
    who: Who,
    lang: Lang,
) -> Result<Html<String>, ApiError> {
    who.role(&[Role::Admin, Role::It, Role::Viewer], "read the outbox")?;
    let mail = s.reader.mail(None, None, MAIL_PAGE, true).await?;
    let capture = s.mail_capture.as_ref().map(|p| p.display().to_string());
    render(
        &who,
        lang,
        "outbox.html",
        minijinja::context! { mail, capture },
    )
}

#[derive(Serialize)]
struct AuditLine {
    at: String,
    actor: Option<String>,
    action: String,
    detail: String,
    source: Option<String>,
}

/// `GET /audit`: the append-only audit log, newest first; admins only.
pub async fn audit(
    State(s): State<AppState>,
    who: Who,
    lang: Lang,
) -> Result<Html<String>, ApiError> {
    who.role(&[Role::Admin], "read the audit log")?;
    let tz = s.tz();
    let rows =
        s.db.read(|c| crate::store::audit::recent(c, AUDIT_PAGE))
            .await??;
    let lines: Vec<AuditLine> = rows
        .into_iter()
        .map(|r| AuditLine {
            at: format_local_ms(r.at_ms, &tz),
            actor: r.actor,
            action: r.action,
            detail: r.detail,
            source: r.source,
        })
        .collect();
    render(&who, lang, "audit.html", minijinja::context! { lines })
}

/// `t|when`: an RFC 3339 time (as timestamps serialize) on the page's clock.
fn when(st: &minijinja::State, v: minijinja::Value) -> String {
    let s = v.to_string();
    match s.parse::<jiff::Timestamp>() {
        Ok(t) => format_local(t, &clock(st)),
        Err(_) => s,
    }
}

/// `ms|ms`: a stored millisecond time on the page's clock.
fn ms(st: &minijinja::State, ms: i64) -> String {
    format_local_ms(ms, &clock(st))
}

/// The clock [`render`] put in the frame; WIB for a page without one.
fn clock(st: &minijinja::State) -> jiff::tz::TimeZone {
    let frame = st.lookup("clock");
    let clock = frame
        .as_ref()
        .and_then(|v| v.downcast_object_ref::<Clock>());
    clock.map_or_else(wib, |c| c.0.clone())
}

/// The clock pages are read on: the registry's region, else the first
/// letter's zone, else Western Indonesian Time.
pub fn page_zone(
    registry: Option<&ronda_policy::Registry>,
    letters: &[ronda_policy::Letter],
) -> jiff::tz::TimeZone {
    let region = registry.and_then(|r| jiff::tz::TimeZone::get(&r.timezone).ok());
    region
        .or_else(|| letters.first().map(|l| l.tz.clone()))
        .unwrap_or_else(wib)
}

fn wib() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("Asia/Jakarta").unwrap_or(jiff::tz::TimeZone::UTC)
}

/// A stored millisecond time on the clock `tz`, to the second.
pub(crate) fn format_local_ms(ms: i64, tz: &jiff::tz::TimeZone) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| format_local(t, tz))
}

/// A time on the clock `tz` (see [`page_zone`]), with the zone's name
/// printed (WIB, WITA, WIT) so nobody has to guess.
pub(crate) fn format_local(t: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> String {
    t.to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// A letter in force, held with the set it came from: a page sees one set
/// from start to end even if a reload puts another in force meanwhile.
pub(crate) struct HeldLetter(std::sync::Arc<crate::letters::PolicySet>, usize);

impl std::ops::Deref for HeldLetter {
    type Target = ronda_policy::Letter;

    fn deref(&self) -> &ronda_policy::Letter {
        // The index was found in this very set, which nothing changes.
        &self.0.letters[self.1]
    }
}

/// The letter with id `id`, or 404.
pub(crate) fn letter(s: &AppState, id: &str) -> Result<HeldLetter, ApiError> {
    let set = s.policy.current();
    let i = set
        .letters
        .iter()
        .position(|l| l.id == id)
        .ok_or(ApiError::NotFound)?;
    Ok(HeldLetter(set, i))
}

/// An office's display name from the registry, else its id.
pub(crate) fn office_name(s: &AppState, office: &str) -> String {
    s.registry()
        .as_ref()
        .and_then(|r| r.offices.get(office))
        .map_or_else(|| office.to_owned(), |o| o.name.clone())
}

#[cfg(test)]
mod tests;
