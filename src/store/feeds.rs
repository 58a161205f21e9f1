//! The `feeds` table: which feeds exist, where they are fetched from, what
//! their last fetch did (validators, status, failures, next due time), and
//! who is fetching them now (leases).

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{FeedRow, StoreError};
use crate::article::{FeedInfo, parse_time};
use crate::config::FeedConfig;

/// `SELECT` of every [`FeedRow`] column, in [`from_row`]'s order.
macro_rules! select_feed {
    () => {
        "SELECT id, name, url, coalesce(config_url, url), title, site_url, etag, \
         last_modified, last_fetch_at, next_fetch_at, last_status, \
         consecutive_failures, last_error, \
         (SELECT count(DISTINCT article_id) FROM article_sources WHERE feed_id = feeds.id), \
         enabled, lease_owner, lease_until, disabled_reason, no_validators, body_hash, \
         last_full_fetch_at, malformed, asked_interval \
         FROM feeds"
    };
}

/// The condition for a feed the daemon may poll; `feeds_pollable` indexes
/// exactly these rows (the planner uses a partial index only when the query
/// repeats its condition).
macro_rules! pollable {
    () => {
        "enabled = 1 AND disabled_reason IS NULL"
    };
}

fn from_row(row: &Row) -> rusqlite::Result<FeedRow> {
    Ok(FeedRow {
        id: row.get(0)?,
        name: row.get(1)?,
        url: row.get(2)?,
        config_url: row.get(3)?,
        title: row.get(4)?,
        site_url: row.get(5)?,
        etag: row.get(6)?,
        last_modified: row.get(7)?,
        last_fetch_at: super::articles::time_column(row, 8)?,
        next_fetch_at: super::articles::time_column(row, 9)?,
        last_status: row.get(10)?,
        consecutive_failures: row.get(11)?,
        last_error: row.get(12)?,
        article_count: row.get::<_, i64>(13)?.try_into().unwrap_or(0),
        enabled: row.get(14)?,
        lease_owner: row.get(15)?,
        lease_until: super::articles::time_column(row, 16)?,
        disabled_reason: row.get(17)?,
        no_validators: row.get(18)?,
        body_hash: row.get(19)?,
        last_full_fetch_at: super::articles::time_column(row, 20)?,
        malformed: row.get(21)?,
        asked_interval: row
            .get::<_, Option<i64>>(22)?
            .map(|s| Duration::from_secs(s.max(0).unsigned_abs())),
    })
}

