//! Turns the bytes of one feed document into `Article`s: decode the charset,
//! parse RSS/Atom/JSON Feed, and normalize every entry.
//!
//! Invariant: this module does no I/O and reads no clock; `now` comes in.
//!
//! The steps: [`charset::decode`] makes UTF-8 text; feed-rs parses it (RSS
//! 0.9x/1.0/2.0, Atom, JSON Feed), after [`repair::compat`] has made the
//! formats feed-rs does not know (Atom 0.3, odd RSS versions) look like ones
//! it does, and [`cdf`] has rewritten a CDF channel as RSS; when the strict parse fails, [`repair::repair`] fixes the XML and
//! it is parsed once more, with a [`MALFORMED`] warning. One light pass,
//! [`extras::scan`], reads what feed-rs skips in RSS (RSS 1.0 `rdf:about`,
//! `<a10:link>`, `<pubdate>`, every `<enclosure>`, `itunes:author`,
//! `xml:lang`, `<ttl>`, `sy:updatePeriod`). Then every entry becomes an
//! [`Article`] by the rules on its fields:
//!
//! - `guid`: the entry's id; without one, `trawl:` and the SHA-256 of
//!   canonical URL, title and published time, so that it is the same on
//!   every fetch.
//! - `url`: the first alternate link (an RSS `<link>`, Atom `rel="alternate"`,
//!   JSON Feed `url`), resolved against `xml:base` and the feed URL (without
//!   one, the feed's `rel="self"` link) and made canonical; an RSS entry
//!   without a link uses its guid when that is a URL (as feedparser does with
//!   a permalink guid).
//! - `title`, `categories`: one line of plain text. RSS and Atom `html` text
//!   is read as HTML (RSS titles are escaped HTML in practice); Atom `text`
//!   and JSON Feed text only get their whitespace collapsed.
//! - `authors`: names of the entry's authors (`<author>`, `dc:creator`, Atom
//!   and JSON Feed authors), else the feed's; `By X` → `X`; an address alone
//!   is not a name and is dropped.
//! - `published`: the entry's published date, else its updated date (many
//!   feeds date entries only with `<updated>`). `updated`: the entry's updated
//!   date, except that for RSS 2.0 feed-rs copies `pubDate` there, which we
//!   undo. A zone named "CST" is China's when the feed's time zone or
//!   declared language is Chinese, else US Central ([`date::Cst`]).
//! - `content_html`, `content_text`: from the content (`content:encoded`,
//!   Atom `<content>`, JSON Feed `content_html`/`content_text`), else from the
//!   summary; HTML is sanitized with links made absolute against the content's
//!   `xml:base`, else the entry link, else the feed URL.
//! - `summary`: the summary as plain text, paragraphs kept.
//! - `language`: the entry's `xml:lang`, its `dc:language`, the channel's
//!   `<language>`, its `dc:language`, the HTTP `Content-Language`.
//! - Text fields: UTF-8 that was encoded twice is repaired when that is
//!   unambiguous ([`charset::repair_double_utf8`]).
//! - `thumbnail`: `media:thumbnail`, else the item's `itunes:image` or JSON
//!   Feed `image`, else an image enclosure ([`extras::thumbnail`]); an
//!   absolute http(s) URL.
//! - `content_hash`: over the title and the text (content, else summary).

mod cdf;
pub mod charset;
pub mod date;
mod extras;
pub mod html;
mod repair;
pub mod urls;

use std::borrow::Cow;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use feed_rs::model::{self, FeedType};
use feed_rs::parser::{ParseErrorKind, ParseFeedError};
use sha2::{Digest, Sha256};
use url::Url;

use crate::article::{Article, Enclosure, FeedInfo, format_time};
use crate::dedupe;
use repair::{Compat, Repaired};

/// One feed document and what is known about where it came from.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    pub bytes: &'a [u8],
    /// The address the bytes came from: base for relative links.
    pub url: Option<&'a str>,
    /// The HTTP `Content-Type` they were served with; its charset wins.
    pub content_type: Option<&'a str>,
    /// The HTTP `Content-Language`: the articles' language when the feed
    /// names none.
    pub content_language: Option<&'a str>,
    /// Zone for dates that carry none.
    pub timezone: Tz,
    pub now: DateTime<Utc>,
}

