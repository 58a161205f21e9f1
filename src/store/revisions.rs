//! `article_revisions`: earlier versions of articles whose text changed,
//! written before the article row is updated in place; the newest
//! `max_revisions` per article are kept.

use rusqlite::{Connection, params};

use super::articles::required_time_column;
use super::{Revision, StoreError};

/// Before article `id` is updated to content hash `new_hash`: when the
/// stored version differs, copies it into `article_revisions` (unless `max`
/// is 0), drops all but the newest `max`, and returns true: the text
/// changed. False when the stored version is this one already (another
/// source brought it first).
pub(super) fn archive(
    conn: &Connection,
    id: i64,
    new_hash: &str,
    max: usize,
) -> Result<bool, StoreError> {
    let stored_hash: String = conn
        .prepare_cached("SELECT content_hash FROM articles WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?;
    if stored_hash == new_hash {
        return Ok(false);
    }
    if max == 0 {
        return Ok(true);
    }
    let next: i64 = conn
        .prepare_cached(
            "SELECT coalesce(max(revision), 0) + 1 FROM article_revisions WHERE article_id = ?1",
        )?
        .query_row([id], |r| r.get(0))?;
    conn.prepare_cached(
        "INSERT INTO article_revisions \
         (article_id, revision, title, summary, content_text, content_hash, seen_at) \
         SELECT id, ?2, title, summary, content_text, content_hash, \
         coalesce(revised_at, first_seen_at) FROM articles WHERE id = ?1",
    )?
    .execute(params![id, next])?;
    let keep_from = next - i64::try_from(max).unwrap_or(i64::MAX) + 1;
    if keep_from > 1 {
        conn.prepare_cached(
            "DELETE FROM article_revisions WHERE article_id = ?1 AND revision < ?2",
        )?
        .execute(params![id, keep_from])?;
    }
    Ok(true)
}

/// The kept revisions of article `id`, oldest first.
pub(super) fn list(conn: &Connection, id: i64) -> Result<Vec<Revision>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT revision, title, summary, content_text, content_hash, seen_at \
         FROM article_revisions WHERE article_id = ?1 ORDER BY revision",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(Revision {
            revision: r.get(0)?,
            title: r.get(1)?,
            summary: r.get(2)?,
            content_text: r.get(3)?,
            content_hash: r.get(4)?,
            seen_at: required_time_column(r, 5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
