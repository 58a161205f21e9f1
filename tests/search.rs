//! `trawl search` and `trawl export` as a user meets them: ranked hits with
//! highlighted snippets, copies of a story collapsed into one hit, filters,
//! Chinese text; every article written out as JSON Lines or CSV.

mod common;

use common::{Route, Server, Trawl, feed, item, rss};

const STORY: &str = "<p>The volcano on the Reykjanes peninsula erupted again on Sunday night, \
    sending lava towards the fishing town of Grindavik, which had been evacuated hours earlier \
    as the ground shook. Scientists said the fissure was about three kilometres long.</p>\
    <p>Flights at Keflavik airport were running normally, the airport operator said, though \
    officials warned that gas from the eruption could drift over the capital overnight. \
    Residents were told to keep windows closed and to follow the advice of the civil \
    protection agency until the wind changed direction on Monday morning.</p>";

fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Feeds: `a` the story, `b` a copy with a word changed, `c` an article
/// that mentions the volcano once, `d` a Chinese article.
fn setup() -> (Server, Trawl) {
    let server = Server::start();
    server.route(
        "/a",
        Route::rss(rss(
            "A",
            &[item(
                "a1",
                "Volcano erupts near Grindavik",
                "https://a.example/volcano",
                STORY,
            )],
        )),
    );
    server.route(
        "/b",
        Route::rss(rss(
            "B",
            &[item(
                "b1",
                "Volcano erupts near Grindavik",
                "https://b.example/wire/77",
                &STORY.replace("fishing town", "harbour town"),
            )],
        )),
    );
    server.route(
        "/c",
        Route::rss(rss(
            "C",
            &[item(
                "c1",
                "Airlines count the cost of a quiet winter",
                "https://c.example/airlines",
                "<p>Bookings fell in January, though the volcano scare passed quickly.</p>",
            )],
        )),
    );
    server.route(
        "/d",
        Route::rss(rss(
            "D",
            &[item(
                "d1",
                "冰島火山再度噴發",
                "https://d.example/zh/1",
                "<p>冰島雷克雅內斯半島的火山週日晚間再度噴發，熔岩流向已撤離的格林達維克鎮。</p>",
            )],
        )),
    );
    let trawl = Trawl::new(
        "",
        &[
            feed("a", &server.url("/a"), ""),
            feed("b", &server.url("/b"), ""),
            feed("c", &server.url("/c"), ""),
            feed("d", &server.url("/d"), ""),
        ],
    );
    for name in ["a", "b", "c", "d"] {
        let run = trawl.run(&["fetch", name]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    }
    (server, trawl)
}

#[test]
fn search_collapses_a_story_highlights_matches_and_filters() {
    let (_server, trawl) = setup();
    let run = trawl.run(&["search", "volcano"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let heads: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(heads.len(), 2, "{}", run.stdout);
    assert!(
        heads[0].contains("[Volcano] erupts near Grindavik  (+1 copy)"),
        "{}",
        run.stdout
    );
    assert!(
        heads[0].contains("  a  "),
        "the story's first article: {}",
        heads[0]
    );
    assert!(
        heads[1].contains("Airlines count the cost"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("The [volcano] on the Reykjanes"),
        "{}",
        run.stdout
    );

    let all = trawl.run(&["search", "volcano", "--all"]);
    assert_eq!(all.stdout.lines().filter(|l| l.starts_with('#')).count(), 3);

    let json = trawl.run(&["search", "volcano", "--json", "--limit", "1"]);
    let hits = json_lines(&json.stdout);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["copies"], 1);
    assert_eq!(
        hits[0]["title_highlighted"],
        "<mark>Volcano</mark> erupts near Grindavik"
    );
    assert!(
        hits[0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<mark>volcano</mark>")
    );
    assert!(
        hits[0]["rank"].as_f64().unwrap() < 0.0,
        "bm25: lower is better"
    );
    assert_eq!(hits[0]["sources"][0]["feed"], "a");

    // Several words, a phrase, filters.
    let count = |args: &[&str]| -> usize {
        let mut full = vec!["search"];
        full.extend_from_slice(args);
        let run = trawl.run(&full);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        run.stdout.lines().filter(|l| l.starts_with('#')).count()
    };
    assert_eq!(count(&["volcano", "airport"]), 1);
    assert_eq!(count(&["\"fishing town\"", "--all"]), 1);
    assert_eq!(count(&["\"harbour town\"", "--all"]), 1);
    assert_eq!(count(&["volcano", "--feed", "c"]), 1);
    assert_eq!(count(&["volcano", "--since", "1d"]), 2);
    assert_eq!(count(&["volcano", "--since", "2999-01-01"]), 0);
    assert_eq!(
        count(&["U.S.", "don't"]),
        0,
        "punctuation is no syntax error"
    );

    let none = trawl.run(&["search", "..."]);
    assert_eq!(none.code, 1);
    assert!(
        none.stderr.contains("nothing to search for"),
        "{}",
        none.stderr
    );
}

#[test]
fn chinese_words_are_found_in_unspaced_text() {
    let (_server, trawl) = setup();
    for word in ["火山", "格林達維克", "噴發"] {
        let run = trawl.run(&["search", word]);
        let heads: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with('#')).collect();
        assert_eq!(heads.len(), 1, "{word}: {}", run.stdout);
        assert!(heads[0].contains("  d  "), "{}", heads[0]);
    }
    let run = trawl.run(&["search", "火山", "--json"]);
    let hit = &json_lines(&run.stdout)[0];
    assert_eq!(hit["title_highlighted"], "冰島<mark>火山</mark>再度噴發");
    assert!(
        hit["snippet"]
            .as_str()
            .unwrap()
            .contains("半島的<mark>火山</mark>週日"),
        "{}",
        hit["snippet"]
    );
    assert_eq!(
        trawl
            .run(&["search", "山再", "--all"])
            .stdout
            .lines()
            .filter(|l| l.starts_with('#'))
            .count(),
        1,
        "any run of characters is found"
    );
}

/// Parses RFC 4180 CSV: records of fields.
fn csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let (mut record, mut field) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    records
}

#[test]
fn export_writes_every_article_as_jsonl_or_csv() {
    let (_server, trawl) = setup();
    let run = trawl.run(&["export"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let objects = json_lines(&run.stdout);
    assert_eq!(objects.len(), 4);
    for key in [
        "id",
        "guid",
        "title",
        "content_text",
        "sources",
        "duplicate_of",
        "first_seen_at",
    ] {
        assert!(objects[0].get(key).is_some(), "{key}");
    }
    let copy = objects
        .iter()
        .find(|o| o["sources"][0]["feed"] == "b")
        .unwrap();
    let first = objects
        .iter()
        .find(|o| o["sources"][0]["feed"] == "a")
        .unwrap();
    assert_eq!(copy["duplicate_of"], first["id"]);

    let run = trawl.run(&["export", "--format", "csv", "--feed", "d"]);
    let records = csv(&run.stdout);
    assert_eq!(records.len(), 2, "{}", run.stdout);
    let header = &records[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(records[1][col("title")], "冰島火山再度噴發");
    assert!(records[1][col("sources")].contains("\"feed\":\"d\""));
    assert_eq!(records[1].len(), header.len());

    let run = trawl.run(&["export", "--format", "csv"]);
    let records = csv(&run.stdout);
    assert_eq!(records.len(), 5, "a header and four records");
    let texts: Vec<&str> = records[1..]
        .iter()
        .map(|r| r[col("content_text")].as_str())
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("\n\n")),
        "paragraph breaks survive quoting"
    );

    // To a file, which appears only when complete.
    let out = trawl.dir.path().join("out.jsonl");
    let run = trawl.run(&[
        "export",
        "--output",
        out.to_str().unwrap(),
        "--since",
        "2000-01-01",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(json_lines(&std::fs::read_to_string(&out).unwrap()).len(), 4);
    assert!(!trawl.dir.path().join("out.jsonl.part").exists());
    let run = trawl.run(&["export", "--output", "/nonexistent/dir/out.csv"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("cannot create /nonexistent/dir/out.csv.part"),
        "{}",
        run.stderr
    );
}

/// The full-text index is written after the commit (the writer's queue),
/// but `trawl fetch` finishes it before it exits: what it stored is found
/// at once, and a changed article's old text is not.
#[test]
fn search_right_after_fetch_finds_the_current_text_only() {
    let server = Server::start();
    let body = |text: &str| {
        Route::rss(rss(
            "A",
            &[item("a1", "Harbour news", "https://a.example/1", text)],
        ))
    };
    server.route(
        "/a",
        body("<p>The ferry to the islands was cancelled because of a storm.</p>"),
    );
    let trawl = Trawl::new("", &[feed("a", &server.url("/a"), "")]);
    let hits = |word: &str| -> usize {
        let run = trawl.run(&["search", word, "--all"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout.lines().filter(|l| l.starts_with('#')).count()
    };
    assert_eq!(trawl.run(&["fetch"]).code, 0);
    assert_eq!(hits("ferry"), 1);
    assert_eq!(trawl.count("SELECT count(*) FROM fts_pending"), 0);

    server.route(
        "/a",
        body("<p>The bridge to the mainland reopened after the inspection.</p>"),
    );
    let run = trawl.run(&["fetch"]);
    assert!(run.line("a").contains("1 updated"), "{}", run.stdout);
    assert_eq!(hits("bridge"), 1);
    assert_eq!(hits("ferry"), 0, "the old text left the index");
    assert_eq!(trawl.count("SELECT count(*) FROM fts_pending"), 0);
}
