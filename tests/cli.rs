//! The command line as a user meets it: `parse`, config errors, `feeds`,
//! `articles`, exit codes, a fetch beside another process.

mod common;

use common::{Route, Server, Trawl, feed, item, rss, trawl};

fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn parse_prints_one_json_object_per_entry_in_feed_order() {
    let dir = tempfile::tempdir().unwrap();
    let doc = rss(
        "Outlet",
        &[
            item(
                "1",
                "First &amp;amp; &lt;b&gt;best&lt;/b&gt;",
                "/a?utm_source=x",
                "<p>One.</p><p>Two.</p>",
            ),
            item("2", "Second", "https://news.example/b", "<p>Three.</p>"),
        ],
    );
    let file = dir.path().join("feed.xml");
    std::fs::write(&file, &doc).unwrap();
    let run = trawl(
        &[
            "parse",
            file.to_str().unwrap(),
            "--url",
            "https://news.example/feed",
        ],
        None,
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let arts = json_lines(&run.stdout);
    assert_eq!(arts.len(), 2);
    assert_eq!(arts[0]["guid"], "1");
    assert_eq!(arts[0]["title"], "First & best");
    assert_eq!(arts[0]["url"], "https://news.example/a");
    assert_eq!(arts[0]["content_text"], "One.\n\nTwo.");
    assert_eq!(arts[0]["feed"]["title"], "Outlet");
    assert_eq!(arts[0]["feed"]["url"], "https://news.example/feed");
    assert_eq!(arts[1]["guid"], "2");
    for key in [
        "guid",
        "url",
        "title",
        "authors",
        "published",
        "updated",
        "summary",
        "content_html",
        "content_text",
        "categories",
        "language",
        "enclosures",
        "feed",
    ] {
        assert!(
            arts[0].get(key).is_some(),
            "article object lacks {key}: {}",
            arts[0]
        );
    }

    // The same bytes on standard input give the same articles.
    let stdin = trawl(
        &["parse", "-", "--url", "https://news.example/feed"],
        Some(doc.as_bytes()),
        dir.path(),
    );
    assert_eq!(stdin.code, 0, "{}", stdin.stderr);
    assert_eq!(stdin.stdout, run.stdout);
}

#[test]
fn parse_reads_charset_and_timezone_from_its_options() {
    let dir = tempfile::tempdir().unwrap();
    let doc = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Лента</title><item><title>Новости дня</title><pubDate>2024-04-17 10:03:49</pubDate></item></channel></rss>";
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(doc);
    let run = trawl(
        &[
            "parse",
            "-",
            "--content-type",
            "application/rss+xml; charset=windows-1251",
            "--timezone",
            "Europe/Moscow",
        ],
        Some(&bytes),
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let a = &json_lines(&run.stdout)[0];
    assert_eq!(a["title"], "Новости дня");
    assert_eq!(a["published"], "2024-04-17T07:03:49Z");
    assert!(
        a["guid"].as_str().is_some_and(|g| !g.is_empty()),
        "derived guid: {a}"
    );
}

#[test]
fn parse_of_an_empty_feed_succeeds_with_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let run = trawl(
        &["parse", "-"],
        Some(rss("Nothing yet", &[]).as_bytes()),
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
}

/// The allocator options in src/allocator.rs are the ones BENCHMARKS.md
/// measured. jemalloc reads them before `main`; a misspelt option is only
/// a line on stderr, and an unlinked option string is silence, and either
/// way the daemon would run on jemalloc's defaults (more arenas, memory
/// held ten seconds). jemalloc prints the options in force at exit when
/// asked to.
#[test]
fn the_allocator_runs_with_the_options_the_benchmarks_chose() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trawl"))
        .arg("--version")
        .env("_RJEM_MALLOC_CONF", "stats_print:true")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("Invalid conf"), "{stderr}");
    for option in [
        "opt.narenas: 2\n",
        "opt.background_thread: true ",
        "opt.dirty_decay_ms: 500 ",
        "opt.muzzy_decay_ms: 0 ",
    ] {
        assert!(
            stderr.contains(option),
            "{option:?} not in force:\n{stderr}"
        );
    }
}

