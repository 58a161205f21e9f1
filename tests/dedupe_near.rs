//! Near-duplicates and revisions through the real binary: a story copied by
//! another feed with small edits is kept and linked to the first article;
//! an article whose text changes keeps its earlier versions, and `articles
//! show` prints the story, the sources and the diff.

mod common;

use common::{Route, Server, Trawl, feed, item, rss};

/// About 250 words of a wire story, in paragraphs.
const STORY: &[&str] = &[
    "Engineers who inspected the bridge last spring found corrosion in several steel \
     girders and cracks in the concrete deck, and recommended that heavy lorries be kept \
     off the structure until repairs could be completed, according to the report.",
    "The council had first proposed a full replacement, but abandoned the idea after \
     estimates showed it would cost three times as much and take more than four years, \
     leaving the town without its main crossing for most of that time.",
    "The regional council approved a revised budget for the river bridge on Monday after \
     months of talks with unions and residents who feared rising costs and long closures.",
    "Under the plan, workers will repair the eastern span before winter, while traffic is \
     diverted through the old market road, the mayor said at a press conference.",
    "Officials expect the work to take eighteen months. Local businesses welcomed the \
     decision but asked for compensation during the closure, which they said could cut \
     their sales by a third over the busiest season of the year.",
];

fn html(paragraphs: &[&str]) -> String {
    paragraphs.iter().map(|p| format!("<p>{p}</p>")).collect()
}

/// An RSS item published at `date` (RFC 822).
fn item_at(guid: &str, title: &str, link: &str, body: &str, date: &str) -> String {
    item(guid, title, link, body).replace("</item>", &format!("<pubDate>{date}</pubDate></item>"))
}

/// Serves feed `a` with the original story, `b` with a copy that changed a
/// word, and `c` with an unrelated story.
fn three_feeds() -> (Server, Trawl) {
    let server = Server::start();
    let mut copy: Vec<&str> = STORY.to_vec();
    let edited = STORY[0].replace("heavy lorries", "large lorries");
    copy[0] = &edited;
    // (A word changed in 170: about one bit in 64. An added line would
    // make it about three, and short texts like this one land anywhere
    // from 0 to 9 bits away; see `dedupe`.)
    server.route(
        "/a",
        Route::rss(rss(
            "A",
            &[item_at(
                "a1",
                "Council approves bridge budget",
                "https://a.example/bridge",
                &html(STORY),
                "Mon, 15 Apr 2024 10:00:00 GMT",
            )],
        )),
    );
    server.route(
        "/b",
        Route::rss(rss(
            "B",
            &[item_at(
                "b1",
                "Council approves bridge budget",
                "https://b.example/wire/4411",
                &html(&copy),
                "Wed, 17 Apr 2024 10:00:00 GMT",
            )],
        )),
    );
    let other = [
        "Heavy rain flooded three villages in the valley overnight, and rescue teams evacuated \
         dozens of families as the river rose above its banks for the first time in a decade.",
        "Schools stayed closed on Tuesday. The weather service warned of more storms through \
         the weekend and urged residents to avoid travel on mountain roads until further notice, \
         while volunteers filled sandbags near the hospital and the old station.",
    ];
    server.route(
        "/c",
        Route::rss(rss(
            "C",
            &[item(
                "c1",
                "Floods hit valley",
                "https://c.example/floods",
                &html(&other),
            )],
        )),
    );
    let trawl = Trawl::new(
        "",
        &[
            feed("a", &server.url("/a"), ""),
            feed("b", &server.url("/b"), ""),
            feed("c", &server.url("/c"), ""),
        ],
    );
    (server, trawl)
}

