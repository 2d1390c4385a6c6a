//! Checking a letter's `notify:` section: recipients per severity, repeats,
//! escalation tiers and the on-duty (piket) roster.

use std::time::Duration;

use jiff::tz::TimeZone;

use crate::model::{Notify, Shift, Tier};
use crate::raw::RawNotify;
use crate::registry::{is_email, ROLES};
use crate::walk::LetterCheck;

pub const DEFAULT_REPEAT: Duration = Duration::from_secs(4 * 3600);
pub const DEFAULT_GROUP_WAIT: Duration = Duration::from_secs(30);

pub(crate) fn check(cx: &mut LetterCheck<'_, '_>, raw: RawNotify, tz: &TimeZone) -> Option<Notify> {
    let mut ok = true;
    let mut list =
        |cx: &mut LetterCheck<'_, '_>, path: &str, v: Option<Vec<String>>, default: &[&str]| {
            let v = v.unwrap_or_else(|| default.iter().map(|s| s.to_string()).collect());
            ok &= recipients(cx, path, &v);
            v
        };
    let critical = list(
        cx,
        "notify.critical",
        raw.critical,
        &["it", "head", "piket"],
    );
    let warning = list(cx, "notify.warning", raw.warning, &["it", "piket"]);
    let info = list(cx, "notify.info", raw.info, &[]);
    let mut escalation = Vec::new();
    for (i, t) in raw.escalation.into_iter().enumerate() {
        let at = format!("notify.escalation.{i}");
        let after = cx.need(&format!("{at}.after"), t.after).map(|d| d.0);
        let to = cx.need(&format!("{at}.to"), t.to);
        if let Some(to) = &to {
            ok &= recipients(cx, &format!("{at}.to"), to);
        }
        if let (Some(after), Some(prev)) = (after, escalation.last().map(|t: &Tier| t.after)) {
            if after <= prev {
                cx.fail(
                    &format!("{at}.after"),
                    "each tier must come later than the one before",
                );
            }
        }
        match (after, to) {
            (Some(after), Some(to)) => escalation.push(Tier { after, to }),
            _ => ok = false,
        }
    }
    let mut piket = Vec::new();
    for (office, shifts) in raw.piket {
        let at = format!("notify.piket.{office}");
        cx.office(&at, &office);
        for (i, s) in shifts.into_iter().enumerate() {
            let at = format!("{at}.{i}");
            let from = cx
                .need(&format!("{at}.from"), s.from)
                .and_then(|t| cx.time(&format!("{at}.from"), &t, tz));
            let to = cx
                .need(&format!("{at}.to"), s.to)
                .and_then(|t| cx.time(&format!("{at}.to"), &t, tz));
            let name = cx.need(&format!("{at}.name"), s.name);
            let email = cx.need(&format!("{at}.email"), s.email);
            let ids = s.ids.unwrap_or_default();
            if let (Some(chat), Some(r)) = (&s.telegram, cx.registry) {
                if !r.telegram.contains_key(chat) {
                    cx.fail(
                        &format!("{at}.telegram"),
                        format!("`{chat}` is not a chat under `telegram:` in the registry"),
                    );
                }
            }
            crate::items::shift_ids(cx, &format!("{at}.ids"), &ids);
            if let Some(e) = email.as_deref().filter(|e| !is_email(e)) {
                cx.fail(
                    &format!("{at}.email"),
                    format!("`{e}` is not an email address"),
                );
            }
            match (from, to, name, email) {
                (Some(from), Some(to), Some(name), Some(email)) if from < to => piket.push(Shift {
                    office: office.clone(),
                    from,
                    to,
                    name,
                    email,
                    telegram: s.telegram,
                    ids,
                }),
                (Some(_), Some(_), _, _) => {
                    cx.fail(&format!("{at}.to"), "the shift ends before it starts");
                    ok = false;
                }
                _ => ok = false,
            }
        }
    }
    ok.then_some(Notify {
        critical,
        warning,
        info,
        repeat: Some(raw.repeat.map_or(DEFAULT_REPEAT, |d| d.0)).filter(|d| !d.is_zero()),
        group_wait: raw.group_wait.map_or(DEFAULT_GROUP_WAIT, |d| d.0),
        escalation,
        piket,
    })
}

/// Each word is a role, a contact list of the registry, or an address.
fn recipients(cx: &mut LetterCheck<'_, '_>, path: &str, words: &[String]) -> bool {
    let mut ok = true;
    for (i, w) in words.iter().enumerate() {
        let known = match cx.registry {
            Some(r) => r.knows_recipient(w),
            // Without a registry a contact list cannot be checked; its name still must be an id.
            None => {
                let name = crate::registry::Channel::of(w).map_or(w.as_str(), |c| match c {
                    crate::registry::Channel::Telegram(n)
                    | crate::registry::Channel::Webhook(n) => n,
                });
                ROLES.contains(&w.as_str()) || is_email(w) || ronda_wire::Id::new(name).is_ok()
            }
        };
        if !known {
            cx.fail(&format!("{path}.{i}"), format!("unknown recipient `{w}`: use head, it, piket, a contact list of the registry, an address, or telegram:NAME or webhook:NAME of the registry"));
            ok = false;
        }
    }
    ok
}