/// A parsed feed: its articles in feed order, plus what went wrong on the way
/// (bad entries, undecodable bytes) that did not stop it.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub feed: FeedInfo,
    pub articles: Vec<Article>,
    pub warnings: Vec<String>,
    /// RSS `<ttl>`: how long the feed may be cached.
    pub ttl: Option<Duration>,
    /// `sy:updatePeriod` / `sy:updateFrequency`: how often it changes.
    pub update_period: Option<Duration>,
}

impl Parsed {
    /// True when the document was not well-formed and was read only after
    /// repairing it (see [`MALFORMED`]).
    pub fn malformed(&self) -> bool {
        self.warnings.iter().any(|w| w.starts_with(MALFORMED))
    }
}

/// The start of the warning that says the document was broken (XML that is
/// not well-formed, JSON that is not quite a JSON Feed) and was read only
/// after repairing it; what was repaired follows.
pub const MALFORMED: &str = "malformed";

/// A document that is not a feed at all.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed: {0}")]
    NotAFeed(String),
}

/// Decodes, parses and normalizes one feed document.
pub fn parse(input: &Input) -> Result<Parsed, ParseError> {
    // feed-rs and quick-xml have panicked on hostile input (fuzzing found
    // three such inputs): a panic there must be one feed's error, not the
    // end of `trawl parse` or of a worker.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse_unguarded(input)))
        .unwrap_or_else(|_| {
            Err(ParseError::NotAFeed(
                "the feed parser failed on this document (a bug in trawl or feed-rs)".into(),
            ))
        })
}

fn parse_unguarded(input: &Input) -> Result<Parsed, ParseError> {
    let decoded = charset::decode(input.bytes, input.content_type);
    // Hostile nesting is refused, and an endless list of entries cut short,
    // before any parser walks the text (see crate::limits).
    let checked = crate::limits::check_document(&decoded.text).map_err(ParseError::NotAFeed)?;
    let mut warnings: Vec<String> = checked.warning.into_iter().collect();
    if decoded.had_errors {
        warnings.push(format!(
            "bytes not valid in {} were replaced by U+FFFD",
            decoded.encoding
        ));
    }
    // A base that is not an absolute URL would make feed-rs fail the feed.
    let base = input.url.and_then(|u| Url::parse(u).ok());
    let (feed, text) = read(&checked.text, base.as_ref(), input.timezone, &mut warnings)?;
    Ok(normalize(feed, &text, input, base.as_ref(), warnings))
}

/// What feed-rs's id generator returns, so that entries without an id can be
/// told apart from entries whose id happens to look generated.
const NO_ID: &str = "\u{1}trawl:no-id";

fn feed_rs(doc: &str, base: Option<&Url>, tz: Tz) -> Result<model::Feed, ParseFeedError> {
    // What would make feed-rs or quick-xml panic is taken out first.
    let doc = repair::defuse(doc);
    // "CST" in a Chinese feed is China's; the language must be known
    // before feed-rs reads the dates, so it is the one the text declares.
    let cst = date::Cst::for_feed(tz, extras::declared_language(&doc));
    feed_rs::parser::Builder::new()
        .base_uri(base.map(Url::as_str))
        .sanitize_content(false)
        .timestamp_parser(move |s| date::parse_date_in(s, tz, cst))
        .id_generator(|_, _, _| NO_ID.to_string())
        .build()
        .parse(doc.as_bytes())
}

