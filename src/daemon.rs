//! `trawl run`: the daemon. It asks the database which feeds are due, leases
//! them, ingests them through [`ingest::ingest_one`] (the same path as the
//! one-off `trawl fetch`), and sleeps until the next one is due.
//!
//! Life cycle: SIGTERM or SIGINT stop new fetches and give those in flight
//! `[daemon] shutdown_timeout` to finish and commit; SIGHUP reloads the
//! config (a broken one is refused and the old one keeps running). The
//! systemd notify protocol reports READY, STATUS, WATCHDOG, RELOADING and
//! STOPPING when `NOTIFY_SOCKET` is set.
//!
//! The scheduler keeps no state of its own that matters: due times, leases,
//! validators and failure counts live in SQLite, so a restart loses nothing.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use chrono::Utc;
use sd_notify::NotifyState;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::admin;
use crate::config::Config;
use crate::ingest::{self, Context, Job, Report};
use crate::metrics::Metrics;
use crate::store::{FeedRow, Policy, Store};

/// How far ahead of the global limit feeds are leased, so a freed slot is
/// refilled without waiting for the next database round trip.
const QUEUE_FACTOR: usize = 2;
/// How many recent publish times feed the adaptive interval.
const RECENT: usize = 20;
/// The longest the loop sleeps without looking at the database again (a
/// one-off `trawl fetch` or another process may have changed due times).
const MAX_SLEEP: Duration = Duration::from_secs(30);
/// How often `STATUS=` is refreshed.
const STATUS_EVERY: Duration = Duration::from_secs(10);
/// How often the status line counts every article. The rest of the line
/// reads the feeds and today's articles; the total reads a whole index, and
/// the more so the longer the daemon runs: 50 ms at 700,000 articles, so
/// that every 10 s it alone would be 1 % of a core at ~1.4 million, two
/// weeks of 100,000 a day (BENCHMARKS.md, twelfth session).
const TOTAL_EVERY: Duration = Duration::from_secs(600);
/// How often retention looks for old articles (`[daemon] retention`).
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// Articles deleted per retention transaction: small, so the commits of
/// fetched feeds queued behind one wait only a moment.
const PRUNE_BATCH: usize = 200;
/// The pause between two retention batches while old articles remain.
const PRUNE_PAUSE: Duration = Duration::from_secs(1);

/// What `trawl run` needs from the command line.
pub struct Options {
    pub config_path: PathBuf,
    /// `--db`, which wins over the config's `[daemon] database`.
    pub db: Option<PathBuf>,
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(opts: Options) -> Result<()> {
    let config = Config::load(&opts.config_path)?;
    let runtime = ingest::runtime().context("cannot start the async runtime")?;
    runtime.block_on(Daemon::start(opts, config)?.run())
}

/// A request from the admin listener: fetch this feed now.
pub struct Trigger {
    pub name: String,
    pub reply: oneshot::Sender<Result<Report, String>>,
}

struct Daemon {
    opts: Options,
    config: Config,
    ctx: Context,
    writer_thread: ingest::WriterThread,
    /// Reads only: due times and the status line. WAL lets it read while the
    /// writer writes.
    reader: Store,
    owner: String,
    metrics: Arc<Metrics>,
    triggers: mpsc::Receiver<Trigger>,
    trigger_tx: mpsc::Sender<Trigger>,
    /// When retention next deletes a batch of old articles.
    next_prune: Instant,
    /// The status line's count of all articles, and when it is next read.
    articles_total: u64,
    next_total: Instant,
    /// Each configured feed's place in `config.feeds`, by name.
    by_name: HashMap<String, usize>,
    /// The feeds with a configured `interval`: the scheduler ignores their
    /// publish times, so they are not read.
    fixed: Arc<HashSet<String>>,
}

impl Daemon {
    fn start(opts: Options, config: Config) -> Result<Daemon> {
        let db = opts
            .db
            .clone()
            .or_else(|| config.daemon.database.clone())
            .unwrap_or_else(|| PathBuf::from(crate::store::DEFAULT_DATABASE));
        let mut store = Store::open(&db)?;
        store.set_policy(Policy::from(&config.daemon));
        store.sync_feeds(&config.feeds)?;
        let reader = Store::open(&db)?;
        let host = hostname();
        let owner = format!("{host}:{}", std::process::id());
        // A previous run of this process id on this host (after a crash and a
        // reboot, say) left leases nobody will release: they are ours. So are
        // those of any other daemon on this host that is no longer running.
        store.release(&owner)?;
        let freed = store.release_dead(&host, pid_alive)?;
        if freed > 0 {
            info!(feeds = freed, "released the leases of stopped processes");
        }
        let (writer, writer_thread) = ingest::Writer::spawn(store);
        let metrics = Arc::new(Metrics::new());
        let ctx = Context::new(&config, writer, metrics.clone())?;
        let (trigger_tx, triggers) = mpsc::channel(64);
        Ok(Daemon {
            opts,
            ctx,
            writer_thread,
            reader,
            owner,
            metrics,
            triggers,
            trigger_tx,
            next_prune: Instant::now() + Duration::from_secs(60),
            articles_total: 0,
            next_total: Instant::now(),
            by_name: index_by_name(&config),
            fixed: fixed_interval(&config),
            config,
        })
    }

