//! The office registry (`offices.yaml`): the region, its offices, who heads
//! each, who its IT contacts are, office groups and named contact lists.
//!
//! Letters name offices and groups from here, and the senders find their
//! recipients here: email addresses, Telegram chats (`telegram:NAME`) and
//! webhooks (`webhook:NAME`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ronda_common::conf::{Checker, ConfigError, Source};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    region: RawRegion,
    /// Named lists of addresses, usable as recipients: `diskominfo`, `leadership`.
    #[serde(default)]
    contacts: BTreeMap<String, Vec<String>>,
    /// Telegram chats and groups by name: `dinkes-it: -1001234567890`.
    #[serde(default)]
    telegram: BTreeMap<String, i64>,
    /// Webhook URLs by name: `cc: https://wa-gateway.example.go.id/ronda`.
    #[serde(default)]
    webhooks: BTreeMap<String, String>,
    #[serde(default)]
    groups: BTreeMap<String, Vec<String>>,
    offices: Vec<RawOffice>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegion {
    name: String,
    timezone: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOffice {
    id: String,
    name: String,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    head: Option<Person>,
    #[serde(default)]
    it: Vec<Person>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone)]
pub struct Registry {
    pub region: String,
    pub timezone: String,
    pub contacts: BTreeMap<String, Vec<String>>,
    /// Telegram chat ids by name (`telegram:NAME` as a recipient).
    pub telegram: BTreeMap<String, i64>,
    /// Webhook URLs by name (`webhook:NAME` as a recipient).
    pub webhooks: BTreeMap<String, String>,
    pub groups: BTreeMap<String, BTreeSet<String>>,
    pub offices: BTreeMap<String, Office>,
}

#[derive(Debug, Clone)]
pub struct Office {
    pub id: String,
    pub name: String,
    /// The office's own zone, or the region's.
    pub timezone: String,
    pub head: Option<Person>,
    pub it: Vec<Person>,
}

/// Recipient words that are not contact lists.
pub const ROLES: [&str; 3] = ["head", "it", "piket"];

impl Registry {
    pub fn load(path: &Path) -> Result<Registry, ConfigError> {
        Self::from_source(&Source::read(path)?)
    }

    pub fn from_text(name: &Path, text: String) -> Result<Registry, ConfigError> {
        Self::from_source(&Source::from_text(name, text))
    }

    fn from_source(source: &Source) -> Result<Registry, ConfigError> {
        let raw: RawRegistry = source.parse()?;
        let mut c = source.checker();
        let registry = raw.check(&mut c);
        c.finish()?;
        Ok(registry)
    }

    /// Whether `word` can be used as a recipient: a role, a contact list, an
    /// address, or a Telegram chat or webhook of this registry.
    pub fn knows_recipient(&self, word: &str) -> bool {
        ROLES.contains(&word)
            || self.contacts.contains_key(word)
            || is_email(word)
            || self.knows_channel(word)
    }

    /// Whether `word` is `telegram:NAME` or `webhook:NAME` with a NAME this
    /// registry defines.
    pub fn knows_channel(&self, word: &str) -> bool {
        match Channel::of(word) {
            Some(Channel::Telegram(name)) => self.telegram.contains_key(name),
            Some(Channel::Webhook(name)) => self.webhooks.contains_key(name),
            None => false,
        }
    }
}

