//! OPML, the subscription list every feed reader imports and exports:
//! reading the feeds of a file written by any of them ([`parse`]), and
//! writing feeds as OPML 2.0 ([`write`]). No I/O here; `config` reads the
//! files named by `[[opml]]` and `trawl feeds export --opml` prints.
//!
//! Readers write the format in several shapes, and all of them are read:
//! feeds at the top of `<body>` or in folders nested to any depth (each
//! folder outline's text becomes a tag of the feeds inside it), the
//! `category` attribute (`"/News/World,Tech"`: every segment a tag), the
//! name in `title` or `text` or neither (then the caller names the feed by
//! its URL), attribute names in any case (`xmlUrl`, `xmlurl`), and
//! `type` given or not. An outline without `xmlUrl` is a folder.

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

/// One feed of an OPML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    /// The outline's `title`, else its `text`, trimmed; `None` when blank.
    pub title: Option<String>,
    /// `xmlUrl`, as written (trimmed).
    pub xml_url: String,
    /// `htmlUrl`, the feed's web site.
    pub html_url: Option<String>,
    /// The folders it is in, outermost first, then its `category` segments;
    /// each once.
    pub categories: Vec<String>,
    /// The line of the file it is on (1-based).
    pub line: usize,
}

/// A file that is not OPML, or not well-formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct OpmlError {
    pub line: usize,
    pub message: String,
}

/// Every feed outline of an OPML document, in document order.
pub fn parse(text: &str) -> Result<Vec<Outline>, OpmlError> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let line_at = |offset: u64| {
        let end = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(text.len());
        text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    };
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut outlines = Vec::new();
    // The open outlines: Some(folder name) for folders, None for feeds
    // (whose children, if any, are read as feeds in the same folders).
    let mut open: Vec<Option<String>> = Vec::new();
    let mut root_seen = false;
    loop {
        let at = reader.buffer_position();
        let event = reader.read_event().map_err(|e| OpmlError {
            line: line_at(reader.error_position()),
            message: format!("not well-formed XML: {e}"),
        })?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let name = e.local_name();
                if !root_seen {
                    root_seen = true;
                    if !name.as_ref().eq_ignore_ascii_case("opml") {
                        return Err(OpmlError {
                            line: line_at(at),
                            message: format!(
                                "not an OPML document (its root element is <{}>)",
                                name.as_ref()
                            ),
                        });
                    }
                    continue;
                }
                if !name.as_ref().eq_ignore_ascii_case("outline") {
                    continue;
                }
                let attrs = OutlineAttributes::read(e);
                let label = attrs.title.clone();
                match attrs.xml_url {
                    Some(xml_url) => {
                        let mut categories: Vec<String> = Vec::new();
                        let folders = open.iter().flatten().map(String::as_str);
                        let segments = attrs
                            .category
                            .as_deref()
                            .unwrap_or("")
                            .split([',', '/'])
                            .map(str::trim);
                        for c in folders.chain(segments) {
                            if !c.is_empty() && !categories.iter().any(|k| k == c) {
                                categories.push(c.to_string());
                            }
                        }
                        outlines.push(Outline {
                            title: attrs.title,
                            xml_url,
                            html_url: attrs.html_url,
                            categories,
                            line: line_at(at),
                        });
                        if !empty {
                            open.push(None);
                        }
                    }
                    None if !empty => open.push(label),
                    None => {}
                }
            }
            Event::End(ref e) if e.local_name().as_ref().eq_ignore_ascii_case("outline") => {
                open.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !root_seen {
        return Err(OpmlError {
            line: 1,
            message: "not an OPML document (no root element)".into(),
        });
    }
    Ok(outlines)
}

/// The attributes of an `<outline>` trawl reads, names matched in any case.
#[derive(Default)]
struct OutlineAttributes {
    title: Option<String>,
    xml_url: Option<String>,
    html_url: Option<String>,
    category: Option<String>,
}

