//! Store tests for stories across feeds: near-duplicates (clusters, the
//! band lookup, the window), revisions, full-text search, export, and
//! retention.

use chrono::{DateTime, Utc};

use super::tests::{query_plan, site_feed, store_with};
use super::*;
use crate::article::parse_time;
use crate::dedupe::content_hash;
use rusqlite::params;

fn t(s: &str) -> DateTime<Utc> {
    parse_time(s).unwrap()
}

/// `n` words of deterministic prose, different for each `seed`.
fn prose(seed: u64, n: usize) -> String {
    const WORDS: &[&str] = &[
        "the",
        "council",
        "approved",
        "budget",
        "river",
        "bridge",
        "workers",
        "said",
        "on",
        "monday",
        "after",
        "months",
        "of",
        "talks",
        "with",
        "unions",
        "and",
        "residents",
        "who",
        "feared",
        "rising",
        "costs",
        "mayor",
        "announced",
        "plan",
        "to",
        "repair",
        "roads",
        "before",
        "winter",
        "schools",
        "hospital",
        "election",
        "minister",
        "market",
        "prices",
        "fell",
        "sharply",
        "investors",
        "data",
        "report",
        "showed",
        "growth",
        "slowing",
        "energy",
        "climate",
        "storm",
        "flooded",
        "villages",
        "police",
        "court",
    ];
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut words = Vec::with_capacity(n);
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let w = WORDS[(x % WORDS.len() as u64) as usize];
        words.push(if i % 12 == 11 {
            format!("{w}.")
        } else {
            w.to_string()
        });
    }
    words.join(" ")
}

fn entry(guid: &str, title: &str, text: &str, published: &str) -> Article {
    Article {
        guid: guid.to_string(),
        url: Some(format!("https://example.test/{guid}")),
        title: title.to_string(),
        authors: Vec::new(),
        published: Some(t(published)),
        updated: None,
        summary: None,
        content_html: None,
        content_text: (!text.is_empty()).then(|| text.to_string()),
        categories: Vec::new(),
        language: Some("en".into()),
        enclosures: Vec::new(),
        thumbnail: None,
        feed: FeedInfo::default(),
        content_hash: content_hash(title, text),
        near_key: Default::default(),
    }
}

fn put(store: &mut Store, feed_id: i64, at: &str, articles: Vec<Article>) -> Counts {
    let update = FeedUpdate {
        feed_id,
        fetched_at: t(at),
        next_fetch_at: t(at) + chrono::Duration::hours(1),
        outcome: Outcome::Fetched {
            status: 200,
            moved_to: None,
            etag: None,
            last_modified: None,
            asked_interval: None,
            feed: FeedInfo::default(),
            articles,
        },
        bytes: None,
        duration_ms: 0,
        body_hash: None,
        unconditional: false,
        no_validators: None,
        malformed: false,
    };
    store.commit(&[update]).unwrap()[0]
}

/// The article a feed's entry `guid` is a source of.
fn source_of(store: &Store, guid: &str) -> i64 {
    store
        .conn
        .query_row(
            "SELECT article_id FROM article_sources WHERE guid = ?1",
            [guid],
            |r| r.get(0),
        )
        .unwrap()
}

