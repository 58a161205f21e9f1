//! Parse + normalize: bytes → articles through `trawl::parse::parse`, the
//! whole pipeline (charset decoding, feed-rs, dates, URLs, sanitizing, plain
//! text, hashes), on one core and on all cores.
//!
//! Two sets of documents, each parsed whole in one iteration:
//!
//! - `real`: every file of `../shared/corpus/real` (or `$TRAWL_CORPUS`),
//!   skipped with a message when the folder is absent;
//! - `generated`: 200 feeds made by `gen_feeds.py --feeds 200 --seed 1`
//!   (into `target/bench-data/`, once), skipped when python3 is missing.
//!
//! `feed-rs-only` is a reference, not trawl: the feed-rs parse alone over the
//! same (already decoded) documents, the part of `parse` that comes before
//! any normalizing. `floor-all-cores` is the other reference: on all
//! cores, charset decoding, feed-rs and then ammonia over each entry's HTML
//! body; the part of `parse` no normalizing code can avoid.
//!
//! Criterion reports articles/s and MiB/s for each; `benches/parse-vs-feedparser.py`
//! reads the medians back and prints MB/s beside Python feedparser's. See
//! BENCHMARKS.md.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use feed_rs::model::FeedType;
use trawl::parse::{Input, parse};

// The binary's allocator, so that the bench measures what `trawl` runs.
trawl::allocator!();

/// One document, with the address it is parsed as coming from (the base for
/// relative links, as in `ingest`).
struct Doc {
    url: String,
    bytes: Vec<u8>,
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shared_corpus() -> PathBuf {
    manifest_dir().join("../shared/corpus")
}

/// Where generated feeds go: under the target folder, never in the repo.
fn data_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("target"))
        .join("bench-data")
}

/// Every regular file of `dir` except `skip`, largest first (so the threads
/// of the all-cores run do not end waiting on one big file taken last).
fn read_docs(dir: &Path, skip: &[&str]) -> Vec<Doc> {
    let mut docs: Vec<Doc> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| !skip.iter().any(|s| e.file_name() == *s))
        .map(|e| Doc {
            url: format!("https://bench.example/{}", e.file_name().to_string_lossy()),
            bytes: std::fs::read(e.path()).expect("reading a corpus file"),
        })
        .collect();
    docs.sort_by(|a, b| b.bytes.len().cmp(&a.bytes.len()).then(a.url.cmp(&b.url)));
    docs
}

/// The real-world corpus, or `None` (with a message) when it is absent.
fn real_corpus() -> Option<Vec<Doc>> {
    let dir = std::env::var_os("TRAWL_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| shared_corpus().join("real"));
    if !dir.is_dir() {
        eprintln!(
            "parse bench: no real corpus at {}: skipping it",
            dir.display()
        );
        return None;
    }
    Some(read_docs(&dir, &["MANIFEST.tsv"]))
}

/// 200 generated feeds (seed 1), made once under `target/bench-data/`.
fn generated_feeds() -> Option<Vec<Doc>> {
    let dir = data_dir().join("feeds-200-seed1");
    if !dir.join("truth.json").is_file() {
        let script = shared_corpus().join("gen_feeds.py");
        let made = Command::new("python3")
            .arg(&script)
            .args(["--feeds", "200", "--seed", "1", "--out"])
            .arg(&dir)
            .status();
        match made {
            Ok(s) if s.success() => {}
            Ok(s) => {
                eprintln!(
                    "parse bench: {} failed ({s}): skipping generated feeds",
                    script.display()
                );
                return None;
            }
            Err(e) => {
                eprintln!("parse bench: cannot run python3 ({e}): skipping generated feeds");
                return None;
            }
        }
    }
    Some(read_docs(&dir, &["truth.json"]))
}

fn input(doc: &Doc) -> Input<'_> {
    Input {
        bytes: &doc.bytes,
        url: Some(&doc.url),
        content_type: None,
        content_language: None,
        timezone: chrono_tz::UTC,
        now: Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap(),
    }
}

/// Parses every document on this thread; returns the articles made.
fn parse_all(docs: &[Doc]) -> usize {
    docs.iter()
        .map(|d| parse(&input(d)).map_or(0, |p| black_box(p).articles.len()))
        .sum()
}

