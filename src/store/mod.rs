//! SQLite storage: open, pragmas and migrations in one place; the single
//! writer commits a batch of feed outcomes in one transaction.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::article::{Article, FeedInfo};
use crate::config::FeedConfig;

/// Where the database lives when neither `--db` nor `[daemon] database` say.
pub const DEFAULT_DATABASE: &str = "data/trawl.db";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// The database. Exactly one `Store` writes at a time.
pub struct Store {
    conn: Connection,
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
    NotModified { status: u16 },
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
    Failed { status: Option<u16>, error: String },
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
    pub feed: Option<String>,
    pub since: Option<DateTime<Utc>>,
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
    s.serialize_str(&crate::article::format_time(t))
}

impl Store {
    /// Opens (creating it and its folder when missing) and migrates the database.
    pub fn open(_path: &Path) -> Result<Store, StoreError> {
        todo!()
    }

    /// Makes the feeds table know every configured feed (matched by name),
    /// and returns their rows in config order.
    pub fn sync_feeds(&mut self, _feeds: &[FeedConfig]) -> Result<Vec<FeedRow>, StoreError> {
        todo!()
    }

    /// Every feed the database knows, by name.
    pub fn feeds(&self) -> Result<Vec<FeedRow>, StoreError> {
        todo!()
    }

    /// Commits the outcomes of several fetches in one transaction and
    /// returns, for each, what happened to its entries.
    pub fn commit(&mut self, _batch: &[FeedUpdate]) -> Result<Vec<Counts>, StoreError> {
        todo!()
    }

    /// The latest articles, newest first.
    pub fn articles(&self, _q: &ArticleQuery) -> Result<Vec<StoredArticle>, StoreError> {
        let _ = &self.conn;
        todo!()
    }
}
