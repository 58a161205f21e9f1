//! Store tests for the paths issue 6 made fast: the queued full-text index,
//! "when is the next feed due" without a scan, leases of dead processes,
//! publish times read from the sources, and re-seen entries that move only
//! their source's time.

use chrono::{DateTime, Utc};

use super::tests::{query_plan, site_feed, store_with};
use super::*;
use crate::article::parse_time;
use crate::dedupe::content_hash;

const LEASE: Duration = Duration::from_secs(300);

fn t(s: &str) -> DateTime<Utc> {
    parse_time(s).unwrap()
}

fn entry(guid: &str, url: &str, title: &str, text: &str) -> Article {
    Article {
        guid: guid.to_string(),
        url: Some(url.to_string()),
        title: title.to_string(),
        authors: Vec::new(),
        published: None,
        updated: None,
        summary: None,
        content_html: None,
        content_text: Some(text.to_string()),
        categories: Vec::new(),
        language: None,
        enclosures: Vec::new(),
        thumbnail: None,
        feed: FeedInfo::default(),
        content_hash: content_hash(title, text),
        near_key: Default::default(),
    }
}

fn outcome(feed_id: i64, at: &str, next: &str, articles: Option<Vec<Article>>) -> FeedUpdate {
    FeedUpdate {
        feed_id,
        fetched_at: t(at),
        next_fetch_at: t(next),
        outcome: match articles {
            Some(articles) => Outcome::Fetched {
                status: 200,
                moved_to: None,
                etag: None,
                last_modified: None,
                asked_interval: None,
                feed: FeedInfo::default(),
                articles,
            },
            None => Outcome::NotModified {
                status: 304,
                moved_to: None,
            },
        },
        bytes: None,
        duration_ms: 0,
        body_hash: None,
        unconditional: false,
        no_validators: None,
        malformed: false,
    }
}

fn put(store: &mut Store, feed_id: i64, at: &str, articles: Vec<Article>) -> Counts {
    store
        .commit(&[outcome(feed_id, at, "2030-01-01T00:00:00Z", Some(articles))])
        .unwrap()[0]
}

