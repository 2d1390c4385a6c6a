//! Small helpers over `roxmltree` for vendor XML (ISAPI, ONVIF SOAP).
//!
//! Elements are matched by local name only: Hikvision firmwares use two
//! namespaces for the same schema, and SOAP prefixes vary by vendor.

use roxmltree::{Document, Node};

use crate::probe::ProbeError;

/// Parse a body, turning a truncated or malformed document into a probe error.
pub fn parse(body: &str) -> Result<Document<'_>, ProbeError> {
    Document::parse(body).map_err(|e| ProbeError::Parse(format!("bad XML: {e}")))
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
}
