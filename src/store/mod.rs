//! SQLite storage: open, pragmas and migrations in one place; the single
//! writer commits a batch of feed outcomes in one transaction.
//!
//! # Layout
//!
//! - `mod.rs` (here): the public types, opening (pragmas, then migrations)
//!   and the batch commit that ties feeds and articles together.
//! - `schema.rs`: the numbered migrations, keyed on `PRAGMA user_version`.
//! - `feeds.rs`: the `feeds` table: syncing with the config, fetch outcomes,
//!   leases and what is due.
//! - `articles.rs`: `articles` and `article_sources`: applying the dedupe
//!   decision to each entry, and listing what is stored.
//! - `fetch_log.rs`: the `fetch_log` table: one row per fetch, the last
//!   [`FETCH_LOG_KEEP`] per feed.
//!
//! # Invariants
//!
//! - One transaction per [`Store::commit`] batch, never one per entry: a
//!   feed's articles and its new validators (ETag, Last-Modified) are written
//!   together or not at all, so a crash never leaves a validator whose
//!   articles were not saved.
//! - Every time is stored as RFC 3339 UTC text with `Z`
//!   ([`crate::article::format_time`]), so text order is time order.
//! - The dedupe keys are backed by indexes: `article_sources` is keyed by
//!   (feed, guid); `articles.url` is indexed (not unique: one feed may link
//!   several stories to one page, see [`crate::dedupe::url_match`]).
//! - Every write runs in an IMMEDIATE transaction: it takes the write lock
//!   before reading, so two processes on one file (the daemon and a one-off
//!   `trawl fetch`) queue up on the busy timeout instead of failing, and the
//!   dedupe lookups of one see everything the other committed.
//! - A lease (`lease_owner`, `lease_until`) keeps two processes from fetching
//!   one feed at once; it is live while `lease_until` is in the future, and
//!   committing the feed's outcome ends it.
//! - The full-text index trails the commits: a commit queues new and changed
//!   articles in `fts_pending` (same transaction: the insert path itself,
//!   and a trigger for updates), and
//!   [`Store::index_pending`] writes their entries later, in batches. An
//!   article is searchable once indexed; a changed or deleted article's old
//!   entry leaves the index in the transaction that changes it.

mod articles;
mod checkpoint;
mod feeds;
mod fetch_log;
mod near;
mod retention;
mod revisions;
mod schema;
mod search;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value;
use rusqlite::{Connection, TransactionBehavior};

use crate::article::{Article, FeedInfo, format_time};
use crate::config::{DaemonConfig, FeedConfig};
use crate::dedupe::NearDuplicates;

pub use schema::VERSION as SCHEMA_VERSION;

/// Where the database lives when neither `--db` nor `[daemon] database` say.
pub const DEFAULT_DATABASE: &str = "data/trawl.db";

/// How long a statement waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How many fetch log rows are kept per feed (the newest).
pub const FETCH_LOG_KEEP: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("database {path}: cannot create its folder: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "database {path} has schema version {found}, newer than this trawl knows \
         (version {known}); use a newer trawl"
    )]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error(
        "database {path} has tables but no schema version: not a trawl database, leaving it alone"
    )]
    NotOurs { path: String },
    #[error("database {path}: cannot back it up to {backup} before migrating it: {reason}")]
    Backup {
        path: String,
        backup: String,
        reason: String,
    },
    #[error("feed {name:?}: url {url:?} is already used by feed {other:?}")]
    UrlTaken {
        name: String,
        url: String,
        other: String,
    },
    #[error("no feed with id {0} in the database")]
    UnknownFeed(i64),
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// The database. Exactly one `Store` writes at a time.
pub struct Store {
    conn: Connection,
    /// The file (or `:memory:`), for messages.
    path: String,
    /// How commits treat near-duplicates and revisions.
    policy: Policy,
    /// The recent fingerprints in memory (see [`near::Recent`]), loaded by
    /// the first commit that needs them.
    recent: Option<near::Recent>,
    /// `PRAGMA data_version` when `recent` was loaded: it moves when
    /// another connection commits, and `recent` may then lack its articles.
    data_version: i64,
}

