//! The pure rules that keep a hostile feed from hurting trawl: which
//! addresses a redirect may lead to, how deeply a document may nest, and how
//! much of a feed is kept (items per feed, bytes per stored field).
//!
//! Everything here is a function of its arguments: no I/O, no clock. The
//! callers are `fetch` (addresses), `parse::parse` (nesting) and `ingest`
//! (items and fields, before the commit). SECURITY.md states the promises
//! these make and names the tests that hold them.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::article::{Article, Enclosure, FeedInfo};

// ---------------------------------------------------------------------------
// Addresses

/// True for an address on the public internet; false for loopback, private,
/// shared (CGNAT), link-local (cloud metadata lives at 169.254.169.254),
/// unspecified, multicast, broadcast, documentation and reserved ranges, and
/// for IPv6 forms that embed one of those (IPv4-mapped, IPv4-compatible,
/// NAT64, 6to4).
///
/// Written out rather than taken from `std`'s unstable `is_global`, and
/// deliberately wider than "private": anything that is not plainly a host
/// somebody published on the internet counts as internal.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let internal = a == 0 // "this network", 0.0.0.0 included
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254) // link-local: cloud metadata services
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224; // multicast, reserved, broadcast
    !internal
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // Forms that carry an IPv4 address are judged by it.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] {
        // :: and ::1, and the deprecated IPv4-compatible ::a.b.c.d.
        return !ip.is_unspecified() && !ip.is_loopback() && is_public_v4(embedded_v4(s[6], s[7]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded_v4(s[6], s[7])); // NAT64
    }
    if s[0] == 0x2002 {
        return is_public_v4(embedded_v4(s[1], s[2])); // 6to4
    }
    let internal = (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local, deprecated
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0) // Teredo: tunnels to anywhere
        || s[..4] == [0x100, 0, 0, 0]; // discard-only
    !internal
}

fn embedded_v4(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// The redirect rule: may a fetch connect to `target`, given whether any
/// earlier hop of the same fetch was answered from a public address?
///
/// Configured URLs are trusted as the operator wrote them, so the first hop
/// goes anywhere, and so does a chain that has stayed on internal addresses
/// (a feed on the intranet redirecting within it). What is refused is the
/// step from public to internal: a server out on the internet steering
/// trawl into the network it runs in.
pub fn may_connect(
    reached_public: bool,
    target: IpAddr,
    allow_private_redirects: bool,
    is_public: fn(IpAddr) -> bool,
) -> bool {
    allow_private_redirects || !reached_public || is_public(target)
}

// ---------------------------------------------------------------------------
// Nesting

/// The deepest element nesting a feed document may have, and the deepest
/// HTML nesting an entry's content may have before it is kept as text only.
///
/// Feeds nest a handful of levels; Chromium's HTML parser stops nesting at
/// 512 too. The cost it guards against: html5ever's tree builder looks
/// through the stack of open elements for most start tags, so an entry of
/// n nested `<div>`s costs n² (100,000 of them: minutes of CPU).
pub const MAX_DEPTH: usize = 512;

/// The most entries (RSS items, Atom entries, JSON Feed items) read from one
/// document: the first ones; `[daemon] max_items` then keeps the newest of
/// those. A bound taken before any parser builds its model of the feed, so
/// that a 20 MiB document of 400,000 empty items costs what 10,000 cost.
pub const MAX_ENTRIES: usize = 10_000;

/// A document that passed [`check_document`].
#[derive(Debug)]
pub struct Checked<'a> {
    /// The text to parse: the document, or its first [`MAX_ENTRIES`]
    /// entries with the elements (or arrays) around them closed.
    pub text: Cow<'a, str>,
    /// Says so when the document was cut.
    pub warning: Option<String>,
}

/// Refuses a document (XML or JSON, as decoded text) whose elements, or
/// arrays and objects, nest deeper than [`MAX_DEPTH`], and cuts one with
/// more than [`MAX_ENTRIES`] entries after the last one kept; all before
/// any parser sees it. One linear pass; comments, CDATA, processing
/// instructions, the DOCTYPE and JSON strings are skipped, so text that
/// merely looks like markup does not count.
pub fn check_document(text: &str) -> Result<Checked<'_>, String> {
    let start = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let scan = if start.starts_with(['{', '[']) {
        scan_json(text)
    } else {
        scan_xml(text)
    };
    let what = if start.starts_with(['{', '[']) {
        "JSON arrays and objects"
    } else {
        "elements"
    };
    match scan {
        Scan::TooDeep => Err(format!(
            "{what} nested deeper than {MAX_DEPTH} levels (refused unread)"
        )),
        Scan::Whole => Ok(Checked {
            text: Cow::Borrowed(text),
            warning: None,
        }),
        Scan::Cut { at, close } => Ok(Checked {
            text: Cow::Owned(format!("{}{close}", &text[..at])),
            warning: Some(format!(
                "the document has more than {MAX_ENTRIES} entries: read the first {MAX_ENTRIES}"
            )),
        }),
    }
}

