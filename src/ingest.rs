//! The one orchestrator: fetch → parse → dedupe → store for one feed
//! ([`ingest_one`]), and for a set of feeds at once ([`ingest`]).
//!
//! Fetches run concurrently on tokio under a global limit and per-site
//! politeness (see [`scheduler::Politeness`]); parsing runs on the blocking
//! pool, off the async threads; every outcome goes to the single [`Writer`],
//! which commits whatever has queued up in one transaction. The one-off
//! `trawl fetch`, the daemon and the admin trigger all call [`ingest_one`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tracing::{info, warn};

use crate::config::Config;
use crate::dedupe;
use crate::fetch::{self, Document, FetchError, Fetcher, Limits, Response};
use crate::limits;
use crate::metrics::Metrics;
use crate::parse;
use crate::scheduler::{self, Hints, LastOutcome, Policy, Politeness};
use crate::store::{Counts, FeedRow, FeedUpdate, Outcome, Store};

/// How often a feed whose server answers 304 is fetched once without
/// validators, to check that the 304s are true.
const VERIFY_EVERY: chrono::Duration = chrono::Duration::hours(24);

/// One feed to ingest, with the settings normalization and scheduling need.
#[derive(Debug, Clone)]
pub struct Job {
    pub feed: FeedRow,
    pub timezone: Tz,
    /// The configured interval; `None` lets the publishing rate decide.
    pub interval: Option<Duration>,
    /// Publish times of the feed's latest stored articles, newest first.
    pub recent: Vec<DateTime<Utc>>,
}

/// What happened to one feed.
#[derive(Debug, Clone)]
pub struct Report {
    pub name: String,
    pub url: String,
    pub result: Result<Fetched, String>,
    pub elapsed: Duration,
}

/// A successful fetch.
#[derive(Debug, Clone)]
pub enum Fetched {
    NotModified,
    Stored {
        counts: Counts,
        /// Entries in the document.
        entries: usize,
        /// Non-fatal problems met while reading it.
        warnings: Vec<String>,
        /// Set when a permanent redirect moved the feed.
        moved_to: Option<String>,
    },
}

/// Everything [`ingest_one`] needs besides the job. Cheap to clone.
#[derive(Clone)]
pub struct Context {
    pub fetcher: Fetcher,
    pub writer: Writer,
    pub limiter: Limiter,
    pub policy: Policy,
    pub metrics: Arc<Metrics>,
    pub outage: Arc<Outage>,
    /// How much of a parsed feed is kept (`max_items`, `max_field_bytes`).
    pub caps: limits::Caps,
}

impl Context {
    pub fn new(
        config: &Config,
        writer: Writer,
        metrics: Arc<Metrics>,
    ) -> Result<Context, FetchError> {
        let d = &config.daemon;
        Ok(Context {
            fetcher: Fetcher::new(Limits::from_config(d))?,
            writer,
            limiter: Limiter::new(d.concurrency, d.per_host_concurrency, d.per_host_gap),
            policy: Policy {
                min_interval: d.min_interval,
                max_interval: d.max_interval,
                initial_interval: d.default_interval,
                ..Policy::default()
            },
            metrics,
            outage: Arc::new(Outage::default()),
            caps: limits::Caps {
                max_items: d.max_items,
                max_field_bytes: usize::try_from(d.max_field_bytes).unwrap_or(usize::MAX),
            },
        })
    }
}

/// How far back [`Outage`] looks.
const OUTAGE_WINDOW: Duration = Duration::from_secs(60);
/// How many fetches it needs to see before judging.
const OUTAGE_MIN_FETCHES: usize = 10;
/// The share of them failing to connect that means our network is down.
const OUTAGE_SHARE: f64 = 0.9;
/// How long the daemon stops starting fetches once it concludes that.
pub const OUTAGE_PAUSE: Duration = Duration::from_secs(60);

/// Notices when nearly every fetch in a short window fails before reaching
/// its server: then it is trawl's network that is down, and those failures
/// are not the feeds' fault.
#[derive(Default)]
pub struct Outage {
    state: std::sync::Mutex<OutageState>,
}

struct Seen {
    at: Instant,
    feed_id: i64,
    failed: bool,
    /// Counted against its feed as a failure (and not yet taken back).
    counted: bool,
}

#[derive(Default)]
struct OutageState {
    /// Fetches of the window, oldest first.
    recent: std::collections::VecDeque<Seen>,
    down_until: Option<Instant>,
}

impl Outage {
    /// Records one fetch's fate; true while the network is judged down. On
    /// the turn to "down", the failures of the window already counted
    /// against their feeds are taken back through the writer.
    pub fn record(&self, feed_id: i64, connect_failure: bool, writer: &Writer) -> bool {
        self.record_at(Instant::now(), feed_id, connect_failure, writer)
    }

    fn record_at(&self, now: Instant, feed_id: i64, failed: bool, writer: &Writer) -> bool {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while st
            .recent
            .front()
            .is_some_and(|s| now.duration_since(s.at) > OUTAGE_WINDOW)
        {
            st.recent.pop_front();
        }
        let mut seen = Seen {
            at: now,
            feed_id,
            failed,
            counted: failed,
        };
        if !failed {
            st.recent.push_back(seen);
            if st.down_until.take().is_some() {
                info!("the network is back: fetching again");
            }
            return false;
        }
        if st.down_until.is_some_and(|until| now < until) {
            seen.counted = false;
            st.recent.push_back(seen);
            return true;
        }
        let total = st.recent.len() + 1;
        let failures = st.recent.iter().filter(|s| s.failed).count() + 1;
        if total < OUTAGE_MIN_FETCHES || (failures as f64) < OUTAGE_SHARE * total as f64 {
            st.recent.push_back(seen);
            return false;
        }
        // Down. This fetch is deferred by the caller; the failures of the
        // window that were counted against their feeds are taken back.
        seen.counted = false;
        st.recent.push_back(seen);
        if st.down_until.is_none() {
            warn!(
                failures,
                total,
                "nearly every fetch fails to connect: trawl's network looks down; \
                 pausing {}s, these failures are not counted against the feeds",
                OUTAGE_PAUSE.as_secs()
            );
        }
        st.down_until = Some(now + OUTAGE_PAUSE);
        let mut ids = Vec::new();
        for s in st.recent.iter_mut().filter(|s| s.counted) {
            s.counted = false;
            ids.push(s.feed_id);
        }
        if !ids.is_empty() {
            let writer = writer.clone();
            tokio::spawn(async move {
                if let Err(e) = writer.run(move |s| s.forgive(&ids)).await {
                    warn!(error = %e, "cannot take back the outage's failures");
                }
            });
        }
        true
    }