/// How [`Store::commit`] treats near-duplicates and revisions: the
/// `[daemon]` keys `near_duplicate_window`, `near_duplicate_distance`,
/// `near_duplicate_min_words` and `max_revisions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub near_duplicates: NearDuplicates,
    /// Earlier versions kept per article (the newest); 0 keeps none.
    pub max_revisions: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            near_duplicates: NearDuplicates::default(),
            max_revisions: 20,
        }
    }
}

impl From<&DaemonConfig> for Policy {
    fn from(d: &DaemonConfig) -> Self {
        Policy {
            near_duplicates: NearDuplicates {
                window: d.near_duplicate_window,
                max_distance: d.near_duplicate_distance,
                min_words: d.near_duplicate_min_words,
            },
            max_revisions: d.max_revisions,
        }
    }
}

/// A feed as the database knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedRow {
    pub id: i64,
    pub name: String,
    /// Where it is fetched from now (a permanent redirect changes it).
    pub url: String,
    /// The URL as configured.
    pub config_url: String,
    pub title: Option<String>,
    pub site_url: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_fetch_at: Option<DateTime<Utc>>,
    pub next_fetch_at: Option<DateTime<Utc>>,
    /// HTTP status of the last fetch; `None` when no response came.
    pub last_status: Option<u16>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    /// Distinct articles with a source in this feed.
    pub article_count: u64,
    /// In the config and enabled there: the daemon polls only these.
    pub enabled: bool,
    /// The process fetching the feed now, and until when its claim holds.
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    /// Why the feed is not polled ("410 Gone since ..."), if it is not.
    pub disabled_reason: Option<String>,
    /// The server's 304s or ETags hid changed content: send no validators.
    pub no_validators: bool,
    /// Hex SHA-256 of the last 200 body, when known.
    pub body_hash: Option<String>,
    /// The last fetch sent without validators.
    pub last_full_fetch_at: Option<DateTime<Utc>>,
    /// The last document needed XML repair.
    pub malformed: bool,
    /// The longest wait between polls that the last document asked for
    /// (RSS `<ttl>`, `sy:updatePeriod`): it still holds after a 304.
    pub asked_interval: Option<Duration>,
}

/// What one fetch of one feed produced, ready to commit.
#[derive(Debug, Clone)]
pub struct FeedUpdate {
    pub feed_id: i64,
    pub fetched_at: DateTime<Utc>,
    pub next_fetch_at: DateTime<Utc>,
    pub outcome: Outcome,
    /// Body size, when a body was read.
    pub bytes: Option<u64>,
    /// How long the fetch (and parse) took.
    pub duration_ms: u64,
    /// Hex SHA-256 of a 200's body; replaces the stored one on a `Fetched`
    /// outcome (`None` clears it: unknown).
    pub body_hash: Option<String>,
    /// The request carried no validators; a `Fetched` outcome of such a
    /// request sets `last_full_fetch_at`.
    pub unconditional: bool,
    /// `Some(v)` sets the feed's `no_validators` flag; `None` keeps it.
    pub no_validators: Option<bool>,
    /// The document needed XML repair (`Fetched` outcomes only).
    pub malformed: bool,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// 304: nothing to store, the validators stay.
    NotModified {
        status: u16,
        /// Set after a chain of only permanent redirects: the feed's new URL.
        moved_to: Option<String>,
    },
    /// A feed document was read and parsed.
    Fetched {
        status: u16,
        /// Set after a chain of only permanent redirects: the feed's new URL.
        moved_to: Option<String>,
        etag: Option<String>,
        last_modified: Option<String>,
        /// The longest wait between polls the document asks for (RSS
        /// `<ttl>`, `sy:updatePeriod`); kept for the 304s that follow.
        asked_interval: Option<Duration>,
        feed: FeedInfo,
        articles: Vec<Article>,
    },
    Failed {
        status: Option<u16>,
        error: String,
    },
    /// A failure that is not the feed's fault (our own network was down):
    /// recorded and retried soon, but not counted against the feed.
    Deferred {
        error: String,
    },
}

