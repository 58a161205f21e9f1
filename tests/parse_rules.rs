//! The reading rules of `parse` as a user meets them through the real
//! binary: charsets, zone-less dates, broken XML, and feed discovery.
//! Every fixture is written here.

mod common;

use std::path::Path;

use common::{Route, Server, Trawl, trawl};

/// `trawl parse FILE ARGS...` on `bytes`; the articles, or the error line.
fn parse(bytes: &[u8], args: &[&str]) -> Result<Vec<serde_json::Value>, String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feed");
    std::fs::write(&file, bytes).unwrap();
    let mut all = vec!["parse", file.to_str().unwrap()];
    all.extend_from_slice(args);
    let run = trawl(&all, None, dir.path());
    match run.code {
        0 => Ok(run
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()),
        1 => Err(run.stderr),
        code => panic!("exit {code}: {}", run.stderr),
    }
}

fn rss(decl: &str, items: &str) -> String {
    format!(
        "<?xml version=\"1.0\"{decl}?>\n<rss version=\"2.0\"><channel><title>Feed</title>\
         <link>https://example.com/</link>\n{items}\n</channel></rss>"
    )
}

fn titles(arts: &[serde_json::Value]) -> Vec<&str> {
    arts.iter().map(|a| a["title"].as_str().unwrap()).collect()
}

#[test]
fn gb2312_declared_gbk_bytes() {
    // 镕 and 喆 are in GBK but not in GB2312.
    let doc = rss(
        " encoding=\"gb2312\"",
        "<item><title>朱镕基会见陶喆</title></item>",
    );
    let (bytes, _, bad) = encoding_rs::GBK.encode(&doc);
    assert!(!bad);
    let arts = parse(&bytes, &[]).unwrap();
    assert_eq!(titles(&arts), ["朱镕基会见陶喆"]);
    // Served with the same label in the header.
    let arts = parse(&bytes, &["--content-type", "text/xml; charset=GB2312"]).unwrap();
    assert_eq!(titles(&arts), ["朱镕基会见陶喆"]);
}

#[test]
fn zoneless_dates_read_in_the_given_zone() {
    let doc = rss(
        "",
        "<item><title>a</title><pubDate>2024-04-17 10:03:49</pubDate></item>\
         <item><title>b</title><pubDate>2024年4月17日 10:03</pubDate></item>\
         <item><title>c</title><pubDate>Wed, 17 Apr 2024 10:03:49 +0000</pubDate></item>",
    );
    let arts = parse(doc.as_bytes(), &["--timezone", "Asia/Shanghai"]).unwrap();
    let published: Vec<&str> = arts
        .iter()
        .map(|a| a["published"].as_str().unwrap())
        .collect();
    assert_eq!(
        published,
        [
            "2024-04-17T02:03:49Z",
            "2024-04-17T02:03:00Z",
            // A date with a zone keeps it.
            "2024-04-17T10:03:49Z"
        ]
    );
    let arts = parse(doc.as_bytes(), &[]).unwrap();
    assert_eq!(arts[0]["published"], "2024-04-17T10:03:49Z");
}

#[test]
fn a_lying_charset_label() {
    // UTF-8 bytes under an ISO-8859-1 declaration and header.
    let doc = rss(
        " encoding=\"ISO-8859-1\"",
        "<item><title>Sänger lässt „los“</title></item>",
    );
    let arts = parse(doc.as_bytes(), &[]).unwrap();
    assert_eq!(titles(&arts), ["Sänger lässt „los“"]);
    let arts = parse(
        doc.as_bytes(),
        &["--content-type", "application/rss+xml; charset=iso-8859-1"],
    )
    .unwrap();
    assert_eq!(titles(&arts), ["Sänger lässt „los“"]);
}

#[test]
fn double_encoded_utf8() {
    let doc = rss(
        " encoding=\"utf-8\"",
        "<item><title>CafÃ© â€“ Itâ€™s open</title></item>",
    );
    let arts = parse(doc.as_bytes(), &[]).unwrap();
    assert_eq!(titles(&arts), ["Café – It’s open"]);
}