/// Parses the decoded text: strictly first, then once more after repairs.
/// Returns the feed and the text it was read from (repaired, or the part
/// of an HTML page that was the feed).
fn read<'a>(
    text: &'a str,
    base: Option<&Url>,
    tz: Tz,
    warnings: &mut Vec<String>,
) -> Result<(model::Feed, Cow<'a, str>), ParseError> {
    let start = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    match start.chars().next() {
        None => return Err(not_a_feed("an empty document")),
        Some('{') => return Ok((read_json(text, base, tz, warnings)?, Cow::Borrowed(text))),
        Some('<') => {}
        Some(_) if text.contains("<?xml") || text.contains("<rss") => {}
        Some(_) => {
            let head: String = start.chars().take(40).collect();
            return Err(not_a_feed(&format!(
                "neither XML nor JSON (it starts {head:?})"
            )));
        }
    }

    let root = repair::root_tag(text);
    let html = match &root {
        Some(root) => matches!(
            root.name.to_ascii_lowercase().as_str(),
            "html" | "head" | "body"
        ),
        None => start.len() >= 14 && start.as_bytes()[..14].eq_ignore_ascii_case(b"<!doctype html"),
    };
    if html {
        // Now and then a feed comes wrapped in an XHTML page.
        if let Some(at) = embedded_feed(text) {
            let inner = &text[at..];
            if let Ok(read) = read_xml(inner, repair::root_tag(inner), base, tz, warnings) {
                warnings.push("the feed was inside an HTML page".to_string());
                return Ok(read);
            }
        }
        let name = root.as_ref().map_or("html", |r| r.name);
        let feeds = crate::discover::discover(text, base);
        if !feeds.is_empty() {
            let urls: Vec<&str> = feeds.iter().map(|f| f.url.as_str()).collect();
            return Err(not_a_feed(&format!(
                "an HTML page (<{name}>) that links these feeds: {}",
                urls.join(", ")
            )));
        }
        return Err(not_a_feed(&format!(
            "an HTML page (<{name}>), not RSS, Atom or JSON Feed, and it links no feed"
        )));
    }
    // Microsoft's Channel Definition Format: read as the RSS it maps to.
    if let Some(root) = root.as_ref().filter(|r| cdf::is_cdf(r.name))
        && let Some(rss) =
            cdf::to_rss(text).or_else(|| cdf::to_rss(&repair::repair(text, false).text))
    {
        let (feed, doc) = read_xml(&rss, repair::root_tag(&rss), base, tz, warnings)
            .map_err(|e| not_a_feed(&format!("CDF <{}>: {e}", root.name)))?;
        let doc = doc.into_owned();
        return Ok((feed, Cow::Owned(doc)));
    }
    read_xml(text, root, base, tz, warnings)
}

fn read_xml<'a>(
    text: &'a str,
    root: Option<repair::StartTag>,
    base: Option<&Url>,
    tz: Tz,
    warnings: &mut Vec<String>,
) -> Result<(model::Feed, Cow<'a, str>), ParseError> {
    let mut doc = Cow::Borrowed(text);
    let mut repaired = None;
    match root.as_ref().map(|r| repair::compat(text, r)) {
        Some(Compat::Rewritten(s)) => doc = Cow::Owned(s),
        Some(Compat::Atom03) => {
            let r = repair::repair(text, true);
            doc = Cow::Owned(r.text.clone());
            repaired = Some(r);
        }
        Some(Compat::None) | None => {}
    }
    if let Some(r) = repaired.as_ref().filter(|r| !r.fixes.is_empty()) {
        warnings.push(malformed("XML", r));
    }

    let first = match feed_rs(&doc, base, tz) {
        // No entries where the text has some: a well-formed document whose
        // structure hides them (items after </channel>, say).
        Ok(feed)
            if feed.entries.is_empty()
                && repaired.is_none()
                && (doc.contains("<item") || doc.contains("<entry")) =>
        {
            let r = repair::repair(&doc, false);
            if !r.fixes.is_empty()
                && let Ok(again) = feed_rs(&r.text, base, tz)
                && !again.entries.is_empty()
            {
                warnings.push(malformed("XML", &r));
                return Ok((again, Cow::Owned(r.text)));
            }
            return Ok((feed, doc));
        }
        // Atom content that is a base64 document (RFC 4287 §4.1.3.3): the
        // repair pass decodes it, and the text is read once more.
        Ok(feed) if repaired.is_none() && repair::has_base64_content(&feed) => {
            let r = repair::repair(&doc, false);
            if r.decoded
                && let Ok(again) = feed_rs(&r.text, base, tz)
            {
                if !r.fixes.is_empty() {
                    warnings.push(malformed("XML", &r));
                }
                return Ok((again, Cow::Owned(r.text)));
            }
            return Ok((feed, doc));
        }
        Ok(feed) => return Ok((feed, doc)),
        Err(e) => e,
    };
    if repaired.is_none() {
        let r = repair::repair(&doc, false);
        if !r.fixes.is_empty()
            && let Ok(feed) = feed_rs(&r.text, base, tz)
        {
            warnings.push(malformed("XML", &r));
            return Ok((feed, Cow::Owned(r.text)));
        }
        repaired = Some(r);
    }
    Err(explain(
        &doc,
        root.as_ref().map(|r| r.name),
        &first,
        repaired.as_ref(),
    ))
}

