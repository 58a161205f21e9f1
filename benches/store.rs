//! Store: dedupe + insert + full-text indexing through `Store::commit`, the
//! writer's path, into a file database.
//!
//! 100,000 generated articles (1–5 KB of text each, with HTML, summary,
//! authors, categories) in feeds of 20–50, committed the way the writer
//! commits them: [`BATCH_FEEDS`] feed outcomes per transaction. Three
//! measurements, each reported as articles/s:
//!
//! - `new`: all of them into a fresh database (every entry an insert, with
//!   its FTS5 rows);
//! - `unchanged`: the same feeds' same entries again, later (every entry
//!   recognised by (feed, guid), its seen times moved);
//! - `other-feed`: the same entries from other feeds (every entry recognised
//!   by its canonical URL, a source row added).
//!
//! Commits only queue the full-text work (the writer indexes when idle):
//! `new` is the commit alone, `new+index` the commit plus indexing every
//! queued article, as `trawl fetch` does before it exits.
//!
//! Quick mode, without criterion (minutes instead of ~12): `TRAWL_STORE_QUICK=N
//! cargo bench --bench store` runs each measurement N times on fresh data and
//! prints the median wall time, articles/s and the median CPU time (user+sys)
//! of each, and first `rows-only` (see [`rows_only`]): the floor under
//! `new`. See BENCHMARKS.md.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use trawl::article::{Article, FeedInfo};
use trawl::config::FeedConfig;
use trawl::dedupe::{NearKeyMemo, content_hash, near_key};
use trawl::store::{FeedUpdate, Outcome, Store};

// The binary's allocator, so that the bench measures what `trawl` runs.
trawl::allocator!();

/// Articles per measurement.
const ARTICLES: usize = 100_000;

/// Feed outcomes per transaction: the writer's `MAX_BATCH` in `src/ingest.rs`
/// when these figures started (it is 16 now: less memory, the same speed);
/// kept so that figures compare across sessions.
const BATCH_FEEDS: usize = 64;

/// A small deterministic generator (SplitMix64): the same articles every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.range(0, from.len() - 1)]
    }
}

const COMMON: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "this",
    "are",
    "or",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "they",
    "were",
    "has",
    "would",
    "when",
    "will",
    "more",
    "can",
    "about",
    "after",
    "also",
    "new",
    "people",
    "year",
    "government",
    "minister",
    "said",
    "officials",
    "market",
    "company",
    "report",
    "city",
    "council",
    "election",
    "court",
    "police",
    "health",
    "climate",
    "energy",
    "prices",
    "workers",
    "students",
    "budget",
    "week",
    "million",
    "percent",
    "president",
];
const SYLLABLES: &[&str] = &[
    "ka", "ro", "mi", "ten", "val", "dor", "lin", "sa", "ber", "gu", "tor", "ni", "mar", "el",
    "zu", "pra", "shi", "ven", "ol", "dra", "ki", "mo", "ran", "te",
];

/// A word: mostly common, now and then a rarer one (names, places, terms),
/// so the full-text index sees a realistic spread of distinct terms.
fn word(rng: &mut Rng) -> String {
    if rng.range(0, 9) < 7 {
        rng.pick(COMMON).to_string()
    } else {
        (0..rng.range(2, 4)).map(|_| rng.pick(SYLLABLES)).collect()
    }
}

fn sentence(rng: &mut Rng) -> String {
    let words: Vec<String> = (0..rng.range(8, 22)).map(|_| word(rng)).collect();
    let mut s = words.join(" ");
    s[..1].make_ascii_uppercase();
    s.push('.');
    s
}

