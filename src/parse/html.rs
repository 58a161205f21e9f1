//! HTML: sanitizing for `content_html` and plain text for everything else.
//!
//! Sanitizing is ammonia's (a whitelist over a real HTML5 parse). Text comes
//! from html5ever's tokenizer alone: no tree is built, which is all that
//! paragraph breaks and entity decoding need. A body that is sanitized anyway
//! gets its text from the sanitized HTML instead ([`sanitize_with_text`]):
//! ammonia's serializer writes a small regular subset of HTML that a plain
//! scan reads, so each body is parsed by html5ever once, not twice. Text
//! without `<` or `&` is not parsed at all.

use std::borrow::Cow;
use std::cell::RefCell;
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
    if !html.contains(['<', '&']) {
        // No markup and no entity: what ammonia would make of it, unparsed.
        return escape_text(html);
    }
    // ammonia builds a tree; nesting deep enough to make that costly is
    // kept as its text instead (see crate::limits). Nesting deeper than
    // MAX_DEPTH takes more than MAX_DEPTH `<`s: counting them is far cheaper
    // than the guard's scan of every tag, which most bodies need not pay.
    if html.bytes().filter(|&b| b == b'<').count() > crate::limits::MAX_DEPTH
        && let Some(flat) = crate::limits::flatten_deep_html(html)
    {
        return flat;
    }
    BASE.set(base.cloned());
    let doc = SANITIZER.clean(html);
    BASE.set(None);
    // `write_to` rather than `to_string`: `Display` serializes into a buffer
    // of its own and then copies it once more through the formatter.
    let mut out = Vec::with_capacity(html.len());
    doc.write_to(&mut out)
        .expect("writing to a Vec does not fail");
    String::from_utf8(out).expect("html5ever serializes UTF-8")
}

/// [`sanitize`] and the plain text of the result (as [`to_text`] reads it),
/// from one parse: the text is read from the sanitized HTML, so it is the
/// text of what `content_html` shows.
pub fn sanitize_with_text(html: &str, base: Option<&Url>) -> (String, String) {
    if !html.contains(['<', '&']) {
        return (escape_text(html), collapse_whitespace(html));
    }
    let clean = sanitize(html, base);
    let text = text_of_sanitized(&clean);
    (clean, text)
}

/// Text without `<` or `&` as ammonia serializes it: the tokenizer drops a
/// leading byte order mark and reads CR LF and CR as LF, the tree builder
/// drops NUL, the serializer escapes `>` and U+00A0.
fn escape_text(s: &str) -> String {
    let s = s.strip_prefix('\u{feff}').unwrap_or(s);
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '>' => out.push_str("&gt;"),
            '\u{a0}' => out.push_str("&nbsp;"),
            '\0' => {}
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            c => out.push(c),
        }
    }
    out
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
    // No deep-nesting guard here (unlike `sanitize`): the tokenizer builds
    // no tree, so its cost is linear in any nesting.
    if !html.contains(['<', '&']) {
        // Nothing to parse: the tokenizer would only collapse whitespace.
        return collapse_whitespace(html);
    }
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
    // The text rules of one line, without tags: what `TextWriter` does,
    // and it copies runs of words whole.
    let mut w = TextWriter::new(s.len(), true);
    w.text(s);
    w.out
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
    let sink = TextSink(RefCell::new(TextWriter::new(html.len(), one_line)));
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    // The sink never asks to stop for a script, so one feed consumes it all.
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.0.into_inner().out
}

/// The text of HTML that [`sanitize`] wrote, read by a plain scan instead of
/// html5ever's tokenizer. ammonia's output is html5ever's serialization of a
/// whitelisted tree, a small regular subset of HTML: tags with lowercase
/// names and attribute values in double quotes (where `"` is `&quot;`), no
/// comments, no raw text (script, style and the like are never kept), and
/// text in which only `&`, `<`, `>` and U+00A0 are escaped. The same
/// [`TextWriter`] as [`to_text`]'s then sees the same tags and text.
fn text_of_sanitized(html: &str) -> String {
    let mut w = TextWriter::new(html.len(), false);
    let b = html.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let Some(off) = find_markup(&b[i..]) else {
            w.text(&html[i..]);
            break;
        };
        w.text(&html[i..i + off]);
        i += off;
        if b[i] == b'&' {
            let (decoded, len) = entity(&b[i..]);
            w.text(decoded);
            i += len;
            continue;
        }
        // A tag: `<name attr="value"...>` or `</name>`; a comment or a
        // declaration (never in ammonia's output) is skipped whole.
        let rest = &b[i..];
        if rest.starts_with(b"<!--") {
            i = find(b, i + 4, b"-->").map_or(b.len(), |at| at + 3);
            continue;
        }
        let end_tag = rest.get(1) == Some(&b'/');
        let name_at = i + 1 + usize::from(end_tag);
        let name_len = b[name_at.min(b.len())..]
            .iter()
            .take_while(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/' | b'>'))
            .count();
        let name = &html[name_at.min(b.len())..name_at + name_len];
        i = tag_end(b, name_at + name_len);
        if !name.is_empty() && name.as_bytes()[0].is_ascii_alphabetic() {
            w.tag(name, !end_tag);
        }
    }
    w.out
}

