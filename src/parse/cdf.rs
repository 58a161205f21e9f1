//! Microsoft's Channel Definition Format (CDF, 1997), which feedparser reads
//! and feed-rs does not: rewritten as the RSS 2.0 it maps to, so that it
//! goes through feed-rs and the same normalization as every other feed.
//!
//! ```text
//! <CHANNEL HREF="site" BASE="base" LASTMOD="date">  → <channel xml:base="base">
//!   <TITLE>t</TITLE>                               →   <title>, <link>site</link>
//!   <ABSTRACT>a</ABSTRACT>                         →   <description>, <lastBuildDate>
//!   <ITEM HREF="url" LASTMOD="date">               →   <item><link>url</link><pubDate>date</pubDate>
//!     <TITLE>t</TITLE><ABSTRACT>a</ABSTRACT>       →     <title>, <description>
//! ```
//!
//! Element and attribute names are matched in any case; the items of
//! nested channels are the feed's items, in document order. `LASTMOD` is
//! ISO 8601, which [`super::date::parse_date`] reads in a `<pubDate>` too.
//!
//! The same root serves RSS 2.0 whose `<rss>` was lost (a bare `<channel>`
//! of `<item>`s): the RSS children of a channel or item (`link`,
//! `description`, `pubDate`, `guid`) are mapped too, where no CDF
//! attribute says the same.

use std::borrow::Cow;
use std::fmt::Write as _;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// Whether a document whose root element is `root` is CDF.
pub(super) fn is_cdf(root: &str) -> bool {
    root.eq_ignore_ascii_case("channel")
}

/// What a channel or an item says.
#[derive(Default)]
struct Part {
    title: Option<String>,
    abstract_: Option<String>,
    href: Option<String>,
    lastmod: Option<String>,
    base: Option<String>,
    guid: Option<String>,
}

