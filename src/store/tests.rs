//! Store tests: opening and migrations, feed sync, the dedupe paths of
//! `commit`, atomicity, full-text search and listing; the daemon's side:
//! leases, 410s, the fetch log, due times, publish times, the summary, and
//! two processes on one file.

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

pub(super) fn feed(name: &str, url: &str) -> FeedConfig {
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
        thumbnail: None,
        feed: FeedInfo::default(),
        content_hash: content_hash(title, text),
        near_key: Default::default(),
    }
}

/// An outcome fetched at `at`, due again an hour later.
fn update(feed_id: i64, at: &str, outcome: Outcome) -> FeedUpdate {
    FeedUpdate {
        feed_id,
        fetched_at: t(at),
        next_fetch_at: t(at) + chrono::Duration::hours(1),
        outcome,
        bytes: None,
        duration_ms: 0,
        body_hash: None,
        unconditional: false,
        no_validators: None,
        malformed: false,
    }
}

fn fetched(feed_id: i64, at: &str, etag: Option<&str>, articles: Vec<Article>) -> FeedUpdate {
    let outcome = Outcome::Fetched {
        status: 200,
        moved_to: None,
        etag: etag.map(str::to_string),
        last_modified: None,
        asked_interval: None,
        feed: FeedInfo::default(),
        articles,
    };
    update(feed_id, at, outcome)
}

fn failed(feed_id: i64, at: &str, status: Option<u16>) -> FeedUpdate {
    let error = format!("status {status:?}");
    update(feed_id, at, Outcome::Failed { status, error })
}

fn not_modified(feed_id: i64, at: &str) -> FeedUpdate {
    let outcome = Outcome::NotModified {
        status: 304,
        moved_to: None,
    };
    update(feed_id, at, outcome)
}

/// Feed `name` at `https://name.test/feed`.
pub(super) fn site_feed(name: &str) -> FeedConfig {
    feed(name, &format!("https://{name}.test/feed"))
}

/// A store that knows feeds `a`, `b`, ... (urls `https://a.test/feed`, ...);
/// returns their ids in that order.
pub(super) fn store_with(names: &[&str]) -> (Store, Vec<i64>) {
    let mut store = Store::open_in_memory().unwrap();
    let configured: Vec<_> = names.iter().map(|n| site_feed(n)).collect();
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
        near: 0,
        updated,
        duplicate,
        unchanged,
    }
}