    /// True while new fetches should wait for the network to come back.
    pub fn paused(&self) -> bool {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.down_until.is_some_and(|until| Instant::now() < until)
    }
}

/// The global limit on fetches in flight, and politeness per site.
#[derive(Clone)]
pub struct Limiter {
    global: Arc<Semaphore>,
    sites: Politeness,
    /// A one-off run does not wait out a site's pause (see
    /// [`Limiter::defer_paused_sites`]).
    defer_paused: bool,
}

/// Both permits of one fetch; dropping it frees them.
pub struct Permit {
    _site: scheduler::SitePermit,
    global: tokio::sync::OwnedSemaphorePermit,
}

impl Permit {
    /// Frees the site for its next fetch and keeps only the global slot.
    pub fn release_site(self) -> tokio::sync::OwnedSemaphorePermit {
        self.global
    }
}

impl Limiter {
    pub fn new(global: usize, per_site: usize, gap: Duration) -> Limiter {
        Limiter {
            global: Arc::new(Semaphore::new(global.max(1))),
            sites: Politeness::new(per_site.max(1), gap),
            defer_paused: false,
        }
    }

    /// For a one-off run (`trawl fetch`): a feed whose site a `Retry-After`
    /// paused is not fetched and not waited for, which could take hours;
    /// [`Limiter::acquire`] says until when the site is paused instead. The
    /// daemon waits the pause out.
    pub fn defer_paused_sites(&mut self) {
        self.defer_paused = true;
    }

    /// Waits for the site's turn, then for a global slot. The site first: a
    /// task waiting on a busy site must not sit on a global slot meanwhile.
    /// `Err` only with [`Limiter::defer_paused_sites`]: the end of the
    /// site's pause.
    pub async fn acquire(&self, url: &str) -> Result<Permit, tokio::time::Instant> {
        let site = self
            .sites
            .acquire_or_paused(url, !self.defer_paused)
            .await?;
        let global = self
            .global
            .clone()
            .acquire_owned()
            .await
            .expect("the global semaphore is never closed");
        Ok(Permit {
            _site: site,
            global,
        })
    }

    /// No new request starts on the site of `url` for `wait`.
    pub fn pause_site(&self, url: &str, wait: Duration) {
        self.sites
            .pause_site(url, tokio::time::Instant::now() + wait);
    }
}

/// Ingests every job (the one-off `trawl fetch`): each feed is leased under
/// `owner` first, so a daemon on the same database never fetches it at the
/// same moment. Each feed's report goes to `on_report` as the feed
/// completes, and is not kept: a caller that wants totals adds them up
/// there (at 10,000 feeds the reports were 2.6 MB of the heap at its peak).
pub async fn ingest(jobs: Vec<Job>, ctx: &Context, owner: &str, mut on_report: impl FnMut(Report)) {
    let mut set = tokio::task::JoinSet::new();
    let lease = ctx.fetcher.limits().timeout + Duration::from_secs(60);
    // The writer need not wait for more outcomes once every feed's is in.
    ctx.writer.expect(jobs.len()).await;
    // Every feed leased in one transaction. One that another process holds
    // (or every one, should that transaction fail) waits for its lease on
    // its own.
    let ids: Vec<i64> = jobs.iter().map(|j| j.feed.id).collect();
    let who = owner.to_string();
    let claimed = ctx
        .writer
        .run(move |s| s.claim_all(&ids, &who, Utc::now(), lease))
        .await
        .unwrap_or_default();
    for (i, job) in jobs.into_iter().enumerate() {
        let (ctx, owner) = (ctx.clone(), owner.to_string());
        let leased = claimed.get(i).copied().unwrap_or(false);
        set.spawn(async move {
            let lease = if leased {
                Ok(())
            } else {
                wait_for_lease(&ctx, &job.feed, &owner, lease).await
            };
            match lease {
                Ok(()) => ingest_one(job, &ctx).await,
                Err(e) => Report {
                    name: job.feed.name.clone(),
                    url: job.feed.url.clone(),
                    result: Err(e),
                    elapsed: Duration::ZERO,
                },
            }
        });
    }
    while let Some(done) = set.join_next().await {
        match done {
            Ok(report) => on_report(report),
            // A panic in one feed's task must not take the run down; it is a
            // bug, and the log says so.
            Err(e) => warn!(error = %e, "feed task failed"),
        }
    }
    let owner = owner.to_string();
    if let Err(e) = ctx.writer.run(move |s| s.release(&owner)).await {
        warn!(error = %e, "cannot release leases");
    }
}

