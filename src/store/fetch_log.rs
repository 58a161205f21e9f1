//! The `fetch_log` table: one row per fetch of a feed (status, size, time
//! taken, what it did to the articles, the error), the newest
//! [`FETCH_LOG_KEEP`] per feed.

use rusqlite::{Connection, params};

use super::{Counts, FETCH_LOG_KEEP, FetchLogRow, StoreError};

/// One fetch, as [`record`] writes it.
pub(super) struct Entry<'a> {
    pub at: &'a str,
    pub status: Option<u16>,
    pub bytes: Option<u64>,
    pub duration_ms: u64,
    pub counts: &'a Counts,
    pub error: Option<&'a str>,
}

/// Appends one row for the feed and drops its rows beyond the newest
/// [`FETCH_LOG_KEEP`]. Runs inside the batch's transaction.
///
/// The trim costs two walks of the (feed_id, id) index: find the id of the
/// first row too old to keep, delete up to it (usually one row).
pub(super) fn record(conn: &Connection, feed_id: i64, e: &Entry) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO fetch_log (feed_id, at, status, bytes, duration_ms, new, updated, \
         duplicate, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        feed_id,
        e.at,
        e.status,
        e.bytes.map(int),
        int(e.duration_ms),
        int(e.counts.new),
        int(e.counts.updated),
        int(e.counts.duplicate),
        e.error,
    ])?;
    conn.prepare_cached(TRIM)?
        .execute(params![feed_id, int(FETCH_LOG_KEEP)])?;
    Ok(())
}

/// The trim of [`record`].
pub(super) const TRIM: &str = "DELETE FROM fetch_log WHERE feed_id = ?1 AND id <= \
     (SELECT id FROM fetch_log WHERE feed_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)";

/// See [`super::Store::fetch_log`].
pub(super) fn list(
    conn: &Connection,
    feed_id: i64,
    limit: usize,
) -> Result<Vec<FetchLogRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, status, bytes, duration_ms, new, updated, duplicate, error \
         FROM fetch_log WHERE feed_id = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let count = |r: &rusqlite::Row, i| r.get::<_, i64>(i).map(|n| n.try_into().unwrap_or(0));
    let rows = stmt.query_map(params![feed_id, int(limit)], |r| {
        Ok(FetchLogRow {
            at: super::articles::required_time_column(r, 0)?,
            status: r.get(1)?,
            bytes: r
                .get::<_, Option<i64>>(2)?
                .map(|n| n.try_into().unwrap_or(0)),
            duration_ms: count(r, 3)?,
            new: count(r, 4)?,
            updated: count(r, 5)?,
            duplicate: count(r, 6)?,
            error: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// SQLite integers are signed; sizes, durations and counts never come near
/// the limit.
fn int(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}