fn read_json(
    text: &str,
    base: Option<&Url>,
    tz: Tz,
    warnings: &mut Vec<String>,
) -> Result<model::Feed, ParseError> {
    let err = match feed_rs(text, base, tz) {
        Ok(feed) => return Ok(feed),
        Err(e) => e,
    };
    if let Some(fixed) = repair::json_feed(text)
        && let Ok(feed) = feed_rs(&fixed, base, tz)
    {
        warnings.push(format!("{MALFORMED} JSON Feed, repaired"));
        return Ok(feed);
    }
    Err(not_a_feed(&format!("JSON, but not a JSON Feed ({err})")))
}

/// Where a feed's root element starts inside an HTML page, if it has one.
fn embedded_feed(text: &str) -> Option<usize> {
    ["<rss", "<feed", "<rdf:RDF"]
        .iter()
        .filter_map(|pat| {
            text.match_indices(pat).map(|(at, _)| at).find(|&at| {
                text.as_bytes()
                    .get(at + pat.len())
                    .is_some_and(|c| c.is_ascii_whitespace() || *c == b'>')
            })
        })
        .min()
}

fn not_a_feed(why: &str) -> ParseError {
    ParseError::NotAFeed(why.to_string())
}

fn malformed(what: &str, r: &Repaired) -> String {
    let fixes: Vec<&str> = r.fixes.iter().map(|f| f.describe()).collect();
    format!("{MALFORMED} {what}, repaired: {}", fixes.join(", "))
}

/// The error for a document that could not be read even after repairs.
fn explain(
    doc: &str,
    root: Option<&str>,
    err: &ParseFeedError,
    repaired: Option<&Repaired>,
) -> ParseError {
    let feed_root = |name: &str| {
        let local = name.rsplit(':').next().unwrap_or(name);
        matches!(local, "rss" | "RDF" | "feed" | "entry")
    };
    if let Some(name) = root.filter(|n| !feed_root(n)) {
        return not_a_feed(&format!(
            "XML whose root element is <{name}>, not RSS, Atom or JSON Feed"
        ));
    }
    let position = match err {
        ParseFeedError::ParseError(
            ParseErrorKind::UnknownMimeType { position, .. }
            | ParseErrorKind::MissingContent { position, .. }
            | ParseErrorKind::UnknownEnumVariant { position, .. }
            | ParseErrorKind::IllegalState { position, .. },
        ) => Some((*position as usize, None)),
        _ => repaired.and_then(|r| {
            r.first_problem
                .map(|p| (p, r.fixes.first().map(|f| f.describe())))
        }),
    };
    let err = match (err, root) {
        (ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot), Some(r)) if r.ends_with("rss") => {
            "<rss> without a <channel>".to_string()
        }
        _ => err.to_string(),
    };
    match position {
        Some((at, what)) => {
            let (line, column) = repair::line_col(doc, at);
            let what = what.map(|w| format!(" ({w})")).unwrap_or_default();
            not_a_feed(&format!("at line {line}, column {column}{what}: {err}"))
        }
        None => not_a_feed(&err),
    }
}

/// Everything about the feed that every article needs.
struct Context<'a> {
    kind: FeedType,
    base: Option<&'a Url>,
    info: FeedInfo,
    authors: Vec<String>,
    language: Option<String>,
    tz: Tz,
}

