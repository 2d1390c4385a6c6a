//! One finding of an item: its subject, status, message and evidence, and
//! how it alerts (advisory, its own severity, at any time).

use serde::Serialize;

use crate::model::Severity;
use crate::text::Text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Ok,
    Fail,
    NoData,
    Pending,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// What the finding is about: `zone:front-road`, a plug id, `nvr/disk1`, an agent.
    pub subject: String,
    /// The agent whose data it comes from, when one agent alone tells.
    pub agent: Option<String>,
    pub status: Status,
    pub message: Text,
    pub evidence: serde_json::Value,
    /// Set on a finding that informs without deciding its item (one camera
    /// of a covered zone stopped, a device's password is wrong, an agent's
    /// clock is off): it raises alerts at this severity, and the item's
    /// status is decided by the others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advisory: Option<Severity>,
    /// Set on a finding that decides its item and raises its alert at this
    /// severity rather than the item's (a door held open is a warning under
    /// an item whose entries are critical).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Judged at any time, also outside the letter's window: a door forced
    /// open on a weekday night matters as much as during the closure.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub anytime: bool,
}

impl Finding {
    /// The same finding, informing at `severity` without deciding its item.
    pub fn advisory(mut self, severity: Severity) -> Finding {
        self.advisory = Some(severity);
        self
    }

    /// The same finding, deciding its item and alerting at `severity`.
    pub fn at_severity(mut self, severity: Severity) -> Finding {
        self.severity = Some(severity);
        self
    }

    /// The same finding, judged also outside the letter's window.
    pub fn anytime(mut self) -> Finding {
        self.anytime = true;
        self
    }

    /// The severity its alert is raised at under `item`.
    pub fn severity_under(&self, item: Severity) -> Severity {
        self.advisory.or(self.severity).unwrap_or(item)
    }
}

pub(crate) fn finding(
    subject: impl Into<String>,
    agent: &str,
    status: Status,
    message: Text,
    evidence: serde_json::Value,
) -> Finding {
    Finding {
        subject: subject.into(),
        agent: Some(agent.to_owned()),
        status,
        message,
        evidence,
        advisory: None,
        severity: None,
        anytime: false,
    }
}