/// What committing one feed's articles did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Articles stored for the first time.
    pub new: usize,
    /// Of `new`, the near-duplicates: copies of a story already stored,
    /// linked to its head by `duplicate_of`.
    pub near: usize,
    /// Articles already stored from this feed whose content changed.
    pub updated: usize,
    /// Entries recognised as an article stored from another source.
    pub duplicate: usize,
    /// Entries already stored from this feed, unchanged.
    pub unchanged: usize,
}

/// Filter for [`Store::articles`].
#[derive(Debug, Clone, Default)]
pub struct ArticleQuery {
    /// Only articles with a source in the feed of this name.
    pub feed: Option<String>,
    /// Only articles whose time (published, else first seen) is at or after this.
    pub since: Option<DateTime<Utc>>,
    /// At most this many; 0 means no limit.
    pub limit: usize,
}

/// A full-text query for [`Store::search`].
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// An FTS5 expression, as [`crate::search::fts_query`] makes it.
    pub fts: String,
    /// Only articles with a source in the feed of this name.
    pub feed: Option<String>,
    /// Only articles whose time (published, else first seen) is at or after this.
    pub since: Option<DateTime<Utc>>,
    /// Only articles in this language: a tag (`en-gb`) or its primary
    /// subtag (`en` finds `en`, `en-us`, `en-GB`).
    pub language: Option<String>,
    /// At most this many hits; 0 means no limit.
    pub limit: usize,
    /// Every matching article; by default the near-duplicates of a story
    /// are one hit.
    pub all: bool,
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub stored: StoredArticle,
    /// FTS5's bm25 (title matches weigh more): lower is better.
    pub rank: f64,
    /// The title and a snippet of the text around the matches, as the index
    /// sees them: highlights between [`crate::search::MARK_START`] and
    /// [`crate::search::MARK_END`] (see [`crate::search::render_snippet`]).
    pub title_marked: String,
    pub snippet: String,
    /// The other articles of its story, collapsed into this hit (always 0
    /// with [`SearchQuery::all`]).
    pub copies: usize,
}

/// Where a stored article was seen.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Source {
    pub feed: String,
    pub guid: String,
    pub url: Option<String>,
    #[serde(serialize_with = "ser_time")]
    pub seen_at: DateTime<Utc>,
}

/// An article as stored, with its provenance.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredArticle {
    pub id: i64,
    #[serde(flatten)]
    pub article: Article,
    pub sources: Vec<Source>,
    pub duplicate_of: Option<i64>,
    #[serde(serialize_with = "ser_time")]
    pub first_seen_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub last_seen_at: DateTime<Utc>,
}

/// An article with its story and history, for `trawl articles show`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ArticleDetail {
    #[serde(flatten)]
    pub stored: StoredArticle,
    /// When the current title and text were first seen, if they ever changed.
    #[serde(serialize_with = "ser_opt_time")]
    pub revised_at: Option<DateTime<Utc>>,
    /// The other articles of its story (near-duplicates): the cluster head
    /// first, then the members in publish order.
    pub cluster: Vec<ClusterMember>,
    /// Its earlier versions, oldest first.
    pub revisions: Vec<Revision>,
}

/// Another article of the same story.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClusterMember {
    pub id: i64,
    pub title: String,
    pub url: Option<String>,
    #[serde(serialize_with = "ser_opt_time")]
    pub published: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ser_time")]
    pub first_seen_at: DateTime<Utc>,
    /// The feeds it was seen in.
    pub feeds: Vec<String>,
    /// It is the cluster head (the story's earliest article).
    pub head: bool,
    /// Bits its fingerprint differs from the article's, when both have one.
    pub distance: Option<u32>,
}

/// An earlier version of an article (`article_revisions`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Revision {
    /// Counts up from 1 per article; the oldest may be gone (`max_revisions`).
    pub revision: i64,
    pub title: String,
    pub summary: Option<String>,
    pub content_text: Option<String>,
    pub content_hash: String,
    /// When this version was first seen.
    #[serde(serialize_with = "ser_time")]
    pub seen_at: DateTime<Utc>,
}

