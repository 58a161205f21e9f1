//! What feed-rs leaves out of RSS, read in one light pass over the text.
//!
//! feed-rs reads the common elements well but skips or loses some that
//! real feeds use: the RSS 1.0 `rdf:about` of an item (its id), `guid
//! isPermaLink="false"`, an Atom `<link>` or `<author>` inside an RSS item
//! (`<a10:link>`), `<pubdate>` spelled in another case, `<itunes:author>`,
//! every `<enclosure>` when there is `media:content` too, `xml:lang` and
//! `dc:language` of an item, its thumbnail (`media:thumbnail` at any depth,
//! `itunes:image`, which feed-rs drops from an item with no other iTunes
//! data, an image enclosure), and the channel's `<ttl>` and `sy:` update
//! period. [`scan`] collects them per item, in document order, so that
//! `normalize` can lay them beside feed-rs's entries. For JSON Feed it reads
//! each item's `image`, which feed-rs does not.
//!
//! It runs on the text feed-rs parsed (well-formed, or repaired to be), so
//! it only needs to find tags, skip comments, CDATA and processing
//! instructions, and decode the five XML entities and character references.
//! Only the start tags of elements it wants are taken apart; it allocates
//! nothing for the rest.

use std::borrow::Cow;

use feed_rs::model::FeedType;

use super::repair;

/// The extras of one document.
#[derive(Debug, Default)]
pub(super) struct Extras {
    /// Items (RSS) in document order, as feed-rs would see them.
    pub items: Vec<Item>,
    /// The channel's `<ttl>` (RSS), in minutes.
    pub ttl: Option<u32>,
    /// `sy:updatePeriod` and `sy:updateFrequency` of the channel (or feed).
    pub update_period: Option<String>,
    pub update_frequency: Option<u32>,
    /// The channel's `dc:language` (`<language>` is read by feed-rs).
    pub language: Option<String>,
    /// An item's `description`, `title` or `content:encoded` holds markup
    /// as elements (unescaped XHTML), of which feed-rs reads only the text
    /// before the first one.
    pub markup_in_text: bool,
}

/// What one RSS item has that feed-rs does not say.
#[derive(Debug, Default, Clone)]
pub(super) struct Item {
    /// Where its start tag ends in the document.
    pub open_end: usize,
    /// RSS 1.0 `rdf:about`: the item's URI, its id.
    pub about: Option<String>,
    /// `isPermaLink` of its `<guid>`: `Some(false)` when the guid is not a link.
    pub permalink: Option<bool>,
    /// Whether it has a non-empty RSS `<link>` (RSS 1.0 items without one
    /// are dropped by feed-rs).
    pub has_link: bool,
    /// The `href` of an Atom `<link>` (alternate) inside the item.
    pub atom_link: Option<String>,
    /// A `<pubDate>` in another spelling (`<pubdate>`, `<PubDate>`), else
    /// a `dcterms:` date (`issued`, `created`, `modified`).
    pub date: Option<String>,
    /// `dc:title` or `media:title`, for an item without `<title>`.
    pub title: Option<String>,
    /// The item's `xml:lang`.
    pub lang: Option<String>,
    /// The item's `dc:language`.
    pub language: Option<String>,
    /// Every `<enclosure>`: URL, type, length.
    pub enclosures: Vec<(String, Option<String>, Option<u64>)>,
    /// Names from `<itunes:author>`, an Atom `<author><name>` inside the
    /// item, `<author><name>` and `dc:author`.
    pub authors: Vec<String>,
    /// The first `media:thumbnail` of the item, its own or inside a
    /// `media:group` or `media:content`.
    pub thumbnail: Option<String>,
    /// The item's own picture: `itunes:image`, JSON Feed `image`.
    pub image: Option<String>,
    /// The first enclosure or `media:content` that is an image (by
    /// `medium` or by type).
    pub image_enclosure: Option<String>,
}

/// What a captured text is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Ttl,
    UpdatePeriod,
    UpdateFrequency,
    ChannelLanguage,
    Link,
    Date,
    ItemLanguage,
    Author,
    AuthorName,
    Title,
}