/// A recipient on a channel other than email, as a letter or contact list
/// writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel<'a> {
    Telegram(&'a str),
    Webhook(&'a str),
}

impl<'a> Channel<'a> {
    pub fn of(word: &'a str) -> Option<Channel<'a>> {
        if let Some(name) = word.strip_prefix("telegram:") {
            Some(Channel::Telegram(name))
        } else {
            word.strip_prefix("webhook:").map(Channel::Webhook)
        }
    }
}

impl RawRegistry {
    fn check(self, c: &mut Checker<'_>) -> Registry {
        check_zone(c, "region.timezone", &self.region.timezone);
        for (name, list) in &self.contacts {
            if ROLES.contains(&name.as_str()) {
                c.fail(
                    &format!("contacts.{name}"),
                    "this name is a role; choose another",
                );
            }
            for (i, a) in list.iter().enumerate() {
                let known = match Channel::of(a) {
                    Some(Channel::Telegram(n)) => self.telegram.contains_key(n),
                    Some(Channel::Webhook(n)) => self.webhooks.contains_key(n),
                    None => is_email(a),
                };
                if !known {
                    c.fail(
                        &format!("contacts.{name}.{i}"),
                        format!("`{a}` is not an email address, nor telegram:NAME or webhook:NAME of this registry"),
                    );
                }
            }
        }
        self.check_channels(c);
        let mut offices = BTreeMap::new();
        for (i, o) in self.offices.into_iter().enumerate() {
            let at = format!("offices.{i}");
            if ronda_wire::Id::new(o.id.as_str()).is_err() {
                c.fail(
                    &format!("{at}.id"),
                    format!("`{}` is not an id: use a-z, 0-9 and -", o.id),
                );
            }
            if let Some(tz) = &o.timezone {
                check_zone(c, &format!("{at}.timezone"), tz);
            }
            for (who, p) in o
                .head
                .iter()
                .map(|p| ("head", p))
                .chain(o.it.iter().map(|p| ("it", p)))
            {
                if !is_email(&p.email) {
                    c.fail(
                        &format!("{at}.{who}"),
                        format!("`{}` is not an email address", p.email),
                    );
                }
            }
            let office = Office {
                timezone: o.timezone.unwrap_or_else(|| self.region.timezone.clone()),
                id: o.id.clone(),
                name: o.name,
                head: o.head,
                it: o.it,
            };
            if offices.insert(o.id.clone(), office).is_some() {
                c.fail(
                    &format!("{at}.id"),
                    format!("office `{}` is listed twice", o.id),
                );
            }
        }
        let mut groups = BTreeMap::new();
        for (name, members) in self.groups {
            for m in &members {
                if !offices.contains_key(m) {
                    c.fail(&format!("groups.{name}"), format!("unknown office `{m}`"));
                }
            }
            groups.insert(name, members.into_iter().collect());
        }
        Registry {
            region: self.region.name,
            timezone: self.region.timezone,
            contacts: self.contacts,
            telegram: self.telegram,
            webhooks: self.webhooks,
            groups,
            offices,
        }
    }
}

impl RawRegistry {
    /// Chat and webhook names are ids; a URL is http(s) and a chat id is not 0.
    fn check_channels(&self, c: &mut Checker<'_>) {
        let names = self.telegram.keys().map(|n| ("telegram", n));
        for (section, name) in names.chain(self.webhooks.keys().map(|n| ("webhooks", n))) {
            if ronda_wire::Id::new(name.as_str()).is_err() {
                c.fail(&format!("{section}.{name}"), "a name uses a-z, 0-9 and -");
            }
        }
        for (name, chat) in &self.telegram {
            if *chat == 0 {
                c.fail(
                    &format!("telegram.{name}"),
                    "0 is not a chat id: a group's id is negative, a person's positive",
                );
            }
        }
        for (name, url) in &self.webhooks {
            let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
            if !scheme_ok || url.contains(char::is_whitespace) {
                c.fail(
                    &format!("webhooks.{name}"),
                    format!("`{url}` is not an http:// or https:// URL"),
                );
            }
        }
    }
}

pub(crate) fn check_zone(
    c: &mut Checker<'_>,
    path: &str,
    name: &str,
) -> Option<jiff::tz::TimeZone> {
    match jiff::tz::TimeZone::get(name) {
        Ok(tz) => Some(tz),
        Err(_) => {
            c.fail(path, format!("`{name}` is not an IANA time zone such as Asia/Jakarta, Asia/Makassar or Asia/Jayapura"));
            None
        }
    }
}

/// Loose on purpose: the mail server is the judge; this catches typos like a missing `@`.
pub(crate) fn is_email(s: &str) -> bool {
    s.split_once('@').is_some_and(|(user, host)| {
        !user.is_empty() && host.contains('.') && !s.contains(char::is_whitespace)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "region:\n  name: Kotim\n  timezone: Asia/Jakarta\ncontacts:\n  diskominfo: [cc@kotim.go.id]\ngroups:\n  kesehatan: [dinkes]\noffices:\n  - id: dinkes\n    name: Dinas Kesehatan\n    head: {name: Kepala, email: kepala@dinkes.go.id}\n    it:\n      - {name: Admin, email: it@dinkes.go.id}\n";

    #[test]
    fn a_registry_reads_with_defaults() {
        let r = Registry::from_text(Path::new("o.yaml"), GOOD.into()).unwrap();
        assert_eq!(r.offices["dinkes"].timezone, "Asia/Jakarta");
        assert!(r.groups["kesehatan"].contains("dinkes"));
        assert!(r.knows_recipient("diskominfo") && r.knows_recipient("head"));
        assert!(r.knows_recipient("x@y.id") && !r.knows_recipient("sekda"));
    }

    #[test]
    fn every_mistake_is_located() {
        let bad = GOOD
            .replace("Asia/Jakarta", "Asia/Jakrta")
            .replace("kesehatan: [dinkes]", "kesehatan: [dinkes, rsud]")
            .replace("it@dinkes.go.id", "it-dinkes.go.id");
        let err = Registry::from_text(Path::new("o.yaml"), bad)
            .unwrap_err()
            .to_string();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 3, "{err}");
        assert!(
            lines[0].starts_with("o.yaml:3:13: region.timezone: `Asia/Jakrta`"),
            "{err}"
        );
        assert!(
            lines[1].starts_with("o.yaml:7:14: groups.kesehatan: unknown office `rsud`"),
            "{err}"
        );
        assert!(
            lines[2].contains("offices.0.it: `it-dinkes.go.id` is not an email"),
            "{err}"
        );
    }

    #[test]
    fn chats_and_webhooks_are_recipients_by_name_and_mistakes_are_located() {
        let with = GOOD.replace(
            "contacts:\n  diskominfo: [cc@kotim.go.id]\n",
            "contacts:\n  diskominfo: [cc@kotim.go.id, telegram:it-grup, webhook:wa]\n\
             telegram:\n  it-grup: -1001234567890\nwebhooks:\n  wa: https://wa.kotim.go.id/hook\n",
        );
        let r = Registry::from_text(Path::new("o.yaml"), with.clone()).unwrap();
        assert!(r.knows_recipient("telegram:it-grup") && r.knows_recipient("webhook:wa"));
        assert!(!r.knows_recipient("telegram:wa") && !r.knows_recipient("webhook:it-grup"));
        assert_eq!(r.telegram["it-grup"], -1_001_234_567_890);
        let bad = with
            .replace("webhook:wa]", "webhook:whatsapp]")
            .replace("https://wa", "ftp://wa")
            .replace("-1001234567890", "0");
        let err = Registry::from_text(Path::new("o.yaml"), bad)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("contacts.diskominfo.2: `webhook:whatsapp` is not"),
            "{err}"
        );
        assert!(
            err.contains("telegram.it-grup: 0 is not a chat id"),
            "{err}"
        );
        assert!(
            err.contains("webhooks.wa: `ftp://wa.kotim.go.id/hook` is not an http"),
            "{err}"
        );
    }
}