/// [`check_document`] for the nesting alone.
pub fn check_nesting(text: &str) -> Result<(), String> {
    check_document(text).map(|_| ())
}

enum Scan {
    Whole,
    TooDeep,
    /// Cut at byte `at` and append `close`.
    Cut {
        at: usize,
        close: String,
    },
}

/// Walks the elements of an XML text, with the names of those open.
/// Tolerant of broken markup: a stray end tag never takes it below zero.
fn scan_xml(text: &str) -> Scan {
    let b = text.as_bytes();
    let mut open: Vec<&str> = Vec::new();
    let (mut i, mut entries) = (0usize, 0usize);
    while let Some(off) = memchr::memchr(b'<', &b[i..]) {
        i += off;
        let rest = &b[i..];
        if rest.starts_with(b"<!--") {
            i = skip_past(b, i + 4, b"-->");
        } else if rest.starts_with(b"<![CDATA[") {
            i = skip_past(b, i + 9, b"]]>");
        } else if rest.starts_with(b"<?") {
            i = skip_past(b, i + 2, b"?>");
        } else if rest.starts_with(b"<!") {
            i = skip_declaration(b, i + 2);
        } else if rest.starts_with(b"</") {
            let name = tag_name(text, i + 2);
            open.pop();
            i = skip_past(b, i + 2, b">");
            let local = name.rsplit(':').next().unwrap_or(name);
            if local.eq_ignore_ascii_case("item") || local == "entry" {
                entries += 1;
                if entries == MAX_ENTRIES {
                    let close = open.iter().rev().map(|n| format!("</{n}>")).collect();
                    return Scan::Cut { at: i, close };
                }
            }
        } else if rest
            .get(1)
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_' || *c >= 0x80)
        {
            let name = tag_name(text, i + 1);
            let (end, self_closing) = tag_end(b, i + 1);
            i = end;
            if !self_closing {
                open.push(name);
                if open.len() > MAX_DEPTH {
                    return Scan::TooDeep;
                }
            }
        } else {
            i += 1;
        }
    }
    Scan::Whole
}

/// The element name that starts at byte `from` of `text`.
fn tag_name(text: &str, from: usize) -> &str {
    let rest = text.get(from..).unwrap_or("");
    let len = rest
        .find(|c: char| c.is_whitespace() || matches!(c, '>' | '/' | '<'))
        .unwrap_or(rest.len());
    &rest[..len]
}

/// Walks the arrays and objects of a JSON text. The entries counted are
/// the values of arrays held by the top-level object (a JSON Feed's
/// `items`).
fn scan_json(text: &str) -> Scan {
    let b = text.as_bytes();
    let mut open: Vec<u8> = Vec::new();
    let (mut in_string, mut escaped, mut entries) = (false, false, 0usize);
    for (i, &c) in b.iter().enumerate() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'{' | b'[' => {
                open.push(c);
                if open.len() > MAX_DEPTH {
                    return Scan::TooDeep;
                }
            }
            b'}' | b']' => {
                open.pop();
                if open == [b'{', b'['] {
                    entries += 1;
                    if entries == MAX_ENTRIES {
                        return Scan::Cut {
                            at: i + 1,
                            close: "]}".to_string(),
                        };
                    }
                }
            }
            _ => {}
        }
    }
    Scan::Whole
}

/// The index just past the first `needle` at or after `from` (the end of
/// `b` when there is none).
fn skip_past(b: &[u8], from: usize, needle: &[u8]) -> usize {
    let from = from.min(b.len());
    memchr::memmem::find(&b[from..], needle).map_or(b.len(), |p| from + p + needle.len())
}

/// Past a `<!...>` declaration, a DOCTYPE's internal subset `[...]` included.
fn skip_declaration(b: &[u8], from: usize) -> usize {
    let mut i = from;
    let mut bracket = 0usize;
    let mut quote = None;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'"' | b'\'' => quote = Some(c),
                b'[' => bracket += 1,
                b']' => bracket = bracket.saturating_sub(1),
                b'>' if bracket == 0 => return i + 1,
                _ => {}
            },
        }
        i += 1;
    }
    b.len()
}