/// Whether the extras are worth a pass: RSS only (Atom and JSON Feed come
/// through feed-rs whole), plus the head of an Atom feed for `sy:`.
pub(super) fn wanted(kind: &FeedType, doc: &str) -> bool {
    match kind {
        FeedType::RSS0 | FeedType::RSS1 | FeedType::RSS2 => true,
        FeedType::Atom => doc.contains("updatePeriod") || doc.contains(MEDIA_RSS),
        FeedType::JSON => doc.contains("\"image\""),
    }
}

/// The Media RSS namespace: Atom entries are looked at only for it.
const MEDIA_RSS: &str = "search.yahoo.com/mrss";

/// Reads the extras of `doc`, which feed-rs read as a feed of `kind`.
pub(super) fn scan(doc: &str, kind: &FeedType) -> Extras {
    if *kind == FeedType::JSON {
        return json_images(doc);
    }
    let rss1 = *kind == FeedType::RSS1;
    let atom = *kind == FeedType::Atom;
    // Atom entries come through feed-rs whole but for Media RSS outside a
    // `media:content` (a lone `media:thumbnail`, `media:title`), which it
    // drops: those are read here.
    let atom_entries = atom && doc.contains(MEDIA_RSS);
    // Depth of the items' parent: the channel in RSS 0.9x/2.0, the root in
    // RSS 1.0; the channel is at depth 1 in both.
    let item_parent = if rss1 { 0 } else { 1 };

    let mut x = Extras::default();
    let b = doc.as_bytes();
    // Local names of the open elements (prefix kept for the few that need it).
    let mut stack: Vec<&str> = Vec::with_capacity(16);
    let mut channel_seen = false;
    let mut in_channel = false;
    let mut item: Option<(usize, Item)> = None;
    // Text being captured: (field, depth of its element, where it starts).
    let mut capture: Option<(Field, usize, usize)> = None;
    // Inside an `<author>` (of any namespace) of the item, at this depth.
    let mut author_at: Option<usize> = None;

    let mut i = 0;
    while let Some(p) = doc[i..].find('<').map(|p| p + i) {
        let rest = &doc[p..];
        let next = b.get(p + 1).copied().unwrap_or(b' ');
        match next {
            b'!' => {
                i = if rest.starts_with("<!--") {
                    memchr::memmem::find(rest.as_bytes(), b"-->").map_or(doc.len(), |e| p + e + 3)
                } else if rest.starts_with("<![CDATA[") {
                    memchr::memmem::find(rest.as_bytes(), b"]]>").map_or(doc.len(), |e| p + e + 3)
                } else {
                    rest.find('>').map_or(doc.len(), |e| p + e + 1)
                };
                continue;
            }
            b'?' => {
                i = memchr::memmem::find(rest.as_bytes(), b"?>").map_or(doc.len(), |e| p + e + 2);
                continue;
            }
            b'/' => {
                let name_end = rest.find('>').map_or(doc.len(), |e| p + e);
                let name = doc[p + 2..name_end].trim_end();
                i = (name_end + 1).min(doc.len());
                // Well-formed: the end tag closes the innermost element;
                // a repaired one may still skip some, so close up to it.
                let Some(k) = stack.iter().rposition(|n| *n == name) else {
                    continue;
                };
                let depth = k;
                stack.truncate(k);
                if let Some((field, d, from)) = capture
                    && d >= depth
                {
                    capture = None;
                    if d == depth {
                        let text = text(&doc[from..p]);
                        store(&mut x, item.as_mut().map(|(_, it)| it), field, text);
                    }
                }
                if author_at.is_some_and(|a| a >= depth) {
                    author_at = None;
                }
                if let Some((d, _)) = &item
                    && *d >= depth
                {
                    let (_, it) = item.take().expect("item is some");
                    x.items.push(it);
                }
                if in_channel && depth <= 1 {
                    in_channel = false;
                }
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b':' => {}
            _ => {
                i = p + 1;
                continue;
            }
        }

        // A start tag.
        let name_len = rest[1..]
            .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
            .unwrap_or(rest.len() - 1);
        let name = &rest[1..1 + name_len];
        let (prefix, local) = match name.split_once(':') {
            Some((p, l)) => (p, l),
            None => ("", name),
        };
        let depth = stack.len();
        let wanted_attrs = matches!(
            local,
            "item" | "guid" | "enclosure" | "link" | "thumbnail" | "image" | "content"
        );
        let (end, self_closing, tag) = if wanted_attrs {
            match repair::parse_start_tag(doc, p) {
                Some(t) => (t.end, t.self_closing, Some(t)),
                None => break,
            }
        } else {
            match tag_end(doc, p + 1 + name_len) {
                Some((end, sc)) => (end, sc, None),
                None => break,
            }
        };
        i = end;
        let attr = |n: &str| attr(tag.as_ref(), n);

        if atom && !atom_entries && depth == 1 && local == "entry" {
            // The head of an Atom feed is all that is looked at.
            break;
        }
        if depth == 1 && local == "channel" && !channel_seen {
            channel_seen = true;
            in_channel = true;
        }
        let item_here = if atom {
            atom_entries && depth == 1 && local == "entry"
        } else {
            depth == item_parent + 1
                && local == "item"
                && (prefix.is_empty() || prefix == "rss")
                && (rss1 || (in_channel && depth == 2))
        };
        if item_here && item.is_none() {
            let it = Item {
                open_end: end,
                about: if rss1 {
                    attr("rdf:about").map(Cow::into_owned)
                } else {
                    None
                },
                lang: attr("xml:lang").map(Cow::into_owned),
                ..Item::default()
            };
            if self_closing {
                x.items.push(it);
            } else {
                item = Some((depth, it));
            }
        } else if let Some((d, it)) = item.as_mut() {
            let child = depth == *d + 1;
            media(it, prefix, local, tag.as_ref());
            if atom {
                // Of an Atom entry only its Media RSS: feed-rs reads the rest.
                if child && (prefix, local) == ("media", "title") {
                    capture = Some((Field::Title, depth, end));
                }
            } else {
                if depth == *d + 2
                    && let Some(parent) = stack.get(*d + 1)
                    && matches!(
                        parent.rsplit(':').next(),
                        Some("description" | "title" | "encoded")
                    )
                {
                    x.markup_in_text = true;
                }
                match (prefix, local) {
                    ("", "guid") if child => {
                        it.permalink =
                            attr("isPermaLink").map(|v| !v.trim().eq_ignore_ascii_case("false"));
                    }
                    ("", "link") if child && !self_closing => {
                        capture = Some((Field::Link, depth, end));
                    }
                    (p, "link") if child && !p.is_empty() => {
                        let rel = attr("rel");
                        if matches!(rel.as_deref(), None | Some("alternate"))
                            && it.atom_link.is_none()
                            && let Some(href) = attr("href").filter(|h| !h.trim().is_empty())
                        {
                            it.atom_link = Some(href.trim().to_string());
                        }
                    }
                    ("", l) if child && l != "pubDate" && l.eq_ignore_ascii_case("pubdate") => {
                        capture = Some((Field::Date, depth, end));
                    }
                    ("", "enclosure") if child => {
                        if let Some(url) = attr("url").filter(|u| !u.trim().is_empty()) {
                            let mime = attr("type")
                                .map(|t| t.trim().to_string())
                                .filter(|t| !t.is_empty());
                            let length = attr("length").and_then(|l| l.trim().parse().ok());
                            if it.image_enclosure.is_none()
                                && mime.as_deref().is_some_and(is_image_type)
                            {
                                it.image_enclosure = Some(url.trim().to_string());
                            }
                            it.enclosures.push((url.trim().to_string(), mime, length));
                        }
                    }
                    ("itunes", "image") if child => {
                        if it.image.is_none()
                            && let Some(href) = attr("href").filter(|u| !u.trim().is_empty())
                        {
                            it.image = Some(href.trim().to_string());
                        }
                    }
                    ("dcterms", "issued" | "created" | "modified" | "date") if child => {
                        capture = Some((Field::Date, depth, end));
                    }
                    ("dc" | "media", "title") if child => {
                        capture = Some((Field::Title, depth, end));
                    }
                    ("itunes", "author") | ("dc", "author") if child => {
                        capture = Some((Field::Author, depth, end));
                    }
                    (_, "author") if child => author_at = Some(depth),
                    (_, "name") if author_at == Some(depth.wrapping_sub(1)) => {
                        capture = Some((Field::AuthorName, depth, end));
                    }
                    ("dc", "language") if child => {
                        capture = Some((Field::ItemLanguage, depth, end))
                    }
                    _ => {}
                }
            }
        } else if (in_channel && depth == 2) || (atom && depth == 1) {
            match (prefix, local) {
                ("", "ttl") => capture = Some((Field::Ttl, depth, end)),
                ("sy", "updatePeriod") => capture = Some((Field::UpdatePeriod, depth, end)),
                ("sy", "updateFrequency") => capture = Some((Field::UpdateFrequency, depth, end)),
                ("dc", "language") => capture = Some((Field::ChannelLanguage, depth, end)),
                _ => {}
            }
        }
        if self_closing {
            if capture.is_some_and(|(_, d, _)| d == depth) {
                capture = None;
            }
            if author_at == Some(depth) {
                author_at = None;
            }
        } else {
            stack.push(name);
        }
    }
    if let Some((_, it)) = item {
        x.items.push(it);
    }
    x
}

/// Media RSS at any depth of an item or entry (inside `media:group` and
/// `media:content` too): the first `media:thumbnail`, and the first
/// `media:content` that is an image (by `medium` or by type).
fn media(it: &mut Item, prefix: &str, local: &str, tag: Option<&repair::StartTag>) {
    let url = || {
        attr(tag, "url")
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
    };
    match (prefix, local) {
        (p, "thumbnail") if !p.is_empty() && it.thumbnail.is_none() => it.thumbnail = url(),
        (p, "content") if !p.is_empty() && it.image_enclosure.is_none() => {
            let image = attr(tag, "medium").is_some_and(|m| m.trim().eq_ignore_ascii_case("image"))
                || attr(tag, "type").is_some_and(|t| is_image_type(&t));
            if image {
                it.image_enclosure = url();
            }
        }
        _ => {}
    }
}

/// Whether a media type is an image's (`image/jpeg`).
fn is_image_type(mt: &str) -> bool {
    let mt = mt.trim().as_bytes();
    mt.len() > 6 && mt[..6].eq_ignore_ascii_case(b"image/")
}

/// JSON Feed: each item's `image` (feed-rs does not read it), one
/// [`Item`] per item in order, so that they line up with the entries.
fn json_images(doc: &str) -> Extras {
    let mut x = Extras::default();
    let Ok(serde_json::Value::Object(feed)) = serde_json::from_str::<serde_json::Value>(doc) else {
        return x;
    };
    let Some(serde_json::Value::Array(items)) = feed.get("items") else {
        return x;
    };
    x.items = items
        .iter()
        .map(|item| Item {
            image: item
                .get("image")
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            ..Item::default()
        })
        .collect();
    x
}

/// The entry's picture as an absolute http(s) URL, in this order:
/// `media:thumbnail` (the item's, or inside `media:group`/`media:content`),
/// `itunes:image` on the item or JSON Feed `image`, then the first image
/// enclosure (`<enclosure type="image/...">`, `media:content
/// medium="image"`, an Atom `rel="enclosure"` link or JSON Feed attachment
/// of an image type). Feed-rs's media objects stand in where the pass over
/// the text found nothing (Atom, whose entries it does not read).
pub(super) fn thumbnail(
    entry: &feed_rs::model::Entry,
    extra: Option<&Item>,
    base: Option<&url::Url>,
) -> Option<String> {
    let absolute = |href: &str| {
        super::urls::resolve(href, base)
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .map(String::from)
    };
    let own = |pick: fn(&Item) -> Option<&String>| extra.and_then(pick).and_then(|h| absolute(h));
    let media_thumbnail = || {
        entry
            .media
            .iter()
            .flat_map(|m| &m.thumbnails)
            .find_map(|t| absolute(&t.image.uri))
    };
    let media_image = || {
        let content = entry.media.iter().flat_map(|m| &m.content).find_map(|c| {
            let url = c.url.as_ref()?;
            let typed = c.content_type.as_ref().map(|t| t.to_string());
            let image = match typed.as_deref() {
                Some(t) => is_image_type(t),
                None => has_image_extension(url.path()),
            };
            image.then(|| absolute(url.as_str())).flatten()
        });
        content.or_else(|| {
            entry
                .links
                .iter()
                .filter(|l| l.media_type.as_deref().is_some_and(is_image_type))
                .filter(|l| l.rel.as_deref() == Some("enclosure") || l.rel.is_none())
                .find_map(|l| absolute(&l.href))
        })
    };
    own(|x| x.thumbnail.as_ref())
        .or_else(media_thumbnail)
        .or_else(|| own(|x| x.image.as_ref()))
        .or_else(|| own(|x| x.image_enclosure.as_ref()))
        .or_else(media_image)
}

/// A path that names an image file, for `media:content` without a type.
fn has_image_extension(path: &str) -> bool {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    ["jpg", "jpeg", "png", "gif", "webp", "avif"]
        .iter()
        .any(|e| ext.eq_ignore_ascii_case(e))
}

/// The decoded value of attribute `name` of `tag`.
fn attr<'d>(tag: Option<&repair::StartTag<'d>>, name: &str) -> Option<Cow<'d, str>> {
    let a = tag?.attrs.iter().find(|a| a.name == name)?;
    Some(text(a.value?.raw))
}