/// (id, duplicate_of) of the article stored under `guid`.
fn link(store: &Store, guid: &str) -> (i64, Option<i64>) {
    store
        .conn
        .query_row(
            "SELECT id, duplicate_of FROM articles WHERE guid = ?1",
            [guid],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

fn scalar(store: &Store, sql: &str) -> i64 {
    store.conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// A near copy of `text`: one word changed and a line added (its number
/// `n`, so that two copies are not the same text).
fn edited(text: &str, n: u32) -> String {
    format!(
        "{}\n\nUpdate {n}: this story was updated.",
        text.replacen("council", "assembly", 1)
    )
}

// ---- near-duplicates ----

#[test]
fn a_near_copy_from_another_feed_joins_the_first_articles_cluster() {
    let (mut store, ids) = store_with(&["a", "b", "c", "d"]);
    let text = prose(1, 300);
    put(
        &mut store,
        ids[0],
        "2024-04-17T10:00:00Z",
        vec![entry(
            "orig",
            "Council approves budget",
            &text,
            "2024-04-17T09:00:00Z",
        )],
    );
    let c = put(
        &mut store,
        ids[1],
        "2024-04-17T11:00:00Z",
        vec![
            entry(
                "copy",
                "Council approves budget",
                &edited(&text, 1),
                "2024-04-17T10:00:00Z",
            ),
            entry(
                "other",
                "Storm floods villages",
                &prose(2, 300),
                "2024-04-17T10:00:00Z",
            ),
        ],
    );
    assert_eq!(c.new, 2, "a near copy is kept as an article of its own");
    assert_eq!(c.near, 1, "and counted as a copy of a stored story");
    let (orig, none) = link(&store, "orig");
    assert_eq!(none, None);
    assert_eq!(link(&store, "copy").1, Some(orig));
    assert_eq!(
        link(&store, "other").1,
        None,
        "an unrelated story stays apart"
    );

    // A copy of the copy points at the head, never at a member.
    put(
        &mut store,
        ids[2],
        "2024-04-17T12:00:00Z",
        vec![entry(
            "copy2",
            "UPDATE: Council approves budget",
            &edited(&text, 2),
            "2024-04-17T11:30:00Z",
        )],
    );
    assert_eq!(link(&store, "copy2").1, Some(orig));

    // A copy published before the head, seen later, becomes the head.
    put(
        &mut store,
        ids[3],
        "2024-04-17T13:00:00Z",
        vec![entry(
            "early",
            "Council approves budget",
            &edited(&text, 3),
            "2024-04-17T08:00:00Z",
        )],
    );
    let (early, head) = link(&store, "early");
    assert_eq!(head, None);
    for guid in ["orig", "copy", "copy2"] {
        assert_eq!(link(&store, guid).1, Some(early), "{guid}");
    }

    let detail = store.article(orig).unwrap().unwrap();
    let others: Vec<(i64, bool)> = detail.cluster.iter().map(|m| (m.id, m.head)).collect();
    assert_eq!(others[0], (early, true), "the head comes first");
    assert_eq!(others.len(), 3);
    assert!(
        detail
            .cluster
            .iter()
            .all(|m| m.distance.is_some_and(|d| d <= 3))
    );
}

#[test]
fn one_feed_may_link_several_stories_to_one_page() {
    let (mut store, ids) = store_with(&["weekly", "other"]);
    let page = "https://example.test/archive/2024-16";
    let at = |guid: &str, title: &str, text: &str| Article {
        url: Some(page.to_string()),
        ..entry(guid, title, text, "2024-04-17T09:00:00Z")
    };
    let items = vec![
        at("w1", "Council approves budget", &prose(1, 100)),
        at("w2", "Storm floods villages", &prose(2, 100)),
        // Too short to tell from a retitled w1: stays with the URL's article.
        at("w3", "Read more", "Read more."),
        // The feed gave w2 again under another guid: same article.
        at("w2-again", "Storm floods villages", &prose(2, 100)),
    ];
    let c = put(&mut store, ids[0], "2024-04-17T10:00:00Z", items.clone());
    assert_eq!((c.new, c.duplicate), (2, 2), "{c:?}");
    let (w1, w2) = (link(&store, "w1").0, link(&store, "w2").0);
    assert_ne!(w1, w2, "two stories of one feed, one link");
    assert_eq!(source_of(&store, "w3"), w1);
    assert_eq!(source_of(&store, "w2-again"), w2);
    let stored: Vec<Option<String>> = [w1, w2]
        .iter()
        .map(|&id| store.article(id).unwrap().unwrap().stored.article.url)
        .collect();
    assert_eq!(stored, [Some(page.to_string()), Some(page.to_string())]);

    // Fetched again: nothing new.
    let again = put(&mut store, ids[0], "2024-04-17T11:00:00Z", items);
    assert_eq!((again.new, again.unchanged), (0, 4), "{again:?}");

    // Across feeds the URL rule stands: another feed's entry with the link
    // is another source of its first article, whatever its text.
    let c = put(
        &mut store,
        ids[1],
        "2024-04-17T12:00:00Z",
        vec![at("o1", "This week's notes", &prose(3, 100))],
    );
    assert_eq!((c.new, c.duplicate), (0, 1), "{c:?}");
    assert_eq!(source_of(&store, "o1"), w1);
}

#[test]
fn short_texts_and_texts_outside_the_window_are_never_near_matched() {
    let (mut store, ids) = store_with(&["a", "b"]);
    let short = prose(3, 30);
    let long = prose(4, 200);
    put(
        &mut store,
        ids[0],
        "2024-04-17T10:00:00Z",
        vec![
            entry("short", "Brief", &short, "2024-04-17T09:00:00Z"),
            entry("long", "Long read", &long, "2024-04-01T09:00:00Z"),
        ],
    );
    assert_eq!(
        scalar(
            &store,
            "SELECT count(*) FROM articles WHERE simhash IS NULL"
        ),
        1,
        "no fingerprint for the short text"
    );
    put(
        &mut store,
        ids[1],
        "2024-04-17T11:00:00Z",
        vec![
            entry(
                "short2",
                "Brief",
                &format!("{short} More."),
                "2024-04-17T09:00:00Z",
            ),
            // Eight days after the first: beyond the default 7-day window.
            entry(
                "long2",
                "Long read",
                &edited(&long, 1),
                "2024-04-09T09:00:01Z",
            ),
        ],
    );
    assert_eq!(link(&store, "short2").1, None);
    assert_eq!(link(&store, "long2").1, None);

    // Within a wider window, the same copy matches.
    store.set_policy(Policy {
        near_duplicates: NearDuplicates {
            window: std::time::Duration::from_secs(9 * 86_400),
            ..NearDuplicates::default()
        },
        ..Policy::default()
    });
    put(
        &mut store,
        ids[1],
        "2024-04-17T12:00:00Z",
        vec![entry(
            "long3",
            "Long read",
            &edited(&long, 2),
            "2024-04-09T09:00:01Z",
        )],
    );
    assert_eq!(link(&store, "long3").1, Some(link(&store, "long").0));
}

/// Inserts an article row with a chosen fingerprint, as the commit path
/// would have stored it.
fn with_fingerprint(store: &Store, id: i64, fp: u64, published: &str) {
    store
        .conn
        .execute(
            "INSERT INTO articles (id, guid, title, content_hash, first_seen_at, last_seen_at, \
             published_at, simhash) VALUES (?1, ?1, 't', ?1, ?2, ?2, ?2, ?3)",
            params![id, published, fp as i64],
        )
        .unwrap();
}

#[test]
fn the_lookup_finds_every_fingerprint_within_the_threshold_and_window() {
    let store = Store::open_in_memory().unwrap();
    let fp: u64 = 0xF0F0_1234_ABCD_8001;
    // Differences spread over all four bands: 4 bits, one per band, share
    // no band with `fp`; found only by probing one bit away.
    let one_per_band = (1 << 3) | (1 << 20) | (1 << 37) | (1 << 60);
    with_fingerprint(&store, 1, fp ^ 0b111, "2024-04-17T00:00:00Z"); // 3 bits, band 0
    with_fingerprint(&store, 2, fp ^ one_per_band, "2024-04-17T00:00:00Z"); // 4 bits
    with_fingerprint(&store, 3, !fp, "2024-04-17T00:00:00Z"); // unrelated
    with_fingerprint(&store, 4, fp, "2024-03-01T00:00:00Z"); // equal, but long before
    let settings = |max_distance| NearDuplicates {
        max_distance,
        ..NearDuplicates::default()
    };
    // Memory read afresh each time (the rows change between lookups), and
    // the answer of a scan over every article.
    let find = |max| {
        let at = "2024-04-18T00:00:00Z";
        let found = near::find(&store.conn, &mut None, fp, at, &settings(max)).unwrap();
        assert_eq!(
            found,
            near_by_scan(&store, fp, at, &settings(max)),
            "at {max} bits"
        );
        found
    };
    assert_eq!(find(3), Some(crate::dedupe::Join::Under(1)));
    assert_eq!(find(2), None);
    assert_eq!(
        find(4),
        Some(crate::dedupe::Join::Under(1)),
        "the closest wins"
    );
    store
        .conn
        .execute("DELETE FROM articles WHERE id = 1", [])
        .unwrap();
    assert_eq!(find(3), None, "4 bits apart, one per band: no band agrees");
    assert_eq!(
        find(4),
        Some(crate::dedupe::Join::Under(2)),
        "found by probing"
    );
    // The default threshold, 6 bits: 2 + 2 + 1 + 1 over the bands.
    store
        .conn
        .execute("DELETE FROM articles WHERE id = 2", [])
        .unwrap();
    let six = (0b11 << 1) | (0b11 << 17) | (1 << 33) | (1 << 50);
    with_fingerprint(&store, 5, fp ^ six, "2024-04-17T00:00:00Z");
    assert_eq!(find(5), None);
    assert_eq!(find(6), Some(crate::dedupe::Join::Under(5)));
    assert_eq!(NearDuplicates::default().max_distance, 6);

    // Memory is read from the time-ordered index: the latest entry (read
    // from the newest end, no sort), then a range; never a read of the
    // wide article row.
    let plan = query_plan(&store, near::LATEST);
    assert!(
        plan.contains("USING COVERING INDEX articles_newest"),
        "{plan}"
    );
    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    let plan = query_plan(
        &store,
        &near::RANGE
            .replace("?1", "'2024-04-17T00:00:00Z'")
            .replace("?2", "'2024-04-18T00:00:00Z'"),
    );
    assert!(
        plan.contains("SEARCH articles USING COVERING INDEX articles_newest"),
        "{plan}"
    );
}

/// The fingerprint ranges compare stored times as text: a bound sorts
/// where the time it stands for does, and the open ends before and after
/// every time trawl stores.
#[test]
fn fingerprint_range_bounds_sort_with_stored_times() {
    let stored = crate::article::format_time(&t("2024-04-17T02:03:49Z"));
    assert_eq!(near::time_bound(1_713_319_429), stored);
    assert!(near::time_bound(1_713_319_428) < stored);
    assert!(stored < near::time_bound(1_713_319_430));
    assert!(near::time_bound(i64::MIN).as_str() < "0000-01-01T00:00:00Z");
    assert!(near::time_bound(i64::MAX).as_str() > "9999-12-31T23:59:59Z");

    // A time that is no time (another program's row) sorts after every
    // real one, but is not the latest.
    let store = Store::open_in_memory().unwrap();
    with_fingerprint(&store, 1, 7, "2024-04-17T02:03:49Z");
    with_fingerprint(&store, 2, 8, "not a time");
    let latest: i64 = scalar(&store, near::LATEST);
    assert_eq!(latest, 1_713_319_429);
}

/// What [`near::find`] must answer, by reading every article: the closest
/// fingerprint within the threshold among those published within the
/// window, and its cluster.
fn near_by_scan(
    store: &Store,
    fp: u64,
    at: &str,
    settings: &NearDuplicates,
) -> Option<crate::dedupe::Join> {
    let t = parse_time(at).unwrap().timestamp();
    let window = settings.window.as_secs() as i64;
    let mut stmt = store
        .conn
        .prepare(
            "SELECT id, simhash, duplicate_of, coalesce(published_at, first_seen_at) \
             FROM articles NOT INDEXED WHERE simhash IS NOT NULL \
             AND unixepoch(coalesce(published_at, first_seen_at)) BETWEEN ?1 AND ?2",
        )
        .unwrap();
    let rows: Vec<(i64, i64, Option<i64>, String)> = stmt
        .query_map([t - window, t + window], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let candidates: Vec<crate::dedupe::Candidate> = rows
        .iter()
        .map(
            |(id, simhash, duplicate_of, published)| crate::dedupe::Candidate {
                id: *id,
                fingerprint: *simhash as u64,
                duplicate_of: *duplicate_of,
                published,
            },
        )
        .collect();
    let closest = crate::dedupe::closest(fp, &candidates, settings.max_distance)?;
    let head = closest.duplicate_of.unwrap_or(closest.id);
    let head_published: String = store
        .conn
        .query_row(
            "SELECT coalesce(published_at, first_seen_at) FROM articles WHERE id = ?1",
            [head],
            |r| r.get(0),
        )
        .unwrap();
    Some(crate::dedupe::join(head, &head_published, at))
}

/// The writer's memory of fingerprints answers as a scan of every article
/// does: 3,000 stored fingerprints in clusters over four weeks (memory
/// first holds the last two, then reaches back), some since deleted,
/// re-dated or stripped of their fingerprint behind its back, and 300
/// lookups near them at every threshold.
#[test]
fn fingerprints_in_memory_answer_as_a_scan_of_every_article_does() {
    let store = Store::open_in_memory().unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        // xorshift64*: deterministic, no dependency.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let flip = |fp: u64, bits: u64, r: &mut dyn FnMut() -> u64| {
        (0..bits).fold(fp, |fp, _| fp ^ (1 << (r() % 64)))
    };
    let day = |d: u64| format!("2024-03-{:02}T{:02}:00:00Z", 1 + d % 28, d % 24);
    let mut roots = Vec::new();
    for id in 1..=3_000_i64 {
        let fp = if id % 3 == 0 || roots.is_empty() {
            let fp = next();
            roots.push(fp);
            fp
        } else {
            let root = roots[(next() % roots.len() as u64) as usize];
            flip(root, next() % 9, &mut next)
        };
        with_fingerprint(&store, id, fp, &day(next() % 40));
    }
    let settings = |max_distance| NearDuplicates {
        max_distance,
        ..NearDuplicates::default()
    };
    let mut memory = None;
    near::find(
        &store.conn,
        &mut memory,
        0,
        "2024-03-15T00:00:00Z",
        &settings(6),
    )
    .unwrap();
    // Behind the memory's back: deleted, re-dated, re-texted.
    store
        .conn
        .execute_batch(
            "DELETE FROM articles WHERE id % 17 = 0;
             UPDATE articles SET published_at = '2023-01-01T00:00:00Z' WHERE id % 19 = 0;
             UPDATE articles SET simhash = NULL WHERE id % 23 = 0;",
        )
        .unwrap();
    let mut compared = 0;
    for _ in 0..300 {
        let root = roots[(next() % roots.len() as u64) as usize];
        let fp = flip(root, next() % 9, &mut next);
        let at = day(next() % 40);
        for max in 0..=crate::dedupe::MAX_DISTANCE {
            let found = near::find(&store.conn, &mut memory, fp, &at, &settings(max)).unwrap();
            let expected = near_by_scan(&store, fp, &at, &settings(max));
            assert_eq!(found, expected, "{fp:#x} at {at}, {max} bits");
            compared += usize::from(expected.is_some());
        }
    }
    assert!(compared > 500, "only {compared} lookups found a match");
}

/// Another process's commit (a one-off `trawl fetch` beside the daemon)
/// lands between two of this writer's batches: its articles are found as
/// near-duplicates all the same.
#[test]
fn near_copies_of_another_writers_articles_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.db");
    let mut daemon = Store::open(&path).unwrap();
    let ids: Vec<i64> = daemon
        .sync_feeds(&["a", "b", "c"].map(site_feed))
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    let mut other = Store::open(&path).unwrap();
    // The daemon's writer has its memory loaded by a first new story...
    let first = prose(11, 300);
    put(
        &mut daemon,
        ids[0],
        "2024-04-17T10:00:00Z",
        vec![entry("a1", "Dam opens", &first, "2024-04-17T09:00:00Z")],
    );
    // ...then the other process stores a second one...
    let second = prose(12, 300);
    put(
        &mut other,
        ids[1],
        "2024-04-17T10:05:00Z",
        vec![entry("b1", "Port strike", &second, "2024-04-17T09:30:00Z")],
    );
    // ...of which the daemon now receives a near copy.
    put(
        &mut daemon,
        ids[2],
        "2024-04-17T10:10:00Z",
        vec![entry(
            "c1",
            "Port strike",
            &edited(&second, 1),
            "2024-04-17T09:40:00Z",
        )],
    );
    let (b1, _) = link(&daemon, "b1");
    assert_eq!(link(&daemon, "c1").1, Some(b1));
}

// ---- revisions ----

#[test]
fn revisions_keep_the_newest_versions_before_each_update() {
    let (mut store, ids) = store_with(&["a", "b"]);
    store.set_policy(Policy {
        max_revisions: 2,
        ..Policy::default()
    });
    let version = |n: u32| {
        entry(
            "g",
            &format!("Quake toll: {n}"),
            &format!("Count {n}."),
            "2024-04-17T09:00:00Z",
        )
    };
    let times = [
        "2024-04-17T10:00:00Z",
        "2024-04-17T11:00:00Z",
        "2024-04-17T12:00:00Z",
        "2024-04-17T13:00:00Z",
    ];
    for (n, at) in times.iter().enumerate() {
        put(&mut store, ids[0], at, vec![version(n as u32 + 1)]);
    }
    // Seen again unchanged: no revision.
    put(&mut store, ids[0], "2024-04-17T14:00:00Z", vec![version(4)]);
    let id = link(&store, "g").0;
    let d = store.article(id).unwrap().unwrap();
    let kept: Vec<(i64, &str, String)> = d
        .revisions
        .iter()
        .map(|r| (r.revision, r.title.as_str(), format_time(&r.seen_at)))
        .collect();
    assert_eq!(
        kept,
        [
            (2, "Quake toll: 2", "2024-04-17T11:00:00Z".to_string()),
            (3, "Quake toll: 3", "2024-04-17T12:00:00Z".to_string()),
        ],
        "the newest two of three earlier versions, each with when it was first seen"
    );
    assert_eq!(d.revised_at, Some(t("2024-04-17T13:00:00Z")));
    assert_eq!(d.stored.article.title, "Quake toll: 4");
    assert_eq!(d.revisions[0].content_text.as_deref(), Some("Count 2."));

    // With no revisions kept, updates still happen.
    store.set_policy(Policy {
        max_revisions: 0,
        ..Policy::default()
    });
    put(&mut store, ids[0], "2024-04-17T15:00:00Z", vec![version(5)]);
    assert_eq!(store.article(id).unwrap().unwrap().revisions.len(), 2);
    assert_eq!(
        store.article(id).unwrap().unwrap().stored.article.title,
        "Quake toll: 5"
    );
}

// ---- search ----

fn search(store: &Store, query: &str, all: bool) -> Vec<Hit> {
    // Commits only queue the full-text work; the writer does it later.
    super::search::index_pending(&store.conn, usize::MAX).unwrap();
    store
        .search(&SearchQuery {
            fts: crate::search::fts_query(query).unwrap(),
            all,
            ..SearchQuery::default()
        })
        .unwrap()
}

#[test]
fn search_ranks_titles_first_collapses_copies_and_marks_matches() {
    let (mut store, ids) = store_with(&["a", "b", "c"]);
    let story = format!("{} volcano {}", prose(5, 150), prose(6, 150));
    put(
        &mut store,
        ids[0],
        "2024-04-17T10:00:00Z",
        vec![
            entry(
                "orig",
                "Volcano erupts in Iceland",
                &story,
                "2024-04-17T09:00:00Z",
            ),
            entry(
                "mention",
                "Markets",
                &format!("{} volcano ash.", prose(7, 60)),
                "2024-04-17T09:00:00Z",
            ),
        ],
    );
    put(
        &mut store,
        ids[1],
        "2024-04-17T11:00:00Z",
        vec![entry(
            "copy",
            "Volcano erupts in Iceland",
            &edited(&story, 1),
            "2024-04-17T10:00:00Z",
        )],
    );
    let orig = link(&store, "orig").0;
    assert_eq!(link(&store, "copy").1, Some(orig));

    let hits = search(&store, "volcano", false);
    let got: Vec<(i64, usize)> = hits.iter().map(|h| (h.stored.id, h.copies)).collect();
    assert_eq!(got, [(orig, 1), (link(&store, "mention").0, 0)]);
    assert_eq!(
        crate::search::render_snippet(&hits[0].title_marked, crate::search::Highlight::Brackets),
        "[Volcano] erupts in Iceland"
    );
    assert!(
        hits[0].snippet.contains("\u{2}volcano\u{3}"),
        "{}",
        hits[0].snippet
    );
    assert!(hits[0].rank < hits[1].rank, "lower is better");

    let all = search(&store, "volcano", true);
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|h| h.copies == 0));

    // Filters: feed, language, since.
    let q = |feed: Option<&str>, language: Option<&str>, since: Option<&str>| {
        store
            .search(&SearchQuery {
                fts: crate::search::fts_query("volcano").unwrap(),
                feed: feed.map(Into::into),
                language: language.map(Into::into),
                since: since.map(t),
                all: true,
                ..SearchQuery::default()
            })
            .unwrap()
            .len()
    };
    assert_eq!(q(Some("b"), None, None), 1);
    assert_eq!(q(Some("nope"), None, None), 0);
    assert_eq!(q(None, Some("EN"), None), 3);
    assert_eq!(q(None, Some("de"), None), 0);
    assert_eq!(q(None, None, Some("2024-04-17T09:30:00Z")), 1);

    // A phrase, a prefix, a word that is nowhere.
    assert_eq!(search(&store, "\"erupts in iceland\"", true).len(), 2);
    assert_eq!(search(&store, "volc*", true).len(), 3);
    assert!(search(&store, "tsunami", true).is_empty());
}