    async fn run(mut self) -> Result<()> {
        let mut sigterm = signal(SignalKind::terminate())?;
        let mut sigint = signal(SignalKind::interrupt())?;
        let mut sighup = signal(SignalKind::hangup())?;

        let _admin = match self.config.daemon.listen {
            Some(addr) => Some(
                admin::serve(
                    addr,
                    self.config.daemon.admin_token.clone(),
                    self.metrics.clone(),
                    self.trigger_tx.clone(),
                )
                .await?,
            ),
            None => None,
        };

        notify(&[NotifyState::Ready]);
        info!(
            feeds = self.config.feeds.len(),
            database = %self.reader.path(),
            "trawl running"
        );
        let watchdog = sd_notify::watchdog_enabled().map(|d| d / 2);
        let mut next_watchdog = watchdog.map(|d| Instant::now() + d);
        let mut next_status = Instant::now();
        let mut inflight: JoinSet<Report> = JoinSet::new();

        loop {
            self.metrics.loop_alive();
            let claimed = self.claim_due(&mut inflight).await;
            self.prune_old().await;
            let now = Instant::now();
            if now >= next_status {
                self.update_status(inflight.len());
                next_status = now + STATUS_EVERY;
            }
            // Wake for the next due feed, unless the slots are (nearly)
            // full (a finished task wakes the loop then) or the claim just
            // filled them. Only asked then: during a burst every finished
            // feed wakes the loop, and asking each time was most of the
            // daemon's CPU.
            let mut wake = now + MAX_SLEEP;
            if !claimed
                && !self.ctx.outage.paused()
                && let Some(due) = self.next_due()
            {
                wake = wake.min(due);
            }
            wake = wake.min(next_status);
            if self.config.daemon.retention.is_some() {
                wake = wake.min(self.next_prune);
            }
            if let Some(w) = next_watchdog {
                wake = wake.min(w);
            }

            tokio::select! {
                _ = sigterm.recv() => { info!("SIGTERM: stopping"); break; }
                _ = sigint.recv() => { info!("SIGINT: stopping"); break; }
                _ = sighup.recv() => self.reload().await,
                Some(done) = inflight.join_next(), if !inflight.is_empty() => {
                    if let Err(e) = done {
                        error!(error = %e, "feed task failed");
                    }
                }
                Some(trigger) = self.triggers.recv() => self.trigger(trigger, &mut inflight).await,
                _ = tokio::time::sleep_until(wake) => {}
            }
            if let (Some(every), Some(at)) = (watchdog, next_watchdog)
                && Instant::now() >= at
            {
                notify(&[NotifyState::Watchdog]);
                next_watchdog = Some(Instant::now() + every);
            }
        }

        self.shutdown(inflight).await
    }

    /// Leases the feeds that are due, up to the free capacity, and starts
    /// them. True when it filled the capacity (more may be due), or when too
    /// few slots are free to be worth a claim yet.
    ///
    /// Claims in batches: only once a quarter of the capacity (half the
    /// global limit) is free. The feeds still in flight keep every global
    /// slot busy meanwhile, and a burst then costs one claim per batch
    /// rather than one per finished feed.
    async fn claim_due(&mut self, inflight: &mut JoinSet<Report>) -> bool {
        let capacity = self.config.daemon.concurrency * QUEUE_FACTOR;
        let free = capacity.saturating_sub(inflight.len());
        if free == 0 || free < (self.config.daemon.concurrency / 2).max(1) {
            return true;
        }
        // Our network looks down: wait rather than fail every feed in turn.
        if self.ctx.outage.paused() {
            return false;
        }
        let owner = self.owner.clone();
        let lease = self.lease();
        let fixed = self.fixed.clone();
        let claimed = self
            .ctx
            .writer
            .run(move |store| {
                let rows = store.claim_due(Utc::now(), &owner, lease, free)?;
                with_recent(store, rows, &fixed)
            })
            .await;
        match claimed {
            Ok(rows) => {
                let n = rows.len();
                for (row, recent) in rows {
                    let job = self.job(row, recent);
                    let ctx = self.ctx.clone();
                    inflight.spawn(async move { ingest::ingest_one(job, &ctx).await });
                }
                n == free
            }
            Err(e) => {
                // Leasing writes: a full disk or a read-only database fails
                // it. Wait a little rather than spin, then try again.
                error!(error = %e, "cannot lease the due feeds; retrying in 2 s");
                tokio::time::sleep(Duration::from_secs(2)).await;
                false
            }
        }
    }