/// The end of a start tag whose name begins at `from`: the index past its
/// `>` (quoted attribute values may hold one), and whether it ended `/>`.
fn tag_end(b: &[u8], from: usize) -> (usize, bool) {
    let mut quote = None;
    let mut i = from;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'"' | b'\'' => quote = Some(c),
                b'>' => return (i + 1, i > from && b[i - 1] == b'/'),
                // A tag never holds `<`: the document is broken here, and
                // the next tag starts now.
                b'<' => return (i, false),
                _ => {}
            },
        }
        i += 1;
    }
    (b.len(), false)
}

/// True when the HTML fragment nests elements deeper than [`MAX_DEPTH`], by
/// a linear count of start and end tags.
///
/// It counts what can nest: elements without an end tag (`<br>`, `<img>`),
/// and those whose repetition makes siblings rather than children (`<p>`,
/// `<li>`, `<td>`, ...), are not counted, so sloppy but ordinary HTML (a
/// thousand unclosed `<p>`) passes. Raw text (`<script>`, `<style>`,
/// `<textarea>`, `<title>`) and comments are skipped.
pub fn html_too_deep(html: &str) -> bool {
    let b = html.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while let Some(off) = memchr::memchr(b'<', &b[i..]) {
        i += off;
        let rest = &b[i..];
        if rest.starts_with(b"<!--") {
            i = skip_past(b, i + 4, b"-->");
            continue;
        }
        if rest.starts_with(b"<!") || rest.starts_with(b"<?") {
            i = skip_past(b, i + 2, b">");
            continue;
        }
        let closing = rest.get(1) == Some(&b'/');
        let name_at = i + 1 + usize::from(closing);
        let name_len = b[name_at.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-' || **c == b':')
            .count();
        if name_len == 0 || !b[name_at].is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        let name = b[name_at..name_at + name_len].to_ascii_lowercase();
        let (end, _) = tag_end(b, name_at + name_len);
        i = end;
        if !nests(&name) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
            continue;
        }
        depth += 1;
        if depth > MAX_DEPTH {
            return true;
        }
        if matches!(
            name.as_slice(),
            b"script" | b"style" | b"textarea" | b"title" | b"xmp"
        ) {
            // Its text is not markup: go to its end tag.
            let mut close = b"</".to_vec();
            close.extend_from_slice(&name);
            i = find_ignore_case(b, i, &close).unwrap_or(b.len());
        }
    }
    false
}

/// Whether an element can hold its own kind or others nested deeper.
fn nests(name: &[u8]) -> bool {
    !matches!(
        name,
        // Void: no end tag, no children.
        b"area" | b"base" | b"br" | b"col" | b"embed" | b"hr" | b"img" | b"input" | b"keygen"
            | b"link" | b"meta" | b"param" | b"source" | b"track" | b"wbr"
            // An optional end tag: the next one of them closes it.
            | b"p" | b"li" | b"dt" | b"dd" | b"option" | b"optgroup" | b"tr" | b"td" | b"th"
            | b"thead" | b"tbody" | b"tfoot" | b"rb" | b"rt" | b"rtc" | b"rp" | b"colgroup"
            | b"caption" | b"html" | b"head" | b"body"
    )
}

fn find_ignore_case(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| from + p)
}

/// What `content_html` becomes when its HTML nests too deeply to be
/// sanitized at a bounded cost: its plain text, escaped, one `<p>` per
/// paragraph. `None` when the HTML is within [`MAX_DEPTH`].
pub fn flatten_deep_html(html: &str) -> Option<String> {
    if !html_too_deep(html) {
        return None;
    }
    let text = crate::parse::html::to_text(html);
    let mut out = String::with_capacity(text.len() + 16);
    for para in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        out.push_str("<p>");
        escape_into(&mut out, para);
        out.push_str("</p>");
    }
    Some(out)
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

// ---------------------------------------------------------------------------
// Active content

/// Elements that run script, load active content, submit data or change how
/// the rest of a page is read: never in `content_html`.
const ACTIVE_ELEMENTS: &[&str] = &[
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "base",
    "meta", "link", "svg", "math",
];

/// Attributes whose value a browser follows as a URL.
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "srcset",
    "action",
    "formaction",
    "xlink:href",
    "poster",
    "background",
    "cite",
    "data",
    "longdesc",
    "lowsrc",
    "dynsrc",
    "codebase",
    "archive",
    "manifest",
    "ping",
    "usemap",
];