pub(super) fn all(conn: &Connection) -> Result<Vec<FeedRow>, StoreError> {
    let mut stmt = conn.prepare_cached(concat!(select_feed!(), " ORDER BY name"))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn by_name(conn: &Connection, name: &str) -> Result<Option<FeedRow>, StoreError> {
    let mut stmt = conn.prepare_cached(concat!(select_feed!(), " WHERE name = ?1"))?;
    Ok(stmt.query_row([name], from_row).optional()?)
}

pub(super) fn by_id(conn: &Connection, id: i64) -> Result<FeedRow, StoreError> {
    let mut stmt = conn.prepare_cached(concat!(select_feed!(), " WHERE id = ?1"))?;
    Ok(stmt.query_row([id], from_row)?)
}

/// The feed fetched from `url`, other than `except`: (id, name).
fn holder_of(
    conn: &Connection,
    url: &str,
    except: i64,
) -> Result<Option<(i64, String)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT id, name FROM feeds WHERE url = ?1 AND id <> ?2")?;
    Ok(stmt
        .query_row(params![url, except], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

fn insert(
    conn: &Connection,
    name: &str,
    url: &str,
    enabled: bool,
    now: &str,
) -> Result<i64, StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO feeds (name, url, config_url, enabled, created_at) \
         VALUES (?1, ?2, ?2, ?3, ?4)",
    )?;
    Ok(stmt.insert(params![name, url, enabled, now])?)
}

/// See [`super::Store::sync_feeds`]. Runs inside a transaction: on error the
/// caller drops it and nothing changes.
pub(super) fn sync(
    conn: &Connection,
    configured: &[FeedConfig],
    now: &str,
) -> Result<Vec<FeedRow>, StoreError> {
    let names: HashSet<&str> = configured.iter().map(|f| f.name.as_str()).collect();

    // Rows whose configured URL changed first give up their URL (to a
    // placeholder no feed URL can equal), so that two feeds may swap URLs
    // without tripping UNIQUE(url) halfway through.
    let mut moving = Vec::new();
    {
        let mut find = conn.prepare_cached(
            "SELECT id, coalesce(config_url, url) <> ?2 FROM feeds WHERE name = ?1",
        )?;
        let mut park =
            conn.prepare_cached("UPDATE feeds SET url = 'trawl:moving:' || id WHERE id = ?1")?;
        for feed in configured {
            let found: Option<(i64, bool)> = find
                .query_row(params![feed.name, feed.url], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if let Some((id, true)) = found {
                park.execute([id])?;
                moving.push(id);
            }
        }
    }

    let mut ids = Vec::with_capacity(configured.len());
    let mut find = conn.prepare_cached("SELECT id FROM feeds WHERE name = ?1")?;
    for feed in configured {
        let id: Option<i64> = find.query_row([&feed.name], |r| r.get(0)).optional()?;
        if let Some(id) = id.filter(|id| !moving.contains(id)) {
            ids.push(id);
            continue;
        }
        // A new feed, or one whose URL changed: it claims its URL.
        let id = match (id, holder_of(conn, &feed.url, id.unwrap_or(0))?) {
            // A new address is a new server: what the old one did (410,
            // lying validators) no longer holds.
            (Some(id), None) => {
                conn.prepare_cached(
                    "UPDATE feeds SET url = ?2, config_url = ?2, etag = NULL, \
                     last_modified = NULL, disabled_reason = NULL, no_validators = 0, \
                     body_hash = NULL WHERE id = ?1",
                )?
                .execute(params![id, feed.url])?;
                id
            }
            (None, None) => insert(conn, &feed.name, &feed.url, feed.enabled, now)?,
            // A feed no longer configured has this URL: the feed was renamed.
            (None, Some((other_id, other))) if !names.contains(other.as_str()) => {
                conn.prepare_cached("UPDATE feeds SET name = ?2, config_url = ?3 WHERE id = ?1")?
                    .execute(params![other_id, feed.name, feed.url])?;
                other_id
            }
            (_, Some((_, other))) => {
                return Err(StoreError::UrlTaken {
                    name: feed.name.clone(),
                    url: feed.url.clone(),
                    other,
                });
            }
        };
        ids.push(id);
    }

    // Only configured feeds are polled, and only when enabled there.
    conn.prepare_cached("UPDATE feeds SET enabled = 0 WHERE enabled <> 0")?
        .execute([])?;
    let mut enable = conn.prepare_cached("UPDATE feeds SET enabled = ?2 WHERE id = ?1")?;
    for (id, feed) in ids.iter().zip(configured) {
        enable.execute(params![id, feed.enabled])?;
    }
    ids.into_iter().map(|id| by_id(conn, id)).collect()
}

/// See [`super::Store::ensure_feed`].
pub(super) fn ensure(
    conn: &Connection,
    name: &str,
    url: &str,
    now: &str,
) -> Result<FeedRow, StoreError> {
    if let Some(row) = by_name(conn, name)? {
        return Ok(row);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM feeds WHERE url = ?1 OR config_url = ?1 ORDER BY url = ?1 DESC LIMIT 1",
    )?;
    let id = match stmt.query_row([url], |r| r.get(0)).optional()? {
        Some(id) => id,
        // Fetched once by hand: the daemon never polls it.
        None => insert(conn, name, url, false, now)?,
    };
    by_id(conn, id)
}

/// When a fetch happened and when the feed is due again.
pub(super) struct FetchTimes<'a> {
    pub fetched_at: &'a str,
    pub next_fetch_at: &'a str,
}

/// A successful fetch, as far as the feed row is concerned.
pub(super) struct Fetched<'a> {
    pub status: u16,
    pub moved_to: Option<&'a str>,
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
    pub feed: &'a FeedInfo,
    pub body_hash: Option<&'a str>,
    /// The request carried no validators.
    pub unconditional: bool,
    pub malformed: bool,
    pub asked_interval: Option<Duration>,
}

/// Fails with [`StoreError::UnknownFeed`] unless exactly the feed row changed.
fn one_row(changed: usize, id: i64) -> Result<(), StoreError> {
    match changed {
        1 => Ok(()),
        _ => Err(StoreError::UnknownFeed(id)),
    }
}

/// 304: the validators stay; the feed is healthy (and no longer gone).
pub(super) fn record_not_modified(
    conn: &Connection,
    id: i64,
    t: &FetchTimes,
    status: u16,
) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE feeds SET last_fetch_at = ?2, next_fetch_at = ?3, last_status = ?4, \
             consecutive_failures = 0, last_error = NULL, disabled_reason = NULL WHERE id = ?1",
        )?
        .execute(params![id, t.fetched_at, t.next_fetch_at, status])?;
    one_row(changed, id)
}

