//! SQLite storage: open, pragmas and migrations in one place; the single
//! writer commits a batch of feed outcomes in one transaction.
//!
//! # Layout
//!
//! - `mod.rs` (here): the public types, opening (pragmas, then migrations)
//!   and the batch commit that ties feeds and articles together.
//! - `schema.rs`: the numbered migrations, keyed on `PRAGMA user_version`.
//! - `feeds.rs`: the `feeds` table: syncing with the config, fetch outcomes.
//! - `articles.rs`: `articles` and `article_sources`: applying the dedupe
//!   decision to each entry, and listing what is stored.
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
//!   (feed, guid), `articles.url` is unique where present.

mod articles;
mod feeds;
mod schema;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior};

use crate::article::{Article, FeedInfo, format_time};
use crate::config::FeedConfig;

pub use schema::VERSION as SCHEMA_VERSION;

/// Where the database lives when neither `--db` nor `[daemon] database` say.
pub const DEFAULT_DATABASE: &str = "data/trawl.db";

/// How long a statement waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

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
}

/// What one fetch of one feed produced, ready to commit.
#[derive(Debug, Clone)]
pub struct FeedUpdate {
    pub feed_id: i64,
    pub fetched_at: DateTime<Utc>,
    pub next_fetch_at: DateTime<Utc>,
    pub outcome: Outcome,
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
        feed: FeedInfo,
        articles: Vec<Article>,
    },
    Failed {
        status: Option<u16>,
        error: String,
    },
}

/// What committing one feed's articles did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Articles stored for the first time.
    pub new: usize,
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

fn ser_time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(t))
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
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: name.clone(),
            source,
        })?;
        Store::init(conn, name)
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
        schema::migrate(&mut conn, &path).map_err(at_path)?;
        // Room for every statement of the commit and query paths.
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Store { conn, path })
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
        let counts = batch
            .iter()
            .map(|update| commit_one(&tx, update))
            .collect::<Result<Vec<_>, _>>()?;
        tx.commit()?;
        Ok(counts)
    }

    /// The latest articles, newest first (by published time, else first-seen
    /// time, then by id).
    pub fn articles(&self, q: &ArticleQuery) -> Result<Vec<StoredArticle>, StoreError> {
        articles::list(&self.conn, q)
    }
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
    Ok(())
}

/// Writes one feed's outcome; runs inside the batch's transaction.
fn commit_one(conn: &Connection, update: &FeedUpdate) -> Result<Counts, StoreError> {
    let fetched_at = format_time(&update.fetched_at);
    let times = feeds::FetchTimes {
        fetched_at: &fetched_at,
        next_fetch_at: &format_time(&update.next_fetch_at),
    };
    match &update.outcome {
        Outcome::NotModified { status, moved_to } => {
            feeds::record_not_modified(conn, update.feed_id, &times, *status)?;
            if let Some(url) = moved_to {
                feeds::move_url(conn, update.feed_id, url)?;
            }
            Ok(Counts::default())
        }
        Outcome::Failed { status, error } => {
            feeds::record_failure(conn, update.feed_id, &times, *status, error)?;
            Ok(Counts::default())
        }
        Outcome::Fetched {
            status,
            moved_to,
            etag,
            last_modified,
            feed,
            articles,
        } => {
            let fetched = feeds::Fetched {
                status: *status,
                moved_to: moved_to.as_deref(),
                etag: etag.as_deref(),
                last_modified: last_modified.as_deref(),
                feed,
            };
            feeds::record_fetched(conn, update.feed_id, &times, &fetched)?;
            articles::store(conn, update.feed_id, &fetched_at, articles)
        }
    }
}

#[cfg(test)]
mod tests;