#[test]
fn parse_of_something_that_is_not_a_feed_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for input in [
        &b"<!DOCTYPE html><html><head><title>Home</title></head><body>hi</body></html>"[..],
        b"just some text",
        b"",
    ] {
        let run = trawl(&["parse", "-"], Some(input), dir.path());
        assert_eq!(
            run.code,
            1,
            "{:?}: {}",
            String::from_utf8_lossy(input),
            run.stdout
        );
        assert_eq!(run.stdout, "");
        assert_eq!(
            run.stderr.trim().lines().count(),
            1,
            "one line: {}",
            run.stderr
        );
        assert!(run.stderr.contains("not a feed"), "{}", run.stderr);
    }
    let missing = trawl(&["parse", "no-such-file.xml"], None, dir.path());
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("no-such-file.xml"),
        "{}",
        missing.stderr
    );
}

#[test]
fn parse_fetches_a_url() {
    let server = Server::start();
    server.route(
        "/feed",
        Route::rss(rss(
            "Served",
            &[item("s", "Served story", "/s", "<p>x</p>")],
        )),
    );
    let dir = tempfile::tempdir().unwrap();
    let run = trawl(&["parse", &server.url("/feed")], None, dir.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let a = &json_lines(&run.stdout)[0];
    assert_eq!(a["url"], server.url("/s"));
    assert_eq!(a["feed"]["url"], server.url("/feed"));
}

#[test]
fn parse_of_a_url_takes_the_language_from_content_language() {
    let server = Server::start();
    let story = item("s", "Hír", "/s", "<p>x</p>");
    // The feed names no language: the header's is the articles'.
    server.route(
        "/hu",
        Route::rss(rss("Served", std::slice::from_ref(&story))).header("Content-Language", "hu"),
    );
    // A channel <language> is nearer the entry than the header, and wins
    // (as feed-rs gives it: lower case).
    let with_language =
        rss("Served", &[story]).replace("<channel>", "<channel><language>en-GB</language>");
    server.route(
        "/en",
        Route::rss(with_language).header("Content-Language", "hu"),
    );
    let dir = tempfile::tempdir().unwrap();
    for (path, want) in [("/hu", "hu"), ("/en", "en-gb")] {
        let run = trawl(&["parse", &server.url(path)], None, dir.path());
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(json_lines(&run.stdout)[0]["language"], want, "{path}");
    }
}

#[test]
fn a_broken_config_names_the_file_the_line_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[daemon]\nconcurrency = 4\n\n[[feed]]\nname = \"x\"\nurl = \"https://x.example/feed\"\nintervall = \"15m\"\n",
    )
    .unwrap();
    let run = trawl(
        &["fetch", "--config", path.to_str().unwrap()],
        None,
        dir.path(),
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("bad.toml"), "{}", run.stderr);
    assert!(run.stderr.contains(":7"), "line 7: {}", run.stderr);
    assert!(run.stderr.contains("intervall"), "{}", run.stderr);
    assert!(
        !dir.path().join("data").exists(),
        "nothing written on a bad config"
    );
}

#[test]
fn config_is_found_through_trawl_config_and_a_missing_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = trawl(&["fetch"], None, dir.path());
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no config file"), "{}", run.stderr);

    let named = trawl(&["fetch", "--config", "nope.toml"], None, dir.path());
    assert_eq!(named.code, 1);
    assert!(named.stderr.contains("nope.toml"), "{}", named.stderr);
}

#[test]
fn feeds_and_articles_show_what_was_stored() {
    let server = Server::start();
    server.route(
        "/n",
        Route::rss(rss(
            "Numbers",
            &[
                "<item><guid>n1</guid><title>Older</title><link>https://n.example/1</link><pubDate>Tue, 16 Apr 2024 08:00:00 GMT</pubDate></item>".to_string(),
                "<item><guid>n2</guid><title>Newer</title><link>https://n.example/2</link><pubDate>Wed, 17 Apr 2024 08:00:00 GMT</pubDate></item>".to_string(),
            ],
        )),
    );
    let t = Trawl::new(
        "",
        &[
            feed("numbers", &server.url("/n"), "tags = [\"test\"]"),
            feed("later", &server.url("/later"), "enabled = false"),
        ],
    );
    assert_eq!(t.run(&["fetch"]).code, 0);

    let feeds = t.run(&["feeds"]);
    assert_eq!(feeds.code, 0, "{}", feeds.stderr);
    let header = feeds.stdout.lines().next().unwrap();
    for col in [
        "NAME",
        "STATUS",
        "ARTICLES",
        "FAILS",
        "LAST FETCH",
        "NEXT DUE",
        "LAST ERROR",
    ] {
        assert!(header.contains(col), "{header}");
    }
    let numbers = feeds
        .stdout
        .lines()
        .find(|l| l.starts_with("numbers"))
        .unwrap();
    assert!(numbers.contains("ok (200)"), "{numbers}");
    let later = feeds
        .stdout
        .lines()
        .find(|l| l.starts_with("later"))
        .unwrap();
    assert!(later.contains("disabled"), "{later}");

    let json = json_lines(&t.run(&["feeds", "--json"]).stdout);
    assert_eq!(json[0]["name"], "numbers");
    assert_eq!(json[0]["articles"], 2);
    assert_eq!(json[0]["consecutive_failures"], 0);
    assert!(json[0]["next_fetch_at"].as_str().unwrap().ends_with('Z'));

    let text = t.run(&["articles"]);
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert!(
        lines[0].contains("Newer") && lines[0].contains("2024-04-17 08:00Z"),
        "{}",
        text.stdout
    );
    assert!(lines.iter().any(|l| l.contains("Older")));

    let since = t.run(&["articles", "--since", "2024-04-17", "--json"]);
    let recent = json_lines(&since.stdout);
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0]["title"], "Newer");
    assert_eq!(
        json_lines(&t.run(&["articles", "--limit", "1", "--json"]).stdout).len(),
        1
    );
}