/// The first active payload in `html` as a browser would read it, described
/// (`None` when there is none): an element of [`ACTIVE_ELEMENTS`], an `on*`,
/// `style`, `srcdoc` or `formaction` attribute, or a URL attribute whose
/// value, with entities decoded and blanks and control characters taken out
/// as browsers do, starts `javascript:`, `vbscript:` or `data:`; except
/// `data:image/` as an image's source.
///
/// This is the definition the sanitizer is tested against (tests/properties.rs
/// and fuzz/), written independently of it: it reads the output with
/// html5ever's tokenizer, the same way a browser's parser starts.
pub fn find_active_content(html: &str) -> Option<String> {
    use html5ever::tendril::StrTendril;
    use html5ever::tokenizer::{
        BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
    };

    struct Sink(std::cell::RefCell<Option<String>>);
    impl TokenSink for Sink {
        type Handle = ();
        fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
            if let Token::TagToken(tag) = token
                && tag.kind == TagKind::StartTag
                && self.0.borrow().is_none()
            {
                *self.0.borrow_mut() = active_tag(&tag.name, &tag.attrs);
            }
            TokenSinkResult::Continue
        }
    }
    let tokenizer = Tokenizer::new(Sink(Default::default()), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.0.take()
}

fn active_tag(name: &str, attrs: &[html5ever::Attribute]) -> Option<String> {
    let name = name.to_ascii_lowercase();
    if ACTIVE_ELEMENTS.contains(&name.as_str()) {
        return Some(format!("<{name}> element"));
    }
    for attr in attrs {
        let attr_name = attr.name.local.to_ascii_lowercase().to_string();
        if attr_name.starts_with("on")
            || matches!(attr_name.as_str(), "style" | "srcdoc" | "formaction")
        {
            return Some(format!("{attr_name} attribute on <{name}>"));
        }
        if !URL_ATTRIBUTES.contains(&attr_name.as_str()) {
            continue;
        }
        let image = matches!(name.as_str(), "img" | "source")
            && matches!(attr_name.as_str(), "src" | "srcset");
        let urls: Vec<&str> =
            if attr_name == "srcset" || attr_name == "ping" || attr_name == "archive" {
                attr.value.split([',', ' ']).collect()
            } else {
                vec![&attr.value]
            };
        for url in urls {
            // Browsers drop leading blanks and controls and every tab or
            // line break inside a URL before they read its scheme.
            let squeezed: String = url
                .chars()
                .filter(|c| *c > ' ')
                .collect::<String>()
                .to_ascii_lowercase();
            let bad = squeezed.starts_with("javascript:")
                || squeezed.starts_with("vbscript:")
                || (squeezed.starts_with("data:")
                    && !(image && squeezed.starts_with("data:image/")));
            if bad {
                return Some(format!(
                    "{attr_name}={:?} on <{name}>",
                    attr.value.to_string()
                ));
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Items and fields

/// How much of one parsed feed is kept (`[daemon] max_items`, `max_field_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Items kept per fetch: the newest.
    pub max_items: usize,
    /// Bytes kept per stored field (a list field, such as the authors,
    /// counts as one: its items together).
    pub max_field_bytes: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Caps {
            max_items: 1000,
            max_field_bytes: 1 << 20,
        }
    }
}

/// Applies both caps to a parsed feed: keeps its newest `max_items`
/// articles, caps every field. Adds a warning for each kind of cut, and
/// returns the one about dropped items (which deserves a log line).
pub fn cap_parsed(p: &mut crate::parse::Parsed, caps: &Caps) -> Option<String> {
    let total = p.articles.len();
    let dropped = keep_newest(&mut p.articles, caps.max_items);
    let mut cut = 0usize;
    for a in &mut p.articles {
        cut += usize::from(cap_article(a, caps.max_field_bytes));
    }
    cap_feed_info(&mut p.feed, caps.max_field_bytes);
    if cut > 0 {
        p.warnings.push(format!(
            "{cut} entries had text cut to {} bytes a field or control characters removed",
            caps.max_field_bytes
        ));
    }
    (dropped > 0).then(|| {
        let note = format!(
            "the feed has {total} items: kept the newest {} (max_items)",
            caps.max_items
        );
        p.warnings.push(note.clone());
        note
    })
}

/// Keeps the `max` newest articles, in feed order, and returns how many were
/// dropped. Newest by published (else updated) time; undated articles rank
/// after dated ones, in feed order, since feeds list their newest first.
pub fn keep_newest(articles: &mut Vec<Article>, max: usize) -> usize {
    if articles.len() <= max {
        return 0;
    }
    let mut rank: Vec<usize> = (0..articles.len()).collect();
    // Stable: equal times keep feed order.
    rank.sort_by_key(|&i| {
        let a = &articles[i];
        std::cmp::Reverse(a.published.or(a.updated))
    });
    let mut keep = vec![false; articles.len()];
    for &i in &rank[..max] {
        keep[i] = true;
    }
    let dropped = articles.len() - max;
    let mut i = 0;
    articles.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    dropped
}

/// Makes every stored text of `a` fit the cap and hold no control
/// characters (see [`clean_text`]); returns true when anything was cut.
///
/// Cuts fall on a character boundary, so the text stays valid UTF-8. A URL
/// longer than the cap is dropped rather than cut (a cut URL is a wrong
/// one); cut `content_html` is sanitized again, so it stays well-formed
/// with no tag or attribute left open. The `content_hash` is left as
/// computed on the whole entry: it is stable from fetch to fetch either way.
pub fn cap_article(a: &mut Article, max: usize) -> bool {
    let mut cut = false;
    cut |= cap_string(&mut a.guid, max);
    cap_opt_url(&mut a.url, max, &mut cut);
    cut |= cap_string(&mut a.title, max);
    cut |= cap_list(&mut a.authors, max);
    if let Some(s) = a.summary.as_mut() {
        cut |= cap_string(s, max);
    }
    if let Some(html) = a.content_html.as_mut() {
        cut |= cap_html(html, max);
    }
    if let Some(s) = a.content_text.as_mut() {
        cut |= cap_string(s, max);
    }
    cut |= cap_list(&mut a.categories, max);
    if let Some(s) = a.language.as_mut() {
        cut |= cap_string(s, max);
    }
    cut |= cap_enclosures(&mut a.enclosures, max);
    cap_opt_url(&mut a.thumbnail, max, &mut cut);
    cut |= cap_feed_info(&mut a.feed, max);
    cut
}

/// [`cap_article`] for what a feed says about itself.
pub fn cap_feed_info(f: &mut FeedInfo, max: usize) -> bool {
    let mut cut = false;
    if let Some(s) = f.title.as_mut() {
        cut |= cap_string(s, max);
    }
    cap_opt_url(&mut f.url, max, &mut cut);
    cap_opt_url(&mut f.site_url, max, &mut cut);
    cut
}

fn cap_opt_url(url: &mut Option<String>, max: usize, cut: &mut bool) {
    if let Some(u) = url.as_mut() {
        *cut |= clean_in_place(u);
        if u.len() > max {
            *url = None;
            *cut = true;
        }
    }
}

/// Strips control characters and cuts `s` to at most `max` bytes.
fn cap_string(s: &mut String, max: usize) -> bool {
    let cleaned = clean_in_place(s);
    if s.len() <= max {
        return cleaned;
    }
    s.truncate(floor_char_boundary(s, max));
    true
}

fn clean_in_place(s: &mut String) -> bool {
    match clean_text(s) {
        Cow::Borrowed(_) => false,
        Cow::Owned(clean) => {
            *s = clean;
            true
        }
    }
}

/// Each item cleaned and capped; items past the cap, counted together, dropped.
fn cap_list(items: &mut Vec<String>, max: usize) -> bool {
    let mut cut = false;
    let mut total = 0usize;
    let mut keep = items.len();
    for (i, item) in items.iter_mut().enumerate() {
        cut |= cap_string(item, max);
        total += item.len();
        if total > max {
            keep = i;
            break;
        }
    }
    if keep < items.len() {
        items.truncate(keep);
        cut = true;
    }
    cut
}

fn cap_enclosures(items: &mut Vec<Enclosure>, max: usize) -> bool {
    let mut cut = false;
    let mut total = 0usize;
    let before = items.len();
    items.retain_mut(|e| {
        cut |= clean_in_place(&mut e.url);
        if let Some(t) = e.mime_type.as_mut() {
            cut |= cap_string(t, max);
        }
        total += e.url.len() + e.mime_type.as_ref().map_or(0, String::len);
        total <= max
    });
    cut || items.len() != before
}

/// Cuts sanitized HTML to at most `max` bytes and sanitizes the cut again,
/// so no element, attribute or entity is left half-open.
fn cap_html(html: &mut String, max: usize) -> bool {
    let cleaned = clean_in_place(html);
    if html.len() <= max {
        return cleaned;
    }
    let mut limit = max;
    for _ in 0..4 {
        let mut cut = floor_char_boundary(html, limit);
        // Never inside a tag: back to the `<` that opens it.
        if let Some(lt) = html[..cut].rfind('<')
            && !html[lt..cut].contains('>')
        {
            cut = lt;
        }
        let again = crate::parse::html::sanitize(&html[..cut], None);
        if again.len() <= max {
            *html = again;
            return true;
        }
        // Closing what the cut left open took room: cut deeper.
        limit = limit.saturating_sub(again.len() - max + 64);
    }
    // Still too long (a cut through hundreds of open elements): keep the text.
    let text = crate::parse::html::to_text(html);
    let mut out = String::new();
    escape_into(&mut out, &text[..floor_char_boundary(&text, max / 6)]);
    *html = out;
    true
}

/// The largest char boundary of `s` at or below `at`.
pub fn floor_char_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    (0..=at).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0)
}

