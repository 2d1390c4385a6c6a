//! Small helpers over `roxmltree` for vendor XML (ISAPI, ONVIF SOAP).
//!
//! Elements are matched by local name only: Hikvision firmwares use two
//! namespaces for the same schema, and SOAP prefixes vary by vendor.

use roxmltree::{Document, Node};

use crate::probe::ProbeError;

/// The deepest element nesting accepted. roxmltree 0.20 recurses once per
/// level while it parses (RazrFalcon/roxmltree#154), so a body of a few
/// hundred nested elements from a broken or hostile device overflowed the
/// stack of a 2 MiB task thread, which aborts the agent (found by
/// `fuzz_hikvision_mutated_fixtures`). ISAPI and ONVIF answers nest under
/// ten deep.
pub const MAX_DEPTH: usize = 64;

/// Parse a body, turning a truncated or malformed document into a probe error.
pub fn parse(body: &str) -> Result<Document<'_>, ProbeError> {
    if too_deep(body.as_bytes(), MAX_DEPTH) {
        return Err(ProbeError::Parse(format!(
            "bad XML: elements nested deeper than {MAX_DEPTH}"
        )));
    }
    Document::parse(body).map_err(|e| ProbeError::Parse(format!("bad XML: {e}")))
}

/// Whether elements in `b` nest deeper than `limit`, by a light scan of its
/// tags before roxmltree's recursive one: comments, CDATA, processing
/// instructions and declarations are skipped, and a `>` inside a quoted
/// attribute value does not end a tag. Input it misreads is input roxmltree
/// refuses before it gets deeper.
fn too_deep(b: &[u8], limit: usize) -> bool {
    let after = |from: usize, end: &[u8]| {
        b.get(from..)
            .and_then(|rest| rest.windows(end.len()).position(|w| w == end))
            .map_or(b.len(), |p| from + p + end.len())
    };
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(p) = b
        .get(i..)
        .and_then(|rest| rest.iter().position(|&c| c == b'<'))
    {
        let at = i + p;
        let rest = &b[at..];
        i = if rest.starts_with(b"<!--") {
            after(at + 4, b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            after(at + 9, b"]]>")
        } else if rest.starts_with(b"<?") {
            after(at + 2, b"?>")
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            after(at + 2, b">")
        } else if rest.starts_with(b"<!") {
            after(at + 2, b">")
        } else {
            let mut quote = None;
            let mut end = at + 1;
            while let Some(&c) = b.get(end) {
                match quote {
                    Some(q) if c == q => quote = None,
                    Some(_) => {}
                    None if c == b'"' || c == b'\'' => quote = Some(c),
                    None if c == b'>' => break,
                    None => {}
                }
                end += 1;
            }
            if b.get(end - 1) != Some(&b'/') {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            end + 1
        };
    }
    false
}

/// The first descendant (or self) with this local name.
pub fn find<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.descendants()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

/// Every descendant with this local name.
pub fn all<'a, 'i: 'a>(
    node: Node<'a, 'i>,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.descendants()
        .filter(move |n| n.is_element() && n.tag_name().name() == name)
}

/// The trimmed text of the first direct child with this local name.
pub fn child_text<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
        .and_then(|n| n.text())
        .map(str::trim)
}

/// The trimmed text of the first descendant with this local name.
pub fn text<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    find(node, name).and_then(|n| n.text()).map(str::trim)
}

/// A required element's text, or a parse error naming it.
pub fn need<'a>(node: Node<'a, '_>, name: &str) -> Result<&'a str, ProbeError> {
    text(node, name).ok_or_else(|| ProbeError::Parse(format!("no <{name}> in the answer")))
}

pub fn is_true(text: Option<&str>) -> Option<bool> {
    match text? {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_whatever_the_namespace() {
        let d = parse(r#"<a xmlns="http://www.std-cgi.com/ver20/XMLSchema"><b><c> x </c></b></a>"#)
            .unwrap();
        assert_eq!(text(d.root(), "c"), Some("x"));
        assert!(parse("<a><b>").is_err());
    }

    #[test]
    fn nesting_is_counted_by_tags_alone() {
        let nest =
            |n: usize, inner: &str| format!("{}{inner}{}", "<a>".repeat(n), "</a>".repeat(n));
        assert!(!too_deep(nest(64, "").as_bytes(), 64));
        assert!(too_deep(nest(65, "").as_bytes(), 64));
        // Siblings, empty elements and what is not a tag do not nest: at
        // most `<r><d>`, two deep.
        let flat = "<r>".to_owned()
            + &"<b/><c x='>'/><d a=\"/>\"></d><!-- <e> --><![CDATA[<f>]]><?p <g>?>t/>".repeat(100)
            + "</r>";
        assert!(!too_deep(flat.as_bytes(), 2));
        // Text that looks like the end of an empty element does not un-nest.
        assert!(too_deep("<a>/>".repeat(65).as_bytes(), 64));
    }
}