    /// `[daemon] retention`: when due, deletes one small batch of old
    /// articles through the writer (between commits, never blocking them for
    /// long); the next batch follows a second later while old ones remain,
    /// else an hour later.
    async fn prune_old(&mut self) {
        let Some(retention) = self.config.daemon.retention else {
            return;
        };
        if Instant::now() < self.next_prune {
            return;
        }
        let cutoff = chrono::Duration::from_std(retention)
            .ok()
            .and_then(|age| Utc::now().checked_sub_signed(age))
            .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
        let pruned = self
            .ctx
            .writer
            .run(move |s| s.prune(cutoff, PRUNE_BATCH))
            .await;
        let wait = match pruned {
            Ok(n) => {
                if n > 0 {
                    info!(articles = n, "retention: pruned old articles");
                }
                if n == PRUNE_BATCH {
                    PRUNE_PAUSE
                } else {
                    PRUNE_EVERY
                }
            }
            Err(e) => {
                warn!(error = %e, "retention: cannot prune old articles");
                PRUNE_EVERY
            }
        };
        self.next_prune = Instant::now() + wait;
    }

    /// Fetches the feed named by an admin request now, whatever its due time.
    async fn trigger(&mut self, t: Trigger, inflight: &mut JoinSet<Report>) {
        let Some(id) = self
            .reader
            .feed_by_name(&t.name)
            .ok()
            .flatten()
            .map(|r| r.id)
        else {
            let _ = t.reply.send(Err(format!("no feed named {:?}", t.name)));
            return;
        };
        let (owner, lease) = (self.owner.clone(), self.lease());
        let fixed = self.fixed.clone();
        let claimed = self
            .ctx
            .writer
            .run(move |store| {
                if !store.claim(id, &owner, Utc::now(), lease)? {
                    return Ok(None);
                }
                let row = store.feed_by_id(id)?;
                Ok(Some(with_recent(store, vec![row], &fixed)?.remove(0)))
            })
            .await;
        match claimed {
            Ok(Some((row, recent))) => {
                let job = self.job(row, recent);
                let ctx = self.ctx.clone();
                inflight.spawn(async move {
                    let report = ingest::ingest_one(job, &ctx).await;
                    let _ = t.reply.send(Ok(report.clone()));
                    report
                });
            }
            Ok(None) => {
                let _ = t
                    .reply
                    .send(Err(format!("{:?} is being fetched right now", t.name)));
            }
            Err(e) => {
                let _ = t.reply.send(Err(e));
            }
        }
    }

    /// The configured feed of this name.
    fn configured(&self, name: &str) -> Option<&crate::config::FeedConfig> {
        self.by_name.get(name).map(|&i| &self.config.feeds[i])
    }

    fn job(&self, feed: FeedRow, recent: Vec<chrono::DateTime<Utc>>) -> Job {
        let configured = self.configured(&feed.name);
        Job {
            timezone: configured.map_or(self.config.timezone, |f| self.config.timezone_of(f)),
            interval: configured.and_then(|f| f.interval),
            recent,
            feed,
        }
    }

    /// A lease outlives the longest a fetch can take, so it never expires
    /// under a live fetch, but a killed process frees its feeds soon.
    fn lease(&self) -> Duration {
        self.config.daemon.timeout + Duration::from_secs(60)
    }

    fn next_due(&self) -> Option<Instant> {
        match self.reader.next_due() {
            Ok(Some(at)) => {
                let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                Some(Instant::now() + wait)
            }
            Ok(None) => None,
            Err(e) => {
                warn!(error = %e, "cannot read the next due time");
                None
            }
        }
    }

    fn update_status(&mut self, inflight: usize) {
        let count_all = Instant::now() >= self.next_total;
        match self.reader.summary(Utc::now(), count_all) {
            Ok(s) => {
                if let Some(total) = s.articles {
                    self.articles_total = total;
                    self.next_total = Instant::now() + TOTAL_EVERY;
                }
                let line = format!(
                    "{} feeds, {} due, {} fetching, {} failing, {} disabled; {} articles today, {} in all",
                    s.feeds,
                    s.due,
                    inflight,
                    s.failing,
                    s.disabled,
                    s.articles_today,
                    self.articles_total
                );
                self.metrics.set_feeds(s.feeds, s.failing, s.disabled);
                notify(&[NotifyState::Status(&line)]);
            }
            Err(e) => warn!(error = %e, "cannot read the status summary"),
        }
    }