/// Leases `feed` for `owner`, waiting while another process fetches it
/// (its lease ends with its commit, or at worst expires).
async fn wait_for_lease(
    ctx: &Context,
    feed: &FeedRow,
    owner: &str,
    lease: Duration,
) -> Result<(), String> {
    let give_up = Instant::now() + lease + Duration::from_secs(5);
    loop {
        let (id, who) = (feed.id, owner.to_string());
        if ctx
            .writer
            .run(move |s| s.claim(id, &who, Utc::now(), lease))
            .await?
        {
            return Ok(());
        }
        if Instant::now() > give_up {
            return Err("another trawl process is fetching this feed".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What the fetch stage produced, before storing.
struct Stage {
    outcome: Outcome,
    status: Option<u16>,
    warnings: Vec<String>,
    entries: usize,
    bytes: Option<u64>,
    body_hash: Option<String>,
    unconditional: bool,
    no_validators: Option<bool>,
    malformed: bool,
    hints: Hints,
    last: LastOutcome,
    new_times: Vec<DateTime<Utc>>,
    parse_time: Duration,
    /// The fetch failed before any answer came (DNS, connect, TLS).
    connect_failure: bool,
}

/// Fetches, parses and stores one feed, and schedules its next fetch. The
/// caller holds the feed's lease (or is the only process).
pub async fn ingest_one(job: Job, ctx: &Context) -> Report {
    let started = Instant::now();
    let permit = match ctx.limiter.acquire(&job.feed.url).await {
        Ok(permit) => permit,
        Err(until) => return Box::pin(site_paused(&job.feed, ctx, until, started)).await,
    };
    // Boxed: a one-off run spawns every feed's task at once, and each waits
    // for its permits above holding a future as large as its largest state.
    // Unboxed, the fetch, parse and commit states made that 4,000 bytes a
    // feed (40 MB of waiting tasks at 10,000 feeds); boxed, they are
    // allocated only once the feed's turn comes.
    Box::pin(ingest_permitted(job, ctx, permit, started)).await
}

/// [`ingest_one`] once the feed holds its permits.
async fn ingest_permitted(job: Job, ctx: &Context, permit: Permit, started: Instant) -> Report {
    let feed = &job.feed;
    let fetched_at = Utc::now();
    let fetch_started = Instant::now();
    let stage = fetch_and_parse(&job, ctx, fetched_at).await;
    // The site may take its next fetch now, but the global slot is held
    // until the outcome is in the writer's (bounded) queue: when the writer
    // is slower than fetch and parse, this bounds the parsed feeds waiting
    // for it in memory (without it, `trawl fetch` of 1,000 feeds held nearly
    // all of them: 270 MiB peak RSS; 10,000 feeds: 2.5 GiB).
    let slot = permit.release_site();
    let fetch_time = fetch_started.elapsed().saturating_sub(stage.parse_time);

    let failures = match stage.last {
        LastOutcome::Failure { .. } | LastOutcome::Gone => feed.consecutive_failures + 1,
        _ => 0,
    };
    let mut times = stage.new_times.clone();
    times.extend(job.recent.iter().copied());
    times.sort_unstable_by(|a, b| b.cmp(a));
    times.dedup();
    let next_fetch_at = scheduler::next_fetch(
        fetched_at,
        job.interval,
        &times,
        &stage.hints,
        failures,
        &stage.last,
        &ctx.policy,
        scheduler::random_fraction(feed.id, fetched_at),
    )
    // 410: disabled, so the time does not matter; the store clears it.
    .unwrap_or(fetched_at + chrono::Duration::days(365));

    // Nearly every fetch failing to connect at once is our network's fault,
    // not the feeds': such failures are recorded but not counted.
    let mut stage = stage;
    let mut next_fetch_at = next_fetch_at;
    if let Outcome::Failed { error, .. } = &stage.outcome
        && stage.connect_failure
    {
        if ctx.outage.record(feed.id, true, &ctx.writer) {
            stage.outcome = Outcome::Deferred {
                error: format!("not counted, trawl's network looked down: {error}"),
            };
            next_fetch_at = fetched_at
                + chrono::Duration::from_std(OUTAGE_PAUSE).unwrap_or_default()
                    * (1 + (scheduler::random_fraction(feed.id, fetched_at) * 2.0) as i32);
        }
    } else if stage.status.is_some() {
        ctx.outage.record(feed.id, false, &ctx.writer);
    }
    let moved_to = match &stage.outcome {
        Outcome::Fetched { moved_to, .. } | Outcome::NotModified { moved_to, .. } => {
            moved_to.clone()
        }
        Outcome::Failed { .. } | Outcome::Deferred { .. } => None,
    };
    let error = match &stage.outcome {
        Outcome::Failed { error, .. } | Outcome::Deferred { error } => Some(error.clone()),
        _ => None,
    };
    let not_modified = matches!(stage.outcome, Outcome::NotModified { .. });
    let update = FeedUpdate {
        feed_id: feed.id,
        fetched_at,
        next_fetch_at,
        outcome: stage.outcome,
        bytes: stage.bytes,
        duration_ms: started.elapsed().as_millis().try_into().unwrap_or(u64::MAX),
        body_hash: stage.body_hash,
        unconditional: stage.unconditional,
        no_validators: stage.no_validators,
        malformed: stage.malformed,
    };
    let committed = match ctx.writer.queue(update).await {
        Ok(answer) => {
            drop(slot);
            answer.await
        }
        Err(e) => Err(e),
    };
    let store_failed = committed.is_err();
    let result = match committed {
        Err(e) => Err(format!("storing failed: {e}")),
        Ok(_) if error.is_some() => Err(error.unwrap_or_default()),
        Ok(_) if not_modified => Ok(Fetched::NotModified),
        Ok(counts) => Ok(Fetched::Stored {
            counts,
            entries: stage.entries,
            warnings: stage.warnings,
            moved_to,
        }),
    };
    let elapsed = started.elapsed();
    match &result {
        Ok(Fetched::Stored { counts, .. }) => info!(
            feed = %feed.name, url = %feed.url, status = stage.status, new = counts.new,
            copies = counts.near, updated = counts.updated, duplicates = counts.duplicate,
            ms = elapsed.as_millis() as u64, "fetched"
        ),
        Ok(Fetched::NotModified) => {
            info!(feed = %feed.name, url = %feed.url, status = 304, "not modified")
        }
        Err(e) => {
            warn!(feed = %feed.name, url = %feed.url, status = stage.status, error = %e, "fetch failed")
        }
    }
    // Logged first: recording it may have to wait for space to return.
    if let (true, Err(error)) = (store_failed, &result) {
        record_store_failure(ctx, feed.id, fetched_at, stage.status, error).await;
    }
    let timings = (fetch_time, stage.parse_time);
    reported(ctx, feed, result, elapsed, stage.status, timings)
}

/// The feed's report, once counted in the metrics with its status and its
/// (fetch, parse) times.
fn reported(
    ctx: &Context,
    feed: &FeedRow,
    result: Result<Fetched, String>,
    elapsed: Duration,
    status: Option<u16>,
    (fetch, parse): (Duration, Duration),
) -> Report {
    let report = Report {
        name: feed.name.clone(),
        url: feed.url.clone(),
        result,
        elapsed,
    };
    ctx.metrics.record(&report, status, fetch, parse);
    report
}

/// A one-off run's feed whose site is paused (a `Retry-After` from another
/// feed of the site): not fetched, recorded as deferred until the pause
/// ends (not counted against the feed), and reported as failed.
async fn site_paused(
    feed: &FeedRow,
    ctx: &Context,
    until: tokio::time::Instant,
    started: Instant,
) -> Report {
    let now = Utc::now();
    let left = until.saturating_duration_since(tokio::time::Instant::now());
    let until = now + chrono::Duration::from_std(left).unwrap_or_default();
    let error = format!(
        "deferred: site paused until {} (Retry-After)",
        crate::article::format_time(&until)
    );
    let update = FeedUpdate {
        feed_id: feed.id,
        fetched_at: now,
        next_fetch_at: until,
        outcome: Outcome::Deferred {
            error: error.clone(),
        },
        bytes: None,
        duration_ms: 0,
        body_hash: None,
        unconditional: false,
        no_validators: None,
        malformed: false,
    };
    if let Err(e) = ctx.writer.commit(update).await {
        warn!(feed = %feed.name, error = %e, "cannot record the deferral");
    }
    warn!(feed = %feed.name, url = %feed.url, error = %error, "fetch deferred");
    let nothing = (Duration::ZERO, Duration::ZERO);
    reported(ctx, feed, Err(error), started.elapsed(), None, nothing)
}

/// Records on the feed that its outcome could not be stored (a full disk,
/// a read-only database), in a small write of its own that also ends the
/// feed's lease, so the next try, a minimal interval later, need not wait
/// for the lease to expire. That write may fail for the same reason: it is
/// retried every few seconds for as long as the lease would have lasted,
/// so the feed is fetched again soon after space returns.
async fn record_store_failure(
    ctx: &Context,
    feed_id: i64,
    fetched_at: DateTime<Utc>,
    status: Option<u16>,
    error: &str,
) {
    const RETRY: Duration = Duration::from_secs(2);
    let give_up = Instant::now() + ctx.fetcher.limits().timeout + Duration::from_secs(60);
    let retry = chrono::Duration::from_std(ctx.policy.min_interval).unwrap_or_default();
    loop {
        let failure = FeedUpdate {
            feed_id,
            fetched_at,
            next_fetch_at: Utc::now() + retry,
            outcome: failed(status, error.to_string()),
            bytes: None,
            duration_ms: 0,
            body_hash: None,
            unconditional: false,
            no_validators: None,
            malformed: false,
        };
        match ctx.writer.commit(failure).await {
            Ok(_) => return,
            Err(e) if e != WRITER_STOPPED && Instant::now() + RETRY < give_up => {
                warn!(feed_id, error = %e, "cannot record the failure to store either; retrying");
                tokio::time::sleep(RETRY).await;
            }
            Err(e) => {
                warn!(feed_id, error = %e, "cannot record the failure to store; its lease will expire");
                return;
            }
        }
    }
}

/// The fetch and parse of [`ingest_one`], without storing.
async fn fetch_and_parse(job: &Job, ctx: &Context, now: DateTime<Utc>) -> Stage {
    let feed = &job.feed;
    // A server whose 304s were caught hiding changes gets no validators.
    let send_validators = !feed.no_validators;
    let request = fetch::Request {
        url: &feed.url,
        etag: feed.etag.as_deref().filter(|_| send_validators),
        last_modified: feed.last_modified.as_deref().filter(|_| send_validators),
    };
    let unconditional = request.etag.is_none() && request.last_modified.is_none();
    let mut stage = Stage {
        outcome: Outcome::NotModified {
            status: 304,
            moved_to: None,
        },
        status: None,
        warnings: Vec::new(),
        entries: 0,
        bytes: None,
        body_hash: None,
        unconditional,
        no_validators: None,
        malformed: false,
        hints: Hints::default(),
        last: LastOutcome::NotModified,
        new_times: Vec::new(),
        parse_time: Duration::ZERO,
        connect_failure: false,
    };
    let doc = match ctx.fetcher.fetch(&request).await {
        Ok(Response::NotModified { moved_to, cache }) => {
            stage.status = Some(304);
            stage.hints = http_hints(&cache, now);
            // The document is the one last fetched, so what it asked for
            // (its `<ttl>`, its `sy:updatePeriod`: the longer) still holds.
            stage.hints.ttl = feed.asked_interval;
            let verify = feed.body_hash.is_some()
                && feed
                    .last_full_fetch_at
                    .is_none_or(|t| now - t > VERIFY_EVERY);
            if !verify {
                stage.outcome = Outcome::NotModified {
                    status: 304,
                    moved_to,
                };
                return stage;
            }
            // Once a day, check that "not modified" is true: fetch the whole
            // document and compare it with the last one stored.
            let url = moved_to.as_deref().unwrap_or(&feed.url);
            let full = fetch::Request {
                url,
                ..Default::default()
            };
            match ctx.fetcher.fetch(&full).await {
                Ok(Response::Document(mut doc)) => {
                    stage.unconditional = true;
                    let hash = sha256_hex(&doc.body);
                    if feed.body_hash.as_deref() != Some(hash.as_str()) {
                        warn!(
                            feed = %feed.name, url = %feed.url,
                            "the server answered 304 Not Modified to a changed feed: no more validators for it"
                        );
                        stage.no_validators = Some(true);
                    }
                    doc.moved_to = doc.moved_to.or(moved_to);
                    doc
                }
                // The check failed for its own reasons: the 304 stands.
                _ => {
                    stage.outcome = Outcome::NotModified {
                        status: 304,
                        moved_to,
                    };
                    return stage;
                }
            }
        }
        Ok(Response::Document(doc)) => doc,
        Err(e) => {
            stage.status = e.status();
            stage.connect_failure = e.is_connect();
            stage.last = match &e {
                FetchError::Status { status: 410, .. } => LastOutcome::Gone,
                FetchError::Status {
                    retry_after: Some(ra),
                    ..
                } => {
                    let wait = scheduler::parse_retry_after(ra, now);
                    if let Some(wait) = wait {
                        // The site asked everyone to slow down, not only this feed.
                        ctx.limiter.pause_site(&feed.url, wait);
                    }
                    LastOutcome::Failure { retry_after: wait }
                }
                _ => LastOutcome::Failure { retry_after: None },
            };
            stage.outcome = failed(e.status(), e.to_string());
            return stage;
        }
    };
    parse_document(job, doc, now, stage, ctx.caps).await
}

/// Parses a fetched document on the blocking pool and fills the stage.
async fn parse_document(
    job: &Job,
    doc: Document,
    now: DateTime<Utc>,
    mut stage: Stage,
    caps: limits::Caps,
) -> Stage {
    let status = doc.status;
    stage.status = Some(status);
    stage.bytes = Some(doc.body.len() as u64);
    stage.hints = http_hints(&doc.cache, now);
    let tz = job.timezone;
    let name = job.feed.name.clone();
    // One parse per core at most, all feeds together: a parse takes a few
    // times its document in memory, and that is what bounds the peak.
    let _slot = PARSE_SLOTS.acquire().await;
    let parse_started = Instant::now();
    // Parsing is CPU work: keep it off the async threads.
    let parsed = tokio::task::spawn_blocking(move || {
        let hash = sha256_hex(&doc.body);
        let result = parse::parse(&parse::Input {
            bytes: &doc.body,
            url: Some(&doc.final_url),
            content_type: doc.content_type.as_deref(),
            content_language: doc.content_language.as_deref(),
            timezone: tz,
            now,
        })
        // Capped before anything is stored: items past max_items, text past max_field_bytes.
        .map(|mut parsed| {
            ready_for_store(&mut parsed, &caps, &name);
            parsed
        });
        (result, doc, hash)
    })
    .await;
    stage.parse_time = parse_started.elapsed();
    match parsed {
        Ok((Ok(parsed), doc, hash)) => {
            stage.hints.ttl = parsed.ttl;
            stage.hints.update_period = parsed.update_period;
            stage.entries = parsed.articles.len();
            stage.malformed = parsed.malformed();
            stage.body_hash = Some(hash);
            stage.last = LastOutcome::Success;
            stage.new_times = parsed.articles.iter().filter_map(|a| a.published).collect();
            stage.warnings = parsed.warnings;
            stage.outcome = Outcome::Fetched {
                status,
                moved_to: doc.moved_to,
                etag: doc.etag,
                last_modified: doc.last_modified,
                asked_interval: parsed.ttl.max(parsed.update_period),
                feed: parsed.feed,
                articles: parsed.articles,
            };
        }
        Ok((Err(e), _, _)) => {
            stage.last = LastOutcome::Failure { retry_after: None };
            stage.outcome = failed(Some(status), e.to_string());
        }
        Err(e) => {
            stage.last = LastOutcome::Failure { retry_after: None };
            stage.outcome = failed(Some(status), format!("parser crashed: {e}"));
        }
    }
    stage
}

/// The async runtime every command that fetches runs on.
///
/// Its threads (fetches, and the parses on its blocking pool) run at nice
/// +5 (`WORKER_NICE`), behind the writer thread, which keeps the default. In
/// a first pass both cores are busy: at equal priority the writer got ~0.55
/// of a core while always runnable, fell behind the parses, and left the
/// full-text entries it had no idle time for to a one-core tail after the
/// fetches (~1 s of a 1,000-feed pass). Ahead of the parses it keeps up,
/// and indexes while they still run: that tail fell to 0.28 s. (At 10,000
/// feeds the writer waits on its writes instead, and the tail stays;
/// BENCHMARKS.md, sixth session.) Nice only matters while the CPU is
/// contended. Threads spawned from these inherit it, so the writer must be
/// spawned from elsewhere (the main thread, as `trawl fetch` and the daemon
/// do).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    // Absolute, from the caller's: a thread inherits the nice value of the
    // one that spawns it, and the blocking pool's threads are spawned by
    // the runtime's own (already lowered) threads.
    let nice = (thread_nice() + WORKER_NICE).min(19);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(move || set_thread_nice(nice))
        .build()
}

/// How far [`runtime`]'s threads run behind the thread that builds it.
const WORKER_NICE: libc::c_int = 5;

/// The calling thread's nice value (Linux keeps one per thread).
fn thread_nice() -> libc::c_int {
    // SAFETY: a syscall that touches no memory of ours.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, thread_id()) }
}

fn set_thread_nice(nice: libc::c_int) {
    // A failure (a seccomp filter, say) leaves the thread where it was:
    // slower, not wrong.
    // SAFETY: a syscall that touches no memory of ours.
    unsafe { libc::setpriority(libc::PRIO_PROCESS, thread_id(), nice) };
}

/// The calling thread's kernel id: what the priority calls take to mean
/// one thread rather than the process.
fn thread_id() -> libc::id_t {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as libc::id_t }
}

/// Parses running at once (see [`parse_document`]).
static PARSE_SLOTS: std::sync::LazyLock<Semaphore> = std::sync::LazyLock::new(|| {
    Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
});

/// What a parse thread does to a parsed feed before the writer gets it:
/// items past `max_items` and text past `max_field_bytes` cut (see
/// [`limits::cap_parsed`]), then each article's near-duplicate
/// fingerprint worked out, here rather than on the single writer thread
/// (7-11 % of its time, perf), and over the texts as capped, which are the
/// ones stored.
fn ready_for_store(parsed: &mut parse::Parsed, caps: &limits::Caps, feed: &str) {
    if let Some(note) = limits::cap_parsed(parsed, caps) {
        warn!(feed = %feed, "{note}");
    }
    for a in &mut parsed.articles {
        a.near_key = dedupe::NearKeyMemo(Some(dedupe::near_key(
            &a.title,
            a.content_text.as_deref().unwrap_or(""),
        )));
        // A parsed feed waits for the writer (a batch queued, a batch
        // committing): its texts keep only the bytes they use. The
        // sanitizer's buffers grow by doubling, and massif put a third of
        // the heap's peak in a 1,000-feed first pass in their spare room.
        for text in [&mut a.content_html, &mut a.content_text, &mut a.summary]
            .into_iter()
            .flatten()
        {
            text.shrink_to_fit();
        }
    }
}

/// The floors an HTTP answer sets on the next fetch.
fn http_hints(cache: &fetch::CacheHeaders, now: DateTime<Utc>) -> Hints {
    Hints {
        max_age: cache
            .cache_control
            .as_deref()
            .and_then(scheduler::parse_cache_control_max_age),
        expires: cache
            .expires
            .as_deref()
            .and_then(scheduler::parse_http_date)
            .filter(|t| *t > now),
        ..Hints::default()
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn failed(status: Option<u16>, error: String) -> Outcome {
    Outcome::Failed { status, error }
}

/// The single database writer: a thread that owns the [`Store`]. It commits
/// every feed outcome that has queued up since its last commit in one
/// transaction, and runs the other writes (leases, config sync) in between,
/// so the process never has two connections writing.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Msg>,
}

type Reply<T> = oneshot::Sender<Result<T, String>>;

enum Msg {
    // Boxed: an update carries a whole feed's articles.
    Commit(Box<FeedUpdate>, Reply<Counts>),
    /// Any other write, run on the writer thread in its turn.
    Run(WriterJob),
    /// How many outcomes are still to come, when the sender knows (a
    /// one-off run): once they are all in, a batch is committed without
    /// waiting for more.
    Expect(usize),
}

/// The writer thread's handle; [`WriterThread::finish`] gives the store back
/// once every [`Writer`] clone is dropped.
pub struct WriterThread {
    thread: std::thread::JoinHandle<Store>,
}

/// How many feeds' outcomes one transaction takes at most, and how many may
/// wait for it. With the full-text index off the commit path, 64 was no
/// quicker than 16 and held twice as many parsed feeds in memory
/// (benches/ingest.sh, 1,000 feeds: peak RSS 128 -> 103 MiB, same run).
const MAX_BATCH: usize = 16;

/// Articles given their full-text entry per transaction when the writer is
/// idle (see [`Store::index_pending`]): large enough that FTS5 writes few,
/// large segments, small enough that a commit arriving meanwhile waits
/// only a fraction of a second.
pub const INDEX_BATCH: usize = 1024;

/// How long a batch short of [`MAX_BATCH`] waits for more outcomes once the
/// writer has nothing else to do (see `writer_loop`). In a 1,000-feed
/// first pass the writer made 279 commits when each took only what had
/// arrived, 80 with a 20 ms wait, 66 with 100 ms (BENCHMARKS.md).
const GATHER: Duration = Duration::from_millis(50);

const WRITER_STOPPED: &str = "the database writer has stopped";

impl Writer {
    pub fn spawn(mut store: Store) -> (Writer, WriterThread) {
        // One batch queued while the writer gathers or commits the last:
        // deeper would only hold more parsed feeds in memory (see
        // `ingest_one`), not commit faster.
        let (tx, rx) = mpsc::channel::<Msg>(MAX_BATCH);
        let thread = std::thread::Builder::new()
            .name("trawl-writer".into())
            .spawn(move || {
                writer_loop(&mut store, rx);
                store
            })
            .expect("spawning the writer thread");
        (Writer { tx }, WriterThread { thread })
    }

    /// Queues one feed's outcome and waits until it is committed.
    pub async fn commit(&self, update: FeedUpdate) -> Result<Counts, String> {
        self.queue(update).await?.await
    }

    /// Queues one feed's outcome (waiting while the queue is full); the
    /// future it returns resolves once the outcome is committed.
    pub async fn queue(
        &self,
        update: FeedUpdate,
    ) -> Result<impl Future<Output = Result<Counts, String>> + use<>, String> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Msg::Commit(Box::new(update), reply))
            .await
            .map_err(|_| WRITER_STOPPED.to_string())?;
        Ok(async move { answer.await.map_err(|_| WRITER_STOPPED.to_string())? })
    }

    /// Tells the writer that `n` outcomes are to come and then no more (see
    /// `Batch::expected`).
    pub async fn expect(&self, n: usize) {
        // A stopped writer has nothing to wait for.
        let _ = self.tx.send(Msg::Expect(n)).await;
    }

    /// Runs `f` on the writer thread and returns its result.
    pub async fn run<T, F>(&self, f: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, crate::store::StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, String>>();
        let job = Box::new(move |store: &mut Store| {
            let _ = reply.send(f(store).map_err(|e| store_error(&e)));
        });
        self.tx
            .send(Msg::Run(job))
            .await
            .map_err(|_| WRITER_STOPPED.to_string())?;
        answer.await.map_err(|_| WRITER_STOPPED.to_string())?
    }
}

/// A store error as one line. SQLite's words for a failed write ("disk I/O
/// error", "attempt to write a readonly database") get what usually causes
/// them added, so that the log says what to look at.
fn store_error(e: &crate::store::StoreError) -> String {
    use rusqlite::ErrorCode;
    let hint = match e {
        crate::store::StoreError::Sql(rusqlite::Error::SqliteFailure(f, _)) => match f.code {
            ErrorCode::SystemIoFailure => Some(
                "writing the database failed: is the disk full, the file over a size limit, the file system read-only, or the disk failing?",
            ),
            ErrorCode::ReadOnly => {
                Some("the database file became read-only, or was moved or replaced")
            }
            ErrorCode::DiskFull => Some("no space left for the database"),
            _ => None,
        },
        _ => None,
    };
    match hint {
        Some(hint) => format!("{e} ({hint})"),
        None => e.to_string(),
    }
}

/// The writer thread: commits batches of feed outcomes, runs other jobs in
/// their turn, and writes the full-text entries that commits only queue.
///
/// Every commit rewrites each index leaf its articles land on (URL, content
/// hash, times: random places), so the bytes written grow with the number
/// of commits more than with the number of articles. Full-text work comes
/// first unless a full batch waits, and while it runs the queue fills: the
/// next commit takes many feeds instead of the one or two that arrived
/// since the last. A batch that stays short is committed once the writer
/// has nothing else to do and no more outcomes come within [`GATHER`], or
/// at once when every outcome the sender said to expect is in.
fn writer_loop(store: &mut Store, mut rx: mpsc::Receiver<Msg>) {
    // The wait for a batch to fill needs a timer; the writer is no task of
    // the caller's runtime, so it keeps one of its own.
    let timer = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("building the writer's timer");
    let mut batch = Batch::default();
    // A job taken from the queue behind the batch: it runs after it.
    let mut job: Option<WriterJob> = None;
    let mut closed = false;
    // A backlog from an earlier run included.
    let mut index_behind = true;
    loop {
        while job.is_none() && batch.updates.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(msg) => batch.take(msg, &mut job),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        let due = batch.updates.len() >= MAX_BATCH
            || job.is_some()
            || closed
            || batch.expected == Some(0)
            || batch.since.is_some_and(|t| t.elapsed() >= GATHER);
        if !batch.updates.is_empty() && due {
            batch.commit(store);
            index_behind = true;
            continue;
        }
        if let Some(f) = job.take() {
            f(store);
            continue;
        }
        if closed {
            return;
        }
        if index_behind {
            index_behind = match store.index_pending(INDEX_BATCH) {
                Ok(n) => n == INDEX_BATCH,
                Err(e) => {
                    warn!(error = %e, "full-text indexing failed");
                    false
                }
            };
            continue;
        }
        // Nothing to do but wait: for the next message, or for the batch
        // being gathered to be due.
        let next = match batch.since {
            None => rx.blocking_recv(),
            Some(since) => {
                let until = tokio::time::Instant::from_std(since + GATHER);
                // Made inside `block_on`: a timeout needs the timer's context.
                match timer.block_on(async { tokio::time::timeout_at(until, rx.recv()).await }) {
                    Ok(next) => next,
                    Err(_) => continue,
                }
            }
        };
        match next {
            Some(msg) => batch.take(msg, &mut job),
            None => closed = true,
        }
    }
}

type WriterJob = Box<dyn FnOnce(&mut Store) + Send>;

/// Feed outcomes waiting for one transaction.
#[derive(Default)]
struct Batch {
    updates: Vec<FeedUpdate>,
    replies: Vec<Reply<Counts>>,
    /// When the writer took the first of them.
    since: Option<Instant>,
    /// Outcomes still to come ([`Msg::Expect`], less those taken since):
    /// at 0 no batch waits for more. A feed that ends without an outcome
    /// leaves it above 0, and the last batch waits [`GATHER`] as it would
    /// without it; one with two (a failure, then its record) only makes a
    /// batch due early.
    expected: Option<usize>,
}

impl Batch {
    /// Adds an outcome, or sets a job aside to run once the batch is in.
    fn take(&mut self, msg: Msg, job: &mut Option<WriterJob>) {
        match msg {
            Msg::Commit(update, reply) => {
                self.since.get_or_insert_with(Instant::now);
                self.updates.push(*update);
                self.replies.push(reply);
                if let Some(n) = &mut self.expected {
                    *n = n.saturating_sub(1);
                }
            }
            Msg::Run(f) => *job = Some(f),
            Msg::Expect(n) => self.expected = Some(n),
        }
    }

    fn commit(&mut self, store: &mut Store) {
        let updates = std::mem::take(&mut self.updates);
        let replies = std::mem::take(&mut self.replies);
        self.since = None;
        match store.commit(&updates) {
            Ok(counts) => {
                for (reply, c) in replies.into_iter().zip(counts) {
                    let _ = reply.send(Ok(c));
                }
            }
            Err(e) => {
                // Rolled back whole; each feed records its failure and is
                // fetched again (ingest_one).
                let msg = store_error(&e);
                warn!(error = %msg, feeds = updates.len(), "commit failed");
                for reply in replies {
                    let _ = reply.send(Err(msg.clone()));
                }
            }
        }
    }
}

impl WriterThread {
    /// Waits for the writer to drain its queue and returns the store. Call it
    /// after every [`Writer`] clone is dropped, or it waits forever.
    pub fn finish(self) -> Store {
        // A panic on the writer thread is a bug; let it surface as one.
        self.thread
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fingerprint handed to the writer is the one of the text it
    /// stores: worked out after the cap has cut the text, not before.
    #[test]
    fn fingerprints_are_those_of_the_capped_text() {
        let words: Vec<String> = (0..400).map(|i| format!("word{i}")).collect();
        let text = words.join(" ");
        let doc = format!(
            "<rss version=\"2.0\"><channel><title>t</title><item><title>A story</title>\
             <guid>g1</guid><description>{text}</description></item></channel></rss>"
        );
        let mut parsed = parse::tests::feed(&doc);
        let caps = limits::Caps {
            max_items: 10,
            max_field_bytes: 1000,
        };
        ready_for_store(&mut parsed, &caps, "t");
        let a = &parsed.articles[0];
        let stored = a.content_text.as_deref().unwrap();
        assert!(
            stored.len() <= 1000 && stored.starts_with("word0 word1"),
            "{stored}"
        );
        let memo = a.near_key.0.expect("worked out").fingerprint(40);
        assert_eq!(memo, dedupe::fingerprint(&a.title, stored, 40));
        assert!(memo.is_some());
        assert_ne!(
            memo,
            dedupe::fingerprint(&a.title, &text, 40),
            "the whole text's"
        );
    }

    /// A parsed feed waits for the writer holding only the bytes its texts
    /// use: the sanitizer's output buffers grow by doubling.
    #[test]
    fn texts_waiting_for_the_writer_keep_no_spare_room() {
        let body = "<p>A paragraph &amp; a <a href=\"/x\">link</a>.</p>".repeat(300);
        let doc = format!(
            "<rss version=\"2.0\"><channel><title>t</title><link>https://t.test/</link>\
             <item><title>A story</title><guid>g1</guid><description>short summary</description>\
             <content:encoded xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">\
             <![CDATA[{body}]]></content:encoded></item></channel></rss>"
        );
        let mut parsed = parse::tests::feed(&doc);
        let caps = limits::Caps {
            max_items: 10,
            max_field_bytes: 1 << 20,
        };
        let spare = |p: &parse::Parsed| -> usize {
            let a = &p.articles[0];
            [&a.content_html, &a.content_text, &a.summary]
                .into_iter()
                .flatten()
                .map(|t| t.capacity() - t.len())
                .sum()
        };
        assert!(spare(&parsed) > 0, "the parse leaves spare room to reclaim");
        ready_for_store(&mut parsed, &caps, "t");
        let a = &parsed.articles[0];
        assert!(a.content_html.as_deref().unwrap().len() > 10_000);
        assert_eq!(spare(&parsed), 0);
    }

    /// Fetches and parses yield the CPU to the writer; the writer, spawned
    /// from the thread that built the runtime, keeps that thread's priority.
    #[test]
    fn the_writer_runs_ahead_of_fetches_and_parses() {
        let base = thread_nice();
        if base + WORKER_NICE > 19 {
            eprintln!("skipped: this test already runs at nice {base}");
            return;
        }
        let (writer, thread) = Writer::spawn(Store::open_in_memory().unwrap());
        let rt = runtime().unwrap();
        let (worker, parse, writer_nice) = rt.block_on(async move {
            let worker = tokio::spawn(async { thread_nice() }).await.unwrap();
            // A blocking thread spawned by a worker, as parses are.
            let parse =
                tokio::spawn(async { tokio::task::spawn_blocking(thread_nice).await.unwrap() })
                    .await
                    .unwrap();
            let writer_nice = writer.run(|_| Ok(thread_nice())).await.unwrap();
            (worker, parse, writer_nice)
        });
        drop(rt);
        thread.finish();
        assert_eq!(worker, base + WORKER_NICE, "async worker");
        assert_eq!(parse, base + WORKER_NICE, "blocking pool");
        assert_eq!(writer_nice, base, "writer");
    }

    /// A failed fetch of feed `feed_id`, as the writer gets it.
    fn failed(feed_id: i64) -> FeedUpdate {
        FeedUpdate {
            feed_id,
            fetched_at: Utc::now(),
            next_fetch_at: Utc::now(),
            outcome: Outcome::Failed {
                status: None,
                error: "connect failed".into(),
            },
            bytes: None,
            duration_ms: 1,
            body_hash: None,
            unconditional: true,
            no_validators: None,
            malformed: false,
        }
    }

    /// An in-memory store with `n` feeds, and their ids.
    fn store_with_feeds(n: usize) -> (Store, Vec<i64>) {
        let mut store = Store::open_in_memory().unwrap();
        let ids = (1..=n)
            .map(|i| {
                let url = format!("https://f{i}.example/feed");
                store.ensure_feed(&format!("f{i}"), &url).unwrap().id
            })
            .collect();
        (store, ids)
    }

    /// Expected outcomes that never come, or more than expected, lose or
    /// hold up nothing: every outcome is committed.
    #[tokio::test]
    async fn outcomes_are_committed_whatever_was_expected() {
        let (store, ids) = store_with_feeds(4);
        let (writer, thread) = Writer::spawn(store);
        // Three expected, two come (a feed ended without an outcome)...
        writer.expect(3).await;
        let mut committed = Vec::new();
        for &id in &ids[..2] {
            committed.push(writer.queue(failed(id)).await.unwrap());
        }
        for c in committed.drain(..) {
            tokio::time::timeout(Duration::from_secs(10), c)
                .await
                .expect("committed although one expected outcome never came")
                .unwrap();
        }
        // ... then two more than expected.
        for &id in &ids[2..] {
            committed.push(writer.queue(failed(id)).await.unwrap());
        }
        for c in committed {
            tokio::time::timeout(Duration::from_secs(10), c)
                .await
                .expect("committed after all expected outcomes were in")
                .unwrap();
        }
        let failed_feeds = failures(writer, thread).iter().filter(|&&n| n == 1).count();
        assert_eq!(failed_feeds, 4);
    }

    /// Outcomes that arrive while the writer is busy are committed together,
    /// in one transaction, not one each: every transaction rewrites the
    /// index leaves it touches. A job queued behind them runs after them,
    /// and an outcome that comes alone is still committed.
    #[tokio::test]
    async fn outcomes_that_wait_for_the_writer_share_one_transaction() {
        let (mut store, ids) = store_with_feeds(10);
        let transactions = store.count_transactions();
        let (writer, thread) = Writer::spawn(store);
        // Busy: a job that holds the writer until it is let go.
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let busy = {
            let writer = writer.clone();
            tokio::spawn(async move { writer.run(move |_| Ok(hold.recv().is_ok())).await })
        };
        // The job is taken off the queue before the outcomes arrive.
        while writer.tx.capacity() < MAX_BATCH {
            tokio::task::yield_now().await;
        }
        let before = transactions.load(std::sync::atomic::Ordering::SeqCst);
        let mut committed = Vec::new();
        for &id in &ids {
            committed.push(writer.queue(failed(id)).await.unwrap());
        }
        let after_job = writer.run(|s| {
            Ok(s.feeds()?
                .iter()
                .map(|f| f.consecutive_failures)
                .sum::<u32>())
        });
        release.send(()).unwrap();
        assert!(busy.await.unwrap().unwrap());
        for c in committed {
            c.await.unwrap();
        }
        assert_eq!(
            after_job.await.unwrap(),
            10,
            "the job ran after the outcomes"
        );
        let batched = transactions.load(std::sync::atomic::Ordering::SeqCst) - before;
        assert_eq!(batched, 1, "ten outcomes in {batched} transactions");

        // Alone, with nothing else to wait for.
        let lone = writer.commit(failed(ids[0]));
        tokio::time::timeout(Duration::from_secs(10), lone)
            .await
            .expect("a lone outcome is committed")
            .unwrap();
        assert_eq!(failures(writer, thread).iter().sum::<u32>(), 11);
    }

    /// Stops the writer and returns each feed's count of failures in a row.
    fn failures(writer: Writer, thread: WriterThread) -> Vec<u32> {
        drop(writer);
        let store = thread.finish();
        store
            .feeds()
            .unwrap()
            .iter()
            .map(|f| f.consecutive_failures)
            .collect()
    }

    /// A writer over a fresh database with `n` feeds, each failed once.
    fn writer_with_failed_feeds(n: i64) -> (Writer, WriterThread) {
        let mut store = Store::open_in_memory().unwrap();
        for i in 1..=n {
            let row = store
                .ensure_feed(&format!("f{i}"), &format!("https://f{i}.example/feed"))
                .unwrap();
            store.commit(&[failed(row.id)]).unwrap();
        }
        Writer::spawn(store)
    }

    #[tokio::test]
    async fn an_outage_is_declared_when_nearly_every_fetch_fails_to_connect() {
        let (writer, thread) = writer_with_failed_feeds(12);
        let outage = Outage::default();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_millis(s * 100);
        // One success among the first ten: 90 % is the threshold, so the
        // tenth fetch (9 failures of 10) turns it.
        assert!(!outage.record_at(at(0), 1, false, &writer));
        for i in 2..=9 {
            assert!(
                !outage.record_at(at(i), i as i64, true, &writer),
                "fetch {i}"
            );
        }
        assert!(outage.record_at(at(10), 10, true, &writer), "declared down");
        assert!(outage.record_at(at(11), 11, true, &writer), "stays down");
        // A success ends it at once.
        assert!(!outage.record_at(at(12), 12, false, &writer));
        assert!(!outage.paused());

        // The failures counted before it was declared were taken back (by
        // a task of their own: let it queue its write first).
        tokio::task::yield_now().await;
        let failures = writer
            .run(|s| {
                Ok(s.feeds()?
                    .iter()
                    .map(|f| (f.name.clone(), f.consecutive_failures))
                    .collect::<Vec<_>>())
            })
            .await
            .unwrap();
        for (name, n) in &failures {
            let forgiven =
                ["f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9"].contains(&name.as_str());
            assert_eq!(*n, if forgiven { 0 } else { 1 }, "{name}: {failures:?}");
        }
        drop(writer);
        // Joined off the runtime's thread: the task that sent the forgiving
        // write may not have been polled to its end yet, and it holds a
        // writer handle until then (a plain join here raced with it).
        tokio::task::spawn_blocking(move || thread.finish())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn scattered_failures_are_no_outage() {
        let (writer, thread) = writer_with_failed_feeds(1);
        let outage = Outage::default();
        let t0 = Instant::now();
        for i in 0..40u64 {
            // Every fourth fetch fails: feeds being broken, not the network.
            let failed = i % 4 == 0;
            let at = t0 + Duration::from_millis(i * 100);
            assert!(!outage.record_at(at, 1, failed, &writer), "fetch {i}");
        }
        // Failures spread wider than the window never add up either.
        for i in 0..20u64 {
            let at = t0 + Duration::from_secs(100 + i * 61);
            assert!(!outage.record_at(at, 1, true, &writer), "lone failure {i}");
        }
        drop(writer);
        thread.finish();
    }
}