/// One fetch of one feed, as the fetch log remembers it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FetchLogRow {
    #[serde(serialize_with = "ser_time")]
    pub at: DateTime<Utc>,
    /// `None` when no response came.
    pub status: Option<u16>,
    pub bytes: Option<u64>,
    pub duration_ms: u64,
    pub new: u64,
    pub updated: u64,
    pub duplicate: u64,
    pub error: Option<String>,
}

/// The state of the whole database in a few numbers (systemd's `STATUS=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Enabled feeds (those in the config).
    pub feeds: u64,
    /// Enabled feeds, not disabled by a 410, whose time has come (including
    /// those being fetched right now).
    pub due: u64,
    /// Enabled feeds, not disabled by a 410, whose last fetch failed.
    pub failing: u64,
    /// Enabled feeds disabled by a 410 Gone.
    pub disabled: u64,
    /// Articles first seen since midnight UTC.
    pub articles_today: u64,
    /// All articles, when asked for ([`Store::summary`]).
    pub articles: Option<u64>,
}

fn ser_time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(t))
}

fn ser_opt_time<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format_time(t)),
        None => s.serialize_none(),
    }
}

impl Store {
    /// Opens (creating it and its folder when missing) and migrates the database.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let name = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: name.clone(),
                source,
            })?;
        }
        let mut conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: name.clone(),
            source,
        })?;
        checkpoint::install(&mut conn, path).map_err(|source| StoreError::Open {
            path: name.clone(),
            source,
        })?;
        Store::init(conn, name)
    }

    /// Counts the transactions this connection commits from now on.
    #[cfg(test)]
    pub(crate) fn count_transactions(&mut self) -> std::sync::Arc<std::sync::atomic::AtomicUsize> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let n = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = n.clone();
        self.conn
            .commit_hook(Some(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                false
            }))
            .expect("installing a commit hook");
        n
    }

    /// A fresh, migrated database in memory, for tests.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::init(Connection::open_in_memory()?, ":memory:".to_string())
    }

    fn init(mut conn: Connection, path: String) -> Result<Store, StoreError> {
        let at_path = |e| match e {
            StoreError::Sql(source) => StoreError::Open {
                path: path.clone(),
                source,
            },
            e => e,
        };
        configure(&conn).map_err(|e| at_path(e.into()))?;
        backup_before_migrating(&conn, &path)?;
        schema::migrate(&mut conn, &path).map_err(at_path)?;
        // Room for every statement of the commit and query paths.
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Store {
            conn,
            path,
            policy: Policy::default(),
            recent: None,
            data_version: 0,
        })
    }

    /// Sets how later commits treat near-duplicates and revisions (the
    /// defaults until called).
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    /// The database file (or `:memory:`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Makes the feeds table know every configured feed (matched by name),
    /// and returns their rows in config order.
    ///
    /// A new name is inserted; a changed URL resets the fetch URL and clears
    /// the validators. A new name whose URL belongs to a feed no longer in the
    /// config takes that row over (the feed was renamed) and keeps its
    /// articles. Fails, changing nothing, when a URL belongs to another
    /// configured feed (e.g. one that a permanent redirect moved there).
    pub fn sync_feeds(&mut self, feeds: &[FeedConfig]) -> Result<Vec<FeedRow>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rows = feeds::sync(&tx, feeds, &format_time(&Utc::now()))?;
        tx.commit()?;
        Ok(rows)
    }

    /// The row for an ad-hoc feed (`trawl fetch --url`): the feed of that
    /// name, else the feed at that URL (as fetched or as configured), else a
    /// new one.
    pub fn ensure_feed(&mut self, name: &str, url: &str) -> Result<FeedRow, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row = feeds::ensure(&tx, name, url, &format_time(&Utc::now()))?;
        tx.commit()?;
        Ok(row)
    }

    /// Every feed the database knows, by name.
    pub fn feeds(&self) -> Result<Vec<FeedRow>, StoreError> {
        feeds::all(&self.conn)
    }

    /// The feed of this name, if the database knows it.
    /// Takes back one counted failure from each feed in `ids`: they failed
    /// while trawl's own network was down, which is not their fault.
    pub fn forgive(&mut self, ids: &[i64]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        feeds::forgive(&tx, ids)?;
        tx.commit()?;
        Ok(())
    }

    pub fn feed_by_id(&self, id: i64) -> Result<FeedRow, StoreError> {
        feeds::by_id(&self.conn, id)
    }

    pub fn feed_by_name(&self, name: &str) -> Result<Option<FeedRow>, StoreError> {
        feeds::by_name(&self.conn, name)
    }

    /// Commits the outcomes of several fetches in one transaction and
    /// returns, for each, what happened to its entries.
    ///
    /// All or nothing: on error nothing of the batch is written.
    pub fn commit(&mut self, batch: &[FeedUpdate]) -> Result<Vec<Counts>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Inside the write lock, so no other connection commits between
        // this check and the end of the batch.
        let version: i64 = tx.pragma_query_value(None, "data_version", |r| r.get(0))?;
        if version != self.data_version || self.recent.as_ref().is_some_and(|r| r.worn_out()) {
            self.recent = None;
            self.data_version = version;
        }
        if let Some(recent) = self.recent.as_mut() {
            recent.begin_batch();
        }
        let committed = batch
            .iter()
            .map(|update| commit_one(&tx, update, &self.policy, &mut self.recent))
            .collect::<Result<Vec<_>, _>>()
            .and_then(|counts| {
                tx.commit()?;
                Ok(counts)
            });
        if committed.is_err() {
            // What it learnt of this batch was rolled back with it.
            self.recent = None;
        }
        committed
    }

    /// The latest articles, newest first (by published time, else first-seen
    /// time, then by id).
    pub fn articles(&self, q: &ArticleQuery) -> Result<Vec<StoredArticle>, StoreError> {
        articles::list(&self.conn, q)
    }

    /// Deletes up to `batch` of the oldest articles published before `cutoff`
    /// that no feed has shown since (`[daemon] retention`), in one short
    /// transaction; returns how many. Call it again while it returns
    /// `batch`: each call lets the commits queued behind it go first.
    pub fn prune(&mut self, cutoff: DateTime<Utc>, batch: usize) -> Result<usize, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = retention::prune(&tx, &format_time(&cutoff), batch)?;
        tx.commit()?;
        Ok(n)
    }

    /// The best matches of a full-text query, best first; see [`SearchQuery`].
    pub fn search(&self, q: &SearchQuery) -> Result<Vec<Hit>, StoreError> {
        search::search(&self.conn, q)
    }

    /// Article `id` with its sources, the other articles of its story and
    /// its earlier versions; `None` when there is no such article.
    pub fn article(&self, id: i64) -> Result<Option<ArticleDetail>, StoreError> {
        articles::detail(&self.conn, id)
    }

    /// Calls `each` with every article that `q` selects, oldest first (by
    /// published time, else first-seen time, then id), one at a time as the
    /// database yields them: memory stays that of one article however many
    /// there are. Stops at the first error `each` returns. Returns how many
    /// articles were passed.
    pub fn export<E: From<StoreError>>(
        &self,
        q: &ArticleQuery,
        each: impl FnMut(StoredArticle) -> Result<(), E>,
    ) -> Result<u64, E> {
        articles::export(&self.conn, q, each)
    }

    /// Leases up to `limit` feeds that may be polled (enabled, not disabled
    /// by a 410), are due at `now` and are leased by no one (or the lease has
    /// expired) to `owner` until `now + lease`, and returns their rows: never
    /// fetched first, then the most overdue.
    ///
    /// Atomic: two processes calling this at once never get the same feed.
    pub fn claim_due(
        &mut self,
        now: DateTime<Utc>,
        owner: &str,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<FeedRow>, StoreError> {
        self.leasing(owner, now, lease, |tx, lease| {
            feeds::claim_due(tx, lease, limit)
        })
    }

    /// Leases one feed to `owner` until `now + lease` for a one-off fetch,
    /// whatever its enabled or disabled state, when it is free, its lease has
    /// expired, or `owner` holds it already. False when another owner holds
    /// a live lease.
    pub fn claim(
        &mut self,
        feed_id: i64,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        self.leasing(owner, now, lease, |tx, lease| {
            feeds::claim(tx, feed_id, lease)
        })
    }

    /// [`Store::claim`] for many feeds in one transaction: whether each was
    /// leased, in the order given. A one-off fetch leases all its feeds
    /// before it starts; one transaction each was 10,000 commits for
    /// 10,000 feeds.
    pub fn claim_all(
        &mut self,
        feed_ids: &[i64],
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Vec<bool>, StoreError> {
        self.leasing(owner, now, lease, |tx, lease| {
            feed_ids
                .iter()
                .map(|&id| match feeds::claim(tx, id, lease) {
                    // Refused, not an error for all of them: `claim`, asked
                    // for this one alone, reports it.
                    Err(StoreError::UnknownFeed(_)) => Ok(false),
                    claimed => claimed,
                })
                .collect()
        })
    }

    /// Runs `f` with a lease to `owner` from `now` to `now + lease`, in an
    /// IMMEDIATE transaction (no other connection can lease in between),
    /// committed when `f` succeeds.
    fn leasing<T>(
        &mut self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        f: impl FnOnce(&Connection, &feeds::Lease) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let lease = feeds::Lease {
            owner,
            now: &format_time(&now),
            until: &format_time(&lease_end(now, lease)),
        };
        let done = f(&tx, &lease)?;
        tx.commit()?;
        Ok(done)
    }

    /// Ends every lease `owner` holds (at shutdown); returns how many.
    pub fn release(&mut self, owner: &str) -> Result<usize, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let released = feeds::release(&tx, owner)?;
        tx.commit()?;
        Ok(released)
    }

    /// Ends the leases of processes on `host` that are no longer running:
    /// owners written `HOST:PID` (the daemon's) whose PID `alive` says is
    /// gone. Returns how many feeds were freed. A process killed without
    /// its shutdown leaves its leases behind; they would expire on their
    /// own after the fetch timeout plus a minute, this frees them now.
    pub fn release_dead(
        &mut self,
        host: &str,
        alive: impl Fn(u32) -> bool,
    ) -> Result<usize, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut released = 0;
        for owner in feeds::lease_owners(&tx)? {
            let pid = owner
                .strip_prefix(host)
                .and_then(|rest| rest.strip_prefix(':'))
                .and_then(|pid| pid.parse::<u32>().ok());
            if pid.is_some_and(|pid| !alive(pid)) {
                released += feeds::release(&tx, &owner)?;
            }
        }
        tx.commit()?;
        Ok(released)
    }

    /// Writes the full-text entries of up to `limit` articles whose entry is
    /// pending (new or changed since they were last indexed), oldest first,
    /// in one transaction; returns how many. Commits only queue that work
    /// (the `fts_pending` table): an article is found by search once
    /// this has run over it. Call it again while it returns `limit`.
    pub fn index_pending(&mut self, limit: usize) -> Result<usize, StoreError> {
        // Nothing to do takes no write lock (and makes no transaction). An
        // existence check, not a count: a large backlog is indexed a batch
        // at a time, and counting it before each batch would read it all.
        let queued: bool = self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM fts_pending)")?
            .query_row([], |r| r.get(0))?;
        if !queued {
            return Ok(0);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = search::index_pending(&tx, limit)?;
        tx.commit()?;
        Ok(n)
    }

    /// Indexes every pending article (see [`Store::index_pending`]) in
    /// batches of `batch`; returns how many.
    pub fn index_all_pending(&mut self, batch: usize) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let n = self.index_pending(batch)?;
            total += n;
            if n < batch {
                return Ok(total);
            }
        }
    }

    /// How many articles wait for their full-text entry.
    pub fn pending_index(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM fts_pending")?
            .query_row([], |r| r.get(0))?;
        Ok(n.try_into().unwrap_or(0))
    }

    /// When the next feed that may be polled becomes claimable: the earliest
    /// `max(next_fetch_at, lease_until)`, where a feed never fetched is due
    /// at the Unix epoch (that is: now). `None` when no feed may be polled.
    ///
    /// A time in the past means "now".
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        feeds::next_due(&self.conn)
    }

    /// The publication times of the feed's newest `n` articles, newest
    /// first, for estimating how often it publishes: the published time, or
    /// the first-seen time when there is none or it is bogus (more than a
    /// day after the article was first seen, or before 1995).
    pub fn recent_publish_times(
        &self,
        feed_id: i64,
        n: usize,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        articles::recent_publish_times(&self.conn, feed_id, n)
    }

    /// The feed's last `limit` fetches, newest first.
    pub fn fetch_log(&self, feed_id: i64, limit: usize) -> Result<Vec<FetchLogRow>, StoreError> {
        fetch_log::list(&self.conn, feed_id, limit)
    }

    /// Feed and article counts at `now`: a scan of the (small) feeds table
    /// and a range of today's articles. All articles are counted only when
    /// `count_all` asks: SQLite keeps no count, so that reads a whole index
    /// (~50 ms at 700,000 articles, and it grows with the database).
    pub fn summary(&self, now: DateTime<Utc>, count_all: bool) -> Result<Summary, StoreError> {
        let midnight = now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
        let (feeds, due, failing, disabled) = feeds::counts(&self.conn, &format_time(&now))?;
        let articles_today = articles::count_since(&self.conn, &format_time(&midnight))?;
        let articles = count_all
            .then(|| articles::count_all(&self.conn))
            .transpose()?;
        Ok(Summary {
            feeds,
            due,
            failing,
            disabled,
            articles_today,
            articles,
        })
    }
}