#[test]
fn a_thumbnail_is_stored_exported_and_shown() {
    let server = Server::start();
    server.route(
        "/p",
        Route::rss(
            rss(
                "Pictures",
                &["<item><guid>p1</guid><title>With a picture</title><link>https://p.example/1</link>\
                   <media:thumbnail xmlns:media=\"http://search.yahoo.com/mrss/\" url=\"/t/1.jpg\"/></item>"
                    .to_string()],
            ),
        ),
    );
    let t = Trawl::new("", &[feed("pictures", &server.url("/p"), "")]);
    assert_eq!(t.run(&["fetch"]).code, 0);
    let want = server.url("/t/1.jpg");

    let stored = t.articles();
    assert_eq!(stored[0]["thumbnail"], want.as_str());
    let id = stored[0]["id"].to_string();
    let show = t.run(&["articles", "show", &id]);
    assert!(
        show.stdout.contains(&format!("thumbnail:   {want}")),
        "{}",
        show.stdout
    );
    let jsonl = json_lines(&t.run(&["export"]).stdout);
    assert_eq!(jsonl[0]["thumbnail"], want.as_str());
    let csv = t.run(&["export", "--format", "csv"]).stdout;
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().ends_with(",thumbnail"));
    assert!(
        lines.next().unwrap().ends_with(&format!(",{want}")),
        "{csv}"
    );
}

/// A one-off fetch leases all its feeds at once. A feed that another
/// process is fetching is waited for until that lease ends, then fetched;
/// the other feeds are not held up by it.
#[test]
fn fetch_waits_for_a_feed_another_process_holds_and_not_for_the_rest() {
    let server = Server::start();
    for name in ["a", "b"] {
        let story = item(
            &format!("{name}-1"),
            "Story",
            &format!("https://{name}.example/1"),
            "Text",
        );
        server.route(&format!("/{name}"), Route::rss(rss(name, &[story])));
    }
    let t = Trawl::new(
        "",
        &[
            feed("a", &server.url("/a"), ""),
            feed("b", &server.url("/b"), ""),
        ],
    );
    assert_eq!(t.run(&["fetch"]).code, 0);
    // Another host's process holds b for three more seconds (times are
    // stored in whole seconds: the lease ends two to three seconds from now).
    let until = (chrono::Utc::now() + chrono::Duration::seconds(3))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    t.sql()
        .execute(
            "UPDATE feeds SET lease_owner = 'elsewhere:1', lease_until = ?1 WHERE name = 'b'",
            [&until],
        )
        .unwrap();

    let started = std::time::Instant::now();
    let run = t.run(&["fetch"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let second_request = |path: &str| {
        let seen = server.seen(path);
        assert_eq!(seen.len(), 2, "{path} fetched once by each run");
        seen[1].at.duration_since(started)
    };
    let (a, b) = (second_request("/a"), second_request("/b"));
    assert!(
        b >= std::time::Duration::from_millis(1500),
        "b fetched at {b:?}"
    );
    assert!(a < b, "a at {a:?} waited for b at {b:?}");
    assert_eq!(
        t.count("SELECT count(*) FROM feeds WHERE lease_owner IS NOT NULL"),
        0,
        "every lease ends with the run"
    );
}