#[test]
fn chinese_and_japanese_words_are_found_inside_unspaced_text() {
    let (mut store, ids) = store_with(&["a"]);
    let mut zh = entry(
        "zh",
        "台灣選舉結果公布",
        "選舉委員會今天公布了結果，投票率創新高。",
        "2024-04-17T09:00:00Z",
    );
    zh.language = Some("zh-tw".into());
    let ja = entry(
        "ja",
        "ニュース速報",
        "東京で大きな地震がありました。",
        "2024-04-17T09:00:00Z",
    );
    put(&mut store, ids[0], "2024-04-17T10:00:00Z", vec![zh, ja]);
    let found = |q: &str| -> Vec<String> {
        search(&store, q, true)
            .into_iter()
            .map(|h| h.stored.article.guid)
            .collect()
    };
    assert_eq!(found("選舉"), ["zh"]);
    assert_eq!(found("投票率"), ["zh"]);
    assert_eq!(found("地震"), ["ja"]);
    assert_eq!(found("ニュース"), ["ja"]);
    assert!(
        found("選舉東京").is_empty(),
        "characters must be side by side"
    );
    let hit = &search(&store, "地震", true)[0];
    assert_eq!(
        crate::search::render_snippet(&hit.snippet, crate::search::Highlight::Brackets),
        "東京で大きな[地震]がありました。"
    );
}