/// Files a captured text where it belongs.
fn store(x: &mut Extras, item: Option<&mut Item>, field: Field, text: Cow<'_, str>) {
    let t = text.trim();
    if t.is_empty() {
        return;
    }
    match (field, item) {
        (Field::Ttl, _) => x.ttl = t.parse().ok(),
        (Field::UpdatePeriod, _) => x.update_period = Some(t.to_string()),
        (Field::UpdateFrequency, _) => x.update_frequency = t.parse().ok(),
        (Field::ChannelLanguage, _) => x.language = Some(t.to_string()),
        (Field::Link, Some(it)) => it.has_link = true,
        (Field::Date, Some(it)) if it.date.is_none() => it.date = Some(t.to_string()),
        (Field::Title, Some(it)) if it.title.is_none() => it.title = Some(t.to_string()),
        (Field::ItemLanguage, Some(it)) => it.language = Some(t.to_string()),
        (Field::Author | Field::AuthorName, Some(it)) if !it.authors.iter().any(|a| a == t) => {
            it.authors.push(t.to_string());
        }
        _ => {}
    }
}

/// Where the start tag whose name ends at `from` ends, and whether it
/// closes itself; quotes are respected, since `>` may stand in a value.
fn tag_end(doc: &str, from: usize) -> Option<(usize, bool)> {
    let b = doc.as_bytes();
    let mut quote = None;
    let mut k = from;
    while k < b.len() {
        match (quote, b[k]) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, c @ (b'"' | b'\'')) => quote = Some(c),
            (None, b'>') => return Some((k + 1, k > from && b[k - 1] == b'/')),
            _ => {}
        }
        k += 1;
    }
    None
}