/// The RSS 2.0 document a CDF document maps to; `None` when it is not
/// well-formed XML with a `<CHANNEL>` root.
pub(super) fn to_rss(text: &str) -> Option<String> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut channel: Option<Part> = None;
    let mut items: Vec<Part> = Vec::new();
    // Upper-cased names of the open elements.
    let mut stack: Vec<String> = Vec::new();
    // The text being read: into the item (or else the channel) when the
    // element at this depth closes.
    let mut capture: Option<(usize, String)> = None;
    // The depth of the open `<ITEM>`.
    let mut item_at: Option<usize> = None;
    loop {
        let event = reader.read_event().ok()?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let name = e.local_name().as_ref().to_ascii_uppercase();
                match (name.as_str(), stack.len()) {
                    ("CHANNEL", 0) => channel = Some(part(e)),
                    (_, 0) => return None,
                    ("ITEM", depth) if item_at.is_none() => {
                        items.push(part(e));
                        item_at = (!empty).then_some(depth);
                    }
                    // An item's, or the channel's own (a child of the root).
                    ("TITLE" | "ABSTRACT" | "LINK" | "DESCRIPTION" | "PUBDATE" | "GUID", depth)
                        if capture.is_none()
                            && !empty
                            && (item_at.map_or(depth == 1, |at| depth == at + 1)) =>
                    {
                        capture = Some((depth, String::new()));
                    }
                    _ => {}
                }
                if !empty {
                    stack.push(name);
                }
            }
            Event::End(e) => {
                let name = e.local_name().as_ref().to_ascii_uppercase();
                // Close up to the element named (end tags may be missing).
                let Some(at) = stack.iter().rposition(|n| *n == name) else {
                    continue;
                };
                stack.truncate(at);
                // The text of the element closed here (one closed on the
                // way, its end tag missing, is dropped).
                if let Some((_, text)) =
                    capture.take_if(|(d, _)| *d >= at).filter(|(d, _)| *d == at)
                {
                    let target = match (item_at, items.last_mut(), channel.as_mut()) {
                        (Some(_), Some(item), _) => Some(item),
                        (_, _, c) => c,
                    };
                    if let Some(target) = target {
                        let slot = match name.as_str() {
                            "TITLE" => &mut target.title,
                            "LINK" => &mut target.href,
                            "PUBDATE" => &mut target.lastmod,
                            "GUID" => &mut target.guid,
                            _ => &mut target.abstract_,
                        };
                        let text = text.trim();
                        if slot.is_none() && !text.is_empty() {
                            *slot = Some(text.to_string());
                        }
                    }
                }
                if item_at.is_some_and(|d| d >= at) {
                    item_at = None;
                }
            }
            Event::Text(t) => {
                if let Some((_, buf)) = capture.as_mut() {
                    buf.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some((_, buf)) = capture.as_mut() {
                    buf.push_str(&t);
                }
            }
            Event::GeneralRef(r) => {
                if let Some((_, buf)) = capture.as_mut() {
                    let name: &str = &r;
                    match r.resolve_char_ref().ok().flatten() {
                        Some(c) => buf.push(c),
                        None => buf.push_str(match name {
                            "amp" => "&",
                            "lt" => "<",
                            "gt" => ">",
                            "quot" => "\"",
                            "apos" => "'",
                            _ => "",
                        }),
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Some(write_rss(&channel?, &items))
}

/// The attributes of a `<CHANNEL>` or `<ITEM>`.
fn part(e: &BytesStart) -> Part {
    let mut p = Part::default();
    for attr in e.attributes().with_checks(false).flatten() {
        let value: Cow<str> = match attr.normalized_value(XmlVersion::Implicit1_0) {
            Ok(v) => v,
            Err(_) => attr.value.clone(),
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let slot = match attr.key.local_name().as_ref().to_ascii_uppercase().as_str() {
            "HREF" => &mut p.href,
            "LASTMOD" => &mut p.lastmod,
            "BASE" => &mut p.base,
            _ => continue,
        };
        *slot = Some(value.to_string());
    }
    p
}

fn write_rss(channel: &Part, items: &[Part]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\">");
    out.push_str("<channel");
    if let Some(base) = &channel.base {
        let _ = write!(out, " xml:base=\"{}\"", escape(base));
    }
    out.push('>');
    element(&mut out, "title", channel.title.as_deref());
    element(&mut out, "link", channel.href.as_deref());
    element(&mut out, "description", channel.abstract_.as_deref());
    element(&mut out, "lastBuildDate", channel.lastmod.as_deref());
    for item in items {
        out.push_str("\n<item>");
        element(&mut out, "title", item.title.as_deref());
        element(&mut out, "link", item.href.as_deref());
        element(&mut out, "description", item.abstract_.as_deref());
        element(&mut out, "pubDate", item.lastmod.as_deref());
        element(&mut out, "guid", item.guid.as_deref());
        out.push_str("</item>");
    }
    out.push_str("\n</channel></rss>\n");
    out
}

fn element(out: &mut String, name: &str, text: Option<&str>) {
    if let Some(text) = text {
        let _ = write!(out, "<{name}>{}</{name}>", escape(text));
    }
}

fn escape(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_to_rss() {
        let cdf = r#"<?xml version="1.0"?>
<CHANNEL HREF="http://www.example.org/" BASE="http://base.example.org/" LASTMOD="2004-04-06T23:05:43-05:00">
  <TITLE>Channel &amp; co</TITLE>
  <ABSTRACT>About it</ABSTRACT>
  <ITEM HREF="/item/1" LASTMOD="2004-04-06T23:05:43-05:00" PRECACHE="No">
    <title>One &lt;b&gt;</title>
    <Abstract><![CDATA[First & best]]></Abstract>
  </ITEM>
  <CHANNEL HREF="http://www.example.org/sub"><TITLE>Sub</TITLE>
    <ITEM HREF="/item/2"><TITLE>Two</TITLE></ITEM>
  </CHANNEL>
  <ITEM HREF="/item/3"/>
</CHANNEL>"#;
        let rss = to_rss(cdf).unwrap();
        assert_eq!(
            rss,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\">\
             <channel xml:base=\"http://base.example.org/\"><title>Channel &amp; co</title>\
             <link>http://www.example.org/</link><description>About it</description>\
             <lastBuildDate>2004-04-06T23:05:43-05:00</lastBuildDate>\n\
             <item><title>One &lt;b&gt;</title><link>/item/1</link>\
             <description>First &amp; best</description>\
             <pubDate>2004-04-06T23:05:43-05:00</pubDate></item>\n\
             <item><title>Two</title><link>/item/2</link></item>\n\
             <item><link>/item/3</link></item>\n</channel></rss>\n"
        );
    }

    #[test]
    fn rss_without_its_rss_element() {
        let doc = "<channel><title>x</title><link>http://e.com/</link>\
                   <item><title>a</title><link>http://e.com/1</link>\
                   <description>&lt;p&gt;d</description><guid>g1</guid>\
                   <pubDate>Wed, 17 Apr 2024 10:00:00 GMT</pubDate></item></channel>";
        assert_eq!(
            to_rss(doc).unwrap(),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>\
             <title>x</title><link>http://e.com/</link>\n<item><title>a</title>\
             <link>http://e.com/1</link><description>&lt;p&gt;d</description>\
             <pubDate>Wed, 17 Apr 2024 10:00:00 GMT</pubDate><guid>g1</guid></item>\n\
             </channel></rss>\n"
        );
    }

    #[test]
    fn not_cdf() {
        assert!(to_rss("<rss><channel/></rss>").is_none());
        assert!(to_rss("<CHANNEL><ITEM>").is_some(), "unclosed at the end");
        assert!(to_rss("<CHANNEL><ITEM a=\"1\" a=\"2\"></ITEM></CHANNEL>").is_some());
        assert!(to_rss("<CHANNEL><ITEM></CHANNEL><").is_none());
    }
}