// ---- export ----

#[test]
fn export_streams_every_article_oldest_first_with_filters() {
    let (mut store, ids) = store_with(&["a", "b"]);
    put(
        &mut store,
        ids[0],
        "2024-04-17T10:00:00Z",
        vec![
            entry("new", "New", "text", "2024-04-17T09:00:00Z"),
            entry("old", "Old", "text", "2024-04-10T09:00:00Z"),
        ],
    );
    put(
        &mut store,
        ids[1],
        "2024-04-17T11:00:00Z",
        vec![entry("mid", "Mid", "text", "2024-04-15T09:00:00Z")],
    );
    let export = |feed: Option<&str>, since: Option<&str>| -> Vec<String> {
        let mut seen = Vec::new();
        let q = ArticleQuery {
            feed: feed.map(Into::into),
            since: since.map(t),
            limit: 0,
        };
        let n = store
            .export(&q, |a| -> Result<(), StoreError> {
                assert_eq!(a.sources.len(), 1, "each article comes with its sources");
                seen.push(a.article.guid);
                Ok(())
            })
            .unwrap();
        assert_eq!(n as usize, seen.len());
        seen
    };
    assert_eq!(export(None, None), ["old", "mid", "new"]);
    assert_eq!(export(Some("a"), None), ["old", "new"]);
    assert_eq!(export(None, Some("2024-04-12T00:00:00Z")), ["mid", "new"]);
    assert!(export(Some("nope"), None).is_empty());

    // The callback's error stops the walk.
    let mut calls = 0;
    let r = store.export(&ArticleQuery::default(), |_| {
        calls += 1;
        Err(StoreError::UnknownFeed(7))
    });
    assert!(matches!(r, Err(StoreError::UnknownFeed(7))));
    assert_eq!(calls, 1);
}

