//! The critical-servers page: every agent's host and service checks with
//! uptime, last reboot, disk, TLS expiry and 30-day availability.

use axum::extract::State;
use axum::response::Html;
use jiff::Timestamp;

use super::{render, Lang};
use crate::http::auth::Who;
use crate::http::error::ApiError;
use crate::http::state::AppState;

const DAY_MS: i64 = 86_400_000;
/// Availability is shown over this many days.
pub const AVAILABILITY_DAYS: i64 = 30;
/// A TLS certificate closer than this to expiry is shown in red.
const TLS_WARN_DAYS: i64 = 14;

/// `GET /servers`.
pub async fn page(
    State(s): State<AppState>,
    who: Who,
    lang: Lang,
) -> Result<Html<String>, ApiError> {
    let now = Timestamp::now().as_millisecond();
    let from = now - AVAILABILITY_DAYS * DAY_MS;
    let shares = s
        .reader
        .with(move |c| crate::store::history::availability(c, from, now))
        .await?;
    let mut hosts = Vec::new();
    for row in s.reader.agents_with_reports(None).await? {
        if !who.user.sees(&row.office) {
            continue;
        }
        let Some(report) = row.parsed_report() else {
            continue;
        };
        if report.host.is_none() && report.services.is_empty() {
            continue;
        }
        let key = (row.office.clone(), row.agent.clone());
        let availability = shares.get(&key).map(|x| (x * 1000.0).round() / 10.0);
        let boot = report
            .host
            .as_ref()
            .map(|h| super::format_local(h.boot_time, &s.tz()));
        hosts.push(minijinja::context! { row, host => report.host, services => report.services, availability, boot });
    }
    let ctx = minijinja::context! { hosts, days => AVAILABILITY_DAYS, tls_warn => TLS_WARN_DAYS, live => 10 };
    render(&who, lang, "servers.html", ctx)
}
