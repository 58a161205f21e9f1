//! Feed discovery: the feeds an HTML page announces with
//! `<link rel="alternate" type="application/rss+xml" href="…">`.
//!
//! Pure, like `parse`: the page's text and its address in, feed URLs out.
//! `trawl feeds discover` prints them, and `parse` names them when it is
//! handed a page instead of a feed.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, EndTag, StartTag, TagToken, Token, TokenSink, TokenSinkResult, Tokenizer,
    TokenizerOpts,
};
use url::Url;

/// One feed a page links.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Found {
    /// Absolute when the page has an address (or a `<base href>`).
    pub url: String,
    pub title: Option<String>,
    /// The media type the link gives.
    #[serde(rename = "type")]
    pub mime_type: String,
}

/// The media types of feeds. `application/json` is JSON Feed's older type.
const FEED_TYPES: [&str; 5] = [
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
];

/// The feeds `html` links, in page order, one per URL. Relative links are
/// resolved against the page's `<base href>`, else `page_url`.
pub fn discover(html: &str, page_url: Option<&Url>) -> Vec<Found> {
    let sink = Sink::default();
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    let sink = tokenizer.sink;
    let links = sink.links.take();
    let base = sink
        .base
        .take()
        .and_then(|b| match page_url {
            Some(p) => p.join(b.trim()).ok(),
            None => Url::parse(b.trim()).ok(),
        })
        .or_else(|| page_url.cloned());

    let mut found: Vec<Found> = Vec::new();
    for link in links {
        let href = link.href.trim();
        let url = match &base {
            Some(b) => b.join(href).map(String::from).ok(),
            None => Some(href.to_string()),
        };
        let Some(url) = url.filter(|u| !u.is_empty()) else {
            continue;
        };
        if !found.iter().any(|f| f.url == url) {
            found.push(Found {
                url,
                title: link
                    .title
                    .map(|t| crate::parse::html::collapse_whitespace(&t))
                    .filter(|t| !t.is_empty()),
                mime_type: link.mime_type,
            });
        }
    }
    found
}

struct Link {
    href: String,
    title: Option<String>,
    mime_type: String,
}

#[derive(Default)]
struct Sink {
    links: RefCell<Vec<Link>>,
    base: RefCell<Option<String>>,
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let TagToken(tag) = token else {
            return TokenSinkResult::Continue;
        };
        if tag.kind == EndTag {
            return TokenSinkResult::Continue;
        }
        let attr = |name: &str| {
            tag.attrs
                .iter()
                .find(|a| &*a.name.local == name)
                .map(|a| a.value.to_string())
        };
        match &*tag.name {
            // Their content is not markup: it must not be read as links.
            "script" if tag.kind == StartTag => TokenSinkResult::RawData(RawKind::ScriptData),
            "style" | "textarea" | "title" | "xmp" | "iframe" | "noembed" | "noframes"
                if tag.kind == StartTag =>
            {
                let kind = if matches!(&*tag.name, "textarea" | "title") {
                    RawKind::Rcdata
                } else {
                    RawKind::Rawtext
                };
                TokenSinkResult::RawData(kind)
            }
            "base" => {
                let mut base = self.base.borrow_mut();
                if base.is_none() {
                    *base = attr("href");
                }
                TokenSinkResult::Continue
            }
            "link" | "a" => {
                let alternate = attr("rel").is_some_and(|rel| {
                    rel.split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("alternate"))
                });
                let mime_type = attr("type")
                    .map(|t| {
                        t.split(';')
                            .next()
                            .unwrap_or("")
                            .trim()
                            .to_ascii_lowercase()
                    })
                    .filter(|t| FEED_TYPES.contains(&t.as_str()));
                if alternate
                    && let Some(mime_type) = mime_type
                    && let Some(href) = attr("href").filter(|h| !h.trim().is_empty())
                {
                    self.links.borrow_mut().push(Link {
                        href,
                        title: attr("title"),
                        mime_type,
                    });
                }
                TokenSinkResult::Continue
            }
            _ => TokenSinkResult::Continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(html: &str, page: Option<&str>) -> Vec<(String, Option<String>)> {
        let page = page.map(|p| Url::parse(p).unwrap());
        discover(html, page.as_ref())
            .into_iter()
            .map(|f| (f.url, f.title))
            .collect()
    }

    #[test]
    fn alternate_links_resolved() {
        let page = r#"<!doctype html><html><head><title>News</title>
<link rel="stylesheet" href="/s.css">
<link rel="alternate" type="application/rss+xml" title="World  news" href="/world/rss.xml">
<LINK REL="Alternate feed" TYPE="application/atom+xml; charset=utf-8" HREF="atom.xml">
<link rel="alternate" type="application/feed+json" href="https://cdn.example.net/feed.json">
<link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
<link rel="alternate" type="application/rss+xml" href="/world/rss.xml">
<link rel="alternate" type="application/rss+xml" href="">
<script>document.write('<link rel="alternate" type="application/rss+xml" href="/no.xml">')</script>
</head><body></body></html>"#;
        assert_eq!(
            urls(page, Some("https://example.com/news/index.html")),
            [
                (
                    "https://example.com/world/rss.xml".to_string(),
                    Some("World news".to_string())
                ),
                ("https://example.com/news/atom.xml".to_string(), None),
                ("https://cdn.example.net/feed.json".to_string(), None),
            ]
        );
    }

    #[test]
    fn base_element_wins() {
        let page = r#"<html><head><base href="https://static.example.org/x/">
<link rel="alternate" type="application/json" href="feed.json"></head></html>"#;
        assert_eq!(
            urls(page, Some("https://example.com/")),
            [("https://static.example.org/x/feed.json".to_string(), None)]
        );
        // Without any base, a relative link stays as written.
        assert_eq!(
            urls(
                r#"<link rel="alternate" type="application/rss+xml" href="/r.xml">"#,
                None
            ),
            [("/r.xml".to_string(), None)]
        );
    }

    #[test]
    fn none() {
        assert!(urls("<html><head><title>x</title></head></html>", None).is_empty());
        assert!(urls("", None).is_empty());
    }
}