// ---- retention ----

#[test]
fn retention_prunes_the_oldest_in_batches_and_keeps_clusters_whole() {
    let (mut store, ids) = store_with(&["a", "b", "c"]);
    let text = prose(8, 200);
    put(
        &mut store,
        ids[0],
        "2024-01-01T10:00:00Z",
        vec![
            entry("head", "Story", &text, "2024-01-01T09:00:00Z"),
            entry("old1", "Old one", "x", "2024-01-01T08:00:00Z"),
            entry("old2", "Old two", "y", "2024-01-02T08:00:00Z"),
        ],
    );
    put(
        &mut store,
        ids[1],
        "2024-01-03T10:00:00Z",
        vec![entry(
            "member",
            "Story",
            &edited(&text, 1),
            "2024-01-03T09:00:00Z",
        )],
    );
    put(
        &mut store,
        ids[2],
        "2024-06-01T10:00:00Z",
        vec![entry("recent", "Recent", "z", "2024-06-01T09:00:00Z")],
    );
    // Still shown by its feed: kept however old.
    put(
        &mut store,
        ids[0],
        "2024-06-01T10:00:00Z",
        vec![entry("old2", "Old two", "y", "2024-01-02T08:00:00Z")],
    );
    let head = link(&store, "head").0;
    let member = link(&store, "member").0;
    assert_eq!(link(&store, "member").1, Some(head));
    // A revision, to see it go with its article.
    store
        .conn
        .execute(
            "INSERT INTO article_revisions VALUES (?1, 1, 't', NULL, 'x', 'h', '2024-01-01T10:00:00Z')",
            [head],
        )
        .unwrap();

    let cutoff = t("2024-03-01T00:00:00Z");
    assert_eq!(store.prune(cutoff, 2).unwrap(), 2, "old1, then head");
    assert_eq!(
        link(&store, "member").1,
        None,
        "the member took over the story"
    );
    assert_eq!(scalar(&store, "SELECT count(*) FROM article_revisions"), 0);
    assert_eq!(store.prune(cutoff, 2).unwrap(), 1, "member");
    assert_eq!(store.prune(cutoff, 2).unwrap(), 0);
    let left: Vec<String> = store
        .articles(&ArticleQuery::default())
        .unwrap()
        .into_iter()
        .map(|a| a.article.guid)
        .collect();
    assert_eq!(left, ["recent", "old2"]);
    assert_eq!(scalar(&store, "SELECT count(*) FROM article_sources"), 2);
    let _ = member;
    // The full-text index forgot them.
    let fts_rows = scalar(
        &store,
        "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'story OR one'",
    );
    assert_eq!(fts_rows, 0);
}