#[test]
fn a_near_copy_is_kept_and_linked_to_the_first_article() {
    let (_server, trawl) = three_feeds();
    // One feed at a time, so "first" is well defined.
    // The copy is a new article but no new story, and `fetch` says so.
    for (name, want) in [
        ("a", "1 new, 0 updated"),
        ("b", "0 new, 1 copy of a stored story, 0 updated"),
        ("c", "1 new, 0 updated"),
    ] {
        let run = trawl.run(&["fetch", name]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert!(run.line(name).contains(want), "{}", run.stdout);
    }
    let arts = trawl.articles();
    let by_feed = |f: &str| {
        arts.iter()
            .find(|a| a["sources"][0]["feed"] == f)
            .unwrap_or_else(|| panic!("no article from {f}"))
    };
    let (a, b, c) = (by_feed("a"), by_feed("b"), by_feed("c"));
    assert_eq!(a["duplicate_of"], serde_json::Value::Null);
    assert_eq!(
        b["duplicate_of"], a["id"],
        "the copy points at the first article"
    );
    assert_eq!(c["duplicate_of"], serde_json::Value::Null);
    assert_eq!(
        trawl.count("SELECT count(*) FROM articles WHERE simhash IS NOT NULL"),
        3
    );

    let id = a["id"].to_string();
    let show = trawl.run(&["articles", "show", &id]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(
        show.stdout
            .contains("story:       first article of its story"),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout.contains("same story (1 other articles):"),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout.contains("https://b.example/wire/4411") || show.stdout.contains(" b "),
        "{}",
        show.stdout
    );
    let show = trawl.run(&["articles", "show", &b["id"].to_string(), "--json"]);
    let detail: serde_json::Value = serde_json::from_str(show.stdout.trim()).unwrap();
    assert_eq!(detail["duplicate_of"], a["id"]);
    assert_eq!(detail["cluster"][0]["id"], a["id"]);
    assert_eq!(detail["cluster"][0]["head"], true);
    assert!(detail["cluster"][0]["distance"].as_u64().unwrap() <= 3);

    let missing = trawl.run(&["articles", "show", "9999"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("no article with id 9999"),
        "{}",
        missing.stderr
    );
}

#[test]
fn items_of_one_feed_linking_one_page_stay_apart_and_another_feed_joins_the_first() {
    let server = Server::start();
    let page = "https://weekly.example/archive/2024-16";
    // Three stories under one link, as a weekly digest's feed gives them.
    let items: Vec<String> = [
        ("w1", "Bridge repairs approved", &STORY[..2]),
        ("w2", "Bridge closure plan", &STORY[2..4]),
        ("w3", "Business owners react", &STORY[4..]),
    ]
    .iter()
    .map(|(guid, title, body)| item(guid, title, page, &html(body)))
    .collect();
    server.route("/weekly", Route::rss(rss("Weekly", &items)));
    server.route(
        "/other",
        Route::rss(rss(
            "Other",
            &[item("o1", "This week", page, &html(&STORY[1..3]))],
        )),
    );
    let trawl = Trawl::new(
        "",
        &[
            feed("weekly", &server.url("/weekly"), ""),
            feed("other", &server.url("/other"), ""),
        ],
    );
    let run = trawl.run(&["fetch", "weekly"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.line("weekly").contains("3 new, 0 updated, 0 duplicate"),
        "{}",
        run.stdout
    );
    // Again: the same three, unchanged.
    let run = trawl.run(&["fetch", "weekly"]);
    assert!(
        run.line("weekly")
            .contains("0 new, 0 updated, 0 duplicate, 3 unchanged"),
        "{}",
        run.stdout
    );
    // Across feeds the link is the key: the first article gets a source.
    let run = trawl.run(&["fetch", "other"]);
    assert!(
        run.line("other").contains("0 new, 0 updated, 1 duplicate"),
        "{}",
        run.stdout
    );
    assert_eq!(
        trawl.count(&format!(
            "SELECT count(*) FROM articles WHERE url = '{page}'"
        )),
        3
    );
    let first = trawl.count("SELECT article_id FROM article_sources WHERE guid = 'w1'");
    let other = trawl.count("SELECT article_id FROM article_sources WHERE guid = 'o1'");
    assert_eq!(other, first);
}

#[test]
fn a_narrow_window_or_a_high_word_minimum_keeps_copies_apart() {
    // The copy was published two days after the first article.
    for daemon in [
        "near_duplicate_min_words = 500",
        "near_duplicate_window = \"1d\"",
    ] {
        let (server, _) = three_feeds();
        let trawl = Trawl::new(
            daemon,
            &[
                feed("a", &server.url("/a"), ""),
                feed("b", &server.url("/b"), ""),
            ],
        );
        for name in ["a", "b"] {
            assert_eq!(trawl.run(&["fetch", name]).code, 0);
        }
        let linked = trawl.count("SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL");
        assert_eq!(linked, 0, "{daemon}");
    }
}

#[test]
fn a_changed_article_keeps_its_revisions_and_shows_the_diff() {
    let server = Server::start();
    let serve = |title: &str, paragraphs: &[&str]| {
        server.route(
            "/a",
            Route::rss(rss(
                "A",
                &[item(
                    "a1",
                    title,
                    "https://a.example/bridge",
                    &html(paragraphs),
                )],
            )),
        );
    };
    let trawl = Trawl::new("max_revisions = 2", &[feed("a", &server.url("/a"), "")]);
    serve("Council approves bridge budget", STORY);
    assert_eq!(trawl.run(&["fetch"]).code, 0);
    let revised = [
        STORY[2],
        STORY[3],
        "Officials now expect the work to take two years.",
    ];
    serve("Council approves bridge budget", &revised);
    let run = trawl.run(&["fetch"]);
    assert!(run.line("a").contains("1 updated"), "{}", run.stdout);
    serve("Bridge budget approved after talks", &revised);
    assert_eq!(trawl.run(&["fetch"]).code, 0);
    // Unchanged: nothing more to keep.
    assert_eq!(trawl.run(&["fetch"]).code, 0);

    let id = trawl.articles()[0]["id"].to_string();
    let show = trawl.run(&["articles", "show", &id, "--diff"]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    let out = &show.stdout;
    assert!(
        out.contains("revisions (2 earlier versions kept):"),
        "{out}"
    );
    for line in [
        "--- revision 1 (",
        "+++ revision 2 (",
        "-Officials expect the work to take eighteen months.",
        "+Officials now expect the work to take two years.",
        "--- revision 2 (",
        "+++ current (",
        "-Title: Council approves bridge budget",
        "+Title: Bridge budget approved after talks",
    ] {
        assert!(out.contains(line), "{line:?} in\n{out}");
    }
    let show = trawl.run(&["articles", "show", &id, "--json", "--diff"]);
    let detail: serde_json::Value = serde_json::from_str(show.stdout.trim()).unwrap();
    assert_eq!(detail["revisions"].as_array().unwrap().len(), 2);
    assert_eq!(detail["revisions"][0]["revision"], 1);
    assert_eq!(detail["diffs"].as_array().unwrap().len(), 2);
    assert_eq!(detail["title"], "Bridge budget approved after talks");
    assert!(detail["revised_at"].is_string());
}