impl OutlineAttributes {
    fn read(e: &BytesStart) -> OutlineAttributes {
        let mut found = OutlineAttributes::default();
        let mut text = None;
        // Malformed attributes (a duplicate, a missing quote) are skipped:
        // one bad outline should not lose the rest of a subscription list.
        for attr in e.attributes().with_checks(false).flatten() {
            let value = value_of(&attr);
            let value = value.trim();
            let slot = match attr.key.local_name().as_ref().to_ascii_lowercase().as_str() {
                "title" => &mut found.title,
                "text" => &mut text,
                "xmlurl" => &mut found.xml_url,
                "htmlurl" => &mut found.html_url,
                "category" => &mut found.category,
                _ => continue,
            };
            if !value.is_empty() {
                *slot = Some(value.to_string());
            }
        }
        found.title = found.title.or(text);
        found
    }
}

/// An attribute's value with entities and character references resolved;
/// the raw text when it holds an entity XML does not define (`&nbsp;`).
fn value_of<'a>(attr: &Attribute<'a>) -> Cow<'a, str> {
    match attr.normalized_value(XmlVersion::Implicit1_0) {
        Ok(value) => value,
        Err(_) => attr.value.clone(),
    }
}

/// A feed as [`write`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed<'a> {
    pub name: &'a str,
    pub url: &'a str,
    pub site_url: Option<&'a str>,
    pub tags: &'a [String],
}

