//! Retention: pruning old articles in small batches, each its own short
//! transaction, so that the writer commits fetched feeds in between.

use rusqlite::{Connection, params};

use super::{StoreError, near};

/// Deletes up to `batch` of the oldest articles published (else first seen)
/// before `cutoff` and last seen before it too (by every source: re-seeing
/// an entry moves only its source's `seen_at`), with their sources and
/// revisions; returns how many.
///
/// An article a feed still shows is kept however old it is: deleted, it
/// would come back as new on the next fetch. A cluster head hands its
/// cluster to its earliest member first.
pub(super) fn prune(conn: &Connection, cutoff: &str, batch: usize) -> Result<usize, StoreError> {
    // Walks `articles_newest` from the oldest end.
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT id FROM articles WHERE coalesce(published_at, first_seen_at) < ?1 \
             AND last_seen_at < ?1 AND NOT EXISTS (SELECT 1 FROM article_sources \
             WHERE article_id = articles.id AND seen_at >= ?1) \
             ORDER BY coalesce(published_at, first_seen_at), id LIMIT ?2",
        )?
        .query_map(
            params![cutoff, i64::try_from(batch).unwrap_or(i64::MAX)],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    let mut delete = conn.prepare_cached("DELETE FROM articles WHERE id = ?1")?;
    for &id in &ids {
        near::hand_over(conn, id)?;
        delete.execute([id])?;
    }
    Ok(ids.len())
}