/// A failed fetch: counted and recorded; the validators stay. A 410 Gone
/// disables the feed (keeping the time of the first 410) and unschedules it.
pub(super) fn record_failure(
    conn: &Connection,
    id: i64,
    t: &FetchTimes,
    status: Option<u16>,
    error: &str,
) -> Result<(), StoreError> {
    let gone = status == Some(410);
    let reason = format!("410 Gone since {}", t.fetched_at);
    let changed = conn
        .prepare_cached(
            "UPDATE feeds SET last_fetch_at = ?2, \
             next_fetch_at = CASE WHEN ?6 THEN NULL ELSE ?3 END, last_status = ?4, \
             consecutive_failures = consecutive_failures + 1, last_error = ?5, \
             disabled_reason = CASE WHEN ?6 THEN coalesce(disabled_reason, ?7) \
             ELSE disabled_reason END WHERE id = ?1",
        )?
        .execute(params![
            id,
            t.fetched_at,
            t.next_fetch_at,
            status,
            error,
            gone,
            reason
        ])?;
    one_row(changed, id)
}

/// A failure that is not the feed's: retried at `next_fetch_at`, the
/// failure count and status untouched.
pub(super) fn record_deferred(
    conn: &Connection,
    id: i64,
    t: &FetchTimes,
    error: &str,
) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE feeds SET last_fetch_at = ?2, next_fetch_at = ?3, last_error = ?4 WHERE id = ?1",
        )?
        .execute(params![id, t.fetched_at, t.next_fetch_at, error])?;
    one_row(changed, id)
}

/// See [`super::Store::forgive`].
pub(super) fn forgive(conn: &Connection, ids: &[i64]) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE feeds SET consecutive_failures = max(consecutive_failures - 1, 0) WHERE id = ?1",
    )?;
    for id in ids {
        stmt.execute([id])?;
    }
    Ok(())
}

/// A fetched document: new validators (absent ones clear the old), the
/// feed's own title and site when it gives them, and its new URL after a
/// permanent redirect, unless another feed already has that URL.
pub(super) fn record_fetched(
    conn: &Connection,
    id: i64,
    t: &FetchTimes,
    f: &Fetched,
) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE feeds SET title = coalesce(?2, title), site_url = coalesce(?3, site_url), \
             etag = ?4, last_modified = ?5, last_fetch_at = ?6, next_fetch_at = ?7, \
             last_status = ?8, consecutive_failures = 0, last_error = NULL, \
             disabled_reason = NULL, body_hash = ?9, malformed = ?10, \
             last_full_fetch_at = CASE WHEN ?11 THEN ?6 ELSE last_full_fetch_at END, \
             asked_interval = ?12 \
             WHERE id = ?1",
        )?
        .execute(params![
            id,
            f.feed.title,
            f.feed.site_url,
            f.etag,
            f.last_modified,
            t.fetched_at,
            t.next_fetch_at,
            f.status,
            f.body_hash,
            f.malformed,
            f.unconditional,
            f.asked_interval
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        ])?;
    one_row(changed, id)?;
    if let Some(url) = f.moved_to {
        move_url(conn, id, url)?;
    }
    Ok(())
}

/// What every outcome writes besides its own: the feed's lease ends, and
/// `no_validators` changes when the fetch says so.
pub(super) fn finish(
    conn: &Connection,
    id: i64,
    no_validators: Option<bool>,
) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE feeds SET lease_owner = NULL, lease_until = NULL, \
             no_validators = coalesce(?2, no_validators) WHERE id = ?1",
        )?
        .execute(params![id, no_validators])?;
    one_row(changed, id)
}

/// Points the feed at its new URL after a chain of permanent redirects,
/// unless another feed already has that URL.
pub(super) fn move_url(conn: &Connection, id: i64, url: &str) -> Result<(), StoreError> {
    let moved = conn
        .prepare_cached(
            "UPDATE feeds SET url = ?2 WHERE id = ?1 \
             AND NOT EXISTS (SELECT 1 FROM feeds WHERE url = ?2 AND id <> ?1)",
        )?
        .execute(params![id, url])?;
    if moved == 0 {
        tracing::warn!(
            feed_id = id,
            url,
            "permanent redirect to a url another feed has; keeping the old url"
        );
    }
    Ok(())
}

/// A claim on fetching feeds: who, at what time, until when (all RFC 3339).
pub(super) struct Lease<'a> {
    pub owner: &'a str,
    pub now: &'a str,
    pub until: &'a str,
}