/// The text of XML character data: CDATA sections unwrapped, entities and
/// character references decoded.
pub(super) fn text(raw: &str) -> Cow<'_, str> {
    if !raw.contains(['&', '<']) {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while !rest.is_empty() {
        if let Some(cdata) = rest.strip_prefix("<![CDATA[") {
            let end = cdata.find("]]>").unwrap_or(cdata.len());
            out.push_str(&cdata[..end]);
            rest = cdata.get(end + 3..).unwrap_or("");
        } else if rest.starts_with('<') {
            // Markup inside a text element: its text only.
            let end = rest.find('>').map_or(rest.len(), |e| e + 1);
            rest = &rest[end..];
        } else if rest.starts_with('&') {
            // By bytes: slicing at 12 could cut a multi-byte character in two.
            let semi = rest.bytes().take(12).position(|b| b == b';');
            let decoded = semi.and_then(|s| entity(&rest[1..s]).map(|c| (c, s + 1)));
            match decoded {
                Some((c, len)) => {
                    out.push(c);
                    rest = &rest[len..];
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
        } else {
            let end = rest.find(['&', '<']).unwrap_or(rest.len());
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        }
    }
    Cow::Owned(out)
}

fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// The language the document declares for the whole feed, found without
/// parsing it, for what must be known while feed-rs reads it (what "CST"
/// means in its dates, see [`super::date::Cst`]): the first `<language>`,
/// `<dc:language>` or `xml:lang` before the first item or entry.
pub(super) fn declared_language(doc: &str) -> Option<&str> {
    // One pass over the `<`s: searching for each tag apart read a whole RSS
    // document in vain for `<entry` (3.7 % of parsing, perf).
    let head = doc
        .match_indices('<')
        .map(|(at, _)| at)
        .find(|&at| doc[at + 1..].starts_with("item") || doc[at + 1..].starts_with("entry"))
        .map_or(doc, |end| &doc[..end]);
    let element = |open: &str| {
        let at = head.find(open)? + open.len();
        let len = head[at..].find('<')?;
        Some((at, head[at..at + len].trim()))
    };
    let attribute = || {
        let at = head.find("xml:lang=")? + "xml:lang=".len();
        let quote = head[at..]
            .chars()
            .next()
            .filter(|q| matches!(q, '"' | '\''))?;
        let len = head[at + 1..].find(quote)?;
        Some((at, head[at + 1..at + 1 + len].trim()))
    };
    [element("<language>"), element("<dc:language>"), attribute()]
        .into_iter()
        .flatten()
        .filter(|(_, lang)| !lang.is_empty())
        .min_by_key(|&(at, _)| at)
        .map(|(_, lang)| lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_language() {
        let cases = [
            (
                "<rss><channel><title>t</title><language>zh-CN</language><item><language>en</language></item></channel></rss>",
                Some("zh-CN"),
            ),
            (
                "<rss><channel><dc:language> zh-TW </dc:language></channel></rss>",
                Some("zh-TW"),
            ),
            (
                r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:lang='zh'><entry xml:lang="en"/></feed>"#,
                Some("zh"),
            ),
            // Only what comes before the first entry speaks for the feed.
            (
                r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry xml:lang="zh"/></feed>"#,
                None,
            ),
            ("<rss><channel><language></language></channel></rss>", None),
        ];
        for (doc, want) in cases {
            assert_eq!(super::declared_language(doc), want, "{doc}");
        }
    }

    #[test]
    fn rss2_items() {
        let doc = r#"<?xml version="1.0"?>
<rss version="2.0" xmlns:a10="http://www.w3.org/2005/Atom" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
  xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>t</title><ttl>30</ttl><sy:updatePeriod>hourly</sy:updatePeriod>
<sy:updateFrequency>2</sy:updateFrequency><dc:language>de</dc:language>
<!-- <item>not one</item> -->
<item xml:lang="fr"><title><![CDATA[<item>]]></title><guid isPermaLink="false">x</guid>
  <a10:link href="https://example.com/a?x=1&amp;y=2"/><pubdate>Mon, 01 Jan 2024 00:00:00 GMT</pubdate>
  <enclosure url="https://example.com/a.mp3" type="audio/mpeg" length="12"/>
  <enclosure url="https://example.com/b.jpg" type="image/jpeg" />
  <itunes:author>Ann &amp; Bo</itunes:author>
  <a10:author><a10:name>Cy</a10:name><a10:email>c@x</a10:email></a10:author>
  <dc:language>fr-CA</dc:language>
</item>
<item><link>https://example.com/b</link><author xmlns:author="http://www.w3.org/2005/Atom"><name>Di</name></author></item>
</channel></rss>"#;
        let x = scan(doc, &FeedType::RSS2);
        assert_eq!(x.ttl, Some(30));
        assert_eq!(x.update_period.as_deref(), Some("hourly"));
        assert_eq!(x.update_frequency, Some(2));
        assert_eq!(x.language.as_deref(), Some("de"));
        assert_eq!(x.items.len(), 2);
        let a = &x.items[0];
        assert_eq!(a.permalink, Some(false));
        assert!(!a.has_link);
        assert_eq!(
            a.atom_link.as_deref(),
            Some("https://example.com/a?x=1&y=2")
        );
        assert_eq!(a.date.as_deref(), Some("Mon, 01 Jan 2024 00:00:00 GMT"));
        assert_eq!(a.lang.as_deref(), Some("fr"));
        assert_eq!(a.language.as_deref(), Some("fr-CA"));
        assert_eq!(a.enclosures.len(), 2);
        assert_eq!(
            a.enclosures[0],
            (
                "https://example.com/a.mp3".to_string(),
                Some("audio/mpeg".to_string()),
                Some(12)
            )
        );
        assert_eq!(a.authors, ["Ann & Bo", "Cy"]);
        let b = &x.items[1];
        assert!(b.has_link);
        assert_eq!(b.authors, ["Di"]);
    }

    #[test]
    fn rss1_items_are_children_of_the_root() {
        let doc = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="https://example.com/"><items><rdf:Seq><rdf:li resource="x"/></rdf:Seq></items></channel>
<item rdf:about="https://example.com/1"><title>a</title></item>
<item rdf:about="https://example.com/2"><link>https://example.com/2</link></item>
</rdf:RDF>"#;
        let x = scan(doc, &FeedType::RSS1);
        let abouts: Vec<_> = x.items.iter().map(|i| i.about.as_deref()).collect();
        assert_eq!(
            abouts,
            [Some("https://example.com/1"), Some("https://example.com/2")]
        );
        assert_eq!(
            x.items.iter().map(|i| i.has_link).collect::<Vec<_>>(),
            [false, true]
        );
    }

    #[test]
    fn atom_head_only() {
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
<title>t</title><sy:updatePeriod>daily</sy:updatePeriod><entry><title>e</title></entry></feed>"#;
        let x = scan(doc, &FeedType::Atom);
        assert_eq!(x.update_period.as_deref(), Some("daily"));
        assert!(x.items.is_empty());
    }

    #[test]
    fn atom_entries_only_for_media_rss() {
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
<title>t</title>
<entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">A <b>b</b></div></title>
  <author><name>Ann</name></author><media:thumbnail url="/a.jpg"/></entry>
<entry><media:title>m</media:title><media:group><media:content url="v.mp4" type="video/mp4">
  <media:thumbnail url="b.jpg"/></media:content></media:group>
  <media:content url="c" medium="image"/></entry>
</feed>"#;
        let x = scan(doc, &FeedType::Atom);
        assert!(!x.markup_in_text, "XHTML in Atom is no RSS breakage");
        assert_eq!(x.items.len(), 2);
        assert_eq!(x.items[0].thumbnail.as_deref(), Some("/a.jpg"));
        assert!(x.items[0].authors.is_empty(), "feed-rs reads Atom authors");
        assert_eq!(x.items[1].title.as_deref(), Some("m"));
        assert_eq!(x.items[1].thumbnail.as_deref(), Some("b.jpg"));
        assert_eq!(x.items[1].image_enclosure.as_deref(), Some("c"));
    }

    #[test]
    fn text_decoding() {
        assert_eq!(text("a &amp; b"), "a & b");
        assert_eq!(text("&#233;&#xE9;&bogus; &"), "éé&bogus; &");
        assert_eq!(text("<![CDATA[x &amp; <y>]]> z"), "x &amp; <y> z");
    }
}