/// Parses every document on `threads` threads, each taking the next
/// unparsed document until none is left; returns the articles made.
fn parse_all_threads(docs: &[Doc], threads: usize) -> usize {
    on_threads(docs, threads, |doc| {
        parse(&input(doc)).map_or(0, |p| black_box(p).articles.len())
    })
}

/// The group of one set: ten samples of whole passes over it, throughput
/// in its articles and bytes.
fn group<'c>(
    c: &'c mut Criterion,
    name: &str,
    articles: usize,
    bytes: usize,
) -> BenchmarkGroup<'c, WallTime> {
    let mut group = c.benchmark_group(format!("parse/{name}"));
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(15));
    group.throughput(Throughput::ElementsAndBytes {
        elements: articles as u64,
        bytes: bytes as u64,
    });
    group
}

fn bench_set(c: &mut Criterion, name: &str, docs: &[Doc]) {
    let bytes: usize = docs.iter().map(|d| d.bytes.len()).sum();
    let articles = parse_all(docs);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!(
        "parse bench {name}: {} documents, {:.2} MB, {articles} articles; all cores = {cores}",
        docs.len(),
        bytes as f64 / 1e6
    );
    let mut g = group(c, name, articles, bytes);
    g.bench_function("one-core", |b| b.iter(|| parse_all(docs)));
    g.bench_function("all-cores", |b| b.iter(|| parse_all_threads(docs, cores)));

    // The floor under `one-core`: feed-rs alone on the decoded text (what
    // `parse` spends before normalizing a single entry). Same documents and
    // the same throughput figures, so the times compare directly.
    let decoded: Vec<String> = docs
        .iter()
        .map(|d| trawl::parse::charset::decode(&d.bytes, None).text)
        .collect();
    g.bench_function("feed-rs-only", |b| {
        b.iter(|| {
            decoded
                .iter()
                .map(|t| {
                    feed_rs::parser::parse(t.as_bytes()).map_or(0, |f| black_box(f).entries.len())
                })
                .sum::<usize>()
        })
    });
    // The floor under `all-cores`: what no normalizing code can avoid. The
    // bytes decoded to UTF-8 (trawl's charset detection, needed for the
    // feeds that declare one charset and are in another), then the two
    // crates trawl builds on: feed-rs, and ammonia (through
    // `html::sanitize`, trawl's whitelist) over each entry's HTML body.
    // No dates, URLs, plain text or hashes. If this is slower than a
    // target, no normalizing code can meet it.
    g.bench_function("floor-all-cores", |b| {
        b.iter(|| {
            on_threads(docs, cores, |d| {
                let text = trawl::parse::charset::decode(&d.bytes, None).text;
                black_box(feed_rs_and_ammonia(&text))
            })
        })
    });
    g.finish();
}

/// feed-rs's parse of `doc`, then ammonia over each entry's HTML body
/// (its content, else its summary); returns the bytes sanitized.
fn feed_rs_and_ammonia(doc: &str) -> usize {
    let Ok(feed) = feed_rs::parser::parse(doc.as_bytes()) else {
        return 0;
    };
    // As `parse` reads bodies: in RSS every body is HTML; in Atom and JSON
    // Feed, those typed as HTML.
    let rss = !matches!(feed.feed_type, FeedType::Atom | FeedType::JSON);
    let html = |mime: &str| rss || mime.contains("html");
    feed.entries
        .iter()
        .filter_map(|e| {
            let content = e.content.as_ref().and_then(|c| {
                let body = c.body.as_deref()?;
                html(c.content_type.as_str()).then_some(body)
            });
            let summary = e
                .summary
                .as_ref()
                .filter(|s| html(s.content_type.as_str()))
                .map(|s| s.content.as_str());
            content.or(summary)
        })
        .map(|h| trawl::parse::html::sanitize(h, None).len())
        .sum()
}

/// `work` over every item on `threads` threads, each taking the next item
/// not yet taken; returns the sum of what it returned.
fn on_threads<T: Sync>(items: &[T], threads: usize, work: impl Fn(&T) -> usize + Sync) -> usize {
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut sum = 0;
                    while let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) {
                        sum += work(item);
                    }
                    sum
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a bench thread panicked"))
            .sum()
    })
}

fn benches(c: &mut Criterion) {
    if let Some(docs) = real_corpus() {
        bench_set(c, "real", &docs);
    }
    if let Some(docs) = generated_feeds() {
        bench_set(c, "generated", &docs);
    }
}

criterion_group!(parse_benches, benches);
criterion_main!(parse_benches);
