//! What a fetch's outcome does to the feed's schedule and state, seen
//! through `trawl fetch`, `trawl feeds` and the database.

mod common;

use chrono::{DateTime, Utc};
use common::{Route, Server, Trawl, feed, item, rss};

const TEXT: &str = "<p>The river burst its banks overnight, flooding the lower town and \
    forcing hundreds of residents to leave their homes before dawn, officials said.</p>";

fn next_fetch_in_secs(t: &Trawl, name: &str) -> i64 {
    let next: String = t
        .sql()
        .query_row(
            "SELECT next_fetch_at FROM feeds WHERE name = ?",
            [name],
            |r| r.get(0),
        )
        .unwrap();
    let next: DateTime<Utc> = next.parse().unwrap();
    (next - Utc::now()).num_seconds()
}

#[test]
fn gone_disables_retry_after_waits_and_max_age_is_a_floor() {
    let server = Server::start();
    server.route("/gone", Route::status(410));
    server.route("/busy", Route::status(429).header("Retry-After", "7200"));
    server.route(
        "/cached",
        Route::rss(rss(
            "Cached",
            &[item("c", "Cached", "https://n.example/c", TEXT)],
        ))
        .header("Cache-Control", "public, max-age=10800"),
    );
    let t = Trawl::new(
        "per_host_gap = 0",
        &[
            feed("gone", &server.url("/gone"), ""),
            // A site of its own: its 429 pauses every feed of its site, and
            // the others must be fetched whichever answer comes first.
            feed(
                "busy",
                &server.url("/busy").replace("127.0.0.1", "localhost"),
                "interval = \"5m\"",
            ),
            feed("cached", &server.url("/cached"), "interval = \"5m\""),
        ],
    );
    let run = t.run(&["fetch"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.line("gone").contains("HTTP 410 Gone"), "{}", run.stdout);

    let feeds = t.run(&["feeds"]);
    let gone = feeds
        .stdout
        .lines()
        .find(|l| l.starts_with("gone"))
        .unwrap();
    assert!(gone.contains("gone: 410 Gone since"), "{gone}");
    let disabled: Option<String> = t
        .sql()
        .query_row(
            "SELECT next_fetch_at FROM feeds WHERE name = 'gone'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(disabled, None, "a gone feed is never due");

    // Retry-After: at least 2 h, although the feed asks for 5 min.
    let busy = next_fetch_in_secs(&t, "busy");
    assert!(
        (7190..=8300).contains(&busy),
        "at least the 2 h asked, plus jitter: {busy}"
    );
    // Cache-Control max-age: 3 h is a floor under the configured 5 min.
    let cached = next_fetch_in_secs(&t, "cached");
    assert!(cached >= 10_700, "{cached}");
}

#[test]
fn what_a_document_asks_for_still_holds_after_a_304() {
    // `<ttl>45</ttl>`: poll no more often than every 45 minutes, although
    // the config says 5.
    let with_ttl = |etag: &str, ttl: &str| {
        let doc = rss("Slow", &[item("s", "Slow", "https://n.example/s", TEXT)])
            .replace("<channel>", &format!("<channel>{ttl}"));
        Route::rss(doc).with_etag(etag)
    };
    let server = Server::start();
    server.route("/slow", with_ttl("\"v1\"", "<ttl>45</ttl>"));
    let t = Trawl::new(
        "",
        &[feed("slow", &server.url("/slow"), "interval = \"5m\"")],
    );
    let floor = 45 * 60 - 10;

    assert_eq!(t.run(&["fetch"]).code, 0);
    let after_200 = next_fetch_in_secs(&t, "slow");
    assert!(after_200 >= floor, "after the document: {after_200} s");

    // The same document again: a 304, which carries no `<ttl>`.
    let run = t.run(&["fetch"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(server.seen("/slow").len(), 2);
    assert!(run.line("slow").contains("not modified"), "{}", run.stdout);
    let after_304 = next_fetch_in_secs(&t, "slow");
    assert!(after_304 >= floor, "after the 304: {after_304} s");

    // A new document that asks for nothing: the configured 5 minutes again.
    server.route("/slow", with_ttl("\"v2\"", ""));
    assert_eq!(t.run(&["fetch"]).code, 0);
    let after_new = next_fetch_in_secs(&t, "slow");
    assert!(after_new <= 6 * 60, "no ttl any more: {after_new} s");
    assert_eq!(t.run(&["fetch"]).code, 0);
    let after_304 = next_fetch_in_secs(&t, "slow");
    assert!(after_304 <= 6 * 60, "nor after its 304: {after_304} s");
}

#[test]
fn every_fetch_is_logged_and_shown_per_feed() {
    let server = Server::start();
    server.route(
        "/f",
        Route::rss(rss("F", &[item("1", "One", "https://n.example/1", TEXT)])).with_etag("\"e\""),
    );
    let t = Trawl::new("", &[feed("f", &server.url("/f"), "")]);
    assert_eq!(t.run(&["fetch"]).code, 0);
    assert_eq!(t.run(&["fetch"]).code, 0);
    server.route("/f", Route::status(503));
    assert_eq!(t.run(&["fetch"]).code, 2);

    let show = t.run(&["feeds", "show", "f", "--json"]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    let v: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    let fetches = v["fetches"].as_array().unwrap();
    assert_eq!(fetches.len(), 3);
    // Newest first.
    assert_eq!(fetches[0]["status"], 503);
    assert!(fetches[0]["error"].as_str().unwrap().contains("503"));
    assert_eq!(fetches[1]["status"], 304);
    assert_eq!(fetches[2]["status"], 200);
    assert_eq!(fetches[2]["new"], 1);
    assert!(fetches[2]["bytes"].as_u64().unwrap() > 100);
    assert_eq!(v["consecutive_failures"], 1);

    let text = t.run(&["feeds", "show", "f"]);
    assert!(text.stdout.contains("failures:     1"), "{}", text.stdout);
    assert!(text.stdout.contains("AT"), "{}", text.stdout);
    assert_eq!(t.run(&["feeds", "show", "nope"]).code, 1);
}

#[test]
fn a_server_whose_304s_hide_changes_stops_getting_validators() {
    let server = Server::start();
    let v1 = rss("Liar", &[item("1", "First", "https://n.example/1", TEXT)]);
    server.route("/liar", Route::rss(v1).with_etag("\"same\""));
    let t = Trawl::new("", &[feed("liar", &server.url("/liar"), "")]);
    assert_eq!(t.run(&["fetch"]).code, 0);

    // The feed changes but the server keeps its ETag, so it answers 304.
    let v2 = rss(
        "Liar",
        &[
            item("2", "Second", "https://n.example/2", TEXT),
            item("1", "First", "https://n.example/1", TEXT),
        ],
    );
    server.route("/liar", Route::rss(v2).with_etag("\"same\""));
    let run = t.run(&["fetch"]);
    assert!(run.line("liar").contains("not modified"), "{}", run.stdout);

    // A day later, trawl checks the 304 with a whole fetch and finds the change.
    t.sql()
        .execute(
            "UPDATE feeds SET last_full_fetch_at = '2000-01-01T00:00:00Z'",
            [],
        )
        .unwrap();
    let run = t.run(&["fetch"]);
    assert!(run.line("liar").contains("1 new"), "{}", run.stdout);
    let untrusted: bool = t
        .sql()
        .query_row("SELECT no_validators FROM feeds", [], |r| r.get(0))
        .unwrap();
    assert!(untrusted);
    let feeds = t.run(&["feeds"]);
    assert!(feeds.stdout.contains("304s untrusted"), "{}", feeds.stdout);

    // From now on it is asked without validators.
    let before = server.seen("/liar").len();
    assert_eq!(t.run(&["fetch"]).code, 0);
    let seen = server.seen("/liar");
    assert_eq!(seen.len(), before + 1);
    assert_eq!(seen.last().unwrap().headers.get("if-none-match"), None);
}
