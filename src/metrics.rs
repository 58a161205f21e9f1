//! Counters and histograms of the ingest path, exposed by the admin
//! listener as Prometheus text.
//!
//! Recording is lock-free (atomics inside the prometheus crate); the
//! scheduler loop's heartbeat is one atomic too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::ingest::{Fetched, Report};

pub struct Metrics {
    registry: Registry,
    fetches: IntCounterVec,
    statuses: IntCounterVec,
    articles: IntCounterVec,
    fetch_seconds: Histogram,
    parse_seconds: Histogram,
    feeds: IntGauge,
    feeds_failing: IntGauge,
    feeds_disabled: IntGauge,
    last_success_age: IntGauge,
    started: Instant,
    /// Milliseconds since `started` of the last successful ingest (0: none yet).
    last_success_ms: AtomicU64,
    /// Milliseconds since `started` of the scheduler loop's last turn.
    loop_ms: AtomicU64,
}

/// Buckets from 5 ms to about 80 s.
fn buckets() -> Vec<f64> {
    prometheus::exponential_buckets(0.005, 2.5, 12).unwrap_or_default()
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry =
            Registry::new_custom(Some("trawl".into()), None).expect("a valid metric prefix");
        let fetches = IntCounterVec::new(
            Opts::new(
                "fetches_total",
                "Feed fetches by outcome (stored, not_modified, error).",
            ),
            &["outcome"],
        )
        .expect("valid metric");
        let statuses = IntCounterVec::new(
            Opts::new(
                "http_responses_total",
                "HTTP answers by status class (2xx, 3xx, 4xx, 5xx, none).",
            ),
            &["class"],
        )
        .expect("valid metric");
        let articles = IntCounterVec::new(
            Opts::new(
                "articles_total",
                "Entries stored, by what they were (new, updated, duplicate, unchanged).",
            ),
            &["kind"],
        )
        .expect("valid metric");
        let fetch_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "fetch_duration_seconds",
                "Time to fetch a feed (request to last body byte).",
            )
            .buckets(buckets()),
        )
        .expect("valid metric");
        let parse_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "parse_duration_seconds",
                "Time to decode, parse and normalize a feed document.",
            )
            .buckets(buckets()),
        )
        .expect("valid metric");
        let feeds = IntGauge::new("feeds", "Enabled feeds.").expect("valid metric");
        let feeds_failing = IntGauge::new(
            "feeds_failing",
            "Feeds whose last fetch failed (consecutive_failures > 0).",
        )
        .expect("valid metric");
        let feeds_disabled =
            IntGauge::new("feeds_disabled", "Feeds disabled by a 410 Gone.").expect("valid metric");
        let last_success_age = IntGauge::new(
            "last_success_age_seconds",
            "Seconds since the last successful ingest (since start when none yet).",
        )
        .expect("valid metric");
        for c in [
            Box::new(fetches.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(statuses.clone()),
            Box::new(articles.clone()),
            Box::new(fetch_seconds.clone()),
            Box::new(parse_seconds.clone()),
            Box::new(feeds.clone()),
            Box::new(feeds_failing.clone()),
            Box::new(feeds_disabled.clone()),
            Box::new(last_success_age.clone()),
        ] {
            registry.register(c).expect("metric names are unique");
        }
        // Every series exists from the start, so a scrape shows zeros
        // rather than nothing before the first fetch.
        for o in ["stored", "not_modified", "error"] {
            fetches.with_label_values(&[o]);
        }
        for c in ["2xx", "3xx", "4xx", "5xx", "none"] {
            statuses.with_label_values(&[c]);
        }
        for k in ["new", "updated", "duplicate", "unchanged"] {
            articles.with_label_values(&[k]);
        }
        Metrics {
            registry,
            fetches,
            statuses,
            articles,
            fetch_seconds,
            parse_seconds,
            feeds,
            feeds_failing,
            feeds_disabled,
            last_success_age,
            started: Instant::now(),
            last_success_ms: AtomicU64::new(0),
            loop_ms: AtomicU64::new(0),
        }
    }

    /// Records one finished fetch.
    pub fn record(&self, r: &Report, status: Option<u16>, fetch: Duration, parse: Duration) {
        let outcome = match &r.result {
            Ok(Fetched::NotModified) => "not_modified",
            Ok(Fetched::Stored { counts, .. }) => {
                for (kind, n) in [
                    ("new", counts.new),
                    ("updated", counts.updated),
                    ("duplicate", counts.duplicate),
                    ("unchanged", counts.unchanged),
                ] {
                    self.articles.with_label_values(&[kind]).inc_by(n as u64);
                }
                "stored"
            }
            Err(_) => "error",
        };
        self.fetches.with_label_values(&[outcome]).inc();
        let class = match status {
            Some(s @ 100..=599) => ["1xx", "2xx", "3xx", "4xx", "5xx"][(s / 100 - 1) as usize],
            _ => "none",
        };
        self.statuses.with_label_values(&[class]).inc();
        self.fetch_seconds.observe(fetch.as_secs_f64());
        if !parse.is_zero() {
            self.parse_seconds.observe(parse.as_secs_f64());
        }
        if r.result.is_ok() {
            self.last_success_ms
                .store(self.millis_since_start(), Ordering::Relaxed);
        }
    }

    pub fn set_feeds(&self, enabled: u64, failing: u64, disabled: u64) {
        self.feeds.set(enabled as i64);
        self.feeds_failing.set(failing as i64);
        self.feeds_disabled.set(disabled as i64);
    }

    /// The scheduler loop calls this every turn; `/healthz` reads it.
    pub fn loop_alive(&self) {
        self.loop_ms
            .store(self.millis_since_start(), Ordering::Relaxed);
    }

    /// How long ago the scheduler loop last turned.
    pub fn loop_age(&self) -> Duration {
        let then = self.loop_ms.load(Ordering::Relaxed);
        Duration::from_millis(self.millis_since_start().saturating_sub(then))
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let last = self.last_success_ms.load(Ordering::Relaxed);
        let age_ms = self.millis_since_start().saturating_sub(last);
        self.last_success_age.set((age_ms / 1000) as i64);
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail on I/O; a failure would be a bug
        // in the metric definitions, and an empty answer shows it.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    fn millis_since_start(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