/// A link feed-rs is given for an RSS 1.0 item that has none, so that it
/// keeps the item (it drops items without a link); never an article's URL.
const NO_LINK: &str = "trawl:no-link";

fn normalize(
    mut feed: model::Feed,
    text: &str,
    input: &Input,
    base: Option<&Url>,
    mut warnings: Vec<String>,
) -> Parsed {
    let kind = feed.feed_type.clone();
    let mut extras = if extras::wanted(&kind, text) {
        extras::scan(text, &kind)
    } else {
        extras::Extras::default()
    };
    // XHTML left unescaped in RSS text: escaped, and read once more.
    let escaped;
    let mut text = text;
    if extras.markup_in_text {
        let r = repair::repair(text, false);
        if r.fixes.contains(&repair::Fix::MarkupInText)
            && let Ok(again) = feed_rs(&r.text, base, input.timezone)
            && again.entries.len() == feed.entries.len()
        {
            feed = again;
            escaped = r.text;
            text = &escaped;
            extras = extras::scan(text, &kind);
            warnings.push("HTML markup inside RSS text elements was read as HTML".to_string());
        }
    }
    if kind == FeedType::RSS1
        && extras.items.len() > feed.entries.len()
        && let Ok(again) = feed_rs(&with_links(text, &extras.items), base, input.timezone)
        && again.entries.len() == extras.items.len()
    {
        feed = again;
    }
    // The extras line up with feed-rs's entries when both saw as many items.
    let items = (extras.items.len() == feed.entries.len()).then_some(&extras.items[..]);
    // Without the address the document came from, its own `rel="self"`
    // link is the next best base for relative links.
    let self_link = match base {
        Some(_) => None,
        None => feed
            .links
            .iter()
            .find(|l| l.rel.as_deref() == Some("self"))
            .and_then(|l| Url::parse(l.href.trim()).ok()),
    };
    let base = base.or(self_link.as_ref());
    let info = FeedInfo {
        title: feed
            .title
            .as_ref()
            .map(|t| fix_text(one_line(t, &kind)))
            .filter(|t| !t.is_empty()),
        url: input.url.map(str::to_string),
        site_url: alternate(&feed.links, &kind).and_then(|l| urls::canonicalize(&l.href, base)),
    };
    let cx = Context {
        authors: author_names(&feed.authors),
        language: non_empty(feed.language.as_deref())
            .or_else(|| non_empty(extras.language.as_deref()))
            .or_else(|| non_empty(input.content_language)),
        kind,
        base,
        info,
        tz: input.timezone,
    };
    let articles = feed
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| article(e, items.and_then(|x| x.get(i)), &cx))
        .collect();
    let ttl = feed
        .ttl
        .or(extras.ttl)
        .filter(|&m| m > 0)
        .map(|m| Duration::from_secs(u64::from(m) * 60));
    let update_period = match (&extras.update_period, extras.update_frequency) {
        (Some(p), f) => crate::scheduler::sy_update_period(p, f),
        (None, Some(f)) => crate::scheduler::sy_update_period("daily", Some(f)),
        (None, None) => None,
    };
    Parsed {
        feed: cx.info,
        articles,
        warnings,
        ttl,
        update_period,
    }
}

/// `text` with a [`NO_LINK`] link put into every item that has no link.
fn with_links(text: &str, items: &[extras::Item]) -> String {
    let mut out = String::with_capacity(text.len() + items.len() * 32);
    let mut at = 0;
    for it in items {
        if it.has_link || it.open_end <= at {
            continue;
        }
        out.push_str(&text[at..it.open_end]);
        out.push_str("<link>");
        out.push_str(NO_LINK);
        out.push_str("</link>");
        at = it.open_end;
    }
    out.push_str(&text[at..]);
    out
}

/// `s` with double-encoded UTF-8 repaired (see [`charset::repair_double_utf8`]).
fn fix_text(s: String) -> String {
    match charset::repair_double_utf8(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(fixed) => fixed,
    }
}

