//! Devices the agent cannot log in to. The agent leaves such a device alone
//! for a while (a recorder locks its account after a few failures); its
//! readings are then `no-data`, and one advisory finding per device, under
//! `agent.online`, tells IT to fix the credential.

use ronda_wire::{PauseReason, Paused};
use serde_json::json;

use super::{finding, Cx, Finding, Status};
use crate::model::Severity;
use crate::text::Text;

/// A kind of device, as its name reads in each language.
pub type Kind = (&'static str, &'static str);
pub const RECORDER: Kind = ("perekam", "recorder");
pub const PLUG: Kind = ("stopkontak", "plug");

/// One finding per paused recorder or plug of the live agents.
pub fn findings(cx: &Cx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (agent, report) in cx.live() {
        let recorders = report
            .recorders
            .iter()
            .filter_map(|r| Some((RECORDER, &r.id, r.paused.as_ref()?)));
        let plugs = report
            .plugs
            .iter()
            .filter_map(|p| Some((PLUG, &p.id, p.paused.as_ref()?)));
        for (kind, id, p) in recorders.chain(plugs) {
            let msg = paused_text(cx, agent, kind, id, p);
            let evidence = json!({ "device": id, "paused": p });
            out.push(
                finding(format!("login:{id}"), agent, Status::Fail, msg, evidence)
                    .advisory(Severity::Warning),
            );
        }
    }
    out
}

/// "recorder nvr: wrong password; not tried again until 14:30 WIB (3 failed
/// logins)". The agent gives the time on its own clock: shown on the
/// server's, corrected by the agent's known offset.
pub fn paused_text(cx: &Cx<'_>, agent: &str, kind: Kind, id: &str, p: &Paused) -> Text {
    let (kind_id, kind_en) = kind;
    let off = cx
        .view(agent)
        .and_then(|v| v.clock_offset)
        .unwrap_or_default();
    let until = p.until.checked_sub(off).unwrap_or(p.until);
    let until = crate::load::format_local_minute(until, &cx.letter.tz);
    let n = p.failures;
    let failed = if n == 1 {
        text!("1 kali gagal", "1 failed login")
    } else {
        text!(
            "{n} kali gagal berturut-turut",
            "{n} failed logins in a row"
        )
    };
    match p.reason {
        PauseReason::WrongPassword => text!(
            "{kind_id} {id}: nama pengguna atau kata sandi salah; tidak dicoba lagi sampai {until} ({})",
            "{kind_en} {id}: wrong username or password; not tried again until {until} ({})",
            failed
        ),
        PauseReason::Locked => text!(
            "{kind_id} {id}: akun dikunci perangkat setelah gagal masuk; tidak dicoba lagi sampai {until}",
            "{kind_en} {id}: the device locked the account after failed logins; not tried again until {until}"
        ),
    }
}
