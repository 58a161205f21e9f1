//! Store tests: opening and migrations, feed sync, the dedupe paths of
//! `commit`, atomicity, full-text search and listing.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::*;
use crate::article::{Enclosure, parse_time};
use crate::dedupe::content_hash;

/// Twenty-odd words: enough for an equal content hash to mean the same story.
const LONG: &str = "The central bank held its benchmark rate steady on Tuesday, \
    citing persistent inflation in services and a labour market that remains tight \
    despite slowing growth across the region.";

fn t(s: &str) -> DateTime<Utc> {
    parse_time(s).unwrap()
}

fn feed(name: &str, url: &str) -> FeedConfig {
    FeedConfig {
        name: name.to_string(),
        url: url.to_string(),
        interval: None,
        timezone: None,
        tags: Vec::new(),
        enabled: true,
    }
}

fn article(guid: &str, url: Option<&str>, title: &str, text: &str) -> Article {
    Article {
        guid: guid.to_string(),
        url: url.map(str::to_string),
        title: title.to_string(),
        authors: Vec::new(),
        published: None,
        updated: None,
        summary: None,
        content_html: None,
        content_text: (!text.is_empty()).then(|| text.to_string()),
        categories: Vec::new(),
        language: None,
        enclosures: Vec::new(),
        feed: FeedInfo::default(),
        content_hash: content_hash(title, text),
    }
}

fn fetched(feed_id: i64, at: &str, etag: Option<&str>, articles: Vec<Article>) -> FeedUpdate {
    FeedUpdate {
        feed_id,
        fetched_at: t(at),
        next_fetch_at: t(at) + chrono::Duration::hours(1),
        outcome: Outcome::Fetched {
            status: 200,
            moved_to: None,
            etag: etag.map(str::to_string),
            last_modified: None,
            feed: FeedInfo::default(),
            articles,
        },
    }
}

/// A store that knows feeds `a`, `b`, ... (urls `https://a.test/feed`, ...);
/// returns their ids in that order.
fn store_with(names: &[&str]) -> (Store, Vec<i64>) {
    let mut store = Store::open_in_memory().unwrap();
    let configured: Vec<_> = names
        .iter()
        .map(|n| feed(n, &format!("https://{n}.test/feed")))
        .collect();
    let ids = store
        .sync_feeds(&configured)
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    (store, ids)
}

fn commit_one(store: &mut Store, update: FeedUpdate) -> Counts {
    store.commit(&[update]).unwrap()[0]
}

fn counts(new: usize, updated: usize, duplicate: usize, unchanged: usize) -> Counts {
    Counts {
        new,
        updated,
        duplicate,
        unchanged,
    }
}