/// `now + lease`, saturating far in the future.
fn lease_end(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(lease)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Keeps a copy of an older database as it was before it is migrated:
/// `PATH.bak-vN` beside it, N its schema version. `VACUUM INTO` writes a
/// consistent snapshot (whatever the WAL holds) under a temporary name that
/// is renamed into place, so a crash midway never leaves a half backup under
/// the real name. A fresh database (version 0), a current one and one in
/// memory have nothing to keep; a newer one is refused by the migration.
/// When the backup fails, nothing is migrated.
fn backup_before_migrating(conn: &Connection, path: &str) -> Result<(), StoreError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found == 0 || found >= SCHEMA_VERSION || path == ":memory:" {
        return Ok(());
    }
    let backup = format!("{path}.bak-v{found}");
    let partial = format!("{backup}.partial-{}", std::process::id());
    let failed = |reason: String| StoreError::Backup {
        path: path.to_string(),
        backup: backup.clone(),
        reason,
    };
    let _ = std::fs::remove_file(&partial);
    conn.execute("VACUUM INTO ?1", [&partial])
        .map_err(|e| failed(e.to_string()))?;
    std::fs::rename(&partial, &backup).map_err(|e| failed(e.to_string()))?;
    tracing::info!(
        database = %path, backup = %backup, from = found, to = SCHEMA_VERSION,
        "backed up the database before migrating it"
    );
    Ok(())
}