// ---- migration ----

#[test]
fn migrations_3_and_4_keep_articles_reindex_them_and_tune_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trawl.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(schema::migration(0)).unwrap();
        conn.execute_batch(schema::migration(1)).unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 2;
             INSERT INTO articles (id, guid, title, content_text, content_hash, first_seen_at, last_seen_at)
             VALUES (1, 'g1', '台灣選舉', 'Old story text', 'h1', '2024-04-17T10:00:00Z', '2024-04-17T10:00:00Z');",
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(scalar(&store, "PRAGMA user_version"), SCHEMA_VERSION);
    assert_eq!(search(&store, "story", true).len(), 1);
    assert_eq!(
        search(&store, "選舉", true).len(),
        1,
        "reindexed with CJK set apart"
    );
    assert_eq!(store.article(1).unwrap().unwrap().revisions, []);
    // Migration 4: one index flush per batch, merges in larger steps.
    assert_eq!(
        scalar(
            &store,
            "SELECT v FROM articles_fts_config WHERE k = 'hashsize'"
        ),
        64 << 20
    );
    assert_eq!(
        scalar(
            &store,
            "SELECT v FROM articles_fts_config WHERE k = 'automerge'"
        ),
        8
    );
    assert_eq!(scalar(&store, "PRAGMA cache_size"), -16384);
}