/// One article of feed `feed`, number `n` in the whole set.
fn article(rng: &mut Rng, feed: usize, n: usize, now: DateTime<Utc>) -> Article {
    let title_words: Vec<String> = (0..rng.range(5, 11)).map(|_| word(rng)).collect();
    let title = title_words.join(" ");
    let target = rng.range(1000, 5000);
    let mut paragraphs = Vec::new();
    let mut size = 0;
    while size < target {
        let p: Vec<String> = (0..rng.range(2, 5)).map(|_| sentence(rng)).collect();
        let p = p.join(" ");
        size += p.len() + 2;
        paragraphs.push(p);
    }
    let text = paragraphs.join("\n\n");
    let html: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    let url = format!(
        "https://www.site{feed}.example/news/2025/05/{}-{n}",
        title_words[..3].join("-")
    );
    let summary: String = paragraphs[0].chars().take(300).collect();
    let categories = (0..rng.range(0, 3))
        .map(|_| {
            rng.pick(&["world", "politics", "business", "tech", "sports"])
                .to_string()
        })
        .collect();
    let published = now - chrono::Duration::seconds(rng.range(0, 30 * 86400) as i64);
    Article {
        guid: if n.is_multiple_of(2) {
            url.clone()
        } else {
            format!("tag:site{feed}.example,2025:{n}")
        },
        content_hash: content_hash(&title, &text),
        // As ingest hands them to the writer (worked out on parse threads).
        near_key: NearKeyMemo(Some(near_key(&title, &text))),
        url: Some(url),
        title,
        authors: vec![format!("{} {}", word(rng), word(rng))],
        published: Some(published),
        updated: None,
        summary: Some(summary),
        content_html: Some(html),
        content_text: Some(text),
        categories,
        language: Some("en-us".to_string()),
        enclosures: Vec::new(),
        thumbnail: None,
        feed: FeedInfo {
            title: Some(format!("Site {feed}")),
            url: Some(format!("https://www.site{feed}.example/feed.xml")),
            site_url: Some(format!("https://www.site{feed}.example/")),
        },
    }
}

/// The articles, grouped into feeds of 20–50.
fn feeds_of_articles() -> Vec<Vec<Article>> {
    let mut rng = Rng(1);
    let now = Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap();
    let mut feeds = Vec::new();
    let mut n = 0;
    while n < ARTICLES {
        let size = rng.range(20, 50).min(ARTICLES - n);
        let feed = feeds.len();
        feeds.push(
            (n..n + size)
                .map(|i| article(&mut rng, feed, i, now))
                .collect(),
        );
        n += size;
    }
    feeds
}

fn feed_configs(count: usize, prefix: &str) -> Vec<FeedConfig> {
    (0..count)
        .map(|i| FeedConfig {
            name: format!("{prefix}{i}"),
            url: format!("https://www.{prefix}{i}.example/feed.xml"),
            interval: None,
            timezone: None,
            tags: Vec::new(),
            enabled: true,
        })
        .collect()
}

/// One 200 outcome per feed, for the feed rows `ids`, fetched at `at`.
fn updates(feeds: &[Vec<Article>], ids: &[i64], at: DateTime<Utc>) -> Vec<FeedUpdate> {
    feeds
        .iter()
        .zip(ids)
        .map(|(articles, &feed_id)| FeedUpdate {
            feed_id,
            fetched_at: at,
            next_fetch_at: at + chrono::Duration::minutes(30),
            outcome: Outcome::Fetched {
                status: 200,
                moved_to: None,
                etag: Some(format!("\"etag-{feed_id}\"")),
                last_modified: None,
                asked_interval: None,
                feed: articles[0].feed.clone(),
                articles: articles.clone(),
            },
            bytes: Some(100_000),
            duration_ms: 100,
            body_hash: None,
            unconditional: true,
            no_validators: None,
            malformed: false,
        })
        .collect()
}

/// Commits the updates `BATCH_FEEDS` at a time; returns the time taken.
fn commit_all(store: &mut Store, updates: &[FeedUpdate]) -> Duration {
    let started = Instant::now();
    for batch in updates.chunks(BATCH_FEEDS) {
        store.commit(batch).expect("commit");
    }
    started.elapsed()
}