/// See [`super::Store::claim_due`]. Runs inside an IMMEDIATE transaction, so
/// no other connection can claim between the choice and the write.
///
/// A lease is live while `lease_until` is after now: at `lease_until` the
/// feed is claimable again, which is what [`next_due`] reports.
pub(super) fn claim_due(
    conn: &Connection,
    lease: &Lease,
    limit: usize,
) -> Result<Vec<FeedRow>, StoreError> {
    // NULLs sort first: feeds never fetched, then the most overdue.
    let ids: Vec<i64> = conn
        .prepare_cached(concat!(
            "SELECT id FROM feeds WHERE ",
            pollable!(),
            " AND (next_fetch_at IS NULL OR next_fetch_at <= ?1) \
             AND (lease_until IS NULL OR lease_until <= ?1) \
             ORDER BY next_fetch_at, id LIMIT ?2"
        ))?
        .query_map(
            params![lease.now, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    let mut take =
        conn.prepare_cached("UPDATE feeds SET lease_owner = ?2, lease_until = ?3 WHERE id = ?1")?;
    for &id in &ids {
        take.execute(params![id, lease.owner, lease.until])?;
    }
    ids.into_iter().map(|id| by_id(conn, id)).collect()
}

/// See [`super::Store::claim`].
pub(super) fn claim(conn: &Connection, id: i64, lease: &Lease) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE feeds SET lease_owner = ?2, lease_until = ?4 WHERE id = ?1 \
             AND (lease_until IS NULL OR lease_until <= ?3 OR lease_owner = ?2)",
        )?
        .execute(params![id, lease.owner, lease.now, lease.until])?;
    if changed == 0 {
        // Someone else's lease, or no such feed.
        by_id(conn, id).map_err(|e| match e {
            StoreError::Sql(rusqlite::Error::QueryReturnedNoRows) => StoreError::UnknownFeed(id),
            e => e,
        })?;
    }
    Ok(changed == 1)
}

/// See [`super::Store::release`].
pub(super) fn release(conn: &Connection, owner: &str) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE feeds SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?1",
        )?
        .execute([owner])?)
}

/// See [`super::Store::next_due`]. Times are text in one format, so `max`
/// and `min` on them are time order.
///
/// Two index walks, never a scan of `feeds`: the first unleased pollable
/// feed in `feeds_pollable` order (NULLs, never fetched, first), and the
/// leased ones through `feeds_leased` (a lease ends at commit, so they are
/// the few in flight, plus any a killed process left), each due at the later
/// of its due time and its lease's end.
pub(super) fn next_due(conn: &Connection) -> Result<Option<DateTime<Utc>>, StoreError> {
    let next: Option<String> = conn
        .prepare_cached(concat!(
            "SELECT min(t) FROM (\
             SELECT * FROM (SELECT coalesce(next_fetch_at, '1970-01-01T00:00:00Z') AS t \
             FROM feeds WHERE ",
            pollable!(),
            " AND lease_until IS NULL ORDER BY next_fetch_at LIMIT 1) \
             UNION ALL \
             SELECT max(coalesce(next_fetch_at, '1970-01-01T00:00:00Z'), lease_until) \
             FROM feeds WHERE lease_until IS NOT NULL AND ",
            pollable!(),
            ")"
        ))?
        .query_row([], |r| r.get(0))?;
    next.map(|text| {
        parse_time(&text).ok_or_else(|| {
            StoreError::Sql(rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Text,
                format!("not an RFC 3339 time: {text:?}").into(),
            ))
        })
    })
    .transpose()
}

/// The owners of leases in the database, for [`super::Store::release_dead`].
pub(super) fn lease_owners(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT lease_owner FROM feeds \
         WHERE lease_until IS NOT NULL AND lease_owner IS NOT NULL",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// For [`super::Store::summary`]: enabled feeds, and of those the due, the
/// failing and the disabled ones. One pass over the feeds table.
pub(super) fn counts(conn: &Connection, now: &str) -> Result<(u64, u64, u64, u64), StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT count(*), \
         count(*) FILTER (WHERE disabled_reason IS NULL \
             AND (next_fetch_at IS NULL OR next_fetch_at <= ?1)), \
         count(*) FILTER (WHERE disabled_reason IS NULL AND consecutive_failures > 0), \
         count(*) FILTER (WHERE disabled_reason IS NOT NULL) \
         FROM feeds WHERE enabled = 1",
    )?;
    let n = |r: &Row, i| r.get::<_, i64>(i).map(|n| n.try_into().unwrap_or(0));
    Ok(stmt.query_row([now], |r| Ok((n(r, 0)?, n(r, 1)?, n(r, 2)?, n(r, 3)?)))?)
}
