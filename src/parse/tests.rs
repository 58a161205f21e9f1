//! Normalization rules, one table per field: feed document in, field out.

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;

use super::*;

const FEED_URL: &str = "https://example.com/feed.xml";

fn run(bytes: &[u8], content_type: Option<&str>, timezone: Tz) -> Result<Parsed, ParseError> {
    parse(&Input {
        bytes,
        url: Some(FEED_URL),
        content_type,
        content_language: None,
        timezone,
        now: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
    })
}

/// `doc` parsed as served from `FEED_URL`; panics when it is no feed.
pub(crate) fn feed(doc: &str) -> Parsed {
    run(doc.as_bytes(), None, chrono_tz::UTC).unwrap_or_else(|e| panic!("{e}: {doc}"))
}

/// The one article of `doc`.
fn article(doc: &str) -> Article {
    let mut p = feed(doc);
    assert_eq!(p.articles.len(), 1, "{doc}");
    p.articles.remove(0)
}

/// An RSS 2.0 document with `item` as its only item.
fn rss(item: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:media="http://search.yahoo.com/mrss/">
<channel><title>Feed</title><link>https://example.com/</link>
<item>{item}</item>
</channel></rss>"#
    )
}

/// An Atom document with `entry` as its only entry.
fn atom(entry: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
<title>Feed</title><id>urn:feed</id><updated>2024-01-01T00:00:00Z</updated>
<link href="https://example.com/"/>
<entry>{entry}</entry>
</feed>"#
    )
}