/// An OPML 2.0 document listing `feeds`: each in a folder named after its
/// first tag (the shape most readers import as categories), its other tags
/// in its `category` attribute, the untagged ones at the top; folders and
/// feeds in the given order.
pub fn write(title: &str, created: &str, feeds: &[Feed]) -> String {
    let mut w = quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail.
    let mut put = |event: Event| w.write_event(event).expect("writing to memory");
    put(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    put(Event::Start(
        BytesStart::new("opml").with_attributes([("version", "2.0")]),
    ));
    put(Event::Start(BytesStart::new("head")));
    for (tag, value) in [("title", title), ("dateCreated", created)] {
        put(Event::Start(BytesStart::new(tag)));
        put(Event::Text(BytesText::new(value)));
        put(Event::End(BytesEnd::new(tag)));
    }
    put(Event::End(BytesEnd::new("head")));
    put(Event::Start(BytesStart::new("body")));
    let outline = |f: &Feed, rest: &[String]| {
        let mut e = BytesStart::new("outline").with_attributes([
            ("type", "rss"),
            ("text", f.name),
            ("title", f.name),
            ("xmlUrl", f.url),
        ]);
        if let Some(site) = f.site_url {
            e.push_attribute(("htmlUrl", site));
        }
        if !rest.is_empty() {
            let category: Vec<String> = rest.iter().map(|t| format!("/{t}")).collect();
            e.push_attribute(("category", category.join(",").as_str()));
        }
        Event::Empty(e)
    };
    for f in feeds.iter().filter(|f| f.tags.is_empty()) {
        put(outline(f, &[]));
    }
    let mut folders: Vec<&str> = Vec::new();
    for f in feeds {
        if let Some(first) = f.tags.first()
            && !folders.contains(&first.as_str())
        {
            folders.push(first);
        }
    }
    for folder in folders {
        put(Event::Start(
            BytesStart::new("outline").with_attributes([("text", folder), ("title", folder)]),
        ));
        for f in feeds
            .iter()
            .filter(|f| f.tags.first().map(String::as_str) == Some(folder))
        {
            put(outline(f, &f.tags[1..]));
        }
        put(Event::End(BytesEnd::new("outline")));
    }
    put(Event::End(BytesEnd::new("body")));
    put(Event::End(BytesEnd::new("opml")));
    let mut text = String::from_utf8(w.into_inner()).expect("quick-xml writes UTF-8");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outline(title: Option<&str>, url: &str, categories: &[&str], line: usize) -> Outline {
        Outline {
            title: title.map(Into::into),
            xml_url: url.into(),
            html_url: None,
            categories: categories.iter().map(|c| c.to_string()).collect(),
            line,
        }
    }

    #[test]
    fn feeds_folders_and_attributes() {
        let doc = "\u{FEFF}<?xml version=\"1.0\"?>\n<opml version=\"2.0\"><head/><body>\n\
            <outline text=\"A\"><outline TEXT=\"B\">\n\
            <outline XMLURL=\" https://b.example/rss \" TEXT=\"  Bee  \"/>\n\
            </outline>\n\
            <outline xmlUrl=\"https://a.example/rss\" title=\"\" text=\"Ay &nbsp; &amp; co\" category=\"/X/Y, Z,A\"/>\n\
            </outline>\n\
            <outline xmlUrl=\"https://c.example/rss\" htmlUrl=\"https://c.example/\"><outline xmlUrl=\"https://d.example/rss\"/></outline>\n\
            </body></opml>";
        let got = parse(doc).unwrap();
        let mut c = outline(None, "https://c.example/rss", &[], 8);
        c.html_url = Some("https://c.example/".into());
        assert_eq!(
            got,
            [
                outline(Some("Bee"), "https://b.example/rss", &["A", "B"], 4),
                // An entity XML does not define: the raw text is kept.
                outline(
                    Some("Ay &nbsp; &amp; co"),
                    "https://a.example/rss",
                    &["A", "X", "Y", "Z"],
                    6
                ),
                c,
                // An outline inside a feed's outline is a feed too, in the same folders.
                outline(None, "https://d.example/rss", &[], 8),
            ]
        );
    }

    #[test]
    fn not_opml() {
        #[rustfmt::skip]
        let cases = [
            ("", "line 1: not an OPML document (no root element)"),
            ("<rss/>", "line 1: not an OPML document (its root element is <rss>)"),
            ("<opml>\n<body>\n<outline></body>", "line 3: not well-formed XML"),
        ];
        for (doc, want) in cases {
            let err = parse(doc).unwrap_err().to_string();
            assert!(err.starts_with(want), "{doc:?}: {err}");
        }
    }

    #[test]
    fn written_feeds_are_grouped_by_their_first_tag() {
        let tags = |t: &[&str]| t.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        let (world, none, asia) = (tags(&["world", "asia"]), tags(&[]), tags(&["asia"]));
        let feeds = [
            Feed {
                name: "BBC <World>",
                url: "https://bbc.example/rss?a=1&b=2",
                site_url: Some("https://bbc.example/"),
                tags: &world,
            },
            Feed {
                name: "Plain",
                url: "https://plain.example/",
                site_url: None,
                tags: &none,
            },
            Feed {
                name: "NHK",
                url: "https://nhk.example/",
                site_url: None,
                tags: &asia,
            },
        ];
        let text = write("trawl feeds", "Sat, 01 Jun 2024 12:00:00 +0000", &feeds);
        assert_eq!(
            text,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <opml version=\"2.0\">\n  <head>\n    <title>trawl feeds</title>\n    \
             <dateCreated>Sat, 01 Jun 2024 12:00:00 +0000</dateCreated>\n  </head>\n  <body>\n    \
             <outline type=\"rss\" text=\"Plain\" title=\"Plain\" xmlUrl=\"https://plain.example/\"/>\n    \
             <outline text=\"world\" title=\"world\">\n      \
             <outline type=\"rss\" text=\"BBC &lt;World&gt;\" title=\"BBC &lt;World&gt;\" \
             xmlUrl=\"https://bbc.example/rss?a=1&amp;b=2\" htmlUrl=\"https://bbc.example/\" category=\"/asia\"/>\n    \
             </outline>\n    <outline text=\"asia\" title=\"asia\">\n      \
             <outline type=\"rss\" text=\"NHK\" title=\"NHK\" xmlUrl=\"https://nhk.example/\"/>\n    \
             </outline>\n  </body>\n</opml>\n"
        );
        let back = parse(&text).unwrap();
        let read: Vec<(Option<&str>, &str, Vec<&str>)> = back
            .iter()
            .map(|o| {
                (
                    o.title.as_deref(),
                    o.xml_url.as_str(),
                    o.categories.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            read,
            [
                (Some("Plain"), "https://plain.example/", vec![]),
                (
                    Some("BBC <World>"),
                    "https://bbc.example/rss?a=1&b=2",
                    vec!["world", "asia"]
                ),
                (Some("NHK"), "https://nhk.example/", vec!["asia"]),
            ]
        );
    }
}
