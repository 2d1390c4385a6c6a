//! What a message says: subject lines and bodies in Bahasa Indonesia or
//! English, rendered from `templates/mail/` (a plain-text and an HTML
//! template, escaped by minijinja).

use jiff::tz::TimeZone;
use minijinja::{context, Environment};
use ronda_policy::alert::Alert;
use ronda_policy::{Letter, Severity};
use serde::Serialize;

use super::config::Lang;

/// Every mail template, parsed once. `.html` names turn on HTML escaping.
pub(super) fn env() -> &'static Environment<'static> {
    static ENV: std::sync::OnceLock<Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, text) in [
            (
                "alerts.txt",
                include_str!("../../templates/mail/alerts.txt"),
            ),
            (
                "alerts.html",
                include_str!("../../templates/mail/alerts.html"),
            ),
            (
                "digest.txt",
                include_str!("../../templates/mail/digest.txt"),
            ),
            (
                "digest.html",
                include_str!("../../templates/mail/digest.html"),
            ),
            (
                "password.txt",
                include_str!("../../templates/mail/password.txt"),
            ),
            (
                "password.html",
                include_str!("../../templates/mail/password.html"),
            ),
        ] {
            if let Err(e) = env.add_template(name, text) {
                tracing::error!(template = name, error = %e, "mail template does not parse");
            }
        }
        env
    })
}

/// Both bodies of template `stem` (`alerts`, `digest` or `password`).
pub(crate) fn bodies(
    stem: &str,
    ctx: &minijinja::Value,
) -> Result<(String, String), minijinja::Error> {
    let env = env();
    Ok((
        env.get_template(&format!("{stem}.txt"))?.render(ctx)?,
        env.get_template(&format!("{stem}.html"))?.render(ctx)?,
    ))
}

/// What kind of message: says which heading and subject tag it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Firing,
    Repeat,
    Escalation,
    Resolved,
    Ack,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Firing => "firing",
            Kind::Repeat => "repeat",
            Kind::Escalation => "escalation",
            Kind::Resolved => "resolved",
            Kind::Ack => "ack",
        }
    }

    fn heading(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Kind::Firing, Lang::Id) => "Kantor tidak memenuhi surat edaran",
            (Kind::Firing, Lang::En) => "An office is out of line with the circular letter",
            (Kind::Repeat, Lang::Id) => "Pengingat: masalah belum ditangani",
            (Kind::Repeat, Lang::En) => "Reminder: still not handled",
            (Kind::Escalation, Lang::Id) => "Eskalasi: belum ada yang menangani",
            (Kind::Escalation, Lang::En) => "Escalation: nobody has taken this on",
            (Kind::Resolved, Lang::Id) => "Sudah pulih",
            (Kind::Resolved, Lang::En) => "Recovered",
            (Kind::Ack, Lang::Id) => "Sedang ditangani",
            (Kind::Ack, Lang::En) => "Being handled",
        }
    }

    fn tag(self, severity: Severity, lang: Lang) -> &'static str {
        match (self, lang) {
            (Kind::Resolved, Lang::Id) => "PULIH",
            (Kind::Resolved, Lang::En) => "RESOLVED",
            (Kind::Ack, Lang::Id) => "DITANGANI",
            (Kind::Ack, Lang::En) => "ACKNOWLEDGED",
            (_, lang) => severity_word(severity, lang),
        }
    }
}

fn severity_word(s: Severity, lang: Lang) -> &'static str {
    match (s, lang) {
        (Severity::Critical, Lang::Id) => "KRITIS",
        (Severity::Warning, Lang::Id) => "PERINGATAN",
        (Severity::Info, _) => "INFO",
        (Severity::Critical, Lang::En) => "CRITICAL",
        (Severity::Warning, Lang::En) => "WARNING",
    }
}

/// One alert of a message, in words: the other channels say it too.
#[derive(Serialize)]
pub struct Line {
    pub severity: &'static str,
    pub item: String,
    pub subject: String,
    pub message: String,
    pub since: String,
    pub link: String,
    pub ack: Option<String>,
}

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The message's heading and its alerts, for a Telegram message; none
    /// for a message not about alerts (which goes as its plain text).
    pub heading: &'static str,
    pub lines: Vec<Line>,
    pub lang: Lang,
}

pub struct Ctx<'a> {
    pub lang: Lang,
    pub office_name: &'a str,
    pub tz: &'a TimeZone,
    pub dashboard_url: &'a str,
}

/// One message about `alerts` (each with its letter), all of one office.
pub fn render(
    kind: Kind,
    alerts: &[(&Alert, &Letter)],
    cx: &Ctx<'_>,
) -> Result<Rendered, minijinja::Error> {
    let worst = alerts
        .iter()
        .map(|(a, _)| a.severity)
        .max()
        .unwrap_or(Severity::Info);
    let text_of = |a: &Alert, l: &Letter| {
        let item = l.item(&a.key.item);
        item.map_or_else(
            || a.key.item.clone(),
            |i| match cx.lang {
                Lang::Id => i.text_id.clone(),
                Lang::En => i.text_en.clone(),
            },
        )
    };
    let about = match alerts {
        [(a, l)] => text_of(a, l),
        many => match cx.lang {
            Lang::Id => format!("{} butir", many.len()),
            Lang::En => format!("{} items", many.len()),
        },
    };
    let subject = format!(
        "[{}] {} — {}",
        kind.tag(worst, cx.lang),
        cx.office_name,
        about
    );
    let lines: Vec<Line> = alerts
        .iter()
        .map(|(a, l)| Line {
            severity: severity_word(a.severity, cx.lang),
            item: text_of(a, l),
            subject: a.key.subject.clone(),
            message: a
                .message
                .get(match cx.lang {
                    Lang::Id => "id",
                    Lang::En => "en",
                })
                .to_owned(),
            since: ronda_policy::format_local_minute(a.started, cx.tz),
            // The alert's page, where a person reads and acknowledges it.
            link: format!("{}/alerts/{}", cx.dashboard_url, a.id),
            ack: a.ack.as_ref().map(|k| format!("{}: {}", k.by, k.note)),
        })
        .collect();
    let heading = kind.heading(cx.lang);
    let ctx = context! {
        lang => cx.lang, heading => heading, office => cx.office_name,
        alerts => &lines, letter => alerts.first().map(|(_, l)| l.title.clone()),
    };
    let (text, html) = bodies("alerts", &ctx)?;
    Ok(Rendered {
        subject,
        text,
        html,
        heading,
        lines,
        lang: cx.lang,
    })
}