fn scalar(store: &Store, sql: &str) -> i64 {
    store.conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn fts(store: &Store, query: &str) -> Vec<i64> {
    let mut stmt = store
        .conn
        .prepare("SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?1 ORDER BY rowid")
        .unwrap();
    stmt.query_map([query], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn all_articles(store: &Store) -> Vec<StoredArticle> {
    store.articles(&ArticleQuery::default()).unwrap()
}

// ---- opening and migrations ----

#[test]
fn open_creates_folder_migrates_once_and_sets_pragmas() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/data/trawl.db");
    {
        let mut store = Store::open(&path).unwrap();
        store
            .sync_feeds(&[feed("a", "https://a.test/feed")])
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(scalar(&store, "PRAGMA user_version"), SCHEMA_VERSION);
    assert_eq!(store.feeds().unwrap().len(), 1, "data survives a reopen");
    let mode: String = store
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(scalar(&store, "PRAGMA foreign_keys"), 1);
    assert_eq!(scalar(&store, "PRAGMA synchronous"), 1, "NORMAL");
    assert_eq!(scalar(&store, "PRAGMA busy_timeout"), 5000);
}

fn open_err(prepare: &str) -> (String, StoreError) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trawl.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(prepare)
        .unwrap();
    let err = Store::open(&path).err().expect("open must fail");
    (path.display().to_string(), err)
}

#[test]
fn refuses_a_newer_database() {
    let newer = SCHEMA_VERSION + 1;
    let (path, err) = open_err(&format!("PRAGMA user_version = {newer}"));
    assert!(matches!(err, StoreError::TooNew { found, known, .. }
        if found == newer && known == SCHEMA_VERSION));
    let msg = err.to_string();
    assert!(msg.contains(&path), "{msg}");
    assert!(msg.contains(&format!("version {newer}")), "{msg}");
    assert!(msg.contains(&format!("version {SCHEMA_VERSION}")), "{msg}");
}

#[test]
fn refuses_an_unversioned_database_with_tables() {
    let (path, err) = open_err("CREATE TABLE notes (body TEXT)");
    assert!(matches!(err, StoreError::NotOurs { .. }), "{err}");
    assert!(err.to_string().contains(&path));
}

#[test]
fn refuses_a_file_that_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trawl.db");
    std::fs::write(
        &path,
        "not sqlite at all, just some text that is long enough ".repeat(20),
    )
    .unwrap();
    let err = Store::open(&path).err().expect("open must fail");
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    assert!(err.to_string().contains(&path.display().to_string()));
}

// ---- feeds ----

#[test]
fn sync_feeds_inserts_keeps_and_returns_config_order() {
    let mut store = Store::open_in_memory().unwrap();
    let first = store
        .sync_feeds(&[feed("b", "https://b.test/"), feed("a", "https://a.test/")])
        .unwrap();
    assert_eq!(
        first.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["b", "a"]
    );
    assert_eq!(first[0].url, "https://b.test/");
    assert_eq!(first[0].config_url, "https://b.test/");
    assert_eq!(first[0].consecutive_failures, 0);

    let again = store
        .sync_feeds(&[feed("a", "https://a.test/"), feed("b", "https://b.test/")])
        .unwrap();
    assert_eq!(again[0].id, first[1].id);
    assert_eq!(again[1].id, first[0].id);
    // feeds() is by name.
    let names: Vec<_> = store.feeds().unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(store.feed_by_name("a").unwrap().unwrap().id, first[1].id);
    assert_eq!(store.feed_by_name("zzz").unwrap(), None);
}

#[test]
fn changed_config_url_resets_url_and_validators() {
    let (mut store, ids) = store_with(&["a", "b"]);
    for &id in &ids {
        commit_one(
            &mut store,
            fetched(id, "2024-04-17T10:00:00Z", Some("\"v1\""), vec![]),
        );
    }
    let rows = store
        .sync_feeds(&[
            feed("a", "https://a.test/new"),
            feed("b", "https://b.test/feed"),
        ])
        .unwrap();
    assert_eq!(rows[0].id, ids[0]);
    assert_eq!(rows[0].url, "https://a.test/new");
    assert_eq!(rows[0].config_url, "https://a.test/new");
    assert_eq!(rows[0].etag, None);
    assert_eq!(rows[1].etag.as_deref(), Some("\"v1\""), "b untouched");
}

#[test]
fn two_feeds_may_swap_urls() {
    let (mut store, ids) = store_with(&["a", "b"]);
    let rows = store
        .sync_feeds(&[
            feed("a", "https://b.test/feed"),
            feed("b", "https://a.test/feed"),
        ])
        .unwrap();
    assert_eq!(
        (rows[0].id, rows[0].url.as_str()),
        (ids[0], "https://b.test/feed")
    );
    assert_eq!(
        (rows[1].id, rows[1].url.as_str()),
        (ids[1], "https://a.test/feed")
    );
}

#[test]
fn a_renamed_feed_keeps_its_row() {
    let (mut store, ids) = store_with(&["a"]);
    let rows = store
        .sync_feeds(&[feed("renamed", "https://a.test/feed")])
        .unwrap();
    assert_eq!(rows[0].id, ids[0]);
    assert_eq!(rows[0].name, "renamed");
    assert_eq!(store.feeds().unwrap().len(), 1);
}

#[test]
fn a_url_held_by_another_configured_feed_is_an_error() {
    let (mut store, ids) = store_with(&["a", "b"]);
    // A permanent redirect moved a to c's address.
    let mut update = fetched(ids[0], "2024-04-17T10:00:00Z", None, vec![]);
    if let Outcome::Fetched { moved_to, .. } = &mut update.outcome {
        *moved_to = Some("https://c.test/feed".to_string());
    }
    commit_one(&mut store, update);
    let configured = [
        feed("a", "https://a.test/feed"),
        feed("b", "https://b.test/other"),
        feed("c", "https://c.test/feed"),
    ];
    let err = store.sync_feeds(&configured).unwrap_err();
    assert!(
        matches!(&err, StoreError::UrlTaken { name, other, .. } if name == "c" && other == "a")
    );
    // Nothing of the sync was written (b's change included).
    assert_eq!(
        store.feed_by_name("b").unwrap().unwrap().url,
        "https://b.test/feed"
    );
    assert_eq!(store.feeds().unwrap().len(), 2);
}

#[test]
fn ensure_feed_finds_by_name_then_url_else_inserts() {
    let (mut store, ids) = store_with(&["a"]);
    let adhoc = store
        .ensure_feed("https://x.test/rss", "https://x.test/rss")
        .unwrap();
    assert_eq!(adhoc.name, "https://x.test/rss");
    assert_eq!(adhoc.url, "https://x.test/rss");
    let again = store
        .ensure_feed("https://x.test/rss", "https://x.test/rss")
        .unwrap();
    assert_eq!(again.id, adhoc.id);
    let configured = store
        .ensure_feed("https://a.test/feed", "https://a.test/feed")
        .unwrap();
    assert_eq!(configured.id, ids[0]);
    assert_eq!(store.feeds().unwrap().len(), 2);
}

#[test]
fn outcomes_are_recorded_on_the_feed_row() {
    let (mut store, ids) = store_with(&["a"]);
    let id = ids[0];
    let mut ok = fetched(id, "2024-04-17T10:00:00Z", Some("\"v1\""), vec![]);
    if let Outcome::Fetched {
        last_modified,
        feed,
        ..
    } = &mut ok.outcome
    {
        *last_modified = Some("Wed, 17 Apr 2024 10:00:00 GMT".to_string());
        feed.title = Some("A News".to_string());
    }
    commit_one(&mut store, ok);

    let fail = |at: &str| FeedUpdate {
        feed_id: id,
        fetched_at: t(at),
        next_fetch_at: t(at) + chrono::Duration::minutes(5),
        outcome: Outcome::Failed {
            status: Some(503),
            error: "server error".to_string(),
        },
    };
    commit_one(&mut store, fail("2024-04-17T11:00:00Z"));
    commit_one(&mut store, fail("2024-04-17T12:00:00Z"));
    let row = store.feed_by_name("a").unwrap().unwrap();
    assert_eq!(row.consecutive_failures, 2);
    assert_eq!(row.last_status, Some(503));
    assert_eq!(row.last_error.as_deref(), Some("server error"));
    assert_eq!(row.last_fetch_at, Some(t("2024-04-17T12:00:00Z")));
    assert_eq!(row.next_fetch_at, Some(t("2024-04-17T12:05:00Z")));
    assert_eq!(row.etag.as_deref(), Some("\"v1\""), "validators kept");
    assert_eq!(
        row.last_modified.as_deref(),
        Some("Wed, 17 Apr 2024 10:00:00 GMT")
    );
    assert_eq!(row.title.as_deref(), Some("A News"));

    let not_modified = FeedUpdate {
        feed_id: id,
        fetched_at: t("2024-04-17T13:00:00Z"),
        next_fetch_at: t("2024-04-17T14:00:00Z"),
        outcome: Outcome::NotModified {
            status: 304,
            moved_to: None,
        },
    };
    commit_one(&mut store, not_modified);
    let row = store.feed_by_name("a").unwrap().unwrap();
    assert_eq!(row.consecutive_failures, 0);
    assert_eq!(row.last_status, Some(304));
    assert_eq!(row.last_error, None);
    assert_eq!(row.etag.as_deref(), Some("\"v1\""));

    // A new response without validators clears them; no feed title keeps the old one.
    commit_one(
        &mut store,
        fetched(id, "2024-04-17T14:00:00Z", None, vec![]),
    );
    let row = store.feed_by_name("a").unwrap().unwrap();
    assert_eq!((row.etag, row.last_modified), (None, None));
    assert_eq!(row.title.as_deref(), Some("A News"));
}

#[test]
fn a_permanent_redirect_moves_the_feed_unless_the_url_is_taken() {
    let (mut store, ids) = store_with(&["a", "b"]);
    let moved = |id: i64, to: &str| {
        let mut u = fetched(id, "2024-04-17T10:00:00Z", None, vec![]);
        if let Outcome::Fetched { moved_to, .. } = &mut u.outcome {
            *moved_to = Some(to.to_string());
        }
        u
    };
    store
        .commit(&[
            moved(ids[0], "https://a.test/moved"),
            moved(ids[1], "https://a.test/moved"),
        ])
        .unwrap();
    let rows = store.feeds().unwrap();
    assert_eq!(rows[0].url, "https://a.test/moved");
    assert_eq!(rows[0].config_url, "https://a.test/feed");
    assert_eq!(
        rows[1].url, "https://b.test/feed",
        "taken: kept the old url"
    );
    assert_eq!(rows[1].last_status, Some(200), "and the batch went through");
}

// ---- articles and dedupe ----

#[test]
fn recommitting_the_same_entries_changes_nothing() {
    let (mut store, ids) = store_with(&["a"]);
    let entries = vec![
        article("g1", Some("https://a.test/1"), "One", LONG),
        article("g2", Some("https://a.test/2"), "Two", "short"),
        article("g3", None, "Three", ""),
    ];
    let first = fetched(ids[0], "2024-04-17T10:00:00Z", None, entries.clone());
    assert_eq!(commit_one(&mut store, first), counts(3, 0, 0, 0));
    let second = fetched(ids[0], "2024-04-17T11:00:00Z", None, entries);
    assert_eq!(commit_one(&mut store, second), counts(0, 0, 0, 3));
    assert_eq!(scalar(&store, "SELECT count(*) FROM articles"), 3);
    assert_eq!(scalar(&store, "SELECT count(*) FROM article_sources"), 3);
    let stored = all_articles(&store);
    for a in &stored {
        assert_eq!(a.first_seen_at, t("2024-04-17T10:00:00Z"));
        assert_eq!(a.last_seen_at, t("2024-04-17T11:00:00Z"));
        assert_eq!(a.sources[0].seen_at, t("2024-04-17T11:00:00Z"));
    }
    assert_eq!(store.feed_by_name("a").unwrap().unwrap().article_count, 3);
}

#[test]
fn a_changed_entry_is_updated_in_place() {
    let (mut store, ids) = store_with(&["a"]);
    let old = article(
        "g1",
        Some("https://a.test/1"),
        "Quake hits coast",
        "Early reports.",
    );
    commit_one(
        &mut store,
        fetched(ids[0], "2024-04-17T10:00:00Z", None, vec![old]),
    );
    let mut new = article(
        "g1",
        Some("https://a.test/1"),
        "Quake toll rises",
        "Rescuers reached the villages.",
    );
    new.updated = Some(t("2024-04-17T10:30:00Z"));
    let c = commit_one(
        &mut store,
        fetched(ids[0], "2024-04-17T11:00:00Z", None, vec![new]),
    );
    assert_eq!(c, counts(0, 1, 0, 0));

    let stored = all_articles(&store);
    assert_eq!(stored.len(), 1);
    let a = &stored[0];
    assert_eq!(a.article.title, "Quake toll rises");
    assert_eq!(a.article.updated, Some(t("2024-04-17T10:30:00Z")));
    assert_eq!(a.first_seen_at, t("2024-04-17T10:00:00Z"));
    assert_eq!(a.last_seen_at, t("2024-04-17T11:00:00Z"));
    assert_eq!(fts(&store, "rescuers"), [a.id]);
    assert_eq!(fts(&store, "toll"), [a.id]);
    assert!(fts(&store, "early").is_empty(), "old text left the index");
    assert!(fts(&store, "coast").is_empty(), "old title left the index");

    // Without an `updated` date, the update time is the fetch time.
    let newer = article("g1", Some("https://a.test/1"), "Quake toll rises", "More.");
    commit_one(
        &mut store,
        fetched(ids[0], "2024-04-17T12:00:00Z", None, vec![newer]),
    );
    assert_eq!(
        all_articles(&store)[0].article.updated,
        Some(t("2024-04-17T12:00:00Z"))
    );
}

#[test]
fn an_update_never_takes_another_articles_url() {
    let (mut store, ids) = store_with(&["a"]);
    let entries = vec![
        article("g1", Some("https://a.test/1"), "One", "first"),
        article("g2", Some("https://a.test/2"), "Two", "second"),
    ];
    commit_one(
        &mut store,
        fetched(ids[0], "2024-04-17T10:00:00Z", None, entries),
    );
    let moved = article("g1", Some("https://a.test/2"), "One, revised", "first");
    let c = commit_one(
        &mut store,
        fetched(ids[0], "2024-04-17T11:00:00Z", None, vec![moved]),
    );
    assert_eq!(c, counts(0, 1, 0, 0));
    let by_title = |title: &str| {
        all_articles(&store)
            .into_iter()
            .find(|a| a.article.title == title)
            .unwrap()
    };
    assert_eq!(
        by_title("One, revised").article.url.as_deref(),
        Some("https://a.test/1")
    );
    assert_eq!(
        by_title("Two").article.url.as_deref(),
        Some("https://a.test/2")
    );
}

#[test]
fn the_same_url_from_another_feed_is_one_article_with_two_sources() {
    let (mut store, ids) = store_with(&["a", "b"]);
    let url = Some("https://news.test/story");
    let c = store
        .commit(&[
            fetched(
                ids[0],
                "2024-04-17T10:00:00Z",
                None,
                vec![article("a-1", url, "Story", "Text A.")],
            ),
            fetched(
                ids[1],
                "2024-04-17T10:00:05Z",
                None,
                vec![article("b-9", url, "Story!", "Text B.")],
            ),
        ])
        .unwrap();
    assert_eq!(c, [counts(1, 0, 0, 0), counts(0, 0, 1, 0)]);
    let stored = all_articles(&store);
    assert_eq!(stored.len(), 1);
    let sources: Vec<_> = stored[0]
        .sources
        .iter()
        .map(|s| (s.feed.as_str(), s.guid.as_str()))
        .collect();
    assert_eq!(sources, [("a", "a-1"), ("b", "b-9")]);
    assert_eq!(
        stored[0].article.title, "Story",
        "the first source's content"
    );
    assert_eq!(stored[0].last_seen_at, t("2024-04-17T10:00:05Z"));
    for name in ["a", "b"] {
        assert_eq!(store.feed_by_name(name).unwrap().unwrap().article_count, 1);
    }

    // Each source's own text is remembered: re-seeing both is no change,
    // rather than each one "updating" the article back to its own version.
    let c = store
        .commit(&[
            fetched(
                ids[0],
                "2024-04-17T11:00:00Z",
                None,
                vec![article("a-1", url, "Story", "Text A.")],
            ),
            fetched(
                ids[1],
                "2024-04-17T11:00:00Z",
                None,
                vec![article("b-9", url, "Story!", "Text B.")],
            ),
        ])
        .unwrap();
    assert_eq!(c, [counts(0, 0, 0, 1), counts(0, 0, 0, 1)]);
}

#[test]
fn the_same_long_text_under_another_url_is_a_duplicate() {
    let (mut store, ids) = store_with(&["a", "b"]);
    let c = store
        .commit(&[
            fetched(
                ids[0],
                "2024-04-17T10:00:00Z",
                None,
                vec![article("1", Some("https://a.test/x"), "Rates", LONG)],
            ),
            fetched(
                ids[1],
                "2024-04-17T10:00:00Z",
                None,
                vec![article("2", Some("https://b.test/y"), "Rates", LONG)],
            ),
        ])
        .unwrap();
    assert_eq!(c, [counts(1, 0, 0, 0), counts(0, 0, 1, 0)]);
    assert_eq!(all_articles(&store).len(), 1);
    assert_eq!(all_articles(&store)[0].sources.len(), 2);
}

#[test]
fn the_same_short_text_under_another_url_stays_two_articles() {
    let (mut store, ids) = store_with(&["a"]);
    let entries = vec![
        article("mon", Some("https://a.test/mon"), "Daily briefing", ""),
        article("tue", Some("https://a.test/tue"), "Daily briefing", ""),
        article("wed", None, "Daily briefing", "Read more."),
        article("thu", None, "Daily briefing", "Read more."),
    ];
    let c = commit_one(
        &mut store,
        fetched(ids[0], "2024-04-17T10:00:00Z", None, entries),
    );
    assert_eq!(c, counts(4, 0, 0, 0));
    assert_eq!(scalar(&store, "SELECT count(*) FROM articles"), 4);
}

#[test]
fn articles_and_validators_commit_together_or_not_at_all() {
    let (mut store, ids) = store_with(&["a", "b"]);
    // Test-only: make the second entry's insert fail inside the batch.
    store
        .conn
        .execute_batch(
            "CREATE TEMP TRIGGER boom BEFORE INSERT ON articles WHEN new.title = 'boom' \
             BEGIN SELECT RAISE(ABORT, 'forced failure'); END",
        )
        .unwrap();
    let batch = [
        fetched(
            ids[1],
            "2024-04-17T10:00:00Z",
            Some("\"b1\""),
            vec![article("1", None, "fine", "")],
        ),
        fetched(
            ids[0],
            "2024-04-17T10:00:00Z",
            Some("\"a1\""),
            vec![
                article("2", None, "fine too", ""),
                article("3", None, "boom", ""),
            ],
        ),
    ];
    let err = store.commit(&batch).unwrap_err();
    assert!(err.to_string().contains("forced failure"), "{err}");
    assert_eq!(scalar(&store, "SELECT count(*) FROM articles"), 0);
    assert_eq!(scalar(&store, "SELECT count(*) FROM article_sources"), 0);
    for row in store.feeds().unwrap() {
        assert_eq!(row.etag, None, "{}", row.name);
        assert_eq!(row.last_fetch_at, None, "{}", row.name);
    }

    // An unknown feed fails the batch the same way.
    let batch = [
        fetched(
            ids[1],
            "2024-04-17T10:00:00Z",
            Some("\"b1\""),
            vec![article("1", None, "fine", "")],
        ),
        fetched(9999, "2024-04-17T10:00:00Z", None, vec![]),
    ];
    assert!(matches!(
        store.commit(&batch),
        Err(StoreError::UnknownFeed(9999))
    ));
    assert_eq!(scalar(&store, "SELECT count(*) FROM articles"), 0);
    assert_eq!(store.feed_by_name("b").unwrap().unwrap().etag, None);
}

#[test]
fn full_text_search_finds_titles_and_text() {
    let (mut store, ids) = store_with(&["a"]);
    let entries = vec![
        article("1", None, "Volcano erupts", "Ash clouds over the island."),
        article(
            "2",
            None,
            "Markets rally",
            "Shares rose after the volcano news.",
        ),
        article("3", None, "Football", "A late goal."),
    ];
    commit_one(
        &mut store,
        fetched(ids[0], "2024-04-17T10:00:00Z", None, entries),
    );
    let id_of = |title: &str| {
        all_articles(&store)
            .into_iter()
            .find(|a| a.article.title == title)
            .unwrap()
            .id
    };
    let mut volcano = vec![id_of("Volcano erupts"), id_of("Markets rally")];
    volcano.sort();
    assert_eq!(fts(&store, "volcano"), volcano);
    assert_eq!(fts(&store, "title:volcano"), [id_of("Volcano erupts")]);
    assert_eq!(fts(&store, "goal"), [id_of("Football")]);
    assert!(fts(&store, "tennis").is_empty());
}

#[test]
fn listing_is_newest_first_filtered_and_complete() {
    let (mut store, ids) = store_with(&["a", "b"]);
    let mut full = article("full", Some("https://a.test/full"), "Full", LONG);
    full.authors = vec!["Liu Yisi".to_string(), "Ana Ruiz".to_string()];
    full.published = Some(t("2024-04-17T08:00:00Z"));
    full.updated = Some(t("2024-04-17T09:00:00Z"));
    full.summary = Some("Summary.".to_string());
    full.content_html = Some("<p>Text</p>".to_string());
    full.categories = vec!["economy".to_string()];
    full.language = Some("en".to_string());
    full.enclosures = vec![Enclosure {
        url: "https://a.test/a.mp3".to_string(),
        mime_type: Some("audio/mpeg".to_string()),
        length: Some(1234),
    }];
    full.feed = FeedInfo {
        title: Some("A".to_string()),
        url: Some("https://a.test/feed".to_string()),
        site_url: Some("https://a.test/".to_string()),
    };
    let mut old = article("old", None, "Old", "");
    old.published = Some(t("2024-04-01T00:00:00Z"));
    // No date: ordered by when it was first seen (10:00, after `full`).
    let undated = article("undated", None, "Undated", "");
    store
        .commit(&[
            fetched(
                ids[0],
                "2024-04-17T10:00:00Z",
                None,
                vec![full.clone(), old, undated],
            ),
            fetched(
                ids[1],
                "2024-04-17T10:00:00Z",
                None,
                vec![article("b1", None, "B", "")],
            ),
        ])
        .unwrap();

    let titles = |q: ArticleQuery| -> Vec<String> {
        store
            .articles(&q)
            .unwrap()
            .into_iter()
            .map(|a| a.article.title)
            .collect()
    };
    assert_eq!(
        titles(ArticleQuery::default()),
        ["B", "Undated", "Full", "Old"]
    );
    let q = |feed: Option<&str>, since: Option<&str>, limit: usize| ArticleQuery {
        feed: feed.map(str::to_string),
        since: since.map(t),
        limit,
    };
    #[rustfmt::skip]
    let cases: &[(ArticleQuery, &[&str])] = &[
        (q(Some("a"), None, 0), &["Undated", "Full", "Old"]),
        (q(Some("b"), None, 0), &["B"]),
        (q(Some("nope"), None, 0), &[]),
        (q(None, Some("2024-04-17T08:00:00Z"), 0), &["B", "Undated", "Full"]),
        (q(None, Some("2024-04-17T08:00:01Z"), 0), &["B", "Undated"]),
        (q(None, None, 2), &["B", "Undated"]),
        (q(Some("a"), Some("2024-04-02T00:00:00Z"), 1), &["Undated"]),
    ];
    for (query, want) in cases {
        assert_eq!(titles(query.clone()), *want, "{query:?}");
    }

    let stored = store
        .articles(&ArticleQuery::default())
        .unwrap()
        .into_iter()
        .find(|a| a.article.guid == "full")
        .unwrap();
    assert_eq!(stored.article, full, "the whole article round-trips");
    assert_eq!(stored.duplicate_of, None);
    assert_eq!(
        stored.sources,
        [Source {
            feed: "a".to_string(),
            guid: "full".to_string(),
            url: Some("https://a.test/full".to_string()),
            seen_at: t("2024-04-17T10:00:00Z"),
        }]
    );
    let json = serde_json::to_value(&stored).unwrap();
    assert_eq!(json["first_seen_at"], "2024-04-17T10:00:00Z");
    assert_eq!(json["published"], "2024-04-17T08:00:00Z");
    assert_eq!(json["sources"][0]["feed"], "a");
}

#[test]
fn listing_walks_the_newest_first_index() {
    let store = Store::open_in_memory().unwrap();
    for (by_feed, since) in [(false, false), (false, true), (true, false), (true, true)] {
        let sql = format!("EXPLAIN QUERY PLAN {}", articles::list_sql(by_feed, since));
        let plan: Vec<String> = store
            .conn
            .prepare(&sql)
            .unwrap()
            .query_map(rusqlite::params![1, "2024-04-17T00:00:00Z", 10], |r| {
                r.get(3)
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("\n");
        if by_feed {
            // One feed's articles are found through its sources, then sorted.
            assert!(plan.contains("article_sources USING PRIMARY KEY"), "{plan}");
            assert!(!plan.contains("SCAN articles"), "{plan}");
        } else {
            assert!(plan.contains("articles_newest"), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        }
    }
}

#[test]
fn file_paths_in_errors_are_the_database_path() {
    // A folder where the file should be cannot be opened as a database.
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(Path::new(dir.path()))
        .err()
        .expect("a folder is no database");
    assert!(
        err.to_string().contains(&dir.path().display().to_string()),
        "{err}"
    );
}