/// A trimmed string that is not empty.
fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn article(entry: &model::Entry, extra: Option<&extras::Item>, cx: &Context) -> Article {
    let rss = matches!(cx.kind, FeedType::RSS0 | FeedType::RSS1 | FeedType::RSS2);
    let id = entry.id.trim();
    let id = (id != NO_ID && !id.is_empty())
        .then_some(id)
        .or_else(|| extra.and_then(|x| x.about.as_deref()).map(str::trim))
        .filter(|id| !id.is_empty());

    // An RSS guid is a permalink unless it says otherwise; a relative one
    // counts only when it is a path or says so (`<guid>12345</guid>` is
    // not a link).
    let permalink = extra.and_then(|x| x.permalink);
    // An Atom id that is an http(s) URL is the entry's address too.
    let guid_link = |id: &&str| {
        if cx.kind == FeedType::Atom {
            return is_http(id);
        }
        rss && entry.id.trim() == *id
            && permalink != Some(false)
            && (is_http(id) || id.starts_with('/') || permalink == Some(true))
    };
    let link = alternate(&entry.links, &cx.kind)
        .map(|l| l.href.as_str())
        .or_else(|| extra.and_then(|x| x.atom_link.as_deref()))
        .or_else(|| id.filter(guid_link));
    let url = link.and_then(|href| urls::canonicalize(href, cx.base));

    let title = entry
        .title
        .as_ref()
        .or_else(|| entry.media.iter().find_map(|m| m.title.as_ref()))
        .map(|t| fix_text(one_line(t, &cx.kind)))
        .or_else(|| {
            extra
                .and_then(|x| x.title.as_deref())
                .map(|t| fix_text(html::plain(t)))
        })
        .unwrap_or_default();

    let mut authors = author_names(&entry.authors);
    for name in extra.iter().flat_map(|x| &x.authors) {
        let name = author_name(name);
        if !name.is_empty() && !authors.contains(&name) {
            authors.push(name);
        }
    }
    if authors.is_empty() {
        authors.clone_from(&cx.authors);
    }

    let published = entry.published.or(entry.updated).or_else(|| {
        extra.and_then(|x| x.date.as_deref()).and_then(|d| {
            let cst = date::Cst::for_feed(cx.tz, cx.language.as_deref());
            date::parse_date_in(d, cx.tz, cst)
        })
    });
    let updated = match cx.kind {
        FeedType::RSS2 if entry.updated == entry.published => None,
        _ => entry.updated,
    };

    let summary = entry.summary.as_ref().map(|t| body_of_text(t, &cx.kind));
    let content = entry
        .content
        .as_ref()
        .and_then(|c| body_of_content(c, &cx.kind));
    let body = content.as_ref().or(summary.as_ref());
    // One HTML parse per body: sanitized, and its text read from the result.
    let (content_html, body_text) = match body {
        Some(Body::Html(h)) => {
            let base = content_base(entry, link, cx.base);
            let (html, text) = html::sanitize_with_text(h, base.as_ref());
            (Some(html), Some(text))
        }
        Some(body @ Body::Text(_)) => (None, Some(body.text())),
        None => (None, None),
    };
    // A summary that is the body (no content, or the same text twice) is
    // not read again.
    let summary_text = summary
        .as_ref()
        .map(|s| match (s, body) {
            (Body::Html(a), Some(Body::Html(b))) | (Body::Text(a), Some(Body::Text(b)))
                if a == b =>
            {
                body_text.clone().unwrap_or_default()
            }
            _ => s.text(),
        })
        .map(fix_text)
        .filter(|s| !s.is_empty());
    let content_html = content_html.map(fix_text).filter(|h| !h.trim().is_empty());
    let content_text = body_text.map(fix_text).filter(|t| !t.is_empty());

    let text_for_hash = content_text
        .as_deref()
        .or(summary_text.as_deref())
        .unwrap_or("");
    let content_hash = dedupe::content_hash(&title, text_for_hash);

    let guid = match id {
        Some(id) => id.to_string(),
        None => derived_id(url.as_deref(), &title, published, &content_hash),
    };

    Article {
        guid,
        url,
        title,
        authors,
        published,
        updated,
        summary: summary_text,
        content_html,
        content_text,
        categories: categories(&entry.categories),
        language: non_empty(entry.language.as_deref())
            .or_else(|| non_empty(extra.and_then(|x| x.lang.as_deref())))
            .or_else(|| non_empty(extra.and_then(|x| x.language.as_deref())))
            .or_else(|| cx.language.clone()),
        enclosures: enclosures(entry, extra, &cx.kind, cx.base),
        thumbnail: extras::thumbnail(entry, extra, cx.base),
        feed: cx.info.clone(),
        content_hash,
        near_key: Default::default(),
    }
}