/// Sets the connection up: every connection trawl opens goes through here.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Readers never block the writer, and a commit is one append to the log.
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
        tracing::warn!(journal_mode = %mode, "database: WAL mode unavailable");
    }
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // With WAL, NORMAL loses at most the last commits on power loss, never
    // consistency; FULL would fsync on every commit.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Up to 16 MiB of pages (the default is 2 MiB): the upper levels of the
    // indexes every insert touches stay in memory. 64 MiB (migration 4's
    // session) was no quicker with the full-text index off the commit path
    // and cost 34 MiB of peak RSS in a 1,000-feed first pass (181 -> 147 MiB,
    // benches/ingest.sh A/B, same run).
    conn.pragma_update(None, "cache_size", -16384)?;
    // Statement journals (an UPDATE or INSERT … SELECT inside the batch's
    // transaction keeps one, to undo just that statement) and temporary
    // B-trees in memory rather than in temp files: perf put 12 % of the
    // store bench's commit path in statement-journal writes to a temp file.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Plans that do not depend on the values bound. Without this, SQLite
    // marks a statement whose plan a bound value might change to be
    // compiled again whenever its bindings are cleared, which rusqlite does
    // each time a cached statement goes back to its cache: the trim of the
    // fetch log was compiled anew for every feed outcome, the URL lookup
    // for every feed (2.5 % of the writer's time in a 1,000-feed first
    // pass, perf).
    // trawl runs no ANALYZE, so no plan here gains from the bound values.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    // The full-text index's view of the text (migration 3): its triggers and
    // its content view call it, so it must exist before anything is migrated
    // or written. Innocuous: it reads nothing but its argument.
    conn.create_scalar_function(
        "trawl_fts_text",
        1,
        FunctionFlags::SQLITE_UTF8
            | FunctionFlags::SQLITE_DETERMINISTIC
            | FunctionFlags::SQLITE_INNOCUOUS,
        |ctx| {
            Ok(match ctx.get_raw(0).as_str_or_null() {
                Ok(Some(text)) => Value::Text(crate::search::index_text(text).into_owned()),
                Ok(None) => Value::Null,
                // A BLOB or a number (never written by trawl): indexed as is.
                Err(_) => ctx.get::<Value>(0)?,
            })
        },
    )?;
    near::register_functions(conn)?;
    Ok(())
}