#[test]
fn articles_stored_before_fingerprints_get_them_when_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trawl.db");
    let text = prose(1, 300);
    {
        // A database of schema version 2: no fingerprints yet.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(schema::migration(0)).unwrap();
        conn.execute_batch(schema::migration(1)).unwrap();
        conn.execute_batch("PRAGMA user_version = 2").unwrap();
        let insert = "INSERT INTO articles (id, guid, url, title, content_text, content_hash, \
             published_at, first_seen_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, \
             '2024-04-17T09:00:00Z', '2024-04-17T10:00:00Z', '2024-04-17T10:00:00Z')";
        for (id, guid, title, text) in [
            (1, "old", "Council approves budget", text.as_str()),
            (2, "short", "Storm floods villages", "Too short to judge."),
        ] {
            let url = format!("https://example.test/{guid}");
            conn.execute(
                insert,
                params![id, guid, url, title, text, content_hash(title, text)],
            )
            .unwrap();
        }
    }
    let mut store = Store::open(&path).unwrap();
    let fingerprint = |guid: &str| -> Option<i64> {
        store
            .conn
            .query_row(
                "SELECT simhash FROM articles WHERE guid = ?1",
                [guid],
                |r| r.get(0),
            )
            .unwrap()
    };
    let want = crate::dedupe::fingerprint("Council approves budget", &text, 40);
    assert_eq!(fingerprint("old"), want.map(|fp| fp as i64));
    assert_eq!(fingerprint("short"), None);

    // A copy that turns up now finds the old article.
    let ids: Vec<i64> = store
        .sync_feeds(&[FeedConfig {
            name: "b".into(),
            url: "https://b.test/feed".into(),
            interval: None,
            timezone: None,
            tags: Vec::new(),
            enabled: true,
        }])
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    let c = put(
        &mut store,
        ids[0],
        "2024-04-17T11:00:00Z",
        vec![entry(
            "copy",
            "Council approves budget",
            &edited(&text, 1),
            "2024-04-17T10:00:00Z",
        )],
    );
    assert_eq!((c.new, c.near), (1, 1));
    let old = link(&store, "old").0;
    assert_eq!(link(&store, "copy").1, Some(old));
}