/// The first `<` or `&` in `b`.
fn find_markup(b: &[u8]) -> Option<usize> {
    memchr::memchr2(b'<', b'&', b)
}

/// The end of the tag whose attributes start at `at`: just past its `>`,
/// reading quoted values whole (they may hold `>`).
fn tag_end(b: &[u8], mut at: usize) -> usize {
    while at < b.len() {
        match b[at] {
            b'>' => return at + 1,
            q @ (b'"' | b'\'') => {
                at = b[at + 1..]
                    .iter()
                    .position(|&c| c == q)
                    .map_or(b.len(), |p| at + 1 + p + 1);
            }
            _ => at += 1,
        }
    }
    b.len()
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(b.get(from..)?, needle).map(|p| from + p)
}

/// The character reference at the start of `b` (which starts with `&`) as
/// html5ever's serializer writes them, and its length; anything else is a
/// literal `&`.
fn entity(b: &[u8]) -> (&'static str, usize) {
    const REFS: [(&[u8], &str); 6] = [
        (b"&amp;", "&"),
        (b"&lt;", "<"),
        (b"&gt;", ">"),
        (b"&nbsp;", "\u{a0}"),
        (b"&quot;", "\""),
        (b"&#39;", "'"),
    ];
    REFS.iter()
        .find(|(r, _)| b.starts_with(r))
        .map_or(("&", 1), |(r, c)| (*c, r.len()))
}

/// What separates the text already written from the next character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Gap {
    None,
    Space,
    Line,
    Paragraph,
}

/// Plain text written from a stream of tags and character data: the rules
/// of [`to_text`] and [`plain`], whoever reads the HTML.
struct TextWriter {
    out: String,
    gap: Gap,
    /// Depth inside elements whose content is not text (script, style...).
    skip: u32,
    /// Depth inside `<pre>`, where line breaks are kept.
    pre: u32,
    /// Every break becomes a space (for `plain`).
    one_line: bool,
}

impl TextWriter {
    fn new(capacity: usize, one_line: bool) -> Self {
        TextWriter {
            out: String::with_capacity(capacity),
            gap: Gap::None,
            skip: 0,
            pre: 0,
            one_line,
        }
    }

    fn gap(&mut self, g: Gap) {
        let g = if self.one_line { g.min(Gap::Space) } else { g };
        let cur = self.gap;
        // Two line breaks in a row (`<br><br>`) are a paragraph break.
        self.gap = if cur == Gap::Line && g == Gap::Line {
            Gap::Paragraph
        } else {
            cur.max(g)
        };
    }

    fn text(&mut self, s: &str) {
        if self.skip > 0 {
            return;
        }
        let in_pre = self.pre > 0 && !self.one_line;
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            // A run of ordinary characters, copied whole; only whitespace
            // and dropped characters are looked at one by one.
            let start = i;
            while let Some(&byte) = b.get(i) {
                if byte.is_ascii_graphic() {
                    i += 1;
                    continue;
                }
                // One space between two characters of the run is what the
                // gap would write there anyway (in `<pre>` too): words with
                // single spaces between them are copied as one run.
                if byte == b' ' && i > start && b.get(i + 1).is_some_and(u8::is_ascii_graphic) {
                    i += 2;
                    continue;
                }
                if byte.is_ascii() {
                    break;
                }
                let c = s[i..].chars().next().unwrap_or(' ');
                if c.is_whitespace() || is_dropped(c) {
                    break;
                }
                i += c.len_utf8();
            }
            if i > start {
                self.write_gap();
                self.out.push_str(&s[start..i]);
            }
            let Some(c) = s[i..].chars().next() else {
                break;
            };
            i += c.len_utf8();
            if in_pre && c == '\n' {
                self.gap(Gap::Line);
            } else if c.is_whitespace() && !(in_pre && (c == ' ' || c == '\t')) {
                self.gap(Gap::Space);
            } else if !is_dropped(c) {
                self.write_gap();
                self.out.push(c);
            }
        }
    }

    /// The pending gap, before the next character (none at the start).
    fn write_gap(&mut self) {
        if !self.out.is_empty() {
            match self.gap {
                Gap::None => {}
                Gap::Space => self.out.push(' '),
                Gap::Line => self.out.push('\n'),
                Gap::Paragraph => self.out.push_str("\n\n"),
            }
        }
        self.gap = Gap::None;
    }

    /// A start or end tag of an element that is not skipped (see
    /// [`skipped`]).
    fn tag(&mut self, name: &str, start: bool) {
        if self.skip > 0 {
            return;
        }
        match name {
            "br" => self.gap(Gap::Line),
            "td" | "th" => self.gap(Gap::Space),
            "pre" => {
                self.gap(Gap::Paragraph);
                if start {
                    self.pre += 1;
                } else {
                    self.pre = self.pre.saturating_sub(1);
                }
            }
            _ if is_block(name) => self.gap(Gap::Paragraph),
            _ => {}
        }
    }
}