/// `t` rounded up to a whole second, as a due time is stored: times are
/// kept in whole seconds, and rounding down would make a feed due up to a
/// second before the scheduler said. With an interval near a second (and
/// ±10 % jitter), that was often before its fetch was even committed, so
/// the daemon fetched the feed again at once, two or three times a round.
fn whole_second_after(t: DateTime<Utc>) -> DateTime<Utc> {
    match t.nanosecond() {
        0 => t,
        _ => t.with_nanosecond(0).unwrap_or(t) + chrono::Duration::seconds(1),
    }
}

/// Writes one feed's outcome and its fetch log row, and ends the feed's
/// lease; runs inside the batch's transaction.
fn commit_one(
    conn: &Connection,
    update: &FeedUpdate,
    policy: &Policy,
    recent: &mut Option<near::Recent>,
) -> Result<Counts, StoreError> {
    let fetched_at = format_time(&update.fetched_at);
    let times = feeds::FetchTimes {
        fetched_at: &fetched_at,
        next_fetch_at: &format_time(&whole_second_after(update.next_fetch_at)),
    };
    let (status, error, counts) = match &update.outcome {
        Outcome::NotModified { status, moved_to } => {
            feeds::record_not_modified(conn, update.feed_id, &times, *status)?;
            if let Some(url) = moved_to {
                feeds::move_url(conn, update.feed_id, url)?;
            }
            (Some(*status), None, Counts::default())
        }
        Outcome::Failed { status, error } => {
            feeds::record_failure(conn, update.feed_id, &times, *status, error)?;
            (*status, Some(error.as_str()), Counts::default())
        }
        Outcome::Deferred { error } => {
            feeds::record_deferred(conn, update.feed_id, &times, error)?;
            (None, Some(error.as_str()), Counts::default())
        }
        Outcome::Fetched {
            status,
            moved_to,
            etag,
            last_modified,
            asked_interval,
            feed,
            articles,
        } => {
            let fetched = feeds::Fetched {
                status: *status,
                moved_to: moved_to.as_deref(),
                etag: etag.as_deref(),
                last_modified: last_modified.as_deref(),
                feed,
                body_hash: update.body_hash.as_deref(),
                unconditional: update.unconditional,
                malformed: update.malformed,
                asked_interval: *asked_interval,
            };
            feeds::record_fetched(conn, update.feed_id, &times, &fetched)?;
            let counts =
                articles::store(conn, update.feed_id, &fetched_at, articles, policy, recent)?;
            (Some(*status), None, counts)
        }
    };
    feeds::finish(conn, update.feed_id, update.no_validators)?;
    fetch_log::record(
        conn,
        update.feed_id,
        &fetch_log::Entry {
            at: &fetched_at,
            status,
            bytes: update.bytes,
            duration_ms: update.duration_ms,
            counts: &counts,
            error,
        },
    )?;
    Ok(counts)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_scale;
#[cfg(test)]
mod tests_stories;
