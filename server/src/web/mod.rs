//! Server-rendered pages: the one template environment, the frame every
//! page shares (who is logged in, the language, the menu), and the pages.
//! Templates live in `server/templates/` and are escaped by minijinja
//! (device names and error texts come from the field). There is no
//! JavaScript build step; the live pages load one small script.

pub mod alerts;
pub mod office;
pub mod overview;
pub mod report;
pub mod servers;
pub mod sign;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::Environment;
use serde::Serialize;

use crate::http::{ApiError, AppState};
use crate::login::Who;
use crate::users::Role;

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
            ("base.html", include_str!("../../templates/base.html")),
            (
                "overview.html",
                include_str!("../../templates/overview.html"),
            ),
            ("wall.html", include_str!("../../templates/wall.html")),
            ("office.html", include_str!("../../templates/office.html")),
            ("alerts.html", include_str!("../../templates/alerts.html")),
            ("alert.html", include_str!("../../templates/alert.html")),
            ("servers.html", include_str!("../../templates/servers.html")),
            ("report.html", include_str!("../../templates/report.html")),
            ("mail.html", include_str!("../../templates/mail.html")),
            ("audit.html", include_str!("../../templates/audit.html")),
            ("login.html", include_str!("../../templates/login.html")),
            ("sign.html", include_str!("../../templates/sign.html")),
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
        env.add_filter("ago", ago);
        env.add_filter("ms", local_ms);
        env.add_filter("when", when);
        env
    })
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

/// The page language: Bahasa Indonesia unless the user chose English.
#[derive(Clone, Copy)]
pub struct Lang(pub &'static str);

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let en = crate::login::cookie(&parts.headers, LANG_COOKIE).as_deref() == Some("en");
        Ok(Lang(if en { "en" } else { "id" }))
    }
}

/// A page in the frame: the menu for the user's role, the language switch
/// and the logout form around `ctx`.
pub(crate) fn render(
    who: &Who,
    lang: Lang,
    name: &str,
    ctx: minijinja::Value,
) -> Result<Html<String>, ApiError> {
    let u = &who.user;
    let frame = minijinja::context! {
        lang => lang.0,
        user => u,
        csrf => who.csrf(),
        wide => u.role != Role::Head,
        admin => u.role == Role::Admin,
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
        include_str!("../../templates/live.js"),
    )
        .into_response()
}

/// `GET /mail`: the latest messages and their state; in the demo, the
/// messages captured instead of sent. Mail names every office, so heads
/// do not see it.
pub async fn mail(
    State(s): State<AppState>,
    who: Who,
    lang: Lang,
) -> Result<Html<String>, ApiError> {
    who.role(&[Role::Admin, Role::It, Role::Viewer], "read all email")?;
    let mail = s.reader.mail(None, None, MAIL_PAGE, true).await?;
    let capture = s.mail_capture.as_ref().map(|p| p.display().to_string());
    render(
        &who,
        lang,
        "mail.html",
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
    let lines = crate::login::with(&s.auth, |c| {
        let mut stmt = c.prepare(
            "SELECT at_ms, actor, action, detail, source FROM audit ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([AUDIT_PAGE], |r| {
            Ok(AuditLine {
                at: local_ms(r.get(0)?),
                actor: r.get(1)?,
                action: r.get(2)?,
                detail: r.get(3)?,
                source: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    })
    .await?;
    render(&who, lang, "audit.html", minijinja::context! { lines })
}

/// An RFC 3339 time (as timestamps serialize) on the region's wall clock.
fn when(v: minijinja::Value) -> String {
    let s = v.to_string();
    s.parse::<jiff::Timestamp>().map_or(s, local)
}

/// A stored millisecond time as the region's wall clock, to the second.
pub(crate) fn local_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), local)
}

/// Times on pages are in Western Indonesian Time unless the letter says
/// otherwise; the zone is printed so nobody has to guess.
pub(crate) fn local(t: jiff::Timestamp) -> String {
    static WIB: std::sync::OnceLock<jiff::tz::TimeZone> = std::sync::OnceLock::new();
    let tz = WIB
        .get_or_init(|| jiff::tz::TimeZone::get("Asia/Jakarta").unwrap_or(jiff::tz::TimeZone::UTC));
    t.to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// The letter with id `id`, or 404.
pub(crate) fn letter<'a>(s: &'a AppState, id: &str) -> Result<&'a ronda_policy::Letter, ApiError> {
    s.letters
        .iter()
        .find(|l| l.id == id)
        .ok_or(ApiError::NotFound)
}

/// An office's display name from the registry, else its id.
pub(crate) fn office_name(s: &AppState, office: &str) -> String {
    s.registry
        .as_ref()
        .and_then(|r| r.offices.get(office))
        .map_or_else(|| office.to_owned(), |o| o.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        for name in [
            "base.html",
            "overview.html",
            "wall.html",
            "office.html",
            "alerts.html",
            "alert.html",
            "servers.html",
            "report.html",
            "mail.html",
            "audit.html",
            "login.html",
            "sign.html",
        ] {
            let text = std::fs::read_to_string(format!("templates/{name}")).unwrap();
            let mut fresh = Environment::new();
            if let Err(e) = fresh.add_template_owned(name.to_owned(), text) {
                panic!("{name}: {e:#}");
            }
            assert!(env().get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn the_language_switch_picks_the_text() {
        let t = env()
            .template_from_str("{{ t('Kantor', 'Office') }}")
            .unwrap();
        assert_eq!(
            t.render(minijinja::context! { lang => "en" }).unwrap(),
            "Office"
        );
        assert_eq!(
            t.render(minijinja::context! { lang => "id" }).unwrap(),
            "Kantor"
        );
    }
}