#[test]
fn urls() {
    let cases = [
        (
            rss("<link>/a/b?id=1</link>"),
            Some("https://example.com/a/b?id=1"),
        ),
        (
            rss(
                "<link>https://Example.COM:443/x?utm_source=rss&amp;id=2&amp;utm_medium=feed#top</link>",
            ),
            Some("https://example.com/x?id=2"),
        ),
        (
            // xml:base on the channel wins over the feed URL.
            r#"<rss version="2.0"><channel xml:base="https://news.example.org/world/">
               <item><link>story.html</link></item></channel></rss>"#
                .to_string(),
            Some("https://news.example.org/world/story.html"),
        ),
        (
            atom(r#"<id>1</id><title>t</title><link rel="alternate" href="/e/1"/>"#),
            Some("https://example.com/e/1"),
        ),
        (
            atom(
                r#"<id>1</id><title>t</title><link rel="enclosure" href="/a.mp3"/>
                <link href="/e/2"/>"#,
            ),
            Some("https://example.com/e/2"),
        ),
        // No link: an RSS guid that is a URL stands in for it.
        (
            rss("<guid>https://example.com/p/9</guid>"),
            Some("https://example.com/p/9"),
        ),
        (rss("<guid>tag:example.com,2024:9</guid>"), None),
    ];
    for (doc, want) in cases {
        assert_eq!(article(&doc).url.as_deref(), want, "{doc}");
    }
}

#[test]
fn relative_links_without_a_feed_url_use_the_self_link() {
    let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title>
        <link rel="self" href="https://example.net/blog/index.atom"/>
        <entry><id>1</id><title>t</title><link href="/blog/1"/></entry></feed>"#;
    let p = parse(&Input {
        bytes: doc.as_bytes(),
        url: None,
        content_type: None,
        content_language: None,
        timezone: chrono_tz::UTC,
        now: Utc::now(),
    })
    .unwrap();
    assert_eq!(
        p.articles[0].url.as_deref(),
        Some("https://example.net/blog/1")
    );
}

#[test]
fn titles() {
    let cases = [
        (
            rss("<title>  Fed\n holds   rates </title>"),
            "Fed holds rates",
        ),
        (
            rss("<title>Q&amp;amp;A: &lt;b&gt;Fed&lt;/b&gt; holds</title>"),
            "Q&A: Fed holds",
        ),
        (
            rss("<title><![CDATA[<em>Breaking</em>: x]]></title>"),
            "Breaking: x",
        ),
        (rss("<title>caf&amp;eacute; a &lt; b</title>"), "café a < b"),
        (
            atom(r#"<id>1</id><title type="html">Q&amp;amp;A: &lt;b&gt;Fed&lt;/b&gt;</title>"#),
            "Q&A: Fed",
        ),
        // Atom text is text: what looks like markup is kept.
        (
            atom(r#"<id>1</id><title type="text">a &lt;b&gt; &amp;amp; c</title>"#),
            "a <b> &amp; c",
        ),
        (
            atom(
                r#"<id>1</id><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">A <b>bold</b> move</div></title>"#,
            ),
            "A bold move",
        ),
        (rss("<link>https://example.com/1</link>"), ""),
    ];
    for (doc, want) in cases {
        assert_eq!(article(&doc).title, want, "{doc}");
    }
}

#[test]
fn authors() {
    let cases = [
        (rss("<author>By Liu Yisi</author>"), vec!["Liu Yisi"]),
        (rss("<dc:creator>Jane Doe</dc:creator>"), vec!["Jane Doe"]),
        (
            rss(
                "<dc:creator>by Jane Doe</dc:creator><dc:creator>John Roe</dc:creator><dc:creator>Jane Doe</dc:creator>",
            ),
            vec!["Jane Doe", "John Roe"],
        ),
        (
            rss("<author>jane@example.com (Jane Doe)</author>"),
            vec!["Jane Doe"],
        ),
        (
            rss("<author>Jane Doe (jane@example.com)</author>"),
            vec!["Jane Doe"],
        ),
        (rss("<author>jane@example.com</author>"), vec![]),
        (rss("<dc:creator>  </dc:creator>"), vec![]),
        (
            atom("<id>1</id><title>t</title><author><name>BY Ann Lee</name></author>"),
            vec!["Ann Lee"],
        ),
        // Not a byline.
        (
            rss("<dc:creator>Byron Katie</dc:creator>"),
            vec!["Byron Katie"],
        ),
    ];
    for (doc, want) in cases {
        assert_eq!(article(&doc).authors, want, "{doc}");
    }
}

#[test]
fn entries_without_authors_take_the_feeds() {
    let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title>
        <author><name>Desk</name></author>
        <entry><id>1</id><title>a</title></entry>
        <entry><id>2</id><title>b</title><author><name>Ann</name></author></entry></feed>"#;
    let names: Vec<Vec<String>> = feed(doc).articles.into_iter().map(|a| a.authors).collect();
    assert_eq!(names, [vec!["Desk"], vec!["Ann"]]);
}

#[test]
fn dates() {
    let shanghai: Tz = "Asia/Shanghai".parse().unwrap();
    let cases = [
        (
            rss("<pubDate>2024-04-17 10:03:49</pubDate>"),
            shanghai,
            Some("2024-04-17T02:03:49Z"),
            None,
        ),
        (
            rss("<pubDate>Wed, 17 Apr 2024 10:03:49 +0800</pubDate>"),
            shanghai,
            Some("2024-04-17T02:03:49Z"),
            None,
        ),
        (
            rss("<dc:date>2024-04-17T10:03:49+08:00</dc:date>"),
            chrono_tz::UTC,
            Some("2024-04-17T02:03:49Z"),
            None,
        ),
        (rss("<title>undated</title>"), chrono_tz::UTC, None, None),
        (
            atom(
                "<id>1</id><title>t</title><published>2024-04-17T10:00:00Z</published><updated>2024-04-18T10:00:00Z</updated>",
            ),
            chrono_tz::UTC,
            Some("2024-04-17T10:00:00Z"),
            Some("2024-04-18T10:00:00Z"),
        ),
        // Only <updated>: it is the publication date too.
        (
            atom("<id>1</id><title>t</title><updated>2024-04-18T10:00:00Z</updated>"),
            chrono_tz::UTC,
            Some("2024-04-18T10:00:00Z"),
            Some("2024-04-18T10:00:00Z"),
        ),
    ];
    for (doc, tz, published, updated) in cases {
        let a = run(doc.as_bytes(), None, tz).unwrap().articles.remove(0);
        assert_eq!(
            a.published.as_ref().map(format_time).as_deref(),
            published,
            "{doc}"
        );
        assert_eq!(
            a.updated.as_ref().map(format_time).as_deref(),
            updated,
            "{doc}"
        );
    }
}

#[test]
fn gbk_served_as_gb2312() {
    let doc =
        rss("<title>中国经济：央行维持利率不变</title><description>记者 刘一思</description>");
    let doc = doc.replace(
        "<?xml version=\"1.0\"?>",
        "<?xml version=\"1.0\" encoding=\"gb2312\"?>",
    );
    let (bytes, _, bad) = encoding_rs::GBK.encode(&doc);
    assert!(!bad);
    let p = run(
        &bytes,
        Some("application/rss+xml; charset=gb2312"),
        chrono_tz::UTC,
    )
    .unwrap();
    assert_eq!(p.articles[0].title, "中国经济：央行维持利率不变");
    assert_eq!(p.articles[0].summary.as_deref(), Some("记者 刘一思"));
}

#[test]
fn guids() {
    // As the feed gives it.
    assert_eq!(
        article(&rss("<guid isPermaLink=\"false\"> 42 </guid>")).guid,
        "42"
    );
    assert_eq!(
        article(&atom("<id>urn:x:1</id><title>t</title>")).guid,
        "urn:x:1"
    );

    // Without one: derived from link, title and date, the same every time.
    let doc = rss(
        "<title>T</title><link>https://example.com/a?utm_source=x</link><pubDate>Wed, 17 Apr 2024 10:03:49 GMT</pubDate>",
    );
    let first = article(&doc).guid;
    assert!(first.starts_with("trawl:"), "{first}");
    assert_eq!(article(&doc).guid, first);
    // Tracking parameters are not part of it.
    let clean = doc.replace("?utm_source=x", "");
    assert_eq!(article(&clean).guid, first);
    // Another title is another entry.
    assert_ne!(article(&doc.replace("<title>T<", "<title>U<")).guid, first);

    // Two entries with neither link nor title get different ids.
    let p = feed(&rss(
        "<description>one</description></item><item><description>two</description>",
    ));
    assert_ne!(p.articles[0].guid, p.articles[1].guid);
}

#[test]
fn content_and_summary() {
    // (document, summary, content_html, content_text)
    let cases = [
        (
            rss(
                "<description>&lt;p&gt;One&lt;/p&gt;&lt;p&gt;Two &amp;amp; three&lt;/p&gt;</description>",
            ),
            Some("One\n\nTwo & three"),
            Some("<p>One</p><p>Two &amp; three</p>"),
            Some("One\n\nTwo & three"),
        ),
        (
            rss(
                r#"<description>Short</description><content:encoded><![CDATA[<p>Long <img src="/i.png" onerror="alert(1)"></p><script>alert(1)</script>]]></content:encoded><link>https://example.com/news/1</link>"#,
            ),
            Some("Short"),
            Some(r#"<p>Long <img src="https://example.com/i.png"></p>"#),
            Some("Long"),
        ),
        (
            atom(r#"<id>1</id><title>t</title><summary type="text">a &lt;b&gt;</summary>"#),
            Some("a <b>"),
            None,
            Some("a <b>"),
        ),
        (
            atom(
                r#"<id>1</id><title>t</title><link href="https://example.com/2024/post"/>
                <content type="html" xml:base="https://cdn.example.org/media/">&lt;a href="x.jpg" onclick="evil()"&gt;pic&lt;/a&gt;&lt;a href="javascript:alert(1)"&gt;js&lt;/a&gt;</content>"#,
            ),
            None,
            Some(
                r#"<a href="https://cdn.example.org/media/x.jpg" rel="noopener noreferrer nofollow">pic</a><a rel="noopener noreferrer nofollow">js</a>"#,
            ),
            Some("picjs"),
        ),
        (rss("<title>t</title>"), None, None, None),
    ];
    for (doc, summary, html, text) in cases {
        let a = article(&doc);
        assert_eq!(a.summary.as_deref(), summary, "{doc}");
        assert_eq!(a.content_html.as_deref(), html, "{doc}");
        assert_eq!(a.content_text.as_deref(), text, "{doc}");
        let body = a
            .content_text
            .as_deref()
            .or(a.summary.as_deref())
            .unwrap_or("");
        assert_eq!(a.content_hash, dedupe::content_hash(&a.title, body));
    }
}

#[test]
fn categories_and_language() {
    let a = article(&rss(
        "<category>World</category><category> World </category><category>A &amp;amp; B</category><category/>",
    ));
    assert_eq!(a.categories, ["World", "A & B"]);
    assert_eq!(a.language, None);

    let a = article(&atom(
        r#"<id>1</id><title>t</title><category term="pol" label="Politics"/><category term="eco"/>"#,
    ));
    assert_eq!(a.categories, ["Politics", "eco"]);
    assert_eq!(a.language.as_deref(), Some("en"));

    let doc = rss("<title>t</title>").replace(
        "<title>Feed</title>",
        "<title>Feed</title><language> en-US </language>",
    );
    assert_eq!(article(&doc).language.as_deref(), Some("en-us"));
}

#[test]
fn enclosures() {
    let enclosure = |url: &str, mime: &str, length: Option<u64>| Enclosure {
        url: url.into(),
        mime_type: Some(mime.into()),
        length,
    };
    let cases = [
        (
            rss(r#"<enclosure url="/pod/1.mp3" type="audio/mpeg" length="1234"/>"#),
            vec![enclosure(
                "https://example.com/pod/1.mp3",
                "audio/mpeg",
                Some(1234),
            )],
        ),
        (
            rss(
                r#"<media:content url="https://example.com/v.mp4" type="video/mp4" fileSize="99"/>"#,
            ),
            vec![enclosure(
                "https://example.com/v.mp4",
                "video/mp4",
                Some(99),
            )],
        ),
        (
            atom(
                r#"<id>1</id><title>t</title><link rel="enclosure" href="/a.mp3" type="audio/mpeg" length="5"/>"#,
            ),
            vec![enclosure(
                "https://example.com/a.mp3",
                "audio/mpeg",
                Some(5),
            )],
        ),
        (rss("<title>t</title>"), vec![]),
    ];
    for (doc, want) in cases {
        assert_eq!(article(&doc).enclosures, want, "{doc}");
    }
}

#[test]
fn feed_info() {
    let p = feed(
        &rss("<title>t</title>")
            .replace("<title>Feed</title>", "<title>The &amp;amp; Feed</title>"),
    );
    let want = FeedInfo {
        title: Some("The & Feed".into()),
        url: Some(FEED_URL.into()),
        site_url: Some("https://example.com/".into()),
    };
    assert_eq!(p.feed, want);
    assert_eq!(p.articles[0].feed, want);
}

#[test]
fn json_feed() {
    let doc = r#"{
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J", "home_page_url": "https://example.com/",
        "authors": [{"name": "Desk"}],
        "items": [
            {"id": "1", "url": "https://example.com/1?utm_campaign=x", "title": "One",
             "content_html": "<p>Hi</p><script>x()</script>", "date_published": "2024-04-17T10:03:49+08:00",
             "tags": ["a", "b"], "attachments": [{"url": "https://example.com/1.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 7}]},
            {"id": "2", "title": "Two", "content_text": "Plain\n\ntext", "authors": [{"name": "By Ann"}]}
        ]}"#;
    let p = feed(doc);
    assert_eq!(p.feed.title.as_deref(), Some("J"));
    assert_eq!(p.feed.site_url.as_deref(), Some("https://example.com/"));
    let (one, two) = (&p.articles[0], &p.articles[1]);
    assert_eq!(one.guid, "1");
    assert_eq!(one.url.as_deref(), Some("https://example.com/1"));
    assert_eq!(one.content_html.as_deref(), Some("<p>Hi</p>"));
    assert_eq!(
        one.published.as_ref().map(format_time).as_deref(),
        Some("2024-04-17T02:03:49Z")
    );
    assert_eq!(one.authors, ["Desk"]);
    assert_eq!(one.categories, ["a", "b"]);
    assert_eq!(
        one.enclosures,
        [Enclosure {
            url: "https://example.com/1.mp3".into(),
            mime_type: Some("audio/mpeg".into()),
            length: Some(7),
        }]
    );
    assert_eq!(two.url, None);
    assert_eq!(two.content_html, None);
    assert_eq!(two.content_text.as_deref(), Some("Plain\n\ntext"));
    assert_eq!(two.authors, ["Ann"]);
    assert!(p.warnings.is_empty());
}

#[test]
fn json_feed_lenient() {
    // The old version URL, a numeric id, tags as a string.
    let doc = r#"{"version": "http://jsonfeed.org/version/1", "title": "J",
        "items": [{"id": 7, "title": "x", "tags": "a, b"}]}"#;
    let p = feed(doc);
    assert_eq!(p.articles[0].guid, "7");
    assert_eq!(p.articles[0].categories, ["a", "b"]);
    assert!(p.malformed());
}

#[test]
fn not_feeds() {
    let cases = [
        ("", "empty"),
        ("   \n", "empty"),
        (
            "<!DOCTYPE html><html><head><title>x</title></head><body>hi</body></html>",
            "HTML page",
        ),
        ("<html><body><p>hi</p></body></html>", "HTML page (<html>)"),
        ("just some text", "neither XML nor JSON"),
        (
            "<opml version=\"1.0\"><body/></opml>",
            "root element is <opml>",
        ),
        ("{\"hello\": 1}", "not a JSON Feed"),
        (
            "<rss version=\"2.0\">\n<chanel><item/></chanel></rss>",
            "<rss> without a <channel>",
        ),
        // Beyond repair: the document ends inside the root's start tag.
        (
            "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"\n xmlns:dc=\"http://purl.org/dc/elem",
            "at line 2, column 1 (truncated document",
        ),
    ];
    for (doc, want) in cases {
        match run(doc.as_bytes(), None, chrono_tz::UTC) {
            Err(e) => assert!(e.to_string().contains(want), "{doc:?} → {e}"),
            Ok(p) => panic!("{doc:?} parsed: {p:?}"),
        }
    }
}

#[test]
fn empty_feed_is_ok() {
    let p = feed(r#"<rss version="2.0"><channel><title>Quiet</title></channel></rss>"#);
    assert!(p.articles.is_empty());
    assert_eq!(p.feed.title.as_deref(), Some("Quiet"));
    assert!(p.warnings.is_empty());
}

#[test]
fn broken_xml_is_repaired() {
    // (document, titles, what the warning names; `None`: read without repair)
    let cases = [
        // feed-rs passes undefined entities through as text, and text is
        // decoded as HTML: right without a repair.
        (
            rss("<title>Caf&eacute;&nbsp;&mdash; bar</title>"),
            vec!["Café — bar"],
            None,
        ),
        (
            rss("<title>R&D and AT&T</title><link>https://example.com/?a=1&b=2</link>"),
            vec!["R&D and AT&T"],
            Some("bare `&`"),
        ),
        (
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>F</title>\
             <item><title>one</title></item><item><title>two</title></item><item><title>thr"
                .to_string(),
            vec!["one", "two"],
            Some("truncated"),
        ),
        (
            format!(
                "<br />\n<b>Warning</b>: fopen failed in <b>/var/www/feed.php</b> on line <b>3</b><br />\n{}",
                rss("<title>x</title>")
            ),
            vec!["x"],
            Some("content before the document"),
        ),
        (
            // HTML in a text element is escaped: all of its text is kept.
            rss("<title>a &#0; b &nbsp;<br> c</title>"),
            vec!["a b c"],
            Some("invalid character reference, undefined entity, HTML markup not escaped"),
        ),
        (
            "<rss version=\"2.0\"><channel><title>F</title><itunes:category text='T'>\
             <item><title>one</title></item></channel></rss>"
                .to_string(),
            vec!["one"],
            Some("unclosed element"),
        ),
    ];
    for (doc, titles, fix) in cases {
        let p = feed(&doc);
        let got: Vec<&str> = p.articles.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(got, titles, "{doc}");
        assert_eq!(p.malformed(), fix.is_some(), "{doc}: {:?}", p.warnings);
        if let Some(fix) = fix {
            assert!(
                p.warnings.iter().any(|w| w.contains(fix)),
                "{doc}: {:?}",
                p.warnings
            );
        }
    }
}

#[test]
fn old_formats() {
    let cases = [
        // Atom 0.3: its namespace, <issued>, mode="escaped".
        (
            r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>F</title>
            <entry><title>Old</title><id>1</id><issued>2004-01-01T00:00:00Z</issued>
            <content type="text/html" mode="escaped">&lt;p&gt;x&lt;/p&gt;</content></entry></feed>"#,
            "Old",
            Some("2004-01-01T00:00:00Z"),
        ),
        // RSS without a version, and 0.94.
        (
            "<rss><channel><title>F</title><item><title>No version</title></item></channel></rss>",
            "No version",
            None,
        ),
        (
            "<rss version=\"0.94\"><channel><title>F</title><item><title>0.94</title></item></channel></rss>",
            "0.94",
            None,
        ),
        // RSS 2.0 under Userland's namespace.
        (
            r#"<rss version="2.0" xmlns="http://backend.userland.com/rss2"><channel><title>F</title><item><title>Userland</title></item></channel></rss>"#,
            "Userland",
            None,
        ),
        // RSS 0.91 with its items after </channel>.
        (
            "<rss version=\"0.91\"><channel><title>F</title><link>https://example.com/</link></channel>\
             <item><title>Outside</title><link>https://example.com/1</link></item></rss>",
            "Outside",
            None,
        ),
    ];
    for (doc, title, published) in cases {
        let a = article(doc);
        assert_eq!(a.title, title, "{doc}");
        assert_eq!(
            a.published.as_ref().map(format_time).as_deref(),
            published,
            "{doc}"
        );
    }
}

#[test]
fn feed_inside_an_html_page() {
    let doc = r#"<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>
        <feed xmlns="http://www.w3.org/2005/Atom"><title>F</title>
        <entry><id>1</id><title>Inside</title></entry></feed></body></html>"#;
    assert_eq!(article(doc).title, "Inside");
}

#[test]
fn xhtml_script_never_reaches_content_html() {
    let cases = [
        rss(
            "<description>&lt;SCRIPT&gt;alert(1)&lt;/SCRIPT&gt;&lt;p&gt;ok&lt;/p&gt;</description>",
        ),
        rss("<description><![CDATA[<img src=x onerror=alert(1)><p>ok</p>]]></description>"),
        atom(
            r#"<id>1</id><title>t</title><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p onclick="x()">ok</p><script>alert(1)</script></div></content>"#,
        ),
    ];
    for doc in cases {
        let html = article(&doc)
            .content_html
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(html.contains("ok"), "{doc}: {html}");
        for bad in ["<script", "onerror", "onclick", "alert"] {
            assert!(!html.contains(bad), "{doc}: {html}");
        }
    }
}

/// An RSS 2.0 document whose channel holds `channel` (title, link, items...).
fn rss_channel(namespaces: &str, channel: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<rss version="2.0" {namespaces}>
<channel><title>Feed</title><link>https://example.com/</link>
{channel}
</channel></rss>"#
    )
}

/// An RSS 1.0 document with `items` after its channel.
fn rdf(items: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://example.com/"><title>Feed</title><link>https://example.com/</link>
<description>d</description></channel>
{items}
</rdf:RDF>"#
    )
}

#[test]
fn rss1_items_take_their_id_from_rdf_about_and_need_no_link() {
    let p = feed(&rdf(
        r#"<item rdf:about="https://example.com/1"><title>One</title><link>https://example.com/1</link></item>
<item rdf:about="urn:example:2"><title>Two</title><dc:date>2024-04-17T10:00:00Z</dc:date></item>"#,
    ));
    let got: Vec<(&str, Option<&str>, &str)> = p
        .articles
        .iter()
        .map(|a| (a.guid.as_str(), a.url.as_deref(), a.title.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "https://example.com/1",
                Some("https://example.com/1"),
                "One"
            ),
            ("urn:example:2", None, "Two"),
        ]
    );
    assert_eq!(
        p.articles[1].published.as_ref().map(format_time).as_deref(),
        Some("2024-04-17T10:00:00Z")
    );
}

#[test]
fn atom_elements_inside_rss_items() {
    let doc = rss_channel(
        r#"xmlns:a10="http://www.w3.org/2005/Atom""#,
        r#"<item><title>t</title><a10:link href="https://example.com/a10"/>
<a10:author><a10:name>Jo Lee</a10:name><a10:email>jo@example.com</a10:email></a10:author>
<a10:updated>2024-04-17T10:00:00Z</a10:updated></item>
<item><title>u</title><author xmlns:author="http://www.w3.org/2005/Atom"><name>Di Roe</name></author></item>"#,
    );
    let p = feed(&doc);
    assert_eq!(
        p.articles[0].url.as_deref(),
        Some("https://example.com/a10")
    );
    assert_eq!(p.articles[0].authors, ["Jo Lee"]);
    assert_eq!(
        p.articles[0].published.as_ref().map(format_time).as_deref(),
        Some("2024-04-17T10:00:00Z")
    );
    assert_eq!(p.articles[1].authors, ["Di Roe"]);
}

#[test]
fn pubdate_in_any_case() {
    for tag in ["pubdate", "PubDate", "PUBDATE"] {
        let a = article(&rss(&format!(
            "<title>t</title><{tag}>Wed, 17 Apr 2024 10:03:49 GMT</{tag}>"
        )));
        assert_eq!(
            a.published.as_ref().map(format_time).as_deref(),
            Some("2024-04-17T10:03:49Z"),
            "{tag}"
        );
    }
}

/// feed-rs merges an item's `<enclosure>` into its `media:content` and
/// loses it; both are attachments.
#[test]
fn enclosure_and_media_content_both_kept() {
    let a = article(&rss(r#"<title>t</title>
<media:content url="https://example.com/photo.jpg" type="image/jpeg" fileSize="10"/>
<media:thumbnail url="https://example.com/thumb.jpg"/>
<enclosure url="https://example.com/ep.mp3" type="audio/mpeg" length="2000"/>"#));
    let urls: Vec<(&str, Option<&str>, Option<u64>)> = a
        .enclosures
        .iter()
        .map(|e| (e.url.as_str(), e.mime_type.as_deref(), e.length))
        .collect();
    assert_eq!(
        urls,
        [
            (
                "https://example.com/photo.jpg",
                Some("image/jpeg"),
                Some(10)
            ),
            ("https://example.com/ep.mp3", Some("audio/mpeg"), Some(2000)),
        ]
    );
}

#[test]
fn atom_content_with_src_and_a_body_is_read() {
    let p = feed(&atom(
        r#"<id>1</id><title>t</title><link href="https://example.com/1"/>
<content src="https://example.com/1.html" type="html">&lt;p&gt;Body&lt;/p&gt;</content>"#,
    ));
    assert!(p.malformed(), "{:?}", p.warnings);
    assert_eq!(p.articles[0].content_text.as_deref(), Some("Body"));
    // Empty, with a text type where a media type belongs.
    let p = feed(&atom(
        r#"<id>1</id><title>t</title><content src="https://example.com/1.html" type="html"/>"#,
    ));
    assert_eq!(p.articles[0].title, "t");
}

/// Namespaces a little off (no trailing slash, other case, the RSS Board's
/// Media RSS URI) still mean what they say; feedparser reads them too.
#[test]
fn namespaces_spelled_a_little_off() {
    let doc = rss_channel(
        r#"xmlns:dc="http://purl.org/dc/elements/1.1" xmlns:content="http://purl.org/rss/1.0/modules/content"
           xmlns:media="http://www.rssboard.org/media-rss" xmlns:itunes="http://www.itunes.com/DTDs/Podcast-1.0.dtd""#,
        r#"<item><title>t</title><dc:creator>Ann Lee</dc:creator>
<content:encoded>&lt;p&gt;Full&lt;/p&gt;</content:encoded>
<media:content url="https://example.com/v.mp4" type="video/mp4"/></item>"#,
    );
    let a = article(&doc);
    assert_eq!(a.authors, ["Ann Lee"]);
    assert_eq!(a.content_text.as_deref(), Some("Full"));
    assert_eq!(a.enclosures.len(), 1);
}

#[test]
fn more_authors() {
    let cases = [
        // iTunes names the episode's author too.
        (
            rss("<dc:creator>Marco</dc:creator><itunes:author>ATP</itunes:author>"),
            vec!["Marco", "ATP"],
        ),
        (
            rss("<author>Jane Doe &lt;jane@example.com&gt;</author>"),
            vec!["Jane Doe"],
        ),
        (
            rss("<itunes:author>jane@example.com (Jane Doe)</itunes:author>"),
            vec!["Jane Doe"],
        ),
        (
            rss("<itunes:author>mailto:jane@example.com</itunes:author>"),
            vec![],
        ),
        // A URL is no name (feedparser keeps `dc:author` URLs as names).
        (
            rss("<dc:author>http://www.example.com/desk/</dc:author>"),
            vec![],
        ),
    ];
    for (doc, want) in cases {
        let doc = doc.replace(
            "xmlns:media=",
            "xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\" xmlns:media=",
        );
        assert_eq!(article(&doc).authors, want, "{doc}");
    }
}

/// An id is what the feed says, never resolved against the feed's URL:
/// feedparser makes `<guid>333483</guid>` into `https://host/333483` and
/// an Atom `<id>t3_x</id>` into a URL, which would change every id (and
/// re-store every article) when the feed moves to another address. A
/// relative permalink guid does give the link, resolved.
#[test]
fn ids_are_kept_as_written() {
    let a = article(&rss("<title>t</title><guid>333483</guid>"));
    assert_eq!((a.guid.as_str(), a.url.as_deref()), ("333483", None));
    let a = article(&rss(
        r#"<title>t</title><guid isPermaLink="true">/blog/intro</guid>"#,
    ));
    assert_eq!(
        (a.guid.as_str(), a.url.as_deref()),
        ("/blog/intro", Some("https://example.com/blog/intro"))
    );
    let a = article(&atom("<id>t3_157kyrd</id><title>t</title>"));
    assert_eq!((a.guid.as_str(), a.url.as_deref()), ("t3_157kyrd", None));
    // isPermaLink="false": the guid is no link.
    let a = article(&rss(
        r#"<title>t</title><guid isPermaLink="false">https://example.com/p/1</guid>"#,
    ));
    assert_eq!(a.url, None);
}

/// Dates feedparser reads as nothing (or wrongly) that trawl reads.
#[test]
fn dates_feedparser_cannot_read() {
    for (date, want) in [
        // Portuguese day and month names.
        ("Seg, 24 Set 2018 19:42:40 -0300", "2018-09-24T22:42:40Z"),
        // Thai weekday and month.
        ("พฤ., 03 พ.ย. 2005 21:24:18 +0000", "2005-11-03T21:24:18Z"),
        // Seconds of one digit, the zone as `GMT+9`.
        ("Thu,28 Jul 2022 4:35:5 GMT+9", "2022-07-27T19:35:05Z"),
        // feedparser reads this as November 1st.
        ("2020/1/10 14:33:00", "2020-01-10T14:33:00Z"),
    ] {
        let a = article(&rss(&format!("<title>t</title><pubdate>{date}</pubdate>")));
        assert_eq!(
            a.published.as_ref().map(format_time).as_deref(),
            Some(want),
            "{date}"
        );
    }
}

/// Text in a legacy charset is read in that charset (feedparser turned
/// these titles into Latin-1 mojibake).
#[test]
fn titles_decoded_in_their_charset() {
    for (encoding, label, title) in [
        (encoding_rs::EUC_KR, "euc-kr", "결정을 기록할 때는"),
        (encoding_rs::SHIFT_JIS, "Shift_JIS", "年間走行距離報告"),
    ] {
        let doc = rss(&format!("<title>{title}</title>")).replace(
            "<?xml version=\"1.0\"?>",
            &format!("<?xml version=\"1.0\" encoding=\"{label}\"?>"),
        );
        let (bytes, _, bad) = encoding.encode(&doc);
        assert!(!bad);
        let p = run(&bytes, None, chrono_tz::UTC).unwrap();
        assert_eq!(p.articles[0].title, title);
    }
}

/// HTML reads `&#39s` as `'s`, as browsers do; feedparser leaves it as is.
#[test]
fn character_references_without_semicolon() {
    let a = article(&rss("<title>The 70&amp;#39s and 101&amp;#34mm</title>"));
    assert_eq!(a.title, "The 70's and 101\"mm");
}

#[test]
fn double_encoded_utf8_repaired() {
    let a = article(&rss(
        "<title>Itâ€™s about Your Audience</title><description>CafÃ© au lait</description>\
         <dc:creator>JosÃ© Ruiz</dc:creator><category>MÃ¼nchen</category>",
    ));
    assert_eq!(a.title, "It’s about Your Audience");
    assert_eq!(a.summary.as_deref(), Some("Café au lait"));
    assert_eq!(a.authors, ["José Ruiz"]);
    assert_eq!(a.categories, ["München"]);
    // Not double-encoded: left alone.
    assert_eq!(article(&rss("<title>SÃO PAULO</title>")).title, "SÃO PAULO");
}

#[test]
fn a_lying_single_byte_label_over_utf8() {
    let doc = rss("<title>Tom Waits: Sänger lässt den Teufel raus</title>").replace(
        "<?xml version=\"1.0\"?>",
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
    );
    assert_eq!(
        article(&doc).title,
        "Tom Waits: Sänger lässt den Teufel raus"
    );
}

/// feedparser counts an `<item/>` nested in an item as one more (empty)
/// entry; it is not one.
#[test]
fn nested_item_is_not_an_entry() {
    let p = feed(&rss_channel(
        "",
        "<item><title>a</title><description>x</description><item /></item><item><title>b</title></item>",
    ));
    let titles: Vec<&str> = p.articles.iter().map(|a| a.title.as_str()).collect();
    assert_eq!(titles, ["a", "b"]);
}

/// Language: the entry's `xml:lang`, then its `dc:language`, the channel's
/// `<language>`, the channel's `dc:language`, the HTTP Content-Language.
#[test]
fn language_order() {
    let lang = |doc: &str, http: Option<&str>| -> Vec<Option<String>> {
        parse(&Input {
            bytes: doc.as_bytes(),
            url: Some(FEED_URL),
            content_type: None,
            content_language: http,
            timezone: chrono_tz::UTC,
            now: Utc::now(),
        })
        .unwrap()
        .articles
        .into_iter()
        .map(|a| a.language)
        .collect()
    };
    let ns = r#"xmlns:dc="http://purl.org/dc/elements/1.1/""#;
    let items = r#"<item xml:lang="fr"><title>a</title></item>
<item><title>b</title><dc:language>de</dc:language></item><item><title>c</title></item>"#;
    let with_language = rss_channel(ns, &format!("<language>en-us</language>{items}"));
    assert_eq!(
        lang(&with_language, Some("ja")),
        [Some("fr".into()), Some("de".into()), Some("en-us".into())]
    );
    let with_dc = rss_channel(ns, &format!("<dc:language>pt-BR</dc:language>{items}"));
    assert_eq!(lang(&with_dc, Some("ja"))[2].as_deref(), Some("pt-BR"));
    let bare = rss_channel(ns, items);
    assert_eq!(lang(&bare, Some("ja"))[2].as_deref(), Some("ja"));
    assert_eq!(lang(&bare, None)[2], None);
}

#[test]
fn ttl_and_update_period() {
    let ns = r#"xmlns:sy="http://purl.org/rss/1.0/modules/syndication/""#;
    let p = feed(&rss_channel(
        ns,
        "<ttl>30</ttl><sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>",
    ));
    assert_eq!(p.ttl, Some(std::time::Duration::from_secs(30 * 60)));
    assert_eq!(
        p.update_period,
        Some(std::time::Duration::from_secs(15 * 60))
    );
    let p = feed(&rss_channel(
        ns,
        "<sy:updateFrequency>2</sy:updateFrequency>",
    ));
    assert_eq!(
        p.update_period,
        Some(std::time::Duration::from_secs(12 * 3600))
    );
    let p = feed(&rss("<title>t</title>"));
    assert_eq!((p.ttl, p.update_period), (None, None));
    // Atom feeds carry `sy:` too.
    let p = feed(&atom("<id>1</id><title>t</title>").replace(
        "<title>Feed</title>",
        "<title>Feed</title><sy:updatePeriod xmlns:sy=\"http://purl.org/rss/1.0/modules/syndication/\">daily</sy:updatePeriod>",
    ));
    assert_eq!(p.update_period, Some(std::time::Duration::from_secs(86400)));
}

#[test]
fn media_title_stands_in_for_a_missing_title() {
    let a = article(&atom(
        r#"<id>1</id><media:group xmlns:media="http://search.yahoo.com/mrss/"><media:content url="https://example.com/v.mp4"><media:title>Clip</media:title></media:content></media:group>"#,
    ));
    assert_eq!(a.title, "Clip");
}

#[test]
fn an_html_page_names_the_feeds_it_links() {
    let page = r#"<!doctype html><html><head><title>News</title>
<link rel="alternate" type="application/rss+xml" href="/rss.xml">
<link rel="alternate" type="application/atom+xml" href="https://example.com/atom.xml">
</head><body></body></html>"#;
    let err = run(page.as_bytes(), None, chrono_tz::UTC)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "links these feeds: https://example.com/rss.xml, https://example.com/atom.xml"
        ),
        "{err}"
    );
    let err = run(b"<html><body>hi</body></html>", None, chrono_tz::UTC)
        .unwrap_err()
        .to_string();
    assert!(err.contains("links no feed"), "{err}");
}

/// XHTML left unescaped in an RSS description is HTML, all of it (feed-rs
/// alone keeps the text before the first element).
#[test]
fn unescaped_markup_in_rss_text() {
    let a = article(&rss(
        "<title>A <em>big</em> day</title><description>one<p>two <b>three</b></p></description>",
    ));
    assert_eq!(a.title, "A big day");
    assert_eq!(a.content_text.as_deref(), Some("one\n\ntwo three"));
}

#[test]
fn fallbacks_for_missing_title_date_and_link() {
    let a = article(&rss("<dc:title>From DC</dc:title>\
         <dcterms:modified xmlns:dcterms=\"http://purl.org/dc/terms/\">2003-12-31T10:14:55Z</dcterms:modified>"));
    assert_eq!(a.title, "From DC");
    assert_eq!(
        a.published.as_ref().map(format_time).as_deref(),
        Some("2003-12-31T10:14:55Z")
    );
    assert_eq!(
        article(&rss("<media:title>From media</media:title>")).title,
        "From media"
    );
    // An Atom entry with no link but an http(s) id: the id is its address.
    let a = article(&atom("<id>https://example.com/e/1</id><title>t</title>"));
    assert_eq!(a.url.as_deref(), Some("https://example.com/e/1"));
}

/// Atom titles per RFC 4287 §3.1: `xhtml` is markup (its text is the
/// title), `html` is escaped markup (decoded once more, then its text),
/// `text` is text (what looks like markup stays). Atom 0.3 `mode` too.
#[test]
fn atom_title_types() {
    let xhtml = r#"xmlns="http://www.w3.org/1999/xhtml""#;
    let cases = [
        (
            format!(r#"<title type="xhtml"><div {xhtml}>A <b>bold</b> title</div></title>"#),
            "A bold title",
        ),
        // A prefixed XHTML namespace, an entity, a line break.
        (
            r#"<title type="xhtml"><h:div xmlns:h="http://www.w3.org/1999/xhtml">A <h:b>bold</h:b> &amp;<h:br/>title</h:div></title>"#
                .to_string(),
            "A bold & title",
        ),
        // Escaped markup in XHTML is text.
        (
            format!(r#"<title type="xhtml"><div {xhtml}>x &lt;b&gt; y</div></title>"#),
            "x <b> y",
        ),
        (
            r#"<title type="html">A &lt;b&gt;bold&lt;/b&gt; title</title>"#.to_string(),
            "A bold title",
        ),
        (
            r#"<title type="html"><![CDATA[A <b>bold</b> &amp; title]]></title>"#.to_string(),
            "A bold & title",
        ),
        (
            r#"<title type="text">A &lt;b&gt;bold&lt;/b&gt; title</title>"#.to_string(),
            "A <b>bold</b> title",
        ),
        (
            r#"<title type="text"><![CDATA[A <b>bold</b> title]]></title>"#.to_string(),
            "A <b>bold</b> title",
        ),
        // No type is text.
        (
            "<title>A &amp;lt;b&amp;gt; title</title>".to_string(),
            "A &lt;b&gt; title",
        ),
    ];
    for (title, want) in cases {
        let doc = atom(&format!("<id>1</id>{title}"));
        assert_eq!(article(&doc).title, want, "{doc}");
    }

    // The feed's own title follows the same rules.
    let doc = format!(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><id>f</id>
<title type="xhtml"><div {xhtml}>The <i>Feed</i></div></title>
<entry><id>1</id><title>t</title></entry></feed>"#
    );
    assert_eq!(feed(&doc).feed.title.as_deref(), Some("The Feed"));

    // Atom 0.3: `mode="escaped"` is escaped markup, `mode="xml"` is markup.
    let doc = r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>F</title>
<entry><id>1</id><title mode="escaped" type="text/html">A &lt;b&gt;bold&lt;/b&gt; title</title></entry>
<entry><id>2</id><title mode="xml" type="application/xhtml+xml"><div xmlns="http://www.w3.org/1999/xhtml">A <b>bold</b> title</div></title></entry>
<entry><id>3</id><title type="text/plain">A &lt;b&gt; title</title></entry>
</feed>"#;
    let titles: Vec<String> = feed(doc).articles.into_iter().map(|a| a.title).collect();
    assert_eq!(titles, ["A bold title", "A bold title", "A <b> title"]);
}

/// A date that is not one is no date: `2004-10-067` might mean the 6th or
/// the 7th (feedparser takes the 6th and drops the 7), so trawl does not
/// guess, and the entry is dated by when it was first seen.
#[test]
fn malformed_dates_are_not_guessed() {
    for date in [
        "2004-10-067T00:00:00+02:00",
        "2024-13-01",
        "2024-02-30 10:00",
    ] {
        let a = article(&rss(&format!("<title>t</title><pubDate>{date}</pubDate>")));
        assert_eq!(a.published, None, "{date}");
    }
}

/// An Atom id is a name (RFC 4287 §4.2.6), not an address: one that is not
/// an absolute http(s) URL does not become the entry's link (feedparser
/// resolves `right` or `/relative/link` against the feed URL and links to
/// that). An absolute http(s) id is taken as the link, as feedparser does.
#[test]
fn atom_ids_that_are_not_urls_are_no_links() {
    for id in ["right", "/relative/link", "urn:uuid:3241ace2-ca21"] {
        let a = article(&atom(&format!("<id>{id}</id><title>t</title>")));
        assert_eq!((a.guid.as_str(), a.url.as_deref()), (id, None));
    }
    let a = article(&atom("<id>https://example.com/e/1</id><title>t</title>"));
    assert_eq!(a.url.as_deref(), Some("https://example.com/e/1"));
}

/// Shift_JIS and EUC-JP are read as the WHATWG Encoding Standard says, as
/// browsers read them: 0x8160 is U+FF5E (～), where Python's codec gives
/// U+301C (〜), and the NEC row 13 characters of Windows (Ⅲ at 0x8756) are
/// read rather than lost.
#[test]
fn japanese_read_as_browsers_read_it() {
    let doc = rss("<title>なぁ\u{ff5e} KATO\u{2162}</title>").replace(
        "<?xml version=\"1.0\"?>",
        "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>",
    );
    let (bytes, _, bad) = encoding_rs::SHIFT_JIS.encode(&doc);
    assert!(!bad);
    assert!(
        bytes.windows(2).any(|w| w == [0x81, 0x60]),
        "the wave dash's bytes"
    );
    assert!(bytes.windows(2).any(|w| w == [0x87, 0x56]), "Ⅲ's bytes");
    let a = &feed_bytes(&bytes).articles[0];
    assert_eq!(a.title, "なぁ\u{ff5e} KATO\u{2162}");
}

fn feed_bytes(bytes: &[u8]) -> Parsed {
    run(bytes, None, chrono_tz::UTC).unwrap_or_else(|e| panic!("{e}"))
}

/// A bare `<channel>` root is CDF's; RSS 2.0 that lost its `<rss>` has one
/// too, and is read as RSS (link, date, guid and description kept).
#[test]
fn rss_without_its_rss_element() {
    let doc = "<channel><title>x</title><link>https://example.com/</link>\
               <item><title>a</title><link>/1</link><guid>g1</guid>\
               <pubDate>Wed, 17 Apr 2024 10:00:00 GMT</pubDate>\
               <description>&lt;p&gt;d&lt;/p&gt;</description></item></channel>";
    let a = article(doc);
    assert_eq!(a.url.as_deref(), Some("https://example.com/1"));
    assert_eq!(a.guid, "g1");
    assert_eq!(
        a.published.map(|t| format_time(&t)).as_deref(),
        Some("2024-04-17T10:00:00Z")
    );
    assert_eq!(a.content_text.as_deref(), Some("d"));
}

/// "CST" is US Central Standard Time by RFC 822, but Chinese outlets mean
/// China Standard Time (+08:00): it is read so when the feed's configured
/// zone is China's, Taiwan's or Hong Kong's, or the feed says it is in
/// Chinese (`<language>`, `dc:language`, `xml:lang`); else as RFC 822 says.
#[test]
fn cst_in_chinese_feeds_is_china_standard_time() {
    let rss_in = |language: &str| {
        format!(
            r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>新闻</title>{language}
<item><title>t</title><link>https://example.com/1</link><pubDate>Wed, 17 Apr 2024 10:03:49 CST</pubDate></item>
</channel></rss>"#
        )
    };
    let atom_in = |lang: &str| {
        format!(
            r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{lang}"><title>F</title><id>f</id>
<entry><id>1</id><title>t</title><updated>Wed, 17 Apr 2024 10:03:49 CST</updated></entry></feed>"#
        )
    };
    let china = Some("2024-04-17T02:03:49Z");
    let us = Some("2024-04-17T16:03:49Z");
    let shanghai: Tz = "Asia/Shanghai".parse().unwrap();
    let hong_kong: Tz = "Asia/Hong_Kong".parse().unwrap();
    let chicago: Tz = "America/Chicago".parse().unwrap();
    let cases = [
        (rss_in(""), shanghai, china),
        (rss_in(""), hong_kong, china),
        (rss_in("<language>zh-cn</language>"), chrono_tz::UTC, china),
        (
            rss_in("<dc:language>zh-TW</dc:language>"),
            chrono_tz::UTC,
            china,
        ),
        (atom_in("zh-Hans"), chrono_tz::UTC, china),
        (rss_in(""), chrono_tz::UTC, us),
        (rss_in(""), chicago, us),
        (rss_in("<language>en-us</language>"), chrono_tz::UTC, us),
        (atom_in("en"), chrono_tz::UTC, us),
    ];
    for (doc, tz, want) in cases {
        let a = run(doc.as_bytes(), None, tz).unwrap().articles.remove(0);
        assert_eq!(
            a.published.as_ref().map(format_time).as_deref(),
            want,
            "in {tz}: {doc}"
        );
    }
    // A `<pubdate>` feed-rs does not read (found by the pass over the text)
    // follows the same rule.
    let doc = rss_in("<language>zh-cn</language>").replace("pubDate", "pubdate");
    assert_eq!(
        article(&doc).published.as_ref().map(format_time).as_deref(),
        china
    );
}

/// An Atom 0.3 document with `entries` in it.
fn atom03(entries: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Coast news</title>
{entries}
</feed>"#
    )
}

/// Base64 Atom text is decoded: Atom 0.3 `mode="base64"` (its `type` says
/// what the decoded text is), and in Atom 1.0 any media type that is
/// neither text nor XML (RFC 4287 §4.1.3.3), in a title (not valid Atom
/// 1.0, so also a malformed warning) or in content. What is not base64 of
/// UTF-8 text (an image, junk) is left as it was.
#[test]
fn base64_atom_text_is_decoded() {
    let doc = atom03(
        r#"<entry><id>1</id><title mode="base64">U3Rvcm0gd2FybmluZyBmb3IgPGI+RnVqaWFuPC9iPiAmIFpoZWppYW5n</title></entry>
<entry><id>2</id><title type="text/html" mode="base64">
  U3Rvcm0gd2FybmluZyBmb3IgPGI+RnVqaWFuPC9i
  PiAmIFpoZWppYW5n
</title>
<content type="text/html" mode="base64">PHA+RmVycnkgc2VydmljZSAmbHQ7c3VzcGVuZGVkJmd0OyB1bnRpbCBGcmlkYXk8L3A+</content></entry>
<entry><id>3</id><title mode="base64">not base64!!</title></entry>"#,
    );
    let p = feed(&doc);
    assert!(!p.malformed(), "{:?}", p.warnings);
    let titles: Vec<&str> = p.articles.iter().map(|a| a.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Storm warning for <b>Fujian</b> & Zhejiang",
            "Storm warning for Fujian & Zhejiang",
            "not base64!!",
        ]
    );
    let ferry = &p.articles[1];
    assert_eq!(
        ferry.content_html.as_deref(),
        Some("<p>Ferry service &lt;suspended&gt; until Friday</p>")
    );
    assert_eq!(
        ferry.content_text.as_deref(),
        Some("Ferry service <suspended> until Friday")
    );

    // Atom 1.0: a title typed application/octet-stream, padding left out.
    let p = feed(&atom(
        "<id>1</id><title type=\"application/octet-stream\">\n  UGxhaW4gbGluZSBvbmUKbGluZSB0d28g4oCUIGNhZsOp\n</title>",
    ));
    assert_eq!(p.articles[0].title, "Plain line one line two — café");
    assert!(p.malformed(), "a title must be text, html or xhtml");

    // Atom 1.0 content: well-formed, read once more after decoding.
    let p = feed(&atom(
        r#"<id>1</id><title>t</title><content type="application/octet-stream">U3Rvcm0gd2FybmluZyBmb3IgPGI+RnVqaWFuPC9iPiAmIFpoZWppYW5n</content>"#,
    ));
    assert!(!p.malformed(), "{:?}", p.warnings);
    assert_eq!(
        p.articles[0].content_text.as_deref(),
        Some("Storm warning for <b>Fujian</b> & Zhejiang")
    );
    // An image is no text: still no content.
    let a = article(&atom(
        r#"<id>1</id><title>t</title><content type="image/png">iVBORwAAAA0BAg==</content>"#,
    ));
    assert_eq!((a.content_text, a.content_html), (None, None));
}

/// Atom 0.3 text is `mode="xml"` unless it says otherwise: elements in a
/// title with no type (or `text/plain`) are markup the feed did not
/// declare, and the whole text is kept (feed-rs would read only what comes
/// before the first element).
#[test]
fn atom03_titles_with_naked_markup_keep_all_their_text() {
    let doc = atom03(
        r#"<entry><id>1</id><title>Ferries <em>suspended</em> along the coast</title></entry>
<entry><id>2</id><title mode="xml" type="text/plain">Typhoon <b>Doksuri</b>: <i>live</i></title></entry>
<entry><id>3</id><title mode="escaped" type="text/html">Port &lt;b&gt;closed&lt;/b&gt;</title></entry>"#,
    );
    let p = feed(&doc);
    assert!(!p.malformed(), "{:?}", p.warnings);
    let titles: Vec<&str> = p.articles.iter().map(|a| a.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Ferries suspended along the coast",
            "Typhoon Doksuri: live",
            "Port closed",
        ]
    );
    // The feed's own title too.
    let doc = doc.replace(
        "<title>Coast news</title>",
        "<title>Coast <b>news</b> daily</title>",
    );
    assert_eq!(feed(&doc).feed.title.as_deref(), Some("Coast news daily"));
}

/// RSS 2.0 whose elements all carry a namespace prefix (Userland's RSS 2.0
/// namespace, `<u:rss xmlns:u="...">`) is read as the RSS it is; elements
/// of other namespaces keep theirs.
#[test]
fn rss_with_a_prefixed_root() {
    let doc = r#"<?xml version="1.0"?>
<u:rss version="2.0" xmlns:u="http://backend.userland.com/rss2" xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmlns:x="http://example.com/ns/extra">
<u:channel><u:title>Harbour</u:title><u:link>https://example.com/</u:link>
<u:item><u:title>Harbour reopens</u:title><u:link>https://example.com/h/1</u:link>
  <u:guid isPermaLink="false">h-1</u:guid><u:pubDate>Wed, 17 Apr 2024 10:03:49 GMT</u:pubDate>
  <x:description>not this one</x:description><u:description>Boats are back.</u:description>
  <dc:creator>Lin Wei</dc:creator></u:item>
</u:channel></u:rss>"#;
    let p = feed(doc);
    assert_eq!(p.feed.title.as_deref(), Some("Harbour"));
    let a = &p.articles[..];
    assert_eq!(a.len(), 1);
    let a = &a[0];
    assert_eq!(a.title, "Harbour reopens");
    assert_eq!(a.url.as_deref(), Some("https://example.com/h/1"));
    assert_eq!(a.guid, "h-1");
    assert_eq!(a.authors, ["Lin Wei"]);
    assert_eq!(a.content_text.as_deref(), Some("Boats are back."));
    assert_eq!(
        a.published.as_ref().map(format_time).as_deref(),
        Some("2024-04-17T10:03:49Z")
    );
}