/// A stable id for an entry that has none: the same entry gets the same id
/// on every fetch. Link, title and date say which entry it is; the content
/// hash joins in only when there is neither link nor title.
fn derived_id(
    url: Option<&str>,
    title: &str,
    published: Option<DateTime<Utc>>,
    content_hash: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(url.unwrap_or("").as_bytes());
    h.update([0u8]);
    h.update(title.as_bytes());
    h.update([0u8]);
    if let Some(t) = published {
        h.update(format_time(&t).as_bytes());
    }
    if url.is_none() && title.is_empty() {
        h.update([0u8]);
        h.update(content_hash.as_bytes());
    }
    format!("trawl:{}", hex::encode(h.finalize()))
}

fn is_http(s: &str) -> bool {
    let s = s.as_bytes();
    s.len() > 8
        && (s[..7].eq_ignore_ascii_case(b"http://") || s[..8].eq_ignore_ascii_case(b"https://"))
}

/// The first link to the entry (or feed) itself. JSON Feed attachments come
/// through feed-rs as links too; they are the ones with a media type.
fn alternate<'a>(links: &'a [model::Link], kind: &FeedType) -> Option<&'a model::Link> {
    links.iter().find(|l| {
        l.target.is_none()
            && l.href != NO_LINK
            && matches!(l.rel.as_deref(), None | Some("alternate"))
            && !(*kind == FeedType::JSON && l.media_type.is_some())
            && !l.href.trim().is_empty()
    })
}

/// Where relative links in an entry's content point from.
fn content_base(entry: &model::Entry, link: Option<&str>, feed: Option<&Url>) -> Option<Url> {
    let join = |s: &str| match feed {
        Some(b) => b.join(s).ok(),
        None => Url::parse(s).ok(),
    };
    entry
        .base
        .as_deref()
        .and_then(join)
        .or_else(|| link.and_then(join))
        .or_else(|| feed.cloned())
}

/// A body of text as the feed typed it.
enum Body<'a> {
    Html(&'a str),
    Text(&'a str),
}

impl Body<'_> {
    fn text(&self) -> String {
        match self {
            Body::Html(h) => html::to_text(h),
            Body::Text(t) => html::text_paragraphs(t),
        }
    }
}

/// Top-level type and subtype of a media type, lowercase by construction in
/// feed-rs, without parameters.
fn media_type(mt: &str) -> (&str, &str) {
    let essence = mt.split(';').next().unwrap_or("").trim();
    essence.split_once('/').unwrap_or((essence, ""))
}

fn is_html_type(mt: &str) -> bool {
    let (_, sub) = media_type(mt);
    sub.eq_ignore_ascii_case("html") || sub.to_ascii_lowercase().starts_with("xhtml")
}

/// RSS has no text types, and its plain text is escaped HTML in practice.
fn body_of_text<'a>(t: &'a model::Text, kind: &FeedType) -> Body<'a> {
    if is_html_type(t.content_type.as_str()) || !matches!(kind, FeedType::Atom | FeedType::JSON) {
        Body::Html(&t.content)
    } else {
        Body::Text(&t.content)
    }
}

fn body_of_content<'a>(c: &'a model::Content, kind: &FeedType) -> Option<Body<'a>> {
    let body = c.body.as_deref().filter(|b| !b.trim().is_empty())?;
    let mt = c.content_type.as_str();
    let (ty, sub) = media_type(mt);
    let rss = !matches!(kind, FeedType::Atom | FeedType::JSON);
    if is_html_type(mt) || (rss && sub.eq_ignore_ascii_case("plain")) {
        Some(Body::Html(body))
    } else if ty.eq_ignore_ascii_case("text") {
        Some(Body::Text(body))
    } else {
        None
    }
}

