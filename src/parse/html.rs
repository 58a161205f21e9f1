//! HTML: sanitizing for `content_html` and plain text for everything else.
//!
//! Sanitizing is ammonia's (a whitelist over a real HTML5 parse). Text comes
//! from html5ever's tokenizer alone: no tree is built, which is all that
//! paragraph breaks and entity decoding need.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative};
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, CharacterTokens, EndTag, StartTag, TagToken, Token, TokenSink, TokenSinkResult,
    Tokenizer, TokenizerOpts,
};
use url::Url;

/// Sanitized HTML: no script/style/iframe/object/embed/form, no `on*`
/// attributes, no `javascript:` URLs; relative links made absolute against `base`.
/// Without a base, relative links are kept as they are.
pub fn sanitize(html: &str, base: Option<&Url>) -> String {
    BASE.set(base.cloned());
    let clean = SANITIZER.clean(html).to_string();
    BASE.set(None);
    clean
}

thread_local! {
    /// The base of the `sanitize` call running on this thread. ammonia keeps
    /// the base inside its `Builder`, and a `Builder` costs a few dozen hash
    /// set insertions to make; one shared `Builder` whose relative-URL hook
    /// reads the base from here avoids making one per entry.
    static BASE: RefCell<Option<Url>> = const { RefCell::new(None) };
}

fn resolve_relative(url: &str) -> Option<Cow<'_, str>> {
    BASE.with_borrow(|base| match base {
        Some(base) => base.join(url).ok().map(|u| Cow::Owned(u.into())),
        None => Some(Cow::Borrowed(url)),
    })
}

static SANITIZER: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut b = Builder::default();
    // ammonia's default tag list already leaves out script, style, iframe,
    // object, embed, form, input, svg and math; these lose their contents
    // too instead of being unwrapped.
    b.clean_content_tags(HashSet::from([
        "script", "style", "iframe", "object", "embed", "template", "form", "frameset", "noembed",
        "noframes", "applet", "textarea", "select", "button",
    ]))
    .add_tags(["picture", "source", "main", "section", "tfoot"])
    .add_tag_attributes("source", ["src", "type", "media"])
    .add_tag_attributes("img", ["title"])
    .add_tag_attributes("time", ["datetime"])
    .url_schemes(HashSet::from(["http", "https", "mailto"]))
    .url_relative(UrlRelative::Custom(Box::new(resolve_relative)))
    .link_rel(Some("noopener noreferrer nofollow"));
    b
});

/// Readable plain text of an HTML fragment: block elements become
/// paragraphs separated by one blank line, `<br>` a line break, entities
/// decoded, runs of whitespace collapsed.
pub fn to_text(html: &str) -> String {
    extract(html, false)
}

/// One line of plain text, for titles, names and categories: markup
/// stripped, entities decoded, whitespace collapsed to single spaces,
/// control characters removed. Text without markup passes through unchanged
/// apart from whitespace; a `<` that cannot start a tag stays text.
pub fn plain(s: &str) -> String {
    if !s.contains(['<', '&']) {
        return collapse_whitespace(s);
    }
    if s.contains('<') && !s.contains('>') {
        // "x<y" would open a tag that never closes and swallow the rest.
        return extract(&s.replace('<', "&lt;"), true);
    }
    extract(s, true)
}

/// Whitespace runs to one space, control characters removed, trimmed; no
/// entity decoding (for text that the feed declares to be plain).
pub fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            space = true;
        } else if !is_dropped(c) {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

/// Plain text kept as paragraphs: blank lines separate paragraphs, other
/// whitespace runs become one space.
pub fn text_paragraphs(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for para in s.split("\n\n").flat_map(|p| p.split("\r\n\r\n")) {
        let para = collapse_whitespace(para);
        if !para.is_empty() {
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(&para);
        }
    }
    out
}

/// Characters that never reach text: controls other than whitespace, and a
/// byte order mark that survived decoding.
fn is_dropped(c: char) -> bool {
    (c.is_control() && !c.is_whitespace()) || c == '\u{feff}'
}

fn extract(html: &str, one_line: bool) -> String {
    let sink = TextSink {
        out: RefCell::new(String::with_capacity(html.len())),
        gap: Cell::new(Gap::None),
        skip: Cell::new(0),
        pre: Cell::new(0),
        one_line,
    };
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    // The sink never asks to stop for a script, so one feed consumes it all.
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.out.take()
}

/// What separates the text already written from the next character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Gap {
    None,
    Space,
    Line,
    Paragraph,
}

struct TextSink {
    out: RefCell<String>,
    gap: Cell<Gap>,
    /// Depth inside elements whose content is not text (script, style...).
    skip: Cell<u32>,
    /// Depth inside `<pre>`, where line breaks are kept.
    pre: Cell<u32>,
    /// Every break becomes a space (for `plain`).
    one_line: bool,
}