    /// SIGHUP: a valid new config replaces the old; an invalid one is refused.
    async fn reload(&mut self) {
        // systemd 253+ wants the monotonic time with RELOADING=1; older
        // versions ignore it.
        match NotifyState::monotonic_usec_now() {
            Ok(now) => notify(&[NotifyState::Reloading, now]),
            Err(_) => notify(&[NotifyState::Reloading]),
        }
        match Config::load(&self.opts.config_path) {
            Err(e) => {
                error!("SIGHUP: keeping the running config: {e:#}");
            }
            Ok(new) => {
                let feeds = new.feeds.clone();
                let policy = Policy::from(&new.daemon);
                let synced = self.ctx.writer.run(move |s| {
                    s.set_policy(policy);
                    s.sync_feeds(&feeds)
                });
                match synced.await {
                    Ok(_) => {
                        info!(
                            feeds = new.feeds.len(),
                            path = %self.opts.config_path.display(),
                            "SIGHUP: config reloaded"
                        );
                        if new.daemon.listen != self.config.daemon.listen {
                            warn!("SIGHUP: a changed [daemon] listen takes effect at restart");
                        }
                        match Context::new(&new, self.ctx.writer.clone(), self.metrics.clone()) {
                            Ok(mut ctx) => {
                                ctx.outage = self.ctx.outage.clone();
                                self.ctx = ctx;
                            }
                            Err(e) => error!("SIGHUP: keeping the old HTTP settings: {e:#}"),
                        }
                        self.by_name = index_by_name(&new);
                        self.fixed = fixed_interval(&new);
                        self.config = new;
                    }
                    Err(e) => error!("SIGHUP: keeping the running config: {e}"),
                }
            }
        }
        notify(&[NotifyState::Ready]);
    }

    async fn shutdown(self, mut inflight: JoinSet<Report>) -> Result<()> {
        notify(&[NotifyState::Stopping]);
        let deadline = self.config.daemon.shutdown_timeout;
        let running = inflight.len();
        if running > 0 {
            info!(
                running,
                "waiting up to {}s for fetches in flight",
                deadline.as_secs_f64()
            );
        }
        let drained = tokio::time::timeout(deadline, async {
            while inflight.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            warn!(
                abandoned = inflight.len(),
                "shutdown deadline passed: abandoning the fetches still running (nothing of theirs is stored)"
            );
            inflight.abort_all();
            while inflight.join_next().await.is_some() {}
        }
        let owner = self.owner.clone();
        if let Err(e) = self.ctx.writer.run(move |s| s.release(&owner)).await {
            warn!(error = %e, "cannot release leases");
        }
        drop(self.ctx);
        // Every writer handle is gone: the writer drains its queue and stops.
        tokio::task::spawn_blocking(move || self.writer_thread.finish())
            .await
            .context("the database writer failed")?;
        info!("stopped");
        Ok(())
    }
}

/// A feed and the publish times of its latest articles.
type WithRecent = (FeedRow, Vec<chrono::DateTime<Utc>>);

/// Pairs each feed with the publish times of its latest articles, unless
/// it is one of the `fixed` (configured interval) feeds, which need none.
fn with_recent(
    store: &mut Store,
    rows: Vec<FeedRow>,
    fixed: &HashSet<String>,
) -> Result<Vec<WithRecent>, crate::store::StoreError> {
    rows.into_iter()
        .map(|row| {
            let recent = match fixed.contains(&row.name) {
                true => Vec::new(),
                false => store.recent_publish_times(row.id, RECENT)?,
            };
            Ok((row, recent))
        })
        .collect()
}

/// Each configured feed's place in `config.feeds`, by name.
fn index_by_name(config: &Config) -> HashMap<String, usize> {
    config
        .feeds
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.clone(), i))
        .collect()
}

/// The names of the feeds with a configured `interval`.
fn fixed_interval(config: &Config) -> Arc<HashSet<String>> {
    Arc::new(
        config
            .feeds
            .iter()
            .filter(|f| f.interval.is_some())
            .map(|f| f.name.clone())
            .collect(),
    )
}

/// Whether a process of this id runs on this host (Linux: its `/proc`
/// entry). Only ever wrong towards "alive" (a reused id), which merely
/// leaves a lease to expire on its own.
fn pid_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Sends to systemd when run under it; a no-op otherwise.
fn notify(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        warn!(error = %e, "systemd notify failed");
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}
