//! The one orchestrator: fetch → parse → dedupe → store for a set of feeds.
//!
//! Fetches run concurrently on tokio under a global limit and a per-host
//! limit; parsing runs on the blocking pool, off the async threads; every
//! outcome goes to the single [`Writer`], which commits whatever has queued up
//! in one transaction. The one-off `trawl fetch` and the daemon both call
//! [`ingest`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use chrono_tz::Tz;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tracing::{info, warn};

use crate::fetch::{self, Fetcher, Response};
use crate::parse;
use crate::store::{Counts, FeedRow, FeedUpdate, Outcome, Store};

/// One feed to ingest, with the settings normalization needs.
#[derive(Debug, Clone)]
pub struct Job {
    pub feed: FeedRow,
    pub timezone: Tz,
    /// Time until the next fetch after this one.
    pub interval: Duration,
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

/// Limits on concurrent fetches.
#[derive(Debug, Clone, Copy)]
pub struct Concurrency {
    pub global: usize,
    pub per_host: usize,
}

/// Ingests every job, returning one report per job as each completes through
/// `on_report` (so a caller can print progress) and all of them at the end.
pub async fn ingest(
    jobs: Vec<Job>,
    fetcher: &Fetcher,
    writer: &Writer,
    limits: Concurrency,
    mut on_report: impl FnMut(&Report),
) -> Vec<Report> {
    let global = Arc::new(Semaphore::new(limits.global.max(1)));
    let hosts = HostLimits::new(limits.per_host.max(1));
    let mut set = tokio::task::JoinSet::new();
    for job in jobs {
        let (global, host, fetcher, writer) = (
            global.clone(),
            hosts.get(&job.feed.url),
            fetcher.clone(),
            writer.clone(),
        );
        set.spawn(async move {
            // The host's permit first: a task waiting on a busy host must not
            // sit on one of the global slots meanwhile.
            let _host = host.acquire_owned().await;
            let _global = global.acquire_owned().await;
            ingest_one(job, &fetcher, &writer).await
        });
    }
    let mut reports = Vec::new();
    while let Some(done) = set.join_next().await {
        match done {
            Ok(report) => {
                on_report(&report);
                reports.push(report);
            }
            // A panic in one feed's task must not take the run down; it is a
            // bug, and the log says so.
            Err(e) => warn!(error = %e, "feed task failed"),
        }
    }
    reports
}

/// Fetches, parses and stores one feed.
pub async fn ingest_one(job: Job, fetcher: &Fetcher, writer: &Writer) -> Report {
    let started = Instant::now();
    let fetched_at = Utc::now();
    let feed = &job.feed;
    let request = fetch::Request {
        url: &feed.url,
        etag: feed.etag.as_deref(),
        last_modified: feed.last_modified.as_deref(),
    };
    let mut bytes = None;
    let (outcome, warnings, entries) = match fetcher.fetch(&request).await {
        Ok(Response::NotModified { moved_to }) => (
            Outcome::NotModified {
                status: 304,
                moved_to,
            },
            vec![],
            0,
        ),
        Ok(Response::Document(doc)) => {
            let tz = job.timezone;
            let status = doc.status;
            bytes = Some(doc.body.len() as u64);
            // Parsing is CPU work: keep it off the async threads.
            let parsed = tokio::task::spawn_blocking(move || {
                let result = parse::parse(&parse::Input {
                    bytes: &doc.body,
                    url: Some(&doc.final_url),
                    content_type: doc.content_type.as_deref(),
                    timezone: tz,
                    now: fetched_at,
                });
                (result, doc)
            })
            .await;
            match parsed {
                Ok((Ok(parsed), doc)) => {
                    let entries = parsed.articles.len();
                    let outcome = Outcome::Fetched {
                        status,
                        moved_to: doc.moved_to,
                        etag: doc.etag,
                        last_modified: doc.last_modified,
                        feed: parsed.feed,
                        articles: parsed.articles,
                    };
                    (outcome, parsed.warnings, entries)
                }
                Ok((Err(e), _)) => (failed(Some(status), e.to_string()), vec![], 0),
                Err(e) => (
                    failed(Some(status), format!("parser crashed: {e}")),
                    vec![],
                    0,
                ),
            }
        }
        Err(e) => (failed(e.status(), e.to_string()), vec![], 0),
    };
    let moved_to = match &outcome {
        Outcome::Fetched { moved_to, .. } | Outcome::NotModified { moved_to, .. } => {
            moved_to.clone()
        }
        Outcome::Failed { .. } => None,
    };
    let error = match &outcome {
        Outcome::Failed { error, .. } => Some(error.clone()),
        _ => None,
    };
    let not_modified = matches!(outcome, Outcome::NotModified { .. });
    let update = FeedUpdate {
        feed_id: feed.id,
        fetched_at,
        next_fetch_at: fetched_at
            + chrono::Duration::from_std(job.interval).unwrap_or(chrono::Duration::hours(1)),
        outcome,
        bytes,
        duration_ms: started.elapsed().as_millis().try_into().unwrap_or(u64::MAX),
        body_hash: None,
        unconditional: feed.etag.is_none() && feed.last_modified.is_none(),
        no_validators: None,
        malformed: false,
    };
    let result = match writer.commit(update).await {
        Err(e) => Err(format!("storing failed: {e}")),
        Ok(_) if error.is_some() => Err(error.unwrap_or_default()),
        Ok(_) if not_modified => Ok(Fetched::NotModified),
        Ok(counts) => Ok(Fetched::Stored {
            counts,
            entries,
            warnings,
            moved_to,
        }),
    };
    let elapsed = started.elapsed();
    match &result {
        Ok(Fetched::Stored { counts, .. }) => info!(
            feed = %feed.name, url = %feed.url, new = counts.new, updated = counts.updated,
            duplicates = counts.duplicate, ms = elapsed.as_millis() as u64, "fetched"
        ),
        Ok(Fetched::NotModified) => {
            info!(feed = %feed.name, url = %feed.url, status = 304, "not modified")
        }
        Err(e) => warn!(feed = %feed.name, url = %feed.url, error = %e, "fetch failed"),
    }
    Report {
        name: feed.name.clone(),
        url: feed.url.clone(),
        result,
        elapsed,
    }
}

fn failed(status: Option<u16>, error: String) -> Outcome {
    Outcome::Failed { status, error }
}

/// One semaphore per host, made on first use.
struct HostLimits {
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl HostLimits {
    fn new(per_host: usize) -> HostLimits {
        HostLimits {
            per_host,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, url: &str) -> Arc<Semaphore> {
        let host = url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .unwrap_or_default();
        // The lock is only held for a map lookup, never across an await.
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts
            .entry(host)
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
            .clone()
    }
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
    Run(Box<dyn FnOnce(&mut Store) + Send>),
}

/// The writer thread's handle; [`WriterThread::finish`] gives the store back
/// once every [`Writer`] clone is dropped.
pub struct WriterThread {
    thread: std::thread::JoinHandle<Store>,
}

/// How many feeds' outcomes one transaction takes at most.
const MAX_BATCH: usize = 64;

const WRITER_STOPPED: &str = "the database writer has stopped";

impl Writer {
    pub fn spawn(mut store: Store) -> (Writer, WriterThread) {
        let (tx, mut rx) = mpsc::channel::<Msg>(MAX_BATCH * 2);
        let thread = std::thread::Builder::new()
            .name("trawl-writer".into())
            .spawn(move || {
                let mut pending = None;
                while let Some(first) = pending.take().or_else(|| rx.blocking_recv()) {
                    let (update, reply) = match first {
                        Msg::Run(f) => {
                            f(&mut store);
                            continue;
                        }
                        Msg::Commit(update, reply) => (*update, reply),
                    };
                    let (mut updates, mut replies) = (vec![update], vec![reply]);
                    while updates.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(Msg::Commit(u, r)) => {
                                updates.push(*u);
                                replies.push(r);
                            }
                            // Keep order: the batch so far commits first.
                            Ok(other) => {
                                pending = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    match store.commit(&updates) {
                        Ok(counts) => {
                            for (reply, c) in replies.into_iter().zip(counts) {
                                let _ = reply.send(Ok(c));
                            }
                        }
                        Err(e) => {
                            let msg = e.to_string();
                            warn!(error = %msg, feeds = updates.len(), "commit failed");
                            for reply in replies {
                                let _ = reply.send(Err(msg.clone()));
                            }
                        }
                    }
                }
                store
            })
            .expect("spawning the writer thread");
        (Writer { tx }, WriterThread { thread })
    }

    /// Queues one feed's outcome and waits until it is committed.
    pub async fn commit(&self, update: FeedUpdate) -> Result<Counts, String> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Msg::Commit(Box::new(update), reply))
            .await
            .map_err(|_| WRITER_STOPPED.to_string())?;
        answer.await.map_err(|_| WRITER_STOPPED.to_string())?
    }

    /// Runs `f` on the writer thread and returns its result.
    pub async fn run<T, F>(&self, f: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, crate::store::StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, String>>();
        let job = Box::new(move |store: &mut Store| {
            let _ = reply.send(f(store).map_err(|e| e.to_string()));
        });
        self.tx
            .send(Msg::Run(job))
            .await
            .map_err(|_| WRITER_STOPPED.to_string())?;
        answer.await.map_err(|_| WRITER_STOPPED.to_string())?
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