/// `s` without control characters: C0 controls other than tab, line feed
/// and carriage return, DEL, C1 controls, and the noncharacters U+FFFE and
/// U+FFFF. NUL is among them: some tools that read the database stop at it.
pub fn clean_text(s: &str) -> Cow<'_, str> {
    let bad = |c: char| {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{fffe}' | '\u{ffff}')
    };
    if !has_control(s.as_bytes()) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.chars().filter(|&c| !bad(c)).collect())
}

/// Whether [`clean_text`] would drop anything from `b` (valid UTF-8), read
/// byte by byte: every text and HTML body goes through it, and decoding
/// each character to ask was 3.7 % of a 1,000-feed first pass (perf). The
/// characters dropped are all found by their first UTF-8 bytes: C0 and DEL
/// are single bytes, C1 is `C2 80`–`C2 9F`, U+FFFE/U+FFFF are `EF BF BE/BF`.
fn has_control(b: &[u8]) -> bool {
    let suspect = |c: u8| {
        (c < 0x20) & (c != b'\t') & (c != b'\n') & (c != b'\r')
            | (c == 0x7f)
            | (c == 0xc2)
            | (c == 0xef)
    };
    // 0xC2 and 0xEF only start a character (never continue one); C0 and
    // DEL are characters of their own.
    suspect_bytes(b, suspect).any(|at| match b[at] {
        0xc2 => matches!(b.get(at + 1), Some(0x80..=0x9f)),
        0xef => is_noncharacter_at(b, at),
        _ => true,
    })
}

