//! `user sync`: one pass over the registry's offices, each in its own
//! transaction, so a second run finds what the first did and does nothing
//! twice.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::store::sql::Connection;
use jiff::Timestamp;
use minijinja::context;
use ronda_policy::registry::Office;
use ronda_policy::Registry;

use super::{head_name, KIND, LINK_MARK};
use crate::mail::config::Lang;
use crate::mail::MailConfig;
use crate::store::audit;
use crate::store::outbox::{self, NewMessage};
use crate::store::users::{self, links, UserError};

pub struct SyncOptions {
    /// How long each link works once its mail goes out.
    pub ttl: Duration,
    /// Send a new link even to a head whose link still works.
    pub resend: bool,
    /// Who runs the sync, for the audit log.
    pub actor: String,
}

/// What one run did, one line per office.
#[derive(Debug, Default)]
pub struct SyncReport {
    pub lines: Vec<String>,
    pub created: usize,
    pub mailed: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Db(#[from] crate::store::sql::Error),
    #[error(transparent)]
    User(#[from] UserError),
    #[error("mail template: {0}")]
    Template(#[from] minijinja::Error),
    #[error("mail encoding: {0}")]
    Json(#[from] serde_json::Error),
}

/// Create the missing head accounts and queue their links.
pub fn sync(
    conn: &Connection,
    registry: &Registry,
    mail: &MailConfig,
    opts: &SyncOptions,
    now: Timestamp,
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    for office in registry.offices.values() {
        // IMMEDIATE: it reads, then writes, while the running server's
        // writer may commit in between; a deferred one would then fail
        // with SQLITE_BUSY instead of waiting its turn.
        let tx = conn.immediate_transaction()?;
        let step = office_step(&tx, office, mail, opts, now)?;
        tx.commit()?;
        report.created += usize::from(step.created);
        report.mailed += usize::from(step.mailed);
        report
            .lines
            .push(format!("{:<20} {}", office.id, step.line));
    }
    Ok(report)
}

struct Step {
    line: String,
    created: bool,
    mailed: bool,
}

impl Step {
    fn nothing(line: String) -> Step {
        Step {
            line,
            created: false,
            mailed: false,
        }
    }
}

fn office_step(
    tx: &Connection,
    office: &Office,
    mail: &MailConfig,
    opts: &SyncOptions,
    now: Timestamp,
) -> Result<Step, SyncError> {
    let now_ms = now.as_millisecond();
    let Some(head) = &office.head else {
        return Ok(Step::nothing(
            "skipped: the registry names no head (head: {name, email})".into(),
        ));
    };
    let heads = users::heads_of(tx, &office.id)?;
    if let Some((name, _, _)) = heads.iter().find(|(_, set, _)| *set) {
        return Ok(Step::nothing(format!("has a head account: {name}")));
    }
    let (name, created) = match heads.first() {
        Some((name, _, true)) => {
            return Ok(Step::nothing(format!(
                "skipped: its head account {name} is disabled"
            )))
        }
        Some((name, _, false)) => (name.clone(), false),
        None => {
            let name = head_name(&office.id);
            if users::exists(tx, &name)? {
                return Ok(Step::nothing(format!(
                    "skipped: the name {name} is taken by an account that is not this office's head"
                )));
            }
            users::add_pending(tx, &name, "head", Some(&office.id), now_ms)?;
            let detail = format!("{name} (head, {}) for {}", office.id, head.email);
            audit::append(
                tx,
                Some(&opts.actor),
                "user.create",
                &detail,
                Some("user sync"),
                now_ms,
            )?;
            (name, true)
        }
    };
    if !created && !opts.resend && links::live(tx, &name, now_ms)? {
        return Ok(Step::nothing(format!(
            "{name}: its link still works (--resend sends a new one)"
        )));
    }
    let outbox_id = queue_mail(tx, office, &head.name, &head.email, &name, mail, opts, now)?;
    let ttl_ms = i64::try_from(opts.ttl.as_millis()).unwrap_or(i64::MAX);
    links::create(tx, &name, outbox_id, ttl_ms, now_ms)?;
    let detail = format!("{name}: one-time link queued for {}", head.email);
    audit::append(
        tx,
        Some(&opts.actor),
        "user.link",
        &detail,
        Some("user sync"),
        now_ms,
    )?;
    let verb = if created {
        "created"
    } else {
        "no password yet"
    };
    Ok(Step {
        line: format!("{name}: {verb}; link mailed to {}", head.email),
        created,
        mailed: true,
    })
}

/// The head's mail, with [`LINK_MARK`] where the link goes; its outbox id.
#[allow(clippy::too_many_arguments)]
fn queue_mail(
    tx: &Connection,
    office: &Office,
    head: &str,
    email: &str,
    user: &str,
    mail: &MailConfig,
    opts: &SyncOptions,
    now: Timestamp,
) -> Result<i64, SyncError> {
    let hours = opts.ttl.as_secs().div_ceil(3600);
    let ctx = context! {
        lang => mail.language,
        head,
        office => office.name,
        user,
        hours,
        link => LINK_MARK,
        login => format!("{}/login", mail.dashboard_url),
    };
    let (text, html) = crate::mail::text::bodies("password", &ctx)?;
    let subject = match mail.language {
        Lang::Id => format!("[Ronda] Akun Anda untuk {}", office.name),
        Lang::En => format!("[Ronda] Your account for {}", office.name),
    };
    let to: BTreeSet<&str> = [email].into();
    let message = NewMessage {
        channel: "email",
        target: None,
        kind: KIND,
        office: Some(&office.id),
        recipients: serde_json::to_string(&to)?,
        subject: &subject,
        text: &text,
        html: &html,
        alert_ids: "[]".into(),
        dead: None,
        now_ms: now.as_millisecond(),
        domain: mail.from.email.domain(),
    };
    Ok(outbox::queue(tx, &message)?)
}
