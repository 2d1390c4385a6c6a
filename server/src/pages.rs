//! Server-rendered pages: an office's devices, a letter across offices, the
//! email outbox, and the one place every page template is parsed. Templates
//! live in `server/templates/` and are escaped by minijinja (device names and
//! error texts come from the field).

use axum::extract::{Path, State};
use axum::response::Html;
use minijinja::Environment;
use ronda_policy::eval::Status;
use ronda_wire::{Id, Report};

use crate::http::{ApiError, AppState};

/// Messages the email page shows with their bodies.
const MAIL_PAGE: u32 = 50;

/// Every page template, parsed once. `.html` names turn on HTML escaping.
fn env() -> &'static Environment<'static> {
    static ENV: std::sync::OnceLock<Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, text) in [
            ("office.html", include_str!("../templates/office.html")),
            ("letter.html", include_str!("../templates/letter.html")),
            ("mail.html", include_str!("../templates/mail.html")),
            ("login.html", include_str!("../templates/login.html")),
            ("sign.html", include_str!("../templates/sign.html")),
        ] {
            if let Err(e) = env.add_template(name, text) {
                tracing::error!(template = name, error = %e, "template does not parse");
            }
        }
        env
    })
}

pub(crate) fn render(name: &str, ctx: minijinja::Value) -> Result<Html<String>, ApiError> {
    env()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map(Html)
        .map_err(|e| ApiError::Render(e.to_string()))
}

/// `GET /letters/{letter}`: every office against one letter's checklist.
pub async fn letter(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Html<String>, ApiError> {
    let letter = s
        .letters
        .iter()
        .find(|l| l.id == id)
        .ok_or(ApiError::NotFound)?;
    let mut views = s.views.letter(&id);
    views.sort_by(|a, b| a.evaluation.office.cmp(&b.evaluation.office));
    // Machine-checked compliance; attestations still to sign show apart.
    let compliant = views
        .iter()
        .filter(|v| {
            v.evaluation
                .items
                .iter()
                .all(|i| matches!(i.status, Status::Ok | Status::Pending))
        })
        .count();
    let items: Vec<_> = letter
        .items
        .iter()
        .enumerate()
        .map(|(index, i)| minijinja::context! { index, id => i.id, text_id => i.text_id, text_en => i.text_en, kind => i.check.kind(), severity => i.severity })
        .collect();
    let now = jiff::Timestamp::now();
    let lid = id.clone();
    let offices: Vec<String> = views.iter().map(|v| v.evaluation.office.clone()).collect();
    let signed: std::collections::BTreeMap<String, crate::sign::Signature> =
        crate::login::with(&s.auth, move |c| {
            let mut out = std::collections::BTreeMap::new();
            for o in offices {
                if let Some(sig) = crate::sign::signature(c, &lid, &o)? {
                    out.insert(o, sig);
                }
            }
            Ok(out)
        })
        .await?;
    let ctx = minijinja::context! {
        signed, signed_count => signed.len(),
        letter => minijinja::context! { id => letter.id, title => letter.title, issuer => letter.issuer, number => letter.number, issued => letter.issued.to_string(), timezone => letter.timezone, items },
        window => crate::letters::window_text(letter),
        enforced => letter.enforced_at(now),
        views, compliant,
    };
    render("letter.html", ctx)
}

/// `GET /offices/{office}/{agent}`: the devices of one office.
pub async fn office(
    State(s): State<AppState>,
    Path((office, agent)): Path<(String, String)>,
) -> Result<Html<String>, ApiError> {
    for id in [&office, &agent] {
        Id::new(id.as_str()).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    }
    let row = s
        .reader
        .agent(office.clone(), agent.clone())
        .await?
        .ok_or(ApiError::NotFound)?;
    let report: Option<Report> = row
        .report
        .and_then(|raw| serde_json::from_str(raw.get()).ok());
    render("office.html", minijinja::context! { office, agent, report })
}

/// `GET /mail`: the latest messages and their state; in the demo, the
/// messages captured instead of sent.
pub async fn mail(State(s): State<AppState>) -> Result<Html<String>, ApiError> {
    let mail = s.reader.mail(None, MAIL_PAGE, true).await?;
    let capture = s.mail_capture.as_ref().map(|p| p.display().to_string());
    render("mail.html", minijinja::context! { mail, capture })
}