/// The positions of the bytes of `b` that `suspect` takes, in order: the
/// start of the byte scans for rare characters (controls, CJK). `b` is
/// read in 64-byte chunks, each tested at once by a fold the compiler
/// vectorizes; only a chunk that holds a suspect byte is read byte by byte.
pub(crate) fn suspect_bytes(
    b: &[u8],
    suspect: impl Fn(u8) -> bool + Copy,
) -> impl Iterator<Item = usize> {
    const CHUNK: usize = 64;
    b.chunks(CHUNK)
        .enumerate()
        .filter(move |(_, chunk)| chunk.iter().fold(false, |hit, &c| hit | suspect(c)))
        .flat_map(move |(n, chunk)| {
            (0..chunk.len())
                .filter(move |&i| suspect(chunk[i]))
                .map(move |i| n * CHUNK + i)
        })
}

/// Whether U+FFFE or U+FFFF (`EF BF BE`, `EF BF BF`) starts at `b[at]`.
pub(crate) fn is_noncharacter_at(b: &[u8], at: usize) -> bool {
    b.get(at) == Some(&0xef)
        && b.get(at + 1) == Some(&0xbf)
        && matches!(b.get(at + 2), Some(0xbe | 0xbf))
}

/// Text for the tests of byte scans that look for control characters:
/// runs of ASCII long enough to cross their chunks, controls of both
/// ranges, the first and last of each range and their neighbours, other
/// characters whose bytes look like theirs, and random characters.
#[cfg(test)]
pub(crate) fn text_near_controls() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let part = prop_oneof![
        4 => "[a-z ]{0,40}",
        1 => proptest::char::range('\0', '\u{a0}').prop_map(String::from),
        1 => proptest::sample::select(vec![
            '\u{1f}', ' ', '~', '\u{7f}', '\u{80}', '\u{9f}', '\u{a0}', '\u{feff}', '\u{fffd}',
            '\u{fffe}', '\u{ffff}', '\u{10000}', 'é', '中', '\u{ff01}',
        ])
        .prop_map(String::from),
        1 => any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(part, 0..24).prop_map(|parts| parts.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_and_internal_addresses() {
        for internal in [
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "100.100.100.200",
            "192.0.0.192",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:c0a8:101::1",
            "2001:db8::1",
        ] {
            let ip: IpAddr = internal.parse().unwrap();
            assert!(!is_public(ip), "{internal} must not count as public");
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "172.15.255.255",
            "172.32.0.1",
            "192.169.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.1.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            let ip: IpAddr = public.parse().unwrap();
            assert!(is_public(ip), "{public} is public");
        }
    }

    #[test]
    fn the_redirect_rule_refuses_public_to_internal_only() {
        let internal: IpAddr = "10.0.0.5".parse().unwrap();
        let public: IpAddr = "93.184.216.34".parse().unwrap();
        // A configured internal feed may redirect within the intranet.
        assert!(may_connect(false, internal, false, is_public));
        // Once a public server answered, internal targets are refused...
        assert!(!may_connect(true, internal, false, is_public));
        // ... unless the operator allows it.
        assert!(may_connect(true, internal, true, is_public));
        assert!(may_connect(true, public, false, is_public));
    }

    #[test]
    fn nesting_is_counted_structurally() {
        let deep = |n: usize| format!("<rss>{}{}</rss>", "<x>".repeat(n), "</x>".repeat(n));
        assert!(check_nesting(&deep(MAX_DEPTH - 1)).is_ok());
        let err = check_nesting(&deep(100_000)).unwrap_err();
        assert!(err.contains("deeper than 512"), "{err}");
        // Unclosed tags nest too.
        assert!(check_nesting(&format!("<rss>{}", "<x>".repeat(600))).is_err());
        // Markup-looking text is not structure.
        let quiet = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY a \"<b>\">]><rss><!-- {c} --><d><![CDATA[{c}]]></d>{e}<self/></rss>",
            c = "<x>".repeat(1000),
            e = "<y/>".repeat(1000)
        );
        assert_eq!(check_nesting(&quiet), Ok(()));
        // Entries past MAX_ENTRIES are cut, the open elements closed.
        let many = format!(
            "<rss><channel><title>t</title>{}</channel></rss>",
            "<item><title>i</title></item>".repeat(MAX_ENTRIES + 5)
        );
        let checked = check_document(&many).unwrap();
        assert!(checked.warning.is_some());
        assert!(checked.text.ends_with("</item></channel></rss>"));
        assert_eq!(checked.text.matches("<item>").count(), MAX_ENTRIES);
        let json = format!(
            "{{\"version\": \"x\", \"items\": [{}{{\"id\": \"last\"}}], \"title\": \"t\"}}",
            "{\"id\": \"[}\"},".repeat(MAX_ENTRIES)
        );
        let checked = check_document(&json).unwrap();
        assert!(
            checked.text.ends_with("{\"id\": \"[}\"}]}"),
            "{}",
            &checked.text[checked.text.len() - 40..]
        );
        assert_eq!(checked.text.matches("\"id\"").count(), MAX_ENTRIES);
        assert!(
            check_document(&"<item></item>".repeat(10))
                .unwrap()
                .warning
                .is_none()
        );
        // JSON: brackets outside strings.
        let json = format!("{{\"a\": {}{}}}", "[".repeat(600), "]".repeat(600));
        assert!(check_nesting(&json).unwrap_err().contains("JSON"));
        let json = format!("{{\"a\": \"{}\"}}", "[".repeat(600));
        assert_eq!(check_nesting(&json), Ok(()));
        assert_eq!(check_nesting(r#"{"a": "\"[[[", "b": [[1]]}"#), Ok(()));
    }

    #[test]
    fn deep_html_is_told_from_sloppy_html() {
        let nested = |tag: &str, n: usize| {
            format!(
                "{}x{}",
                format!("<{tag}>").repeat(n),
                format!("</{tag}>").repeat(n)
            )
        };
        assert!(html_too_deep(&nested("div", 100_000)));
        assert!(html_too_deep(&format!(
            "{}x",
            "<span class=\"a>b\">".repeat(600)
        )));
        assert!(!html_too_deep(&nested("div", 100)));
        // Unclosed paragraphs and list items are siblings, not nesting.
        assert!(!html_too_deep(&"<p>para".repeat(5000)));
        assert!(!html_too_deep(&"<li>item<br><img src=x>".repeat(5000)));
        // Balanced siblings never add up.
        assert!(!html_too_deep(&"<div>x</div>".repeat(5000)));
        // Text in comments and scripts is not markup.
        assert!(!html_too_deep(&format!(
            "<!-- {} -->",
            "<div>".repeat(1000)
        )));
        assert!(!html_too_deep(&format!(
            "<script>{}</script>",
            "<div>".repeat(1000)
        )));
        let flat = flatten_deep_html(&nested("div", 10_000)).unwrap();
        assert_eq!(flat, "<p>x</p>");
        assert_eq!(flatten_deep_html("<p>fine</p>"), None);
    }

    #[test]
    fn active_content_is_recognised() {
        for active in [
            "<script>x</script>",
            "<p><SCRIPT>x</SCRIPT></p>",
            "<svg><a href=x>y</a></svg>",
            "<img src=x onerror=alert(1)>",
            "<p style=\"background:url(x)\">",
            "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
            "<a href=\" &#106;avascript:x\">x</a>",
            "<a href=\"VBScript:x\">x</a>",
            "<a href=\"data:text/html,x\">x</a>",
            "<img srcset=\"a.png 1x, javascript:x 2x\">",
            "<form action=x><button>go</button></form>",
        ] {
            assert!(find_active_content(active).is_some(), "{active}");
        }
        for inert in [
            "<p>script <b>bold</b></p>",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "<a href=\"https://example.com/javascript:x\">x</a>",
            "<img src=\"data:image/png;base64,AAAA\">",
            "<p title=\"onclick\">x</p>",
        ] {
            assert_eq!(find_active_content(inert), None, "{inert}");
        }
    }

    fn article(guid: &str, published: Option<&str>) -> Article {
        Article {
            guid: guid.into(),
            url: None,
            title: guid.into(),
            authors: vec![],
            published: published.map(|p| p.parse().unwrap()),
            updated: None,
            summary: None,
            content_html: None,
            content_text: None,
            categories: vec![],
            language: None,
            enclosures: vec![],
            thumbnail: None,
            feed: FeedInfo::default(),
            content_hash: String::new(),
            near_key: Default::default(),
        }
    }

    #[test]
    fn the_newest_items_are_kept_in_feed_order() {
        let mut items = vec![
            article("old", Some("2024-01-01T00:00:00Z")),
            article("undated-1", None),
            article("newest", Some("2024-03-01T00:00:00Z")),
            article("undated-2", None),
            article("middle", Some("2024-02-01T00:00:00Z")),
        ];
        assert_eq!(keep_newest(&mut items, 5), 0);
        assert_eq!(keep_newest(&mut items, 3), 2);
        let guids: Vec<&str> = items.iter().map(|a| a.guid.as_str()).collect();
        assert_eq!(guids, ["old", "newest", "middle"]);
        // Without dates, the first ones (feeds list newest first).
        let mut undated: Vec<Article> = (0..10).map(|i| article(&i.to_string(), None)).collect();
        assert_eq!(keep_newest(&mut undated, 2), 8);
        assert_eq!(undated[0].guid, "0");
        assert_eq!(undated[1].guid, "1");
    }

    #[test]
    fn fields_are_capped_on_char_boundaries_without_controls() {
        let mut a = article("g", None);
        a.title = format!("A\u{0}B\u{7}C{}", "é".repeat(1000));
        a.content_text = Some("line\none\ttab\r".into());
        a.url = Some(format!("https://example.com/{}", "x".repeat(100)));
        a.authors = (0..100).map(|i| format!("author {i}")).collect();
        a.content_html = Some(format!(
            "<p>{}</p><p><a href=\"https://example.com/{}\">link</a></p>",
            "word ".repeat(30),
            "y".repeat(50)
        ));
        assert!(cap_article(&mut a, 101));
        assert!(a.title.starts_with("ABC"), "{}", a.title);
        assert!(a.title.len() <= 101);
        assert_eq!(a.content_text.as_deref(), Some("line\none\ttab\r"));
        assert_eq!(a.url, None, "a URL over the cap is dropped, not cut");
        assert!(a.authors.iter().map(String::len).sum::<usize>() <= 101);
        assert!(!a.authors.is_empty());
        let html = a.content_html.as_deref().unwrap();
        assert!(html.len() <= 101, "{html}");
        assert!(
            html.starts_with("<p>word") && html.ends_with("</p>"),
            "{html}"
        );
        assert!(!html.contains("<a"), "the link was cut whole: {html}");

        let mut small = article("g", None);
        small.title = "fits".into();
        assert!(!cap_article(&mut small, 101));
        assert_eq!(floor_char_boundary("aé", 2), 1);
        assert_eq!(clean_text("x\u{85}y\u{fffe}z\u{0}"), "xyz");
    }

    proptest::proptest! {
        /// The byte scan finds exactly the characters `clean_text` drops.
        #[test]
        fn control_scan_agrees_with_the_characters(s in text_near_controls()) {
            let drops = s.chars().any(|c| {
                (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{fffe}' | '\u{ffff}')
            });
            proptest::prop_assert_eq!(has_control(s.as_bytes()), drops, "{:?}", s);
            proptest::prop_assert_eq!(matches!(clean_text(&s), Cow::Borrowed(_)), !drops);
        }
    }
}