/// Rowids the full-text index finds for `query`, without indexing anything.
fn found(store: &Store, query: &str) -> Vec<i64> {
    store
        .conn
        .prepare("SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?1 ORDER BY rowid")
        .unwrap()
        .query_map([query], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn scalar(store: &Store, sql: &str) -> i64 {
    store.conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// FTS5's own check of the index against its content (the text view).
fn index_is_consistent(store: &Store) {
    store
        .conn
        .execute(
            "INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)",
            [],
        )
        .unwrap();
}

#[test]
fn commits_queue_the_full_text_index_and_draining_writes_it() {
    let (mut store, ids) = store_with(&["a"]);
    let url = |n: u32| format!("https://a.test/{n}");
    put(
        &mut store,
        ids[0],
        "2024-04-17T10:00:00Z",
        vec![
            entry("1", &url(1), "Volcano erupts", "Lava reached the coast."),
            entry("2", &url(2), "Harbour closed", "Storm warning for ships."),
            entry("3", &url(3), "Quiet day", "Nothing else happened."),
        ],
    );
    assert!(found(&store, "volcano").is_empty(), "not indexed yet");
    assert_eq!(store.pending_index().unwrap(), 3);

    // In batches, oldest first, until the queue is empty.
    assert_eq!(store.index_pending(2).unwrap(), 2);
    assert_eq!(found(&store, "volcano"), [1]);
    assert!(found(&store, "quiet").is_empty());
    assert_eq!(store.index_all_pending(2).unwrap(), 1);
    assert_eq!(found(&store, "quiet"), [3]);
    assert_eq!(store.pending_index().unwrap(), 0);
    assert_eq!(store.index_pending(10).unwrap(), 0);

    // Changed after it was indexed: the old entry goes in the commit, the
    // new one when drained.
    put(
        &mut store,
        ids[0],
        "2024-04-17T11:00:00Z",
        vec![entry(
            "1",
            &url(1),
            "Volcano calms",
            "Ash cloud over the valley.",
        )],
    );
    assert!(found(&store, "lava").is_empty(), "old text left the index");
    assert!(found(&store, "valley").is_empty(), "new text not yet in it");
    store.index_all_pending(100).unwrap();
    assert_eq!(found(&store, "valley"), [1]);
    assert!(found(&store, "lava").is_empty());

    // Changed twice before it was ever indexed: only the last text is.
    put(
        &mut store,
        ids[0],
        "2024-04-17T12:00:00Z",
        vec![entry("4", &url(4), "Bridge opens", "Traffic expected.")],
    );
    put(
        &mut store,
        ids[0],
        "2024-04-17T12:30:00Z",
        vec![entry("4", &url(4), "Bridge delayed", "Inspection failed.")],
    );
    store.index_all_pending(100).unwrap();
    assert_eq!(found(&store, "inspection"), [4]);
    assert!(found(&store, "traffic").is_empty());

    // Deleted (retention), indexed or not: gone from the index and the queue.
    put(
        &mut store,
        ids[0],
        "2024-04-17T13:00:00Z",
        vec![entry("5", &url(5), "Late news", "Harbour reopens.")],
    );
    store
        .conn
        .execute("DELETE FROM articles WHERE id IN (2, 5)", [])
        .unwrap();
    assert_eq!(store.pending_index().unwrap(), 0);
    store.index_all_pending(100).unwrap();
    assert!(found(&store, "harbour").is_empty());
    assert_eq!(found(&store, "volcano"), [1]);
    index_is_consistent(&store);
}

/// Only trawl's commit path queues a new article (migration 9). A row
/// another program inserts is in neither the index nor the queue: changing
/// or deleting it must not ask FTS5 to delete an entry it never had (that
/// corrupts the index), and a change queues it like any other.
#[test]
fn rows_inserted_by_hand_are_changed_and_deleted_without_harm_to_the_index() {
    let (mut store, ids) = store_with(&["a"]);
    put(
        &mut store,
        ids[0],
        "2024-04-17T10:00:00Z",
        vec![entry(
            "1",
            "https://a.test/1",
            "Volcano erupts",
            "Lava flows.",
        )],
    );
    store.index_all_pending(100).unwrap();
    let by_hand = "INSERT INTO articles (id, guid, title, content_text, content_hash, \
                   first_seen_at, last_seen_at) VALUES (?1, ?1, ?2, ?3, ?1, \
                   '2024-04-17T10:00:00Z', '2024-04-17T10:00:00Z')";
    for (id, title) in [(100, "Harbour closed"), (101, "Bridge opens")] {
        store
            .conn
            .execute(by_hand, rusqlite::params![id, title, "Written by hand."])
            .unwrap();
    }
    assert_eq!(store.pending_index().unwrap(), 0, "not queued");

    store
        .conn
        .execute("DELETE FROM articles WHERE id = 100", [])
        .unwrap();
    store
        .conn
        .execute(
            "UPDATE articles SET title = 'Bridge delayed' WHERE id = 101",
            [],
        )
        .unwrap();
    assert_eq!(store.index_all_pending(100).unwrap(), 1);
    assert_eq!(found(&store, "delayed"), [101]);
    assert!(found(&store, "harbour").is_empty());
    assert_eq!(found(&store, "volcano"), [1]);
    index_is_consistent(&store);
}

/// An in-memory database at the version just before the migration whose
/// SQL contains `marker`.
fn database_before(marker: &str) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    configure(&conn).unwrap();
    let before = (0..schema::VERSION as usize)
        .find(|&i| schema::migration(i).contains(marker))
        .unwrap();
    for i in 0..before {
        conn.execute_batch(schema::migration(i)).unwrap();
    }
    conn.pragma_update(None, "user_version", before as i64)
        .unwrap();
    conn
}

/// `conn` migrated to the current version, as a store.
fn migrated(mut conn: rusqlite::Connection) -> Store {
    schema::migrate(&mut conn, ":memory:").unwrap();
    Store {
        conn,
        path: ":memory:".into(),
        policy: Policy::default(),
        recent: None,
        data_version: 0,
    }
}

#[test]
fn a_database_indexed_by_triggers_keeps_its_index_after_migrating() {
    // Built at the version before the queue: the old triggers index at once.
    let conn = database_before("CREATE TABLE fts_pending");
    conn.execute(
        "INSERT INTO articles (guid, title, content_text, content_hash, first_seen_at, \
         last_seen_at) VALUES ('g', 'Volcano erupts', 'Lava flows.', 'h', \
         '2024-04-17T10:00:00Z', '2024-04-17T10:00:00Z')",
        [],
    )
    .unwrap();
    let store = migrated(conn);
    assert_eq!(found(&store, "lava"), [1]);
    assert_eq!(store.pending_index().unwrap(), 0);
    index_is_consistent(&store);
}

/// Migration 12 copies `article_sources` without its foreign key on the
/// article: every row and column survives, the index is back, and deleting
/// an article still deletes its sources (now by trigger).
#[test]
fn sources_survive_losing_their_foreign_key_and_still_go_with_their_article() {
    let conn = database_before("article_sources_v12");
    conn.execute_batch(
        "INSERT INTO feeds (id, url, name, created_at) VALUES \
           (1, 'http://a/feed', 'a', '2024-04-17T00:00:00Z'), \
           (2, 'http://b/feed', 'b', '2024-04-17T00:00:00Z');
         INSERT INTO articles (id, url, guid, title, content_hash, first_seen_at, last_seen_at) \
           VALUES (1, 'http://a/1', 'g1', 'One', 'h1', '2024-04-17T10:00:00Z', '2024-04-17T10:00:00Z'), \
                  (2, 'http://a/2', 'g2', 'Two', 'h2', '2024-04-17T11:00:00Z', '2024-04-17T11:00:00Z');
         INSERT INTO article_sources VALUES \
           (1, 1, 'g1', 'http://a/1', '2024-04-18T00:00:00Z', 'h1', '2024-04-17T09:00:00Z', '2024-04-17T10:00:00Z'), \
           (1, 2, 'b-g1', 'http://b/1', '2024-04-18T01:00:00Z', 'h1', NULL, '2024-04-17T12:00:00Z'), \
           (2, 1, 'g2', NULL, '2024-04-17T11:00:00Z', 'h2', NULL, '2024-04-17T11:00:00Z');",
    )
    .unwrap();
    let rows = |conn: &rusqlite::Connection| -> Vec<String> {
        conn.prepare(
            "SELECT json_array(article_id, feed_id, guid, url, seen_at, content_hash, \
             published_at, first_seen_at) FROM article_sources ORDER BY feed_id, guid",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    };
    let old = rows(&conn);
    let store = migrated(conn);
    assert_eq!(rows(&store.conn), old, "every source, every column");

    let parents: Vec<String> = store
        .conn
        .prepare("SELECT \"table\" FROM pragma_foreign_key_list('article_sources')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(parents, ["feeds"], "the feed is still a foreign key");
    let plan = query_plan(
        &store,
        "SELECT feed_id FROM article_sources WHERE article_id = 1",
    );
    assert!(plan.contains("article_sources_article_id"), "{plan}");

    store
        .conn
        .execute("DELETE FROM articles WHERE id = 1", [])
        .unwrap();
    assert_eq!(
        rows(&store.conn),
        old[1..2],
        "both sources of the deleted article went with it"
    );
    store
        .conn
        .execute("DELETE FROM feeds WHERE id = 1", [])
        .unwrap();
    assert!(
        rows(&store.conn).is_empty(),
        "and a deleted feed takes its sources"
    );
}

#[test]
fn next_due_skips_leased_and_disabled_feeds_and_walks_an_index() {
    let (mut store, ids) = store_with(&["a", "b", "c", "d", "gone", "off"]);
    let now = "2024-04-17T12:00:00Z";
    let due = [
        "2024-04-17T12:10:00Z",
        "2024-04-17T12:20:00Z",
        "2024-04-17T12:30:00Z",
        "2024-04-17T12:40:00Z",
        "2024-04-17T12:01:00Z",
        "2024-04-17T12:02:00Z",
    ];
    for (&id, next) in ids.iter().zip(due) {
        store.commit(&[outcome(id, now, next, None)]).unwrap();
    }
    // "gone" answered 410; "off" is disabled in the config.
    store
        .conn
        .execute(
            "UPDATE feeds SET disabled_reason = '410 Gone' WHERE name = 'gone'",
            [],
        )
        .unwrap();
    let mut configured: Vec<_> = ["a", "b", "c", "d", "gone", "off"]
        .into_iter()
        .map(site_feed)
        .collect();
    configured[5].enabled = false;
    store.sync_feeds(&configured).unwrap();
    assert_eq!(
        store.next_due().unwrap(),
        Some(t(due[0])),
        "a is the earliest"
    );

    // a and b leased (in flight) until 12:05 + 5 min: c is next, unless a
    // lease ends before c is due.
    store.claim(ids[0], "me", t(now), LEASE).unwrap();
    store.claim(ids[1], "me", t(now), LEASE).unwrap();
    assert_eq!(
        store.next_due().unwrap(),
        Some(t("2024-04-17T12:10:00Z")),
        "a: due at 12:10, its lease ended at 12:05"
    );
    store
        .claim(ids[0], "me", t("2024-04-17T12:28:00Z"), LEASE)
        .unwrap();
    assert_eq!(
        store.next_due().unwrap(),
        Some(t("2024-04-17T12:20:00Z")),
        "b's lease ended before it is due"
    );
    store
        .claim(ids[1], "me", t("2024-04-17T12:29:00Z"), LEASE)
        .unwrap();
    assert_eq!(
        store.next_due().unwrap(),
        Some(t(due[2])),
        "c: a and b leased past it"
    );

    let sql = "SELECT coalesce(next_fetch_at, '1970-01-01T00:00:00Z') FROM feeds \
               WHERE enabled = 1 AND disabled_reason IS NULL AND lease_until IS NULL \
               ORDER BY next_fetch_at LIMIT 1";
    let plan = query_plan(&store, sql);
    assert!(plan.contains("feeds_pollable"), "{plan}");
    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    let sql = "SELECT max(coalesce(next_fetch_at, ''), lease_until) FROM feeds \
               WHERE lease_until IS NOT NULL AND enabled = 1 AND disabled_reason IS NULL";
    let plan = query_plan(&store, sql);
    assert!(plan.contains("feeds_leased"), "{plan}");
    // What `claim_due` asks: the due feeds in due order, from the same index.
    let sql = "SELECT id FROM feeds WHERE enabled = 1 AND disabled_reason IS NULL \
               AND (next_fetch_at IS NULL OR next_fetch_at <= '2024-04-17T12:30:00Z') \
               AND (lease_until IS NULL OR lease_until <= '2024-04-17T12:30:00Z') \
               ORDER BY next_fetch_at, id LIMIT 32";
    let plan = query_plan(&store, sql);
    assert!(plan.contains("feeds_pollable"), "{plan}");
    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
}

#[test]
fn leases_of_dead_processes_on_this_host_are_released() {
    let (mut store, ids) = store_with(&["a", "b", "c", "d"]);
    let now = t("2024-04-17T12:00:00Z");
    for (id, owner) in ids.iter().zip(["h1:100", "h1:200", "h2:100", "fetch:100"]) {
        assert!(store.claim(*id, owner, now, LEASE).unwrap());
    }
    // On h1, 100 is dead and 200 alive; h2 is another machine.
    assert_eq!(store.release_dead("h1", |pid| pid == 200).unwrap(), 1);
    let owners: Vec<Option<String>> = store
        .feeds()
        .unwrap()
        .into_iter()
        .map(|f| f.lease_owner)
        .collect();
    assert_eq!(
        owners,
        [
            None,
            Some("h1:200".into()),
            Some("h2:100".into()),
            Some("fetch:100".into())
        ]
    );
}

#[test]
fn publish_times_come_from_the_sources_of_each_feed() {
    let (mut store, ids) = store_with(&["a", "b"]);
    let mut one = entry("1", "https://x.test/1", "One", "First text.");
    one.published = Some(t("2024-04-17T08:00:00Z"));
    put(
        &mut store,
        ids[0],
        "2024-04-17T10:00:00Z",
        vec![one.clone()],
    );
    // The same article from b (by URL), which dates it later.
    one.guid = "b1".into();
    one.published = Some(t("2024-04-17T09:00:00Z"));
    put(
        &mut store,
        ids[1],
        "2024-04-17T11:00:00Z",
        vec![one.clone()],
    );
    assert_eq!(
        store.recent_publish_times(ids[0], 5).unwrap(),
        [t("2024-04-17T08:00:00Z")]
    );
    assert_eq!(
        store.recent_publish_times(ids[1], 5).unwrap(),
        [t("2024-04-17T09:00:00Z")]
    );
    let plan = query_plan(
        &store,
        "SELECT published_at, coalesce(first_seen_at, seen_at), article_id \
         FROM article_sources WHERE feed_id = 1",
    );
    assert!(!plan.contains("articles"), "{plan}");
}

#[test]
fn re_seen_entries_move_only_their_sources_seen_time() {
    let (mut store, ids) = store_with(&["a", "b"]);
    let one = entry("1", "https://x.test/1", "One", "First text.");
    put(
        &mut store,
        ids[0],
        "2024-04-17T10:00:00Z",
        vec![one.clone()],
    );
    let before = scalar(&store, "SELECT total_changes()");
    put(
        &mut store,
        ids[0],
        "2024-04-17T11:00:00Z",
        vec![one.clone()],
    );
    let mut other = one.clone();
    other.guid = "b1".into();
    assert_eq!(
        put(&mut store, ids[1], "2024-04-17T12:00:00Z", vec![other]).duplicate,
        1
    );
    assert_eq!(
        scalar(
            &store,
            "SELECT last_seen_at = '2024-04-17T10:00:00Z' FROM articles"
        ),
        1,
        "the wide row was not rewritten"
    );
    assert!(scalar(&store, "SELECT total_changes()") > before);
    let stored = &store.articles(&ArticleQuery::default()).unwrap()[0];
    assert_eq!(stored.last_seen_at, t("2024-04-17T12:00:00Z"));
    assert_eq!(stored.first_seen_at, t("2024-04-17T10:00:00Z"));

    // Retention keeps an old article a feed still shows.
    let seen_now = "2024-06-01T00:00:00Z";
    put(&mut store, ids[0], seen_now, vec![one]);
    assert_eq!(store.prune(t("2024-05-01T00:00:00Z"), 10).unwrap(), 0);
    assert_eq!(store.prune(t("2024-07-01T00:00:00Z"), 10).unwrap(), 1);
}

/// A writer that commits without a pause leaves its checkpoints to the
/// checkpoint thread: the database file fills while the writer is idle,
/// the log stays bounded however long the writer goes on (the writer
/// checkpoints itself past `INLINE_AT` pages), and nothing is lost.
#[test]
fn checkpoints_run_beside_the_writer_and_the_log_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let wal = dir.path().join("t.db-wal");
    let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let mut store = Store::open(&path).unwrap();
    let id = store.sync_feeds(&[site_feed("a")]).unwrap()[0].id;
    let text = "word ".repeat(2000);
    // ~10 KB an article: enough for the log to pass the signal once and a
    // half.
    let per_round = 50;
    let rounds = (checkpoint::SIGNAL_AT as i64 * 4096 * 3 / 2) / (per_round * 10_000) + 1;
    let mut largest_log = 0;
    for round in 0..rounds {
        let articles = (0..per_round)
            .map(|i| {
                let g = format!("g{round}-{i}");
                entry(
                    &g,
                    &format!("https://a.test/{g}"),
                    &g,
                    &format!("{g} {text}"),
                )
            })
            .collect();
        put(&mut store, id, "2025-06-01T12:00:00Z", articles);
        largest_log = largest_log.max(size(&wal));
    }
    // The bound is the inline limit and a few batches (~700 KB of log
    // each): the log starts over at the first commit after a checkpoint
    // copied all of it, and that can be a commit or two late while the
    // thread's own checkpoint still reads the log. A log frame is a page
    // and its 24-byte header, after the log's own 32-byte header. A
    // release build reaches the inline limit (its writer outruns the
    // thread; a debug build's does not), and went over it by up to 396
    // frames; without the writer's own checkpoint, the log grows to
    // 339 MB here.
    let bound = 32 + (checkpoint::INLINE_AT as u64 + 1024) * (4096 + 24);
    assert!(largest_log <= bound, "log grew to {largest_log} bytes");
    // Only a checkpoint puts articles in the file: at least those logged
    // before the last signal (all but under SIGNAL_AT pages). The writer
    // commits nothing more from here on.
    let written = (rounds * per_round * 10_000) as u64;
    let filled = written - checkpoint::SIGNAL_AT as u64 * 4096 - 2_000_000;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while size(&path) < filled {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint filled the database file: {} bytes, log {} bytes",
            size(&path),
            size(&wal)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(store);
    let store = Store::open(&path).unwrap();
    let count: i64 = store
        .conn
        .query_row("SELECT count(*) FROM articles", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, rounds * per_round);
}