/// Writes the full-text entries the commits queued, as the writer does when
/// idle; returns how many.
fn index_all(store: &mut Store) -> usize {
    store.index_all_pending(1024).expect("indexing")
}

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// `TRAWL_STORE_QUICK=N`: each measurement N times, medians printed.
fn quick(runs: usize, feeds: &[Vec<Article>], t0: DateTime<Utc>) {
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let report = |name: &str, wall: Vec<Duration>, cpu: Vec<Duration>| {
        let (wall, cpu) = (median(wall), median(cpu));
        println!(
            "store/{name:<12} wall {:>8.3} s  {:>9.0} articles/s  cpu {:>8.3} s",
            wall.as_secs_f64(),
            ARTICLES as f64 / wall.as_secs_f64(),
            cpu.as_secs_f64()
        );
    };
    let timed = |f: &mut dyn FnMut()| {
        let (w, c) = (Instant::now(), cpu_time());
        f();
        (w.elapsed(), cpu_time() - c)
    };
    let (mut nw, mut nc, mut iw, mut ic, mut tw, mut tc) = Default::default();
    let push = |v: &mut Vec<Duration>, d| v.push(d);
    let (mut fw, mut fc) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (w, c) = timed(&mut || rows_only(feeds));
        push(&mut fw, w);
        push(&mut fc, c);
    }
    report("rows-only", fw, fc);
    for _ in 0..runs {
        let (mut store, _dir, ids) = fresh_store(feeds.len());
        let batch = updates(feeds, &ids, t0);
        let (w1, c1) = timed(&mut || {
            commit_all(&mut store, &batch);
        });
        let (w2, c2) = timed(&mut || {
            index_all(&mut store);
        });
        push(&mut nw, w1);
        push(&mut nc, c1);
        push(&mut iw, w2);
        push(&mut ic, c2);
        push(&mut tw, w1 + w2);
        push(&mut tc, c1 + c2);
    }
    report("new", nw, nc);
    report("index", iw, ic);
    report("new+index", tw, tc);

    let (mut store, _dir, ids) = fresh_store(feeds.len());
    commit_all(&mut store, &updates(feeds, &ids, t0));
    index_all(&mut store);
    let mut again = updates(feeds, &ids, t0);
    let (mut uw, mut uc, mut ow, mut oc) = Default::default();
    for pass in 1..=runs as i64 {
        for u in &mut again {
            u.fetched_at = t0 + chrono::Duration::minutes(pass);
        }
        let (w, c) = timed(&mut || {
            commit_all(&mut store, &again);
        });
        push(&mut uw, w);
        push(&mut uc, c);
    }
    report("unchanged", uw, uc);
    for pass in 1..=runs {
        let ids = copy_feeds(&mut store, feeds.len(), pass as i64);
        let copies = updates(
            feeds,
            &ids,
            t0 + chrono::Duration::minutes(100 + pass as i64),
        );
        let (w, c) = timed(&mut || {
            commit_all(&mut store, &copies);
        });
        push(&mut ow, w);
        push(&mut oc, c);
    }
    report("other-feed", ow, oc);
}

/// `count` more feeds (`copy{pass}-0`, ...) beside the `count` original
/// ones, which stay configured; returns the new feeds' ids.
fn copy_feeds(store: &mut Store, count: usize, pass: i64) -> Vec<i64> {
    let configured = [
        feed_configs(count, "site"),
        feed_configs(count, &format!("copy{pass}-")),
    ]
    .concat();
    store.sync_feeds(&configured).expect("feeds")[count..]
        .iter()
        .map(|f| f.id)
        .collect()
}

/// A fresh database file with `count` feeds; returns it, its folder and the
/// feed ids.
fn fresh_store(count: usize) -> (Store, tempfile::TempDir, Vec<i64>) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut store = Store::open(&dir.path().join("bench.db")).expect("opening the database");
    let ids = store
        .sync_feeds(&feed_configs(count, "site"))
        .expect("feeds")
        .iter()
        .map(|f| f.id)
        .collect();
    (store, dir, ids)
}