#[test]
fn broken_xml_is_repaired() {
    let doc = "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><title>Feed &amp; Co</title>\n\
        <item><title>Caf&eacute; &nbsp;R&D</title><description>one<br>two</description></item>\n\
        <item><title>Second</title></item>\n\
        <item><title>Thi";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.xml");
    std::fs::write(&file, doc).unwrap();
    let run = trawl(&["parse", file.to_str().unwrap()], None, dir.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let arts: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(titles(&arts), ["Café R&D", "Second"]);
    assert_eq!(arts[0]["content_text"], "one\ntwo");
    assert!(
        run.stderr.contains("malformed XML, repaired"),
        "{}",
        run.stderr
    );
}

#[test]
fn unrepairable_xml_names_line_and_column() {
    let doc = "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"\n  xmlns:dc=\"http://purl.org/dc/el";
    let err = parse(doc.as_bytes(), &[]).unwrap_err();
    assert!(err.contains("at line 2, column 1"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Example News</title>
<link rel="alternate" type="application/rss+xml" title="World news" href="/world/rss.xml">
<link rel="alternate" type="application/atom+xml" title="All" href="https://feeds.example.net/all.atom">
<link rel="alternate" type="application/feed+json" href="feed.json">
</head><body><p>Hello</p></body></html>"#;

#[test]
fn discover_on_a_served_page() {
    let server = Server::start();
    server.route(
        "/news/index.html",
        Route::ok("text/html; charset=utf-8", PAGE),
    );
    let url = server.url("/news/index.html");
    let dir = tempfile::tempdir().unwrap();
    let run = trawl(&["feeds", "discover", &url, "--json"], None, dir.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let found: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let urls: Vec<&str> = found.iter().map(|f| f["url"].as_str().unwrap()).collect();
    assert_eq!(
        urls,
        [
            server.url("/world/rss.xml").as_str(),
            "https://feeds.example.net/all.atom",
            server.url("/news/feed.json").as_str(),
        ]
    );
    assert_eq!(found[0]["title"], "World news");
    assert_eq!(found[0]["type"], "application/rss+xml");

    // The table form names them too.
    let run = trawl(&["feeds", "discover", &url], None, dir.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("World news"), "{}", run.stdout);
}

#[test]
fn discover_on_a_file_and_on_a_page_without_feeds() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.html");
    std::fs::write(&page, PAGE).unwrap();
    let run = trawl(
        &["feeds", "discover", page.to_str().unwrap()],
        None,
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("https://feeds.example.net/all.atom"),
        "{}",
        run.stdout
    );

    let bare = dir.path().join("bare.html");
    std::fs::write(&bare, "<html><body>no feeds</body></html>").unwrap();
    let run = trawl(
        &["feeds", "discover", bare.to_str().unwrap()],
        None,
        dir.path(),
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no feeds found"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn fetching_a_page_says_which_feeds_it_links() {
    let server = Server::start();
    server.route("/", Route::ok("text/html; charset=utf-8", PAGE));
    let t = Trawl::new("", &[]);
    let url = server.url("/");
    let run = t.run(&["fetch", "--url", &url]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let line = run.line(&url);
    assert!(
        line.contains(&format!(
            "an HTML page (<html>) that links these feeds: {}",
            server.url("/world/rss.xml")
        )),
        "{line}"
    );
    assert!(Path::new(&t.db()).exists());
}

/// `trawl parse` on a file of tests/fixtures, read as if served from `url`.
fn parse_fixture(name: &str, url: &str) -> Vec<serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(&bytes, &["--url", url]).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn thumbnails_from_every_source() {
    // (fixture, served from, each entry's thumbnail in order)
    let cases: &[(&str, &str, &[Option<&str>])] = &[
        (
            // media:thumbnail on the item (relative: resolved, and it wins
            // over an image enclosure), inside media:group, inside
            // media:content; else media:content medium="image", else an
            // image enclosure; a javascript: URL is no picture.
            "thumbnails/media-rss.xml",
            "https://news.example.com/feed.xml",
            &[
                Some("https://news.example.com/img/a-small.jpg"),
                Some("https://cdn.example.com/b-thumb.jpg"),
                Some("https://cdn.example.com/c-thumb.png"),
                Some("https://cdn.example.com/d-photo"),
                Some("https://news.example.com/e.webp"),
                None,
            ],
        ),
        (
            // The episode's itunes:image, not the show's, not the audio.
            "thumbnails/itunes.xml",
            "https://pod.example.com/feed.xml",
            &[
                Some("https://pod.example.com/ep2.jpg"),
                Some("https://pod.example.com/ep1.png"),
            ],
        ),
        (
            // Atom: media:thumbnail in media:group; an image enclosure link;
            // a lone media:thumbnail; media:content medium="image".
            "thumbnails/atom-media.xml",
            "https://video.example.com/feed.atom",
            &[
                Some("https://i.example.com/vi/1/hqdefault.jpg"),
                Some("https://i.example.com/photo/2.jpg"),
                // A lone media:thumbnail, which feed-rs drops in Atom.
                Some("https://video.example.com/vi/3/default.jpg"),
                Some("https://i.example.com/photo/4"),
            ],
        ),
        (
            // JSON Feed `image` (not `banner_image`), else an image attachment.
            "thumbnails/json-feed.json",
            "https://json.example.com/feed.json",
            &[
                Some("https://json.example.com/1.jpg"),
                Some("https://json.example.com/2.png"),
                None,
            ],
        ),
    ];
    for (fixture, url, want) in cases {
        let arts = parse_fixture(fixture, url);
        let got: Vec<Option<&str>> = arts.iter().map(|a| a["thumbnail"].as_str()).collect();
        assert_eq!(got, *want, "{fixture}");
    }
    // An Atom entry titled only by its media:title.
    let arts = parse_fixture(
        "thumbnails/atom-media.xml",
        "https://video.example.com/feed",
    );
    assert_eq!(arts[2]["title"], "Only a media:title and a lone thumbnail");
}

#[test]
fn cdf_channels_are_read_like_rss() {
    // The CDF's own URL is not the base: its BASE attribute is.
    let arts = parse_fixture("cdf/news.cdf", "http://feeds.example.net/news.cdf");
    assert_eq!(
        titles(&arts),
        ["Council approves the budget", "Lower case works too"]
    );
    let a = &arts[0];
    assert_eq!(a["url"], "http://www.example.org/news/stories/1.html");
    assert_eq!(a["published"], "2004-04-07T04:05:43Z");
    assert_eq!(a["summary"], "The vote was 7 to 2 – after a long night.");
    assert_eq!(a["feed"]["title"], "Example News");
    assert_eq!(a["feed"]["site_url"], "http://www.example.org/news/");
    assert!(
        a["guid"].as_str().unwrap().starts_with("trawl:"),
        "no id: derived"
    );
    let b = &arts[1];
    assert_eq!(b["url"], "http://other.example.com/2");
    assert_eq!(b["published"], "2004-04-05T08:00:00Z");
    assert_eq!(b["summary"], "Café opens");
}
