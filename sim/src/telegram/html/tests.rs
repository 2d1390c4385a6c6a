//! The HTML checker against the examples of
//! https://core.telegram.org/bots/api#html-style, and what it must refuse.

use super::*;

fn ok(html: &str) -> String {
    plain(&parse(html).unwrap_or_else(|e| panic!("{html}: {e}")))
}

fn bad(html: &str) -> String {
    parse(html).expect_err(html)
}

#[test]
fn the_documents_examples_parse() {
    for html in [
        "<b>bold</b>, <strong>bold</strong>",
        "<i>italic</i>, <em>italic</em>",
        "<u>underline</u>, <ins>underline</ins>",
        "<s>strikethrough</s>, <strike>strikethrough</strike>, <del>strikethrough</del>",
        "<span class=\"tg-spoiler\">spoiler</span>, <tg-spoiler>spoiler</tg-spoiler>",
        "<b>bold <i>italic bold <s>italic bold strikethrough <span class=\"tg-spoiler\">italic bold strikethrough spoiler</span></s> <u>underline italic bold</u></i> bold</b>",
        "<a href=\"http://www.example.com/\">inline URL</a>",
        "<a href=\"tg://user?id=123456789\">inline mention of a user</a>",
        "<tg-emoji emoji-id=\"5368324170671202286\">👍</tg-emoji>",
        "<code>inline fixed-width code</code>",
        "<pre>pre-formatted fixed-width code block</pre>",
        "<pre><code class=\"language-python\">pre-formatted fixed-width code block written in the Python programming language</code></pre>",
        "<blockquote>Block quotation started\nBlock quotation continued</blockquote>",
        "<blockquote expandable>Expandable block quotation</blockquote>",
    ] {
        ok(html);
    }
}

#[test]
fn entities_decode_and_count_as_one_character() {
    assert_eq!(
        ok("a &lt;b&gt; &amp; &quot;c&quot; &#65;&#x42;"),
        "a <b> & \"c\" AB"
    );
    assert_eq!(ok("<B>Caps</B> &amp;é"), "Caps &é");
    assert_eq!(ok("<a href='https://x/?a=1&amp;b=2'>x</a>"), "x");
}

#[test]
fn what_the_document_does_not_list_is_refused() {
    assert!(bad("<p>para</p>").starts_with("Unsupported start tag \"p\""));
    assert!(bad("<script>alert(1)</script>").starts_with("Unsupported start tag"));
    assert!(bad("<span>plain span</span>").starts_with("Unsupported start tag \"span\""));
    assert!(bad("<tg-emoji>no id</tg-emoji>").starts_with("Unsupported start tag"));
    assert!(bad("a &nbsp; b").contains("entity"));
    assert!(bad("Tom & Jerry").contains("entity"));
    assert!(
        bad("&#xD800;").contains("entity"),
        "a surrogate is no character"
    );
    assert!(
        bad("1 < 2").starts_with("Unclosed start tag") || bad("1 < 2").starts_with("Unsupported")
    );
    assert!(bad("2 > 1").starts_with("Unescaped \">\""));
}

#[test]
fn tags_must_close_in_order() {
    assert_eq!(
        bad("<b><i>x</b></i>"),
        "Unmatched end tag at byte offset 7, expected \"</i>\", found \"</b>\""
    );
    assert_eq!(
        bad("<b>x"),
        "Can't find end tag corresponding to start tag \"b\""
    );
    assert!(bad("x</b>").starts_with("Unexpected end tag"));
    assert!(bad("<strong>x</b>").starts_with("Unmatched end tag"));
}

#[test]
fn code_and_pre_hold_no_other_entity_and_links_do_not_nest() {
    assert!(bad("<code><b>x</b></code>").contains("can't be nested"));
    assert!(bad("<pre><b>x</b></pre>").contains("can't be nested"));
    assert!(bad("<pre><i><code>x</code></i></pre>").contains("can't be nested"));
    assert!(
        bad("<a href=\"https://a\"><a href=\"https://b\">x</a></a>").contains("can't be nested")
    );
    assert!(bad("<blockquote><blockquote>x</blockquote></blockquote>").contains("can't be nested"));
    ok("<a href=\"https://a\"><b>bold link</b></a>");
}

#[test]
fn the_page_rendering_is_safe() {
    let pieces = parse("<b>&lt;script&gt;</b> <a href=\"javascript:alert(1)\">x</a> <a href=\"https://e/?q=&quot;&gt;\">y</a>").unwrap();
    let page = to_page(&pieces);
    assert_eq!(
        page,
        "<b>&lt;script&gt;</b> <a>x</a> <a rel=\"noopener noreferrer\" href=\"https://e/?q=&quot;&gt;\">y</a>"
    );
}
