//! The `parse_mode: HTML` checker of the Bot API stand-in, per
//! https://core.telegram.org/bots/api#html-style: only the tags listed
//! there, the named entities `&lt; &gt; &amp; &quot;` and numeric ones;
//! `<`, `>` and `&` anywhere else are errors, as the document says they
//! "must be replaced". Also renders a checked text as safe page HTML.

/// An entity the document lists, by the tags that make it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bold,
    Italic,
    Underline,
    Strike,
    Spoiler,
    Link,
    Emoji,
    Code,
    Pre,
    Quote,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Decoded text.
    Text(String),
    Open {
        kind: Kind,
        href: Option<String>,
    },
    Close(Kind),
}

/// Parse `html` as Telegram does, or say why it cannot be (the text after
/// "Bad Request: can't parse entities: ").
pub fn parse(html: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    // Open tags: as written (a close must use the same name) and their kind.
    let mut open: Vec<(String, Kind)> = Vec::new();
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        let at = html.len() - rest.len();
        match c {
            '<' => {
                let end = rest
                    .find('>')
                    .ok_or_else(|| format!("Unclosed start tag at byte offset {at}"))?;
                let inner = &rest[1..end];
                rest = &rest[end + 1..];
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(match inner.strip_prefix('/') {
                    Some(name) => close_tag(name.trim(), &mut open, at)?,
                    None => open_tag(inner, &mut open, at)?,
                });
            }
            '&' => {
                let (decoded, len) = entity(rest).ok_or_else(|| {
                    format!("Unsupported HTML entity or unescaped \"&\" at byte offset {at}")
                })?;
                text.push(decoded);
                rest = &rest[len..];
            }
            '>' => return Err(format!("Unescaped \">\" at byte offset {at}")),
            c => {
                text.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if let Some((name, _)) = open.last() {
        return Err(format!(
            "Can't find end tag corresponding to start tag \"{name}\""
        ));
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

fn close_tag(name: &str, open: &mut Vec<(String, Kind)>, at: usize) -> Result<Piece, String> {
    let name = name.to_ascii_lowercase();
    match open.pop() {
        Some((top, kind)) if top == name => Ok(Piece::Close(kind)),
        Some((top, _)) => Err(format!(
            "Unmatched end tag at byte offset {at}, expected \"</{top}>\", found \"</{name}>\""
        )),
        None => Err(format!("Unexpected end tag at byte offset {at}")),
    }
}

fn open_tag(inner: &str, open: &mut Vec<(String, Kind)>, at: usize) -> Result<Piece, String> {
    let name_end = inner
        .find(|c: char| c.is_whitespace() || c == '/')
        .unwrap_or(inner.len());
    let name = inner[..name_end].to_ascii_lowercase();
    let attrs = attributes(&inner[name_end..]).map_err(|e| format!("{e} at byte offset {at}"))?;
    let attr = |key: &str| attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let unsupported = || format!("Unsupported start tag \"{name}\" at byte offset {at}");
    let kind = match name.as_str() {
        "b" | "strong" => Kind::Bold,
        "i" | "em" => Kind::Italic,
        "u" | "ins" => Kind::Underline,
        "s" | "strike" | "del" => Kind::Strike,
        "tg-spoiler" => Kind::Spoiler,
        "span" if attr("class").as_deref() == Some("tg-spoiler") => Kind::Spoiler,
        "a" => Kind::Link,
        "tg-emoji" if attr("emoji-id").is_some_and(|id| id.parse::<i64>().is_ok()) => Kind::Emoji,
        "code" => Kind::Code,
        "pre" => Kind::Pre,
        "blockquote" => Kind::Quote,
        _ => return Err(unsupported()),
    };
    // "pre and code … can't contain" other entities, except code in pre
    // (the way to name a language); links and block quotes do not nest.
    let inside = |k: Kind| open.iter().any(|(_, o)| *o == k);
    let in_pre_directly = open.last().is_some_and(|(_, k)| *k == Kind::Pre);
    let nested = (inside(Kind::Code)
        || (inside(Kind::Pre) && !(kind == Kind::Code && in_pre_directly)))
        || (kind == Kind::Link && inside(Kind::Link))
        || (kind == Kind::Quote && inside(Kind::Quote));
    if nested {
        return Err(format!(
            "Entity \"{name}\" can't be nested here, at byte offset {at}"
        ));
    }
    open.push((name, kind));
    let href = (kind == Kind::Link).then(|| attr("href")).flatten();
    Ok(Piece::Open { kind, href })
}

/// `key="value"`, `key='value'`, `key=value` or a bare `key`, entities
/// decoded in values.
fn attributes(mut s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    loop {
        s = s.trim_start();
        if s.is_empty() || s == "/" {
            return Ok(out);
        }
        let key_end = s
            .find(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or(s.len());
        let key = s[..key_end].to_ascii_lowercase();
        s = s[key_end..].trim_start();
        let Some(after) = s.strip_prefix('=') else {
            out.push((key, String::new()));
            continue;
        };
        let after = after.trim_start();
        let (raw, rest) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let close = after[1..].find(q).ok_or("Unclosed attribute value")?;
                (&after[1..=close], &after[close + 2..])
            }
            _ => {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        out.push((key, decode(raw)?));
        s = rest;
    }
}

fn decode(raw: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        if c == '&' {
            let (d, len) = entity(rest).ok_or("Unsupported HTML entity in an attribute")?;
            out.push(d);
            rest = &rest[len..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    Ok(out)
}

/// The entity `s` starts with: its character and its length in bytes.
fn entity(s: &str) -> Option<(char, usize)> {
    let end = s.bytes().take(12).position(|b| b == b';')?;
    let name = &s[1..end];
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)?
        }
    };
    Some((c, end + 1))
}

/// The text a reader sees: what Telegram's length limit counts.
pub fn plain(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// Safe HTML for a page: each entity as its nearest HTML tag, text escaped,
/// and a link only to http(s) or tg.
pub fn to_page(pieces: &[Piece]) -> String {
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(&escape(t)),
            Piece::Open {
                kind: Kind::Link,
                href,
            } => {
                let safe = href.as_deref().filter(|h| {
                    ["http://", "https://", "tg://"]
                        .iter()
                        .any(|s| h.starts_with(s))
                });
                match safe {
                    Some(h) => out.push_str(&format!(
                        "<a rel=\"noopener noreferrer\" href=\"{}\">",
                        escape(h)
                    )),
                    None => out.push_str("<a>"),
                }
            }
            Piece::Open { kind, .. } => out.push_str(&format!("<{}>", page_tag(*kind))),
            Piece::Close(kind) => out.push_str(&format!("</{}>", page_tag(*kind))),
        }
    }
    out
}

fn page_tag(kind: Kind) -> &'static str {
    match kind {
        Kind::Bold => "b",
        Kind::Italic => "i",
        Kind::Underline => "u",
        Kind::Strike => "s",
        Kind::Spoiler => "mark",
        Kind::Link => "a",
        Kind::Emoji => "span",
        Kind::Code => "code",
        Kind::Pre => "pre",
        Kind::Quote => "blockquote",
    }
}

/// Escape for HTML text and double- or single-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
