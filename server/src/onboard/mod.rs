//! Accounts for a whole region in one step (`ronda-server user sync`): a
//! head account for every office in the registry that has none, and a mail
//! to each head with a one-time link to set its password.
//!
//! The mail goes through the outbox like any other, so it is retried and
//! shown on `/mail`, but the outbox keeps it with [`LINK_MARK`] where the
//! link goes: the token is drawn only as the mail is sent ([`prepare`]),
//! and only its hash is stored (`store::users::links`).

mod sync;

use std::time::Duration;

use crate::store::sql::Connection;
use jiff::Timestamp;

pub use sync::{sync, SyncError, SyncOptions, SyncReport};

use crate::mail::send::Row;
use crate::store::users::links;

/// The outbox kind of these messages.
pub const KIND: &str = "password";
/// What the stored message says where the link goes.
pub const LINK_MARK: &str = "[one-time-link]";
/// How long a link works once its mail is sent, unless `--expires` says.
pub const DEFAULT_TTL: Duration = Duration::from_secs(72 * 3600);
/// The path of the page a link opens; the token follows it.
pub const PATH: &str = "/password/";

/// The account name `user sync` gives the head of `office`.
pub fn head_name(office: &str) -> String {
    format!("kepala-{office}")
}

/// Ready a queued message to be sent. A password mail gets a fresh token
/// (the last one drawn is the only one that works) in place of
/// [`LINK_MARK`]; `Err` with the reason when its link was replaced or used
/// since, so it is not sent at all. Other messages pass as they are.
pub fn prepare(
    conn: &Connection,
    mut row: Row,
    dashboard_url: &str,
    now: Timestamp,
) -> crate::store::sql::Result<Result<Row, (Row, String)>> {
    if row.kind != KIND {
        return Ok(Ok(row));
    }
    let Some(token) = links::mint(conn, row.id, now.as_millisecond())? else {
        let why = "the link this message carries was replaced or used; not sent".to_owned();
        return Ok(Err((row, why)));
    };
    let url = format!("{dashboard_url}{PATH}{token}");
    row.text = row.text.replace(LINK_MARK, &url);
    row.html = row.html.replace(LINK_MARK, &url);
    Ok(Ok(row))
}