/// A title or name as one line of plain text.
fn one_line(t: &model::Text, kind: &FeedType) -> String {
    match body_of_text(t, kind) {
        Body::Html(h) => html::plain(h),
        Body::Text(s) => html::collapse_whitespace(s),
    }
}

fn author_names(people: &[model::Person]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for p in people {
        let Some(name) = p.name.as_deref().map(author_name) else {
            continue;
        };
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// A person's name as a byline gives it: `By Liu Yisi` → `Liu Yisi`;
/// `liu@example.com (Liu Yisi)`, `Liu Yisi (liu@example.com)` and
/// `Liu Yisi <liu@example.com>` → `Liu Yisi`; `(Liu Yisi)`, what feed-rs
/// leaves of the first, → `Liu Yisi`. An address or a URL alone is no name:
/// empty.
fn author_name(raw: &str) -> String {
    let s = fix_text(html::plain(raw));
    let mut s = s.as_str();
    loop {
        let before = s;
        if let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
            s = inner.trim();
        }
        // `email (Name)` / `Name (email)` / `Name <email>`.
        if let Some(open) = s.rfind(['(', '<'])
            && let Some(inner) = s[open + 1..].strip_suffix([')', '>'])
        {
            let outer = s[..open].trim();
            let inner = inner.trim();
            if is_address(outer) && !inner.is_empty() {
                s = inner;
            } else if is_address(inner) && !outer.is_empty() {
                s = outer;
            }
        }
        if s.len() > 3 && s.is_char_boundary(3) {
            let head = &s[..3];
            if head.eq_ignore_ascii_case("by ") || head.eq_ignore_ascii_case("by:") {
                s = s[3..].trim_start();
            }
        }
        if s == before {
            break;
        }
    }
    if is_address(s) || is_http(s) || s.starts_with("www.") {
        return String::new();
    }
    s.to_string()
}

/// An e-mail address (with or without `mailto:`), not a name.
fn is_address(s: &str) -> bool {
    let s = s.strip_prefix("mailto:").unwrap_or(s);
    s.contains('@') && !s.contains(char::is_whitespace)
}

fn categories(cats: &[model::Category]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in cats {
        let raw = c
            .label
            .as_deref()
            .filter(|l| !l.trim().is_empty())
            .unwrap_or(&c.term);
        let name = fix_text(html::plain(raw));
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// RSS `<enclosure>` and `media:content` (feed-rs media objects), Atom
/// `rel="enclosure"` links and JSON Feed attachments; one per URL.
fn enclosures(
    entry: &model::Entry,
    extra: Option<&extras::Item>,
    kind: &FeedType,
    base: Option<&Url>,
) -> Vec<Enclosure> {
    let mut out: Vec<Enclosure> = Vec::new();
    let mut add = |url: String, mime_type: Option<String>, length: Option<u64>| match out
        .iter_mut()
        .find(|e| e.url == url)
    {
        Some(e) => {
            e.mime_type = e.mime_type.take().or(mime_type);
            e.length = e.length.or(length);
        }
        None => out.push(Enclosure {
            url,
            mime_type,
            length,
        }),
    };
    for m in &entry.media {
        for c in &m.content {
            if let Some(u) = &c.url {
                add(
                    u.to_string(),
                    c.content_type.as_ref().map(|t| t.to_string()),
                    c.size,
                );
            }
        }
    }
    // feed-rs keeps only the `media:content` of an item that has both.
    for (href, mime_type, length) in extra.iter().flat_map(|x| &x.enclosures) {
        if let Some(url) = urls::resolve(href, base) {
            add(url.into(), mime_type.clone(), *length);
        }
    }
    for l in &entry.links {
        let attachment = l.rel.as_deref() == Some("enclosure")
            || (*kind == FeedType::JSON && l.media_type.is_some());
        if !attachment {
            continue;
        }
        let url = match base {
            Some(b) => b.join(l.href.trim()),
            None => Url::parse(l.href.trim()),
        };
        if let Ok(url) = url {
            add(url.into(), l.media_type.clone(), l.length);
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