impl TextSink {
    fn gap(&self, g: Gap) {
        let g = if self.one_line { g.min(Gap::Space) } else { g };
        let cur = self.gap.get();
        // Two line breaks in a row (`<br><br>`) are a paragraph break.
        let next = if cur == Gap::Line && g == Gap::Line {
            Gap::Paragraph
        } else {
            cur.max(g)
        };
        self.gap.set(next);
    }

    fn text(&self, s: &str) {
        let mut out = self.out.borrow_mut();
        let in_pre = self.pre.get() > 0 && !self.one_line;
        for c in s.chars() {
            if in_pre && c == '\n' {
                self.gap(Gap::Line);
            } else if c.is_whitespace() && !(in_pre && (c == ' ' || c == '\t')) {
                self.gap(Gap::Space);
            } else if !is_dropped(c) {
                if !out.is_empty() {
                    match self.gap.get() {
                        Gap::None => {}
                        Gap::Space => out.push(' '),
                        Gap::Line => out.push('\n'),
                        Gap::Paragraph => out.push_str("\n\n"),
                    }
                }
                self.gap.set(Gap::None);
                out.push(c);
            }
        }
    }
}

/// Elements whose content is never text, and how the tokenizer must read
/// that content (`None`: as markup, which we then ignore).
fn skipped(name: &str) -> Option<Option<RawKind>> {
    match name {
        "script" => Some(Some(RawKind::ScriptData)),
        "style" | "iframe" | "noembed" | "noframes" | "xmp" => Some(Some(RawKind::Rawtext)),
        "textarea" | "title" => Some(Some(RawKind::Rcdata)),
        "template" | "noscript" | "head" | "select" | "object" | "applet" => Some(None),
        _ => None,
    }
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "body"
            | "caption"
            | "center"
            | "dd"
            | "details"
            | "dialog"
            | "dir"
            | "div"
            | "dl"
            | "dt"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "header"
            | "hgroup"
            | "hr"
            | "html"
            | "legend"
            | "li"
            | "main"
            | "menu"
            | "nav"
            | "ol"
            | "p"
            | "pre"
            | "section"
            | "summary"
            | "table"
            | "tbody"
            | "tfoot"
            | "thead"
            | "tr"
            | "ul"
    )
}

