//! URLs in config files: whether one carries a password, and how to print it without one.

use std::borrow::Cow;

/// Whether a URL's authority has a user-info part (`user:password@`, or just
/// `@` as in `http://@host`): an `@` after `scheme://` and before the first
/// `/`, `?`, `#` or `\` (which URL parsers also take for `/`).
pub fn has_userinfo(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    rest[..end].contains('@')
}

/// A URL fit to print in an error: everything between `scheme://` and the
/// last `@` becomes `***`. Errs on the side of hiding, for URLs too broken to
/// parse (a password with a `/` in it, say).
pub fn redact_userinfo(url: &str) -> Cow<'_, str> {
    let start = url.find("://").map_or(0, |i| i + 3);
    match url[start..].rfind('@') {
        Some(at) => Cow::Owned(format!("{}***{}", &url[..start], &url[start + at..])),
        None => Cow::Borrowed(url),
    }
}