fn benches(c: &mut Criterion) {
    let feeds = feeds_of_articles();
    let text_bytes: usize = feeds
        .iter()
        .flatten()
        .map(|a| a.content_text.as_ref().map_or(0, String::len))
        .sum();
    eprintln!(
        "store bench: {ARTICLES} articles in {} feeds, {:.1} MB of text, {BATCH_FEEDS} feeds per transaction",
        feeds.len(),
        text_bytes as f64 / 1e6
    );
    let t0 = Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap();
    if let Some(runs) = std::env::var("TRAWL_STORE_QUICK")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
    {
        quick(runs.max(1), &feeds, t0);
        return;
    }

    let mut group = c.benchmark_group("store");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(ARTICLES as u64));

    group.bench_function("new", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (mut store, _dir, ids) = fresh_store(feeds.len());
                let batch = updates(&feeds, &ids, t0);
                total += commit_all(&mut store, &batch);
            }
            total
        })
    });

    group.bench_function("new+index", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (mut store, _dir, ids) = fresh_store(feeds.len());
                let batch = updates(&feeds, &ids, t0);
                let started = Instant::now();
                commit_all(&mut store, &batch);
                index_all(&mut store);
                total += started.elapsed();
            }
            total
        })
    });

    // One database, filled once; every pass comes a minute after the last.
    let (mut store, _dir, ids) = fresh_store(feeds.len());
    commit_all(&mut store, &updates(&feeds, &ids, t0));
    index_all(&mut store);
    let mut again = updates(&feeds, &ids, t0);
    let mut pass = 0;
    group.bench_function("unchanged", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                pass += 1;
                let at = t0 + chrono::Duration::minutes(pass);
                for u in &mut again {
                    u.fetched_at = at;
                }
                total += commit_all(&mut store, &again);
            }
            total
        })
    });

    // The same entries from feeds that never gave them: new feed rows each pass.
    group.bench_function("other-feed", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                pass += 1;
                let ids = copy_feeds(&mut store, feeds.len(), pass);
                let at = t0 + chrono::Duration::minutes(pass);
                let copies = updates(&feeds, &ids, at);
                total += commit_all(&mut store, &copies);
            }
            total
        })
    });
    group.finish();
}

criterion_group!(store_benches, benches);
criterion_main!(store_benches);

/// The floor under `store/new`: the same rows, in the same transactions of
/// `BATCH_FEEDS` feeds, inserted into a table with the `articles` columns
/// and nothing else (no index, no lookup, no full-text queue), in a fresh
/// database file with trawl's settings (WAL, `synchronous = NORMAL`, a
/// 16 MiB page cache). Not trawl: what SQLite and this disk allow for
/// these bytes.
fn rows_only(feeds: &[Vec<Article>]) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut conn = rusqlite::Connection::open(dir.path().join("floor.db")).expect("database");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16384;
         CREATE TABLE articles (id INTEGER PRIMARY KEY, url TEXT, guid TEXT NOT NULL,
           title TEXT NOT NULL, authors TEXT NOT NULL, published_at TEXT, updated_at TEXT,
           summary TEXT, content_html TEXT, content_text TEXT, language TEXT,
           categories TEXT NOT NULL, enclosures TEXT NOT NULL, content_hash TEXT NOT NULL,
           first_seen_at TEXT NOT NULL, last_seen_at TEXT NOT NULL, feed_title TEXT,
           feed_url TEXT, feed_site_url TEXT, simhash INTEGER, duplicate_of INTEGER,
           thumbnail TEXT);",
    )
    .expect("schema");
    let seen = "2025-06-01T12:00:00Z";
    for batch in feeds.chunks(BATCH_FEEDS) {
        let tx = conn.transaction().expect("transaction");
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO articles (url, guid, title, authors, published_at, updated_at, \
                     summary, content_html, content_text, language, categories, enclosures, \
                     content_hash, first_seen_at, last_seen_at, feed_title, feed_url, \
                     feed_site_url, simhash, duplicate_of, thumbnail) VALUES (?1, ?2, ?3, ?4, \
                     ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14, ?15, ?16, ?17, ?18, \
                     NULL, NULL)",
                )
                .expect("statement");
            for a in batch.iter().flatten() {
                insert
                    .execute(rusqlite::params![
                        a.url,
                        a.guid,
                        a.title,
                        serde_json::to_string(&a.authors).unwrap(),
                        a.published.map(|t| t.to_rfc3339()),
                        None::<String>,
                        a.summary,
                        a.content_html,
                        a.content_text,
                        a.language,
                        serde_json::to_string(&a.categories).unwrap(),
                        "[]",
                        a.content_hash,
                        seen,
                        a.feed.title,
                        a.feed.url,
                        a.feed.site_url,
                        0i64,
                    ])
                    .expect("insert");
            }
        }
        tx.commit().expect("commit");
    }
}