impl TokenSink for TextSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            TagToken(tag) => {
                let name: &str = &tag.name;
                if let Some(raw) = skipped(name) {
                    match tag.kind {
                        // HTML ignores the slash of `<script/>`: raw text follows anyway.
                        StartTag if !tag.self_closing || raw.is_some() => {
                            self.skip.set(self.skip.get() + 1);
                            if let Some(kind) = raw {
                                return TokenSinkResult::RawData(kind);
                            }
                        }
                        StartTag => {}
                        EndTag => self.skip.set(self.skip.get().saturating_sub(1)),
                    }
                    return TokenSinkResult::Continue;
                }
                if self.skip.get() > 0 {
                    return TokenSinkResult::Continue;
                }
                match name {
                    "br" => self.gap(Gap::Line),
                    "td" | "th" => self.gap(Gap::Space),
                    "pre" => {
                        self.gap(Gap::Paragraph);
                        match tag.kind {
                            StartTag => self.pre.set(self.pre.get() + 1),
                            EndTag => self.pre.set(self.pre.get().saturating_sub(1)),
                        }
                    }
                    _ if is_block(name) => self.gap(Gap::Paragraph),
                    _ => {}
                }
            }
            CharacterTokens(t) if self.skip.get() == 0 => self.text(&t),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://example.com/news/story.html").unwrap()
    }

    /// Nothing that can run script survives, whatever the spelling.
    #[test]
    fn sanitize_removes_active_content() {
        let cases = [
            "<p>hi</p><script>alert(1)</script>",
            "<p>hi</p><SCRIPT>alert(1)</SCRIPT>",
            "<p>hi</p><ScRiPt src=//evil.example/x.js></ScRiPt>",
            "<img src=x onerror=alert(1)>",
            "<img src=\"x\" ONERROR=\"alert(1)\">",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
            "<a href=\" JaVaScRiPt:alert(1)\">x</a>",
            "<a href=\"&#106;avascript:alert(1)\">x</a>",
            "<svg onload=alert(1)><circle/></svg>",
            "<svg><script>alert(1)</script></svg>",
            "<iframe src=\"javascript:alert(1)\"></iframe>",
            "<object data=\"javascript:alert(1)\"></object>",
            "<embed src=\"javascript:alert(1)\">",
            "<form action=\"javascript:alert(1)\"><button>go</button></form>",
            "<div style=\"background:url(javascript:alert(1))\" onclick=\"alert(1)\">x</div>",
            "<body onload=alert(1)>x",
            "<scr<script>ipt>alert(1)</script>",
            "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
            "<!--<script>alert(1)</script>-->",
            "<img src=\"data:text/html;base64,PHNjcmlwdD4=\">",
        ];
        for html in cases {
            let out = sanitize(html, Some(&base())).to_ascii_lowercase();
            for bad in [
                "<script",
                "onerror",
                "onload",
                "onclick",
                "javascript:",
                "<iframe",
                "<object",
                "<embed",
                "<form",
                "style=",
                "data:",
            ] {
                assert!(!out.contains(bad), "{html:?} → {out:?} contains {bad:?}");
            }
        }
    }

    #[test]
    fn sanitize_keeps_content_and_resolves_links() {
        let cases = [
            (
                "<p><a href=\"/a?b=1\">a</a></p>",
                "<p><a href=\"https://example.com/a?b=1\" rel=\"noopener noreferrer nofollow\">a</a></p>",
            ),
            (
                "<img src=\"img/x.png\" alt=\"X\">",
                "<img src=\"https://example.com/news/img/x.png\" alt=\"X\">",
            ),
            (
                "<img src=\"//cdn.example.net/x.png\">",
                "<img src=\"https://cdn.example.net/x.png\">",
            ),
            (
                "<figure><img src=\"https://x.example/a.jpg\"><figcaption>Cap</figcaption></figure>",
                "<figure><img src=\"https://x.example/a.jpg\"><figcaption>Cap</figcaption></figure>",
            ),
            (
                "<blockquote>q</blockquote><pre><code>x &lt; y</code></pre>",
                "<blockquote>q</blockquote><pre><code>x &lt; y</code></pre>",
            ),
            (
                "<table><tr><td>1</td></tr></table>",
                "<table><tbody><tr><td>1</td></tr></tbody></table>",
            ),
            (
                "<a href=\"mailto:a@b.example\">m</a>",
                "<a href=\"mailto:a@b.example\" rel=\"noopener noreferrer nofollow\">m</a>",
            ),
            ("<p>x<script>y</script></p>", "<p>x</p>"),
            ("<iframe src=\"https://v.example/\">fallback</iframe>z", "z"),
        ];
        for (html, want) in cases {
            assert_eq!(sanitize(html, Some(&base())), want, "{html:?}");
        }
    }

    #[test]
    fn sanitize_without_base_keeps_relative_links() {
        assert_eq!(
            sanitize("<img src=\"/x.png\">", None),
            "<img src=\"/x.png\">"
        );
        // The base of an earlier call does not leak into a later one.
        sanitize("<img src=\"/x.png\">", Some(&base()));
        assert_eq!(sanitize("<img src=\"y.png\">", None), "<img src=\"y.png\">");
    }

    #[test]
    fn to_text_keeps_paragraphs() {
        let cases = [
            ("<p>One</p><p>Two</p>", "One\n\nTwo"),
            ("  <p>  One \n  two  </p>  ", "One two"),
            ("Line one<br>line two", "Line one\nline two"),
            ("One<br><br>Two", "One\n\nTwo"),
            ("One<br/>\n<br />Two", "One\n\nTwo"),
            (
                "<div><div><div>Deep</div></div></div><div><p>Next</p></div>",
                "Deep\n\nNext",
            ),
            (
                "<ul><li>a</li><li>b</li></ul><p>after</p>",
                "a\n\nb\n\nafter",
            ),
            ("<h1>Title</h1>Body text", "Title\n\nBody text"),
            (
                "<p>Caf&eacute; &amp; bar&nbsp;&#8212; &#x4e2d;&lt;</p>",
                "Café & bar — 中<",
            ),
            ("a<script>var x = '<p>no</p>';</script>b", "ab"),
            ("a<style>p { color: red }</style> b", "a b"),
            ("a<template><p>no</p></template>b", "ab"),
            ("<p>a <b>bold</b> <i>word</i>.</p>", "a bold word."),
            (
                "<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></table>",
                "1 2\n\n3",
            ),
            ("<pre>x = 1\n  y = 2</pre>", "x = 1\n  y = 2"),
            (
                "<blockquote><p>Quote</p></blockquote><p>Reply</p>",
                "Quote\n\nReply",
            ),
            ("plain text, no markup", "plain text, no markup"),
            ("a < b and c > d", "a < b and c > d"),
            ("<!-- note -->text", "text"),
            ("x\u{0}y\u{7}z", "xyz"),
            ("", ""),
            ("<p></p><p> </p>", ""),
        ];
        for (html, want) in cases {
            assert_eq!(to_text(html), want, "{html:?}");
        }
    }

    #[test]
    fn plain_is_one_line() {
        let cases = [
            ("Q&amp;A: <b>Fed</b> holds", "Q&A: Fed holds"),
            ("  Fed\n\t holds  ", "Fed holds"),
            ("a < b", "a < b"),
            ("x<y", "x<y"),
            ("AT&T", "AT&T"),
            ("<p>One</p><p>Two</p>", "One Two"),
            ("One<br>Two", "One Two"),
            ("Tom &amp;amp; Jerry", "Tom &amp; Jerry"),
            ("caf&eacute;", "café"),
            ("bell\u{7}s", "bells"),
            ("中文 标题", "中文 标题"),
        ];
        for (s, want) in cases {
            assert_eq!(plain(s), want, "{s:?}");
        }
    }

    #[test]
    fn text_paragraphs_splits_on_blank_lines() {
        assert_eq!(text_paragraphs("a\nb\n\n\n c  d \n\n"), "a b\n\nc d");
    }
}
