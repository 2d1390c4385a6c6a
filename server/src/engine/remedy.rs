//! Remediation `switch-off`: when a `power.off` alert fires and its item
//! allows it, ask the office's agent to switch the plug off, and note what
//! was sent and what came back on the alert.

use std::collections::HashMap;

use jiff::Timestamp;
use ronda_policy::alert::{Book, Change, State};
use ronda_policy::{Check, Letter, Remediation};
use ronda_wire::{Action, Command, CommandResult};

use super::Outgoing;

/// A switch-off sent: for which alert, and to whom. Only that agent's
/// answer, on its own `cmd/result` topic, may be noted on the alert: ids are
/// sequential, so any other agent could guess one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    pub alert: i64,
    pub office: String,
    pub agent: String,
}

impl Asked {
    pub fn is_for(&self, office: &str, agent: &str) -> bool {
        self.office == office && self.agent == agent
    }
}

/// Commands for the alerts that have just fired on a switch-off item.
pub fn switch_offs(
    letter: &Letter,
    changes: &[Change],
    sent: &mut HashMap<String, Asked>,
) -> Vec<Outgoing> {
    let mut out = Vec::new();
    for c in changes {
        let just_fired = c.transition.to == State::Firing
            && matches!(c.transition.from, None | Some(State::Pending));
        let Some(item) = letter.item(&c.alert.key.item) else {
            continue;
        };
        let allowed = item.remediation == Remediation::SwitchOff
            && matches!(item.check, Check::PowerOff { .. });
        // Subjects with a colon are not plugs (`x:power-on`, `agent:x`).
        let plug = &c.alert.key.subject;
        let (Some(agent), true, true, false) =
            (&c.alert.agent, just_fired, allowed, plug.contains(':'))
        else {
            continue;
        };
        let id = format!("alert-{}-off", c.alert.id);
        let asked = Asked {
            alert: c.alert.id,
            office: c.alert.key.office.clone(),
            agent: agent.clone(),
        };
        sent.insert(id.clone(), asked);
        out.push(Outgoing {
            by: format!("ronda (alert {} switch-off)", c.alert.id),
            office: c.alert.key.office.clone(),
            agent: agent.clone(),
            command: Command::new(
                id,
                Action::PlugSet {
                    plug: plug.clone(),
                    on: false,
                },
            ),
        });
    }
    out
}

/// Note on each alert that its switch-off was sent.
pub fn notes(commands: &[Outgoing], book: &mut Book, now: Timestamp) -> Vec<Change> {
    commands
        .iter()
        .filter_map(|o| {
            let id = o
                .command
                .id
                .strip_prefix("alert-")?
                .strip_suffix("-off")?
                .parse()
                .ok()?;
            let (agent, command) = (&o.agent, &o.command.id);
            book.note(
                id,
                ronda_policy::text!(
                    "pemutusan: agen {agent} diminta memutus stopkontak (perintah {command})",
                    "switch-off: asked agent {agent} to switch the plug off (command {command})"
                ),
                now,
            )
        })
        .collect()
}

pub fn describe(r: &CommandResult) -> ronda_policy::Text {
    use ronda_policy::text;
    match (r.ok, &r.error, r.plug.as_ref().and_then(|p| p.relay_on)) {
        (true, _, Some(false)) => text!(
            "pemutusan selesai: agen membaca stopkontak sudah mati",
            "switch-off done: the agent read the plug back as off"
        ),
        (true, _, _) => text!(
            "pemutusan dikirim; agen tidak dapat memastikan keadaan relai",
            "switch-off sent; the agent could not confirm the relay state"
        ),
        (false, Some(e), _) => text!(
            "pemutusan ditolak atau gagal di agen: {e}",
            "switch-off refused or failed at the agent: {e}"
        ),
        (false, None, _) => text!(
            "pemutusan gagal di agen (tanpa alasan)",
            "switch-off failed at the agent (no reason given)"
        ),
    }
}