fn scalar(store: &Store, sql: &str) -> i64 {
    store.conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// What the full-text index finds, once the queued articles are indexed.
fn fts(store: &Store, query: &str) -> Vec<i64> {
    super::search::index_pending(&store.conn, usize::MAX).unwrap();
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
        next_fetch_at: t(at) + chrono::Duration::minutes(5),
        ..update(
            id,
            at,
            Outcome::Failed {
                status: Some(503),
                error: "server error".to_string(),
            },
        )
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

    commit_one(&mut store, not_modified(id, "2024-04-17T13:00:00Z"));
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

// ---- the daemon's side ----

const NOW: &str = "2024-04-17T12:00:00Z";
const LEASE: std::time::Duration = std::time::Duration::from_secs(300);

fn row(store: &Store, name: &str) -> FeedRow {
    store.feed_by_name(name).unwrap().unwrap()
}

fn names(rows: &[FeedRow]) -> Vec<&str> {
    rows.iter().map(|r| r.name.as_str()).collect()
}

/// The feed's last fetch at `at`, due again at `next`.
fn schedule(store: &mut Store, id: i64, at: &str, next: &str) {
    let u = FeedUpdate {
        next_fetch_at: t(next),
        ..not_modified(id, at)
    };
    commit_one(store, u);
}

/// The plan SQLite chooses for `sql`, one line per step.
pub(super) fn query_plan(store: &Store, sql: &str) -> String {
    let plan: Vec<String> = store
        .conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap()
        .query_map([], |r| r.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    plan.join("\n")
}

#[test]
fn migration_1_to_2_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trawl.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(schema::migration(0)).unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO feeds (id, url, name, config_url, etag, next_fetch_at, created_at)
             VALUES (7, 'https://a.test/feed', 'a', 'https://a.test/feed', '\"v1\"',
                     '2024-04-17T13:00:00Z', '2024-04-17T10:00:00Z');
             INSERT INTO articles (id, guid, title, content_hash, first_seen_at, last_seen_at)
             VALUES (1, 'g1', 'Old story', 'h1', '2024-04-17T10:00:00Z', '2024-04-17T10:00:00Z');
             INSERT INTO article_sources (article_id, feed_id, guid, seen_at, content_hash)
             VALUES (1, 7, 'g1', '2024-04-17T10:00:00Z', 'h1');",
        )
        .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(scalar(&store, "PRAGMA user_version"), SCHEMA_VERSION);
    let a = row(&store, "a");
    assert_eq!((a.id, a.etag.as_deref()), (7, Some("\"v1\"")));
    assert_eq!(a.next_fetch_at, Some(t("2024-04-17T13:00:00Z")));
    assert_eq!(a.article_count, 1);
    assert!(a.enabled, "existing feeds stay polled");
    assert_eq!(
        (a.lease_owner, a.disabled_reason, a.body_hash),
        (None, None, None)
    );
    assert!(!a.no_validators && !a.malformed);
    assert_eq!(all_articles(&store)[0].article.title, "Old story");
    assert_eq!(fts(&store, "story"), [1], "the full-text index survives");

    commit_one(&mut store, failed(7, NOW, Some(500)));
    assert_eq!(store.fetch_log(7, 10).unwrap().len(), 1);
}

#[test]
fn sync_feeds_sets_enabled_and_zeroes_removed_feeds() {
    let mut store = Store::open_in_memory().unwrap();
    let mut off = feed("off", "https://off.test/feed");
    off.enabled = false;
    store
        .sync_feeds(&[feed("a", "https://a.test/feed"), off.clone()])
        .unwrap();
    let adhoc = store
        .ensure_feed("https://x.test/rss", "https://x.test/rss")
        .unwrap();
    // A configured feed fetched by URL stays as it is.
    store
        .ensure_feed("https://a.test/feed", "https://a.test/feed")
        .unwrap();
    let enabled = |store: &Store| -> Vec<(String, bool)> {
        let rows = store.feeds().unwrap();
        rows.into_iter().map(|r| (r.name, r.enabled)).collect()
    };
    let want = |v: &[(&str, bool)]| -> Vec<(String, bool)> {
        v.iter().map(|(n, e)| (n.to_string(), *e)).collect()
    };
    assert!(!adhoc.enabled, "ad-hoc feeds are never polled");
    assert_eq!(
        enabled(&store),
        want(&[("a", true), ("https://x.test/rss", false), ("off", false)])
    );

    // `a` leaves the config, `off` is switched on.
    off.enabled = true;
    let rows = store.sync_feeds(std::slice::from_ref(&off)).unwrap();
    assert!(rows[0].enabled, "the returned rows are the updated ones");
    assert_eq!(
        enabled(&store),
        want(&[("a", false), ("https://x.test/rss", false), ("off", true)])
    );
    // ... and comes back.
    store
        .sync_feeds(&[off, feed("a", "https://a.test/feed")])
        .unwrap();
    assert!(row(&store, "a").enabled);
}

/// The writer's statements are compiled once, not again each time they come
/// back out of the statement cache (see `configure`): the fetch log's trim
/// runs once per feed outcome and was compiled anew every time.
#[test]
fn cached_statements_are_not_compiled_again() {
    let mut store = Store::open_in_memory().unwrap();
    let ids: Vec<i64> = store
        .sync_feeds(&[site_feed("a"), site_feed("b")])
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    for (n, id) in ids.iter().cycle().take(6).enumerate() {
        let at = format!("2024-04-17T10:0{n}:00Z");
        let a = article(
            &format!("g{n}"),
            Some(&format!("https://x.test/{n}")),
            "T",
            LONG,
        );
        commit_one(&mut store, fetched(*id, &at, None, vec![a]));
    }
    let trim = store.conn.prepare_cached(super::fetch_log::TRIM).unwrap();
    assert_eq!(trim.get_status(rusqlite::StatementStatus::Run), 6);
    assert_eq!(trim.get_status(rusqlite::StatementStatus::RePrepare), 0);
}

/// Times are stored in whole seconds. A due time is rounded up, never
/// down: a feed fetched every second was otherwise due again before its
/// fetch had even been committed, and fetched two or three times a round.
#[test]
fn a_feed_is_never_due_before_its_scheduled_time() {
    let mut store = Store::open_in_memory().unwrap();
    let id = store.sync_feeds(&[site_feed("fast")]).unwrap()[0].id;
    let at = t("2024-04-17T12:00:00Z");
    let ms = |n: i64| at + chrono::Duration::milliseconds(n);
    assert_eq!(store.claim_due(ms(0), "me", LEASE, 10).unwrap().len(), 1);
    let u = FeedUpdate {
        fetched_at: ms(20),
        next_fetch_at: ms(980),
        ..not_modified(id, "2024-04-17T12:00:00Z")
    };
    commit_one(&mut store, u);
    // Committed at 12:00:00.070, 50 ms after the fetch: not due yet.
    assert!(store.claim_due(ms(70), "me", LEASE, 10).unwrap().is_empty());
    assert!(
        store
            .claim_due(ms(980), "me", LEASE, 10)
            .unwrap()
            .is_empty()
    );
    let claimed = store.claim_due(ms(1_000), "me", LEASE, 10).unwrap();
    assert_eq!(claimed[0].next_fetch_at, Some(t("2024-04-17T12:00:01Z")));

    // A whole second stays as it is.
    let u = FeedUpdate {
        next_fetch_at: t("2024-04-17T12:00:05Z"),
        ..not_modified(id, "2024-04-17T12:00:01Z")
    };
    commit_one(&mut store, u);
    assert!(
        store
            .claim_due(ms(4_999), "me", LEASE, 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.claim_due(ms(5_000), "me", LEASE, 10).unwrap().len(),
        1
    );
}

#[test]
fn claim_due_takes_due_free_pollable_feeds_most_overdue_first() {
    let all = [
        "later", "gone", "off", "leased", "expired", "late", "overdue", "at_now", "new",
    ];
    let mut store = Store::open_in_memory().unwrap();
    let mut configured: Vec<_> = all
        .iter()
        .map(|n| feed(n, &format!("https://{n}.test/feed")))
        .collect();
    configured[2].enabled = false;
    let ids: std::collections::HashMap<&str, i64> = all
        .iter()
        .copied()
        .zip(store.sync_feeds(&configured).unwrap().iter().map(|r| r.id))
        .collect();
    store.ensure_feed("adhoc", "https://adhoc.test/").unwrap();

    #[rustfmt::skip]
    let next: &[(&str, &str)] = &[
        ("later", "2024-04-17T12:00:01Z"),
        ("gone", "2024-04-17T09:00:00Z"),
        ("off", "2024-04-17T09:00:00Z"),
        ("leased", "2024-04-17T09:00:00Z"),
        ("expired", "2024-04-17T10:30:00Z"),
        ("late", "2024-04-17T11:00:00Z"),
        ("overdue", "2024-04-17T10:00:00Z"),
        ("at_now", NOW),
    ];
    for (name, at) in next {
        schedule(&mut store, ids[name], "2024-04-17T08:00:00Z", at);
    }
    commit_one(
        &mut store,
        failed(ids["gone"], "2024-04-17T08:30:00Z", Some(410)),
    );
    let before = t(NOW) - chrono::Duration::minutes(10);
    assert!(store.claim(ids["leased"], "other", t(NOW), LEASE).unwrap());
    assert!(store.claim(ids["expired"], "other", before, LEASE).unwrap());

    let claimed = store.claim_due(t(NOW), "me", LEASE, 3).unwrap();
    assert_eq!(names(&claimed), ["new", "overdue", "expired"]);
    for r in &claimed {
        assert_eq!(r.lease_owner.as_deref(), Some("me"), "{}", r.name);
        assert_eq!(r.lease_until, Some(t("2024-04-17T12:05:00Z")), "{}", r.name);
    }
    let claimed = store.claim_due(t(NOW), "you", LEASE, 100).unwrap();
    assert_eq!(names(&claimed), ["late", "at_now"]);
    assert!(
        store
            .claim_due(t(NOW), "me", LEASE, 100)
            .unwrap()
            .is_empty()
    );
    assert!(store.claim_due(t(NOW), "me", LEASE, 0).unwrap().is_empty());

    // When the leases run out, the feeds are up for grabs again; `leased`
    // (other's lease until 12:05) too; `later` has become due.
    let claimed = store
        .claim_due(t("2024-04-17T12:05:00Z"), "you", LEASE, 100)
        .unwrap();
    assert_eq!(
        names(&claimed),
        [
            "new", "leased", "overdue", "expired", "late", "at_now", "later"
        ]
    );
}

#[test]
fn two_owners_never_claim_the_same_feed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trawl.db");
    let configured: Vec<_> = (0..60)
        .map(|i| feed(&format!("f{i}"), &format!("https://f{i}.test/feed")))
        .collect();
    Store::open(&path).unwrap().sync_feeds(&configured).unwrap();
    let barrier = std::sync::Barrier::new(2);
    let claims: Vec<Vec<i64>> = std::thread::scope(|s| {
        let workers: Vec<_> = ["one", "two"]
            .into_iter()
            .map(|owner| {
                let (path, barrier) = (&path, &barrier);
                s.spawn(move || {
                    let mut store = Store::open(path).unwrap();
                    barrier.wait();
                    let mut got = Vec::new();
                    loop {
                        let rows = store.claim_due(t(NOW), owner, LEASE, 3).unwrap();
                        if rows.is_empty() {
                            return got;
                        }
                        got.extend(rows.iter().map(|r| r.id));
                    }
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut every: Vec<i64> = claims.concat();
    every.sort();
    let total = every.len();
    every.dedup();
    assert_eq!(total, every.len(), "a feed was claimed twice");
    assert_eq!(total, 60, "every feed was claimed");
}

/// A one-off fetch leases its feeds in one transaction: each as `claim`
/// would, a feed another owner holds (or that does not exist) refused
/// without failing the rest.
#[test]
fn claim_all_leases_what_claim_would_in_one_go() {
    let (mut store, ids) = store_with(&["a", "b", "c"]);
    assert!(store.claim(ids[1], "you", t(NOW), LEASE).unwrap());
    let claimed = store
        .claim_all(&[ids[0], ids[1], 9999, ids[2]], "me", t(NOW), LEASE)
        .unwrap();
    assert_eq!(claimed, [true, false, false, true]);
    let owners: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|name| row(&store, name).lease_owner)
        .collect();
    assert_eq!(
        owners,
        [Some("me".into()), Some("you".into()), Some("me".into())]
    );
    assert_eq!(row(&store, "c").lease_until, row(&store, "a").lease_until);
    assert!(
        store
            .claim_all(&[], "me", t(NOW), LEASE)
            .unwrap()
            .is_empty(),
        "nothing to lease"
    );
}

#[test]
fn claim_and_release() {
    let (mut store, ids) = store_with(&["a", "b", "c"]);
    let later = |min: i64| t(NOW) + chrono::Duration::minutes(min);
    // (feed, owner, at, claimed)
    #[rustfmt::skip]
    let steps: &[(usize, &str, chrono::DateTime<Utc>, bool)] = &[
        (0, "me", t(NOW), true),       // free
        (0, "me", later(1), true),     // ours: renewed until 12:06
        (0, "you", later(5), false),   // live until 12:06
        (0, "you", later(6), true),    // expired exactly now
        (1, "you", t(NOW), true),
        (2, "me", t(NOW), true),
    ];
    for (i, &(feed, owner, at, want)) in steps.iter().enumerate() {
        assert_eq!(
            store.claim(ids[feed], owner, at, LEASE).unwrap(),
            want,
            "step {i}"
        );
    }
    assert_eq!(row(&store, "a").lease_owner.as_deref(), Some("you"));
    assert_eq!(row(&store, "a").lease_until, Some(later(11)));
    assert!(matches!(
        store.claim(9999, "me", t(NOW), LEASE),
        Err(StoreError::UnknownFeed(9999))
    ));

    // A feed the daemon does not poll can still be claimed for a one-off.
    commit_one(&mut store, failed(ids[1], NOW, Some(410)));
    assert!(store.claim(ids[1], "me", t(NOW), LEASE).unwrap());
    let adhoc = store.ensure_feed("x", "https://x.test/").unwrap();
    assert!(store.claim(adhoc.id, "me", t(NOW), LEASE).unwrap());

    // Committing a feed's outcome ends its lease.
    commit_one(&mut store, not_modified(ids[2], NOW));
    assert_eq!(row(&store, "c").lease_owner, None);
    assert_eq!(row(&store, "c").lease_until, None);

    assert_eq!(store.release("me").unwrap(), 2, "b and x");
    assert_eq!(store.release("me").unwrap(), 0);
    let leases: Vec<_> = store
        .feeds()
        .unwrap()
        .into_iter()
        .map(|r| (r.name, r.lease_owner))
        .collect();
    assert_eq!(
        leases,
        [
            ("a".to_string(), Some("you".to_string())),
            ("b".to_string(), None),
            ("c".to_string(), None),
            ("x".to_string(), None),
        ]
    );
}

#[test]
fn gone_disables_the_feed_until_a_success_or_a_new_url() {
    let (mut store, ids) = store_with(&["a", "b"]);
    let id = ids[0];
    commit_one(&mut store, failed(id, "2024-04-17T10:00:00Z", Some(410)));
    commit_one(&mut store, failed(id, "2024-04-17T11:00:00Z", Some(410)));
    let a = row(&store, "a");
    assert_eq!(
        a.disabled_reason.as_deref(),
        Some("410 Gone since 2024-04-17T10:00:00Z"),
        "the first 410 is the one that counts"
    );
    assert_eq!(a.next_fetch_at, None);
    assert_eq!(a.consecutive_failures, 2);
    assert!(a.enabled, "still configured");
    let due = store.claim_due(t(NOW), "me", LEASE, 10).unwrap();
    assert_eq!(names(&due), ["b"]);
    store.release("me").unwrap();

    // Another failure leaves it disabled.
    commit_one(&mut store, failed(id, "2024-04-17T12:00:00Z", None));
    assert!(row(&store, "a").disabled_reason.is_some());

    // Each success clears it: a document, or a 304.
    let successes = [
        fetched(id, "2024-04-17T13:00:00Z", None, vec![]),
        not_modified(id, "2024-04-17T13:00:00Z"),
    ];
    for ok in successes {
        commit_one(&mut store, failed(id, "2024-04-17T12:30:00Z", Some(410)));
        assert!(row(&store, "a").disabled_reason.is_some());
        commit_one(&mut store, ok);
        let a = row(&store, "a");
        assert_eq!(a.disabled_reason, None);
        assert_eq!(a.next_fetch_at, Some(t("2024-04-17T14:00:00Z")));
    }

    // So does a new URL in the config (a new server), but not a resync.
    commit_one(&mut store, failed(id, "2024-04-17T14:00:00Z", Some(410)));
    let same = [
        feed("a", "https://a.test/feed"),
        feed("b", "https://b.test/feed"),
    ];
    store.sync_feeds(&same).unwrap();
    assert!(row(&store, "a").disabled_reason.is_some());
    let moved = [
        feed("a", "https://a.test/new"),
        feed("b", "https://b.test/feed"),
    ];
    store.sync_feeds(&moved).unwrap();
    let a = row(&store, "a");
    assert_eq!(a.disabled_reason, None);
    assert_eq!(a.next_fetch_at, None, "due at once");
}

#[test]
fn fetched_outcomes_record_body_hash_full_fetches_and_flags() {
    let (mut store, ids) = store_with(&["a"]);
    let id = ids[0];
    let with = |at: &str, hash: Option<&str>, unconditional, no_validators, malformed| FeedUpdate {
        body_hash: hash.map(str::to_string),
        unconditional,
        no_validators,
        malformed,
        ..fetched(id, at, None, vec![])
    };
    // (update, body_hash, last_full_fetch_at, no_validators, malformed)
    type Case<'a> = (FeedUpdate, Option<&'a str>, Option<&'a str>, bool, bool);
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        (with("2024-04-17T10:00:00Z", Some("h1"), true, None, false),
            Some("h1"), Some("2024-04-17T10:00:00Z"), false, false),
        (with("2024-04-17T11:00:00Z", Some("h2"), false, Some(true), true),
            Some("h2"), Some("2024-04-17T10:00:00Z"), true, true),
        (with("2024-04-17T12:00:00Z", None, false, None, false),
            None, Some("2024-04-17T10:00:00Z"), true, false),
        (FeedUpdate { no_validators: Some(false), ..failed(id, "2024-04-17T13:00:00Z", None) },
            None, Some("2024-04-17T10:00:00Z"), false, false),
        (FeedUpdate { unconditional: true, ..failed(id, "2024-04-17T14:00:00Z", Some(500)) },
            None, Some("2024-04-17T10:00:00Z"), false, false),
        (with("2024-04-17T15:00:00Z", Some("h3"), false, None, true),
            Some("h3"), Some("2024-04-17T10:00:00Z"), false, true),
        (FeedUpdate { malformed: false, ..not_modified(id, "2024-04-17T16:00:00Z") },
            Some("h3"), Some("2024-04-17T10:00:00Z"), false, true),
    ];
    for (i, (u, hash, full, no_validators, malformed)) in cases.into_iter().enumerate() {
        commit_one(&mut store, u);
        let a = row(&store, "a");
        assert_eq!(a.body_hash.as_deref(), hash, "step {i}");
        assert_eq!(a.last_full_fetch_at, full.map(t), "step {i}");
        assert_eq!(a.no_validators, no_validators, "step {i}");
        assert_eq!(a.malformed, malformed, "step {i}");
    }
}

#[test]
fn every_outcome_leaves_a_fetch_log_row() {
    let (mut store, ids) = store_with(&["a", "b"]);
    let entries = vec![
        article("1", Some("https://news.test/1"), "One", ""),
        article("2", Some("https://news.test/2"), "Two", ""),
    ];
    commit_one(
        &mut store,
        fetched(
            ids[1],
            "2024-04-17T09:00:00Z",
            None,
            vec![entries[0].clone()],
        ),
    );
    let mut changed = entries.clone();
    changed[1].title = "Two, revised".to_string();
    changed[1].content_hash = content_hash("Two, revised", "");
    let batch = [
        FeedUpdate {
            bytes: Some(2048),
            duration_ms: 120,
            ..fetched(ids[0], "2024-04-17T10:00:00Z", None, entries)
        },
        FeedUpdate {
            bytes: Some(2050),
            duration_ms: 80,
            ..fetched(ids[0], "2024-04-17T11:00:00Z", None, changed)
        },
        FeedUpdate {
            duration_ms: 15,
            ..not_modified(ids[0], "2024-04-17T12:00:00Z")
        },
        FeedUpdate {
            duration_ms: 10_000,
            ..failed(ids[0], "2024-04-17T13:00:00Z", None)
        },
    ];
    for u in batch {
        commit_one(&mut store, u);
    }
    let log =
        |at: &str, status, bytes, duration_ms, c: [u64; 3], error: Option<&str>| FetchLogRow {
            at: t(at),
            status,
            bytes,
            duration_ms,
            new: c[0],
            updated: c[1],
            duplicate: c[2],
            error: error.map(str::to_string),
        };
    #[rustfmt::skip]
    let want = [
        log("2024-04-17T13:00:00Z", None, None, 10_000, [0, 0, 0], Some("status None")),
        log("2024-04-17T12:00:00Z", Some(304), None, 15, [0, 0, 0], None),
        log("2024-04-17T11:00:00Z", Some(200), Some(2050), 80, [0, 1, 0], None),
        log("2024-04-17T10:00:00Z", Some(200), Some(2048), 120, [1, 0, 1], None),
    ];
    assert_eq!(store.fetch_log(ids[0], 10).unwrap(), want);
    assert_eq!(store.fetch_log(ids[0], 2).unwrap(), want[..2]);
    assert_eq!(store.fetch_log(ids[1], 10).unwrap().len(), 1);
    assert!(store.fetch_log(9999, 10).unwrap().is_empty());
    let json = serde_json::to_value(&want[0]).unwrap();
    assert_eq!(json["at"], "2024-04-17T13:00:00Z");
    assert_eq!(json["status"], serde_json::Value::Null);

    // A failed batch leaves no log rows either.
    assert!(store.commit(&[failed(9999, NOW, None)]).is_err());
    assert_eq!(scalar(&store, "SELECT count(*) FROM fetch_log"), 5);
}

#[test]
fn the_fetch_log_keeps_the_newest_rows_of_each_feed() {
    let (mut store, ids) = store_with(&["a", "b"]);
    let start = t("2024-04-01T00:00:00Z");
    let at = |i: usize| format_time(&(start + chrono::Duration::minutes(i as i64)));
    commit_one(&mut store, failed(ids[1], &at(0), Some(500)));
    for i in 0..FETCH_LOG_KEEP + 5 {
        // Batches of two outcomes of one feed, as the writer may send them.
        store
            .commit(&[
                failed(ids[0], &at(2 * i), None),
                not_modified(ids[0], &at(2 * i + 1)),
            ])
            .unwrap();
    }
    let log = store.fetch_log(ids[0], 1000).unwrap();
    assert_eq!(log.len(), FETCH_LOG_KEEP);
    assert_eq!(
        log[0].at,
        t(&at(2 * (FETCH_LOG_KEEP + 5) - 1)),
        "newest kept"
    );
    assert_eq!(
        log[FETCH_LOG_KEEP - 1].at,
        t(&at(2 * (FETCH_LOG_KEEP + 5) - FETCH_LOG_KEEP)),
        "oldest dropped"
    );
    assert_eq!(
        store.fetch_log(ids[1], 1000).unwrap().len(),
        1,
        "b untouched"
    );

    // The trim walks the (feed_id, id) index, never the table.
    let plan = query_plan(
        &store,
        "DELETE FROM fetch_log WHERE feed_id = 1 AND id <= \
         (SELECT id FROM fetch_log WHERE feed_id = 1 ORDER BY id DESC LIMIT 1 OFFSET 100)",
    );
    assert!(!plan.contains("SCAN"), "{plan}");
    assert!(plan.contains("fetch_log_feed"), "{plan}");
}

#[test]
fn next_due_accounts_for_never_fetched_feeds_and_leases() {
    let epoch = Some(DateTime::<Utc>::UNIX_EPOCH);
    let (mut store, ids) = store_with(&["a", "b"]);
    assert_eq!(store.next_due().unwrap(), epoch, "never fetched: now");

    // (step, next_due)
    let check = |store: &mut Store, step: &str, want: Option<&str>| {
        assert_eq!(store.next_due().unwrap(), want.map(t), "{step}");
    };
    schedule(&mut store, ids[0], NOW, "2024-04-17T13:00:00Z");
    check(&mut store, "b never fetched", Some("1970-01-01T00:00:00Z"));
    store.claim(ids[1], "me", t(NOW), LEASE).unwrap();
    check(
        &mut store,
        "b leased until 12:05",
        Some("2024-04-17T12:05:00Z"),
    );
    schedule(&mut store, ids[1], NOW, "2024-04-17T12:30:00Z");
    check(&mut store, "b's fetch done", Some("2024-04-17T12:30:00Z"));
    store
        .claim(ids[0], "me", t("2024-04-17T12:58:00Z"), LEASE)
        .unwrap();
    check(
        &mut store,
        "a's lease ends after b",
        Some("2024-04-17T12:30:00Z"),
    );
    commit_one(&mut store, failed(ids[1], NOW, Some(410)));
    check(
        &mut store,
        "b gone; a leased past 13:00",
        Some("2024-04-17T13:03:00Z"),
    );
    store
        .claim(ids[0], "me", t("2024-04-17T11:00:00Z"), LEASE)
        .unwrap();
    check(
        &mut store,
        "a's lease ends before due",
        Some("2024-04-17T13:00:00Z"),
    );
    store
        .sync_feeds(&[feed("b", "https://b.test/feed")])
        .unwrap();
    check(&mut store, "a no longer configured, b gone", None);
    assert_eq!(Store::open_in_memory().unwrap().next_due().unwrap(), None);
}

#[test]
fn recent_publish_times_ignore_bogus_dates() {
    let (mut store, ids) = store_with(&["a", "b"]);
    let at = |guid: &str, published: Option<&str>| {
        let mut a = article(guid, None, guid, "");
        a.published = published.map(t);
        a
    };
    // Seen at 10:00 on the 17th.
    #[rustfmt::skip]
    let entries = vec![
        at("normal", Some("2024-04-17T08:00:00Z")),
        at("older", Some("2024-04-16T08:00:00Z")),
        at("undated", None),
        at("a day ahead", Some("2024-04-18T10:00:00Z")),
        at("future", Some("2024-04-18T10:00:01Z")),
        at("ancient", Some("1970-01-01T00:00:00Z")),
        at("1995", Some("1995-01-01T00:00:00Z")),
    ];
    commit_one(
        &mut store,
        fetched(ids[0], "2024-04-17T10:00:00Z", None, entries),
    );
    commit_one(
        &mut store,
        fetched(
            ids[1],
            "2024-04-17T11:00:00Z",
            None,
            vec![at("b's", Some("2024-04-17T09:00:00Z"))],
        ),
    );
    let seen = "2024-04-17T10:00:00Z";
    let want: Vec<_> = [
        "2024-04-18T10:00:00Z",
        seen, // undated, future, ancient: first seen
        seen,
        seen,
        "2024-04-17T08:00:00Z",
        "2024-04-16T08:00:00Z",
        "1995-01-01T00:00:00Z",
    ]
    .into_iter()
    .map(t)
    .collect();
    assert_eq!(store.recent_publish_times(ids[0], 100).unwrap(), want);
    assert_eq!(store.recent_publish_times(ids[0], 2).unwrap(), want[..2]);
    assert_eq!(
        store.recent_publish_times(ids[1], 100).unwrap(),
        [t("2024-04-17T09:00:00Z")]
    );
    assert!(store.recent_publish_times(9999, 10).unwrap().is_empty());
}

#[test]
fn summary_counts_feeds_and_articles() {
    let mut store = Store::open_in_memory().unwrap();
    assert_eq!(
        store.summary(t(NOW), true).unwrap(),
        Summary {
            articles: Some(0),
            ..Summary::default()
        }
    );
    let mut off = feed("off", "https://off.test/feed");
    off.enabled = false;
    let names = ["new", "due", "later", "failing", "failing_due", "gone"];
    let mut configured: Vec<_> = names
        .iter()
        .map(|n| feed(n, &format!("https://{n}.test/feed")))
        .collect();
    configured.push(off);
    let ids: Vec<i64> = store
        .sync_feeds(&configured)
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    store.ensure_feed("adhoc", "https://adhoc.test/").unwrap();
    schedule(
        &mut store,
        ids[1],
        "2024-04-17T10:00:00Z",
        "2024-04-17T11:00:00Z",
    );
    schedule(
        &mut store,
        ids[2],
        "2024-04-17T11:00:00Z",
        "2024-04-17T13:00:00Z",
    );
    let fail = |id, next: &str| FeedUpdate {
        next_fetch_at: t(next),
        ..failed(id, "2024-04-17T11:00:00Z", Some(500))
    };
    commit_one(&mut store, fail(ids[3], "2024-04-17T13:00:00Z"));
    commit_one(&mut store, fail(ids[4], NOW));
    commit_one(
        &mut store,
        failed(ids[5], "2024-04-17T11:00:00Z", Some(410)),
    );
    commit_one(
        &mut store,
        failed(ids[6], "2024-04-17T11:00:00Z", Some(500)),
    );
    // A claimed feed is still due until its outcome is in.
    store.claim_due(t(NOW), "me", LEASE, 1).unwrap();

    let entries = |prefix: &str, n: usize| -> Vec<Article> {
        (0..n)
            .map(|i| article(&format!("{prefix}{i}"), None, &format!("{prefix}{i}"), ""))
            .collect()
    };
    commit_one(
        &mut store,
        fetched(ids[2], "2024-04-16T23:59:59Z", None, entries("y", 3)),
    );
    commit_one(
        &mut store,
        fetched(ids[2], "2024-04-17T00:00:00Z", None, entries("t", 2)),
    );
    schedule(
        &mut store,
        ids[2],
        "2024-04-17T11:00:00Z",
        "2024-04-17T13:00:00Z",
    );
    assert_eq!(
        store.summary(t(NOW), true).unwrap(),
        Summary {
            feeds: 6,
            due: 3, // new, due, failing_due
            failing: 2,
            disabled: 1,
            articles_today: 2,
            articles: Some(5),
        }
    );
    // Without the total, which reads a whole index: the rest is the same.
    assert_eq!(
        store.summary(t(NOW), false).unwrap(),
        Summary {
            feeds: 6,
            due: 3,
            failing: 2,
            disabled: 1,
            articles_today: 2,
            articles: None,
        }
    );
    // Today's count is a range of an index: no pass over the articles.
    let plan = query_plan(
        &store,
        "SELECT count(*) FROM articles WHERE first_seen_at >= '2024-04-17T00:00:00Z'",
    );
    assert!(plan.contains("articles_first_seen_at"), "{plan}");
}

#[test]
fn two_stores_on_one_file_commit_interleaved_without_locking_errors_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trawl.db");
    let mut first = Store::open(&path).unwrap();
    let ids: Vec<i64> = first
        .sync_feeds(&[
            feed("a", "https://a.test/feed"),
            feed("b", "https://b.test/feed"),
        ])
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    const ROUNDS: usize = 40;
    // Both feeds carry the same 30 stories (by URL), each under its own
    // guids, in overlapping windows of 10 per fetch.
    let batch = |feed_id: i64, prefix: &str, round: usize| -> Vec<FeedUpdate> {
        let entries = (round..round + 10)
            .map(|i| {
                let n = i % 30;
                let url = format!("https://news.test/{n}");
                article(
                    &format!("{prefix}{n}"),
                    Some(&url),
                    &format!("Story {n}"),
                    "",
                )
            })
            .collect();
        vec![fetched(feed_id, NOW, None, entries)]
    };
    let barrier = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        let b = s.spawn(|| {
            barrier.wait();
            // Opened (and its migration checked) while `first` writes.
            let mut second = Store::open(&path).unwrap();
            for round in 0..ROUNDS {
                second.commit(&batch(ids[1], "b-", round)).unwrap();
            }
        });
        barrier.wait();
        for round in 0..ROUNDS {
            first.commit(&batch(ids[0], "a-", round)).unwrap();
        }
        b.join().unwrap();
    });
    assert_eq!(scalar(&first, "SELECT count(*) FROM articles"), 30);
    assert_eq!(
        scalar(&first, "SELECT count(DISTINCT url) FROM articles"),
        30
    );
    assert_eq!(scalar(&first, "SELECT count(*) FROM article_sources"), 60);
    assert_eq!(
        scalar(&first, "SELECT count(*) FROM fetch_log"),
        2 * ROUNDS as i64
    );
}
