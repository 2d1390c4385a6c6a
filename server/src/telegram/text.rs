//! What a Telegram message says: the email's heading and alerts in the HTML
//! subset the Bot API takes (bold, italics, links; newlines as they are),
//! within its 4096-character limit.

use crate::mail::config::Lang;
use crate::mail::text::Rendered;

use super::api::escape_html as escape;

/// Telegram counts characters after parsing the tags; staying under this
/// in source characters leaves room for the closing line.
const LIMIT: usize = 3900;

/// The message for `r`: its alerts one by one, or, for a message about no
/// alert (a reminder, a summary), its subject and plain text.
pub fn render(r: &Rendered) -> String {
    if r.lines.is_empty() {
        let mut out = format!("<b>{}</b>\n\n{}", escape(&r.subject), escape(&r.text));
        cut(&mut out);
        return out;
    }
    let mut out = format!(
        "<b>{}</b>\n<i>{}</i>\n",
        escape(&r.subject),
        escape(r.heading)
    );
    for (n, l) in r.lines.iter().enumerate() {
        let mut one = format!(
            "\n• <b>{}</b> — {} ({})\n{}\n{} · <a href=\"{}\">{}</a>\n",
            escape(l.severity),
            escape(&l.item),
            escape(&l.subject),
            escape(&l.message),
            escape(&l.since),
            escape(&l.link).replace('"', "&quot;"),
            match r.lang {
                Lang::Id => "buka",
                Lang::En => "open",
            },
        );
        if let Some(ack) = &l.ack {
            one.push_str(&format!("✔ {}\n", escape(ack)));
        }
        if out.chars().count() + one.chars().count() > LIMIT {
            out.push_str(&format!("\n… +{}", r.lines.len() - n));
            break;
        }
        out.push_str(&one);
    }
    out
}

/// A plain text too long for one message keeps its start.
fn cut(out: &mut String) {
    if out.chars().count() > LIMIT {
        // Cut on a character, and never inside an entity: step back to
        // before a `&` that has no `;` after it.
        let mut end: String = out.chars().take(LIMIT).collect();
        if let Some(amp) = end.rfind('&') {
            if !end[amp..].contains(';') {
                end.truncate(amp);
            }
        }
        *out = end;
        out.push_str(" …");
    }
}