/// html5ever's tokenizer feeding a [`TextWriter`].
struct TextSink(RefCell<TextWriter>);

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
        let mut w = self.0.borrow_mut();
        match token {
            TagToken(tag) => {
                let name: &str = &tag.name;
                if let Some(raw) = skipped(name) {
                    match tag.kind {
                        // HTML ignores the slash of `<script/>`: raw text follows anyway.
                        StartTag if !tag.self_closing || raw.is_some() => {
                            w.skip += 1;
                            if let Some(kind) = raw {
                                return TokenSinkResult::RawData(kind);
                            }
                        }
                        StartTag => {}
                        EndTag => w.skip = w.skip.saturating_sub(1),
                    }
                    return TokenSinkResult::Continue;
                }
                w.tag(name, tag.kind == StartTag);
            }
            CharacterTokens(t) => w.text(&t),
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

    /// The text read from the sanitized HTML is `to_text`'s, for bodies
    /// whose elements ammonia keeps; the deep-nesting guard applies.
    #[test]
    fn sanitize_with_text_reads_the_sanitized_html() {
        let cases = [
            ("<p>One</p><p>Two</p>", "One\n\nTwo"),
            ("One<br><br>Two", "One\n\nTwo"),
            (
                "<ul><li>a</li><li>b</li></ul><p>after</p>",
                "a\n\nb\n\nafter",
            ),
            (
                "<p>Caf&eacute; &amp; bar&nbsp;&#8212; &#x4e2d;&lt;</p>",
                "Café & bar — 中<",
            ),
            ("a<script>var x = '<p>no</p>';</script>b", "ab"),
            (
                "<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></table>",
                "1 2\n\n3",
            ),
            ("<pre>x = 1\n  y = 2</pre>", "x = 1\n  y = 2"),
            (
                "<a href=\"/x?a=1&amp;b=>\" title='a > b'>link</a> text",
                "link text",
            ),
            ("a < b and c > d", "a < b and c > d"),
            ("  plain\n text  ", "plain text"),
            ("<img src=\"x.png\" alt=\"&quot;\">", ""),
        ];
        for (html, want) in cases {
            let (clean, text) = sanitize_with_text(html, Some(&base()));
            assert_eq!(clean, sanitize(html, Some(&base())), "{html:?}");
            assert_eq!(text, want, "{html:?}");
            assert_eq!(text, to_text(html), "{html:?}");
        }
        let deep = format!("{}deep{}", "<div>".repeat(5_000), "</div>".repeat(5_000));
        assert_eq!(
            sanitize_with_text(&deep, None),
            ("<p>deep</p>".to_string(), "deep".to_string())
        );
    }

    proptest::proptest! {
        /// Text without `<` or `&` skips the parser and comes out as the
        /// parser would make it.
        #[test]
        fn unparsed_text_is_what_the_parser_makes(s in "[^<&]{0,80}") {
            proptest::prop_assert_eq!(escape_text(&s), SANITIZER.clean(&s).to_string());
            proptest::prop_assert_eq!(to_text(&s), extract(&s, false));
            let (clean, text) = sanitize_with_text(&s, None);
            proptest::prop_assert_eq!(clean, SANITIZER.clean(&s).to_string());
            proptest::prop_assert_eq!(text, extract(&s, false));
        }

        /// The scan of sanitized HTML reads it as html5ever's tokenizer does.
        #[test]
        fn the_scan_reads_sanitized_html_like_the_tokenizer(
            html in "(<(p|b|br|pre|td|tr|table|a href=\"x>y\"|img alt='>'|li|h1|/p|/b|/pre|/td|div|/div)>|[a-z ]|&(amp|lt|gt|nbsp|quot|#39|eacute);|&|\n|\u{a0}|\"|'|>){0,40}"
        ) {
            let clean = sanitize(&html, None);
            proptest::prop_assert_eq!(text_of_sanitized(&clean), extract(&clean, false), "{:?}", clean);
        }
    }

    #[test]
    fn text_paragraphs_splits_on_blank_lines() {
        assert_eq!(text_paragraphs("a\nb\n\n\n c  d \n\n"), "a b\n\nc d");
    }
}
