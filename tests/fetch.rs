//! `trawl fetch` end to end: the real binary against a loopback HTTP server
//! and a temporary SQLite file.

mod common;

use std::time::{Duration, Instant};

use common::{Behavior, Route, Server, Trawl, feed, item, rss};

const LONG_TEXT: &str = "<p>The central bank held its key rate steady on Wednesday, saying inflation \
     had eased but remained above target, and signalled that it would wait for more data \
     before deciding whether to cut borrowing costs later this year.</p>";

fn story_feed(items: &[String]) -> String {
    rss("Test outlet", items)
}

#[test]
fn second_fetch_is_answered_304_stores_nothing_and_sends_the_validators() {
    let server = Server::start();
    let doc = story_feed(&[
        item("a1", "First", "https://news.example/1", LONG_TEXT),
        item("a2", "Second", "https://news.example/2", "<p>Short.</p>"),
    ]);
    server.route(
        "/feed",
        Route::rss(doc)
            .with_etag("\"v1\"")
            .with_last_modified("Wed, 17 Apr 2024 02:03:49 GMT"),
    );
    let t = Trawl::new("", &[feed("outlet", &server.url("/feed"), "")]);

    let first = t.run(&["fetch"]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert!(first.line("outlet").contains("2 new"), "{}", first.stdout);
    assert_eq!(t.count("SELECT count(*) FROM articles"), 2);

    let second = t.run(&["fetch"]);
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    assert!(
        second.line("outlet").contains("not modified"),
        "{}",
        second.stdout
    );
    assert_eq!(t.count("SELECT count(*) FROM articles"), 2);

    let seen = server.seen("/feed");
    assert_eq!(seen.len(), 2, "one request per run");
    assert_eq!(seen[0].headers.get("if-none-match"), None);
    assert_eq!(
        seen[1].headers.get("if-none-match").map(String::as_str),
        Some("\"v1\"")
    );
    assert_eq!(
        seen[1].headers.get("if-modified-since").map(String::as_str),
        Some("Wed, 17 Apr 2024 02:03:49 GMT")
    );
    assert!(
        seen[0].headers["user-agent"].starts_with("trawl/"),
        "user agent names trawl: {:?}",
        seen[0].headers["user-agent"]
    );
    assert_eq!(
        t.count("SELECT last_status FROM feeds WHERE name = 'outlet'"),
        304
    );
}

#[test]
fn a_gzip_body_is_decompressed() {
    let server = Server::start();
    let doc = story_feed(&[item(
        "g1",
        "Zipped story",
        "https://news.example/z",
        LONG_TEXT,
    )]);
    server.route("/gz", Route::rss(doc).gzip());
    let t = Trawl::new("", &[feed("zipped", &server.url("/gz"), "")]);
    let run = t.run(&["fetch"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let articles = t.articles();
    assert_eq!(articles.len(), 1);
    assert_eq!(articles[0]["title"], "Zipped story");
    let accept = &server.seen("/gz")[0].headers["accept-encoding"];
    assert!(accept.contains("gzip") && accept.contains("br"), "{accept}");
}

#[test]
fn a_permanent_redirect_moves_the_feed_and_a_temporary_one_does_not() {
    let server = Server::start();
    let doc = story_feed(&[item(
        "m1",
        "Moved story",
        "https://news.example/m",
        LONG_TEXT,
    )]);
    server.route("/old", Route::redirect(301, "/new"));
    server.route("/new", Route::rss(doc.clone()));
    server.route("/temp", Route::redirect(302, "/elsewhere"));
    server.route("/elsewhere", Route::rss(doc));
    let t = Trawl::new(
        "",
        &[
            feed("moved", &server.url("/old"), ""),
            feed("temporary", &server.url("/temp"), ""),
        ],
    );
    let run = t.run(&["fetch"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.line("moved").contains("moved permanently"),
        "{}",
        run.stdout
    );
    let url_of = |name: &str| -> String {
        t.sql()
            .query_row("SELECT url FROM feeds WHERE name = ?", [name], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(url_of("moved"), server.url("/new"));
    assert_eq!(url_of("temporary"), server.url("/temp"));

    // The next run goes straight to the new address.
    let again = t.run(&["fetch", "moved"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert_eq!(server.seen("/old").len(), 1);
    assert_eq!(server.seen("/new").len(), 2);
}

#[test]
fn oversized_and_stalled_feeds_fail_while_the_others_are_stored() {
    let server = Server::start();
    let good = story_feed(&[item(
        "ok1",
        "Good story",
        "https://news.example/ok",
        LONG_TEXT,
    )]);
    let huge = story_feed(&[item(
        "h1",
        "Huge",
        "https://news.example/h",
        &"x".repeat(200_000),
    )]);
    server.route("/good", Route::rss(good));
    server.route("/huge", Route::rss(huge.clone()));
    // Small on the wire, too large once decompressed.
    server.route("/bomb", Route::rss(huge).gzip());
    server.route(
        "/stall",
        Route::rss("<rss></rss>").behave(Behavior::StallBeforeHeaders),
    );
    server.route(
        "/drip",
        Route::rss(story_feed(&[])).behave(Behavior::Drip(Duration::from_millis(500))),
    );
    server.route("/gone", Route::status(500));
    let t = Trawl::new(
        "max_feed_bytes = \"100KiB\"\ntimeout = \"2s\"",
        &[
            feed("good", &server.url("/good"), ""),
            feed("huge", &server.url("/huge"), ""),
            feed("bomb", &server.url("/bomb"), ""),
            feed("stall", &server.url("/stall"), ""),
            feed("drip", &server.url("/drip"), ""),
            feed("broken", &server.url("/gone"), ""),
        ],
    );
    let started = Instant::now();
    let run = t.run(&["fetch"]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the timeout bounds the run: {:?}",
        started.elapsed()
    );
    assert_eq!(
        run.code, 2,
        "some feeds failed: {}{}",
        run.stdout, run.stderr
    );
    assert!(run.line("good").contains("1 new"), "{}", run.stdout);
    for name in ["huge", "bomb"] {
        assert!(
            run.line(name).contains("exceeds the limit of 102400 bytes"),
            "{}",
            run.stdout
        );
    }
    for name in ["stall", "drip"] {
        assert!(
            run.line(name).contains("timed out after 2s"),
            "{}",
            run.stdout
        );
    }
    assert!(run.line("broken").contains("HTTP 500"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("total: 6 feeds, 1 ok, 0 not modified, 5 failed; 1 new")
    );

    // Every failure is recorded on its feed row; the good feed is stored.
    assert_eq!(t.articles().len(), 1);
    let err: (String, i64, i64) = t
        .sql()
        .query_row(
            "SELECT last_error, consecutive_failures, last_status FROM feeds WHERE name = 'broken'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((err.1, err.2), (1, 500), "{err:?}");
    let stall_error: String = t
        .sql()
        .query_row(
            "SELECT last_error FROM feeds WHERE name = 'stall'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(stall_error.contains("timed out"), "{stall_error}");

    let feeds = t.run(&["feeds"]);
    assert_eq!(feeds.code, 0);
    let broken = feeds
        .stdout
        .lines()
        .find(|l| l.starts_with("broken"))
        .unwrap();
    assert!(
        broken.contains("failing (500)") && broken.contains("HTTP 500"),
        "{broken}"
    );
}

#[test]
fn a_gbk_feed_served_as_gb2312_reads_as_the_right_chinese() {
    let server = Server::start();
    // "Tuition" and a character (镕) that GB2312 lacks but GBK has.
    let title = "朱镕基谈教育改革";
    let body = "<p>国务院总理朱镕基今天在北京发表讲话，强调教育改革的重要性。</p>";
    let doc = format!(
        "<?xml version=\"1.0\" encoding=\"gb2312\"?><rss version=\"2.0\"><channel><title>新闻</title><link>https://cn.example/</link>{}</channel></rss>",
        item("c1", title, "https://cn.example/1", body)
    );
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(&doc);
    assert!(!unmappable);
    server.route(
        "/cn",
        Route::ok("text/xml; charset=gb2312", bytes.into_owned()),
    );
    let t = Trawl::new("", &[feed("cn", &server.url("/cn"), "")]);
    let run = t.run(&["fetch"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let a = &t.articles()[0];
    assert_eq!(a["title"], title);
    assert!(
        a["content_text"]
            .as_str()
            .unwrap()
            .contains("朱镕基今天在北京"),
        "{a}"
    );
    assert_eq!(a["feed"]["title"], "新闻");
}

#[test]
fn a_zoneless_date_is_read_in_the_feeds_timezone_and_stored_as_utc() {
    let server = Server::start();
    let doc = rss(
        "Beijing outlet",
        &["<item><guid>d1</guid><title>Dated</title><link>https://cn.example/d</link><pubDate>2024-04-17 10:03:49</pubDate><author>By Liu Yisi</author></item>".to_string()],
    );
    server.route("/tz", Route::rss(doc));
    let t = Trawl::new(
        "",
        &[feed(
            "beijing",
            &server.url("/tz"),
            "timezone = \"Asia/Shanghai\"",
        )],
    );
    let run = t.run(&["fetch"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let stored: String = t
        .sql()
        .query_row("SELECT published_at FROM articles", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, "2024-04-17T02:03:49Z");
    assert_eq!(t.articles()[0]["authors"], serde_json::json!(["Liu Yisi"]));
}

#[test]
fn the_same_story_in_two_feeds_with_tracking_parameters_is_one_article_with_two_sources() {
    let server = Server::start();
    server.route(
        "/a",
        Route::rss(story_feed(&[item(
            "wire-1",
            "Rates held",
            "https://wire.example/story/42?id=7",
            LONG_TEXT,
        )])),
    );
    server.route(
        "/b",
        Route::rss(story_feed(&[item(
            "https://other.example/guid/99",
            "Rates held",
            "https://WIRE.example:443/story/42?utm_source=rss&amp;id=7&amp;utm_medium=feed&amp;fbclid=x#top",
            LONG_TEXT,
        )])),
    );
    let t = Trawl::new(
        "",
        &[
            feed("a", &server.url("/a"), ""),
            feed("b", &server.url("/b"), ""),
        ],
    );
    let run = t.run(&["fetch"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let articles = t.articles();
    assert_eq!(articles.len(), 1, "{articles:#?}");
    assert_eq!(articles[0]["url"], "https://wire.example/story/42?id=7");
    let mut sources: Vec<&str> = articles[0]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["feed"].as_str().unwrap())
        .collect();
    sources.sort();
    assert_eq!(sources, ["a", "b"]);
    assert_eq!(t.count("SELECT count(*) FROM article_sources"), 2);
}

#[test]
fn a_syndicated_copy_under_another_url_is_the_same_article() {
    let server = Server::start();
    server.route(
        "/orig",
        Route::rss(story_feed(&[item(
            "o1",
            "Rates held",
            "https://wire.example/1",
            LONG_TEXT,
        )])),
    );
    server.route(
        "/copy",
        Route::rss(story_feed(&[item(
            "c1",
            "Rates held",
            "https://copy.example/x",
            LONG_TEXT,
        )])),
    );
    let t = Trawl::new(
        "",
        &[
            feed("orig", &server.url("/orig"), ""),
            feed("copy", &server.url("/copy"), ""),
        ],
    );
    assert_eq!(t.run(&["fetch", "orig"]).code, 0);
    let run = t.run(&["fetch", "copy"]);
    assert!(
        run.line("copy").contains("0 new, 0 updated, 1 duplicate"),
        "{}",
        run.stdout
    );
    assert_eq!(t.articles().len(), 1);
    assert_eq!(t.count("SELECT count(*) FROM article_sources"), 2);
}

#[test]
fn a_changed_entry_with_the_same_guid_is_updated_in_place() {
    let server = Server::start();
    server.route(
        "/f",
        Route::rss(story_feed(&[item(
            "u1",
            "Early headline",
            "https://news.example/u",
            LONG_TEXT,
        )])),
    );
    let t = Trawl::new("", &[feed("f", &server.url("/f"), "")]);
    assert_eq!(t.run(&["fetch"]).code, 0);
    let first = t.articles();

    server.route(
        "/f",
        Route::rss(story_feed(&[item(
            "u1",
            "Corrected headline",
            "https://news.example/u",
            "<p>Updated: the bank cut its rate after all.</p>",
        )])),
    );
    let run = t.run(&["fetch"]);
    assert!(run.line("f").contains("0 new, 1 updated"), "{}", run.stdout);
    let after = t.articles();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["id"], first[0]["id"]);
    assert_eq!(after[0]["title"], "Corrected headline");
    assert!(
        after[0]["content_text"]
            .as_str()
            .unwrap()
            .contains("cut its rate")
    );
    assert!(after[0]["updated"].is_string(), "{}", after[0]);

    // Unchanged content is recognised as such.
    let run = t.run(&["fetch"]);
    assert!(run.line("f").contains("1 unchanged"), "{}", run.stdout);
}

#[test]
fn scripts_and_event_handlers_never_reach_content_html() {
    let server = Server::start();
    let body = r#"<p onclick="steal()">Hello <b>world</b></p><script>alert(1)</script><img src="/pic.jpg" onerror="alert(2)"><a href="javascript:alert(3)">x</a><iframe src="https://evil.example/"></iframe><a href="/more">more</a>"#;
    server.route(
        "/x",
        Route::rss(story_feed(&[item(
            "x1",
            "Hostile",
            "https://news.example/x",
            body,
        )])),
    );
    let t = Trawl::new("", &[feed("x", &server.url("/x"), "")]);
    assert_eq!(t.run(&["fetch"]).code, 0);
    let html: String = t
        .sql()
        .query_row("SELECT content_html FROM articles", [], |r| r.get(0))
        .unwrap();
    let lower = html.to_ascii_lowercase();
    for bad in [
        "<script",
        "alert(",
        "onerror",
        "onclick",
        "javascript:",
        "<iframe",
    ] {
        assert!(!lower.contains(bad), "{bad} survived in {html}");
    }
    assert!(html.contains("<b>world</b>"), "{html}");
    assert!(
        html.contains("https://news.example/pic.jpg"),
        "relative src made absolute: {html}"
    );
    assert!(html.contains("https://news.example/more"), "{html}");
}

#[test]
fn fetch_by_name_and_ad_hoc_url_and_unknown_names() {
    let server = Server::start();
    server.route(
        "/one",
        Route::rss(story_feed(&[item(
            "1",
            "One",
            "https://n.example/1",
            LONG_TEXT,
        )])),
    );
    server.route(
        "/adhoc",
        Route::rss(story_feed(&[item(
            "2",
            "Ad hoc",
            "https://n.example/2",
            "<p>x</p>",
        )])),
    );
    let t = Trawl::new(
        "",
        &[
            feed("one", &server.url("/one"), ""),
            feed("off", &server.url("/off"), "enabled = false"),
        ],
    );
    let run = t.run(&["fetch", "nosuch"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("\"nosuch\""), "{}", run.stderr);

    // Disabled feeds are skipped by a plain `fetch`.
    let run = t.run(&["fetch"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("off:"), "{}", run.stdout);
    assert!(server.seen("/off").is_empty());

    let adhoc = server.url("/adhoc");
    let run = t.run(&["fetch", "--url", &adhoc]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.line(&adhoc).contains("1 new"), "{}", run.stdout);
    assert_eq!(t.articles().len(), 2);

    let only_one = t.run(&["articles", "--feed", "one", "--json"]);
    assert_eq!(only_one.stdout.lines().count(), 1, "{}", only_one.stdout);
}
