//! Full-text search over `articles_fts`: bm25 ranking, one hit per story
//! unless asked for all, highlighted titles and snippets cut by SQLite.

use rusqlite::{Connection, params};

use super::articles::{by_id, feed_id};
use super::{Hit, SearchQuery, StoreError};
use crate::article::format_time;
use crate::search::{MARK_END, MARK_START};

/// bm25 weights of the index's columns: a word in the title counts as much
/// as five in the text.
const WEIGHTS: &str = "5.0, 1.0";

/// Tokens in a snippet.
const SNIPPET_TOKENS: u32 = 24;

/// See [`super::Store::search`].
///
/// Every match is ranked (FTS5 scores them all anyway); the filters then
/// apply to the ranked rows, and by default the rows of one cluster are
/// grouped into one hit: the cluster head when it matched itself, else the
/// best-ranked member. Titles and snippets are made for the hits only.
pub(super) fn search(conn: &Connection, q: &SearchQuery) -> Result<Vec<Hit>, StoreError> {
    let feed = match &q.feed {
        None => None,
        Some(name) => match feed_id(conn, name)? {
            Some(id) => Some(id),
            None => return Ok(Vec::new()),
        },
    };
    let mut filters = Vec::new();
    if feed.is_some() {
        filters.push(
            "EXISTS (SELECT 1 FROM article_sources s WHERE s.article_id = a.id AND s.feed_id = ?2)",
        );
    }
    if q.since.is_some() {
        filters.push("coalesce(a.published_at, a.first_seen_at) >= ?3");
    }
    if q.language.is_some() {
        filters.push("(a.language = ?4 COLLATE NOCASE OR a.language LIKE ?4 || '-%')");
    }
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    };
    // Materialized: bm25() may only be called where FTS5 drives the query,
    // not from inside the grouping below.
    let matches = format!(
        "WITH m AS MATERIALIZED (SELECT rowid AS id, bm25(articles_fts, {WEIGHTS}) AS rank \
         FROM articles_fts WHERE articles_fts MATCH ?1)"
    );
    let sql = if q.all {
        format!(
            "{matches} SELECT m.id, m.rank, 0 FROM m JOIN articles a ON a.id = m.id {filter} \
             ORDER BY m.rank, m.id LIMIT ?5"
        )
    } else {
        // `m.id` is a bare column beside the only min(): SQLite takes it
        // from the row with the least rank (the best match of the cluster).
        format!(
            "{matches} SELECT CASE WHEN sum(m.id = coalesce(a.duplicate_of, a.id)) > 0 \
             THEN coalesce(a.duplicate_of, a.id) ELSE m.id END, min(m.rank), \
             (SELECT count(*) FROM articles d WHERE d.duplicate_of = coalesce(a.duplicate_of, a.id)) \
             FROM m JOIN articles a ON a.id = m.id {filter} \
             GROUP BY coalesce(a.duplicate_of, a.id) ORDER BY min(m.rank), 1 LIMIT ?5"
        )
    };
    let limit = match q.limit {
        0 => -1,
        n => i64::try_from(n).unwrap_or(i64::MAX),
    };
    let since = q.since.as_ref().map(format_time);
    let ranked: Vec<(i64, f64, i64)> = conn
        .prepare_cached(&sql)?
        .query_map(params![q.fts, feed, since, q.language, limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;

    let mut marked = conn.prepare_cached(&format!(
        "SELECT highlight(articles_fts, 0, ?3, ?4), \
         snippet(articles_fts, 1, ?3, ?4, '…', {SNIPPET_TOKENS}) \
         FROM articles_fts WHERE articles_fts MATCH ?1 AND rowid = ?2"
    ))?;
    let mut hits = Vec::with_capacity(ranked.len());
    for (id, rank, copies) in ranked {
        let Some(stored) = by_id(conn, id)? else {
            continue;
        };
        // The head shown for a cluster may not match the query itself.
        let (title_marked, snippet): (String, String) = marked
            .query_row(params![q.fts, id, MARK_START, MARK_END], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                ))
            })
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => {
                    Ok((stored.article.title.clone(), String::new()))
                }
                e => Err(e),
            })?;
        hits.push(Hit {
            stored,
            rank,
            title_marked,
            snippet,
            copies: usize::try_from(copies).unwrap_or(0),
        });
    }
    Ok(hits)
}

/// See [`super::Store::index_pending`]: the oldest `limit` queued articles
/// get their entry (the text as `trawl_fts_text()` gives it), then leave the
/// queue. An article deleted since it was queued left the queue then.
pub(super) fn index_pending(conn: &Connection, limit: usize) -> Result<usize, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let ids: Vec<i64> = conn
        .prepare_cached("SELECT article_id FROM fts_pending ORDER BY article_id LIMIT ?1")?
        .query_map([limit], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let (Some(&first), Some(&last)) = (ids.first(), ids.last()) else {
        return Ok(0);
    };
    // The queue's ids in order, as one range: the articles' rows are read in
    // rowid order (the text is where the time goes, not the lookup).
    conn.prepare_cached(
        "INSERT INTO articles_fts (rowid, title, content_text) \
         SELECT a.id, trawl_fts_text(a.title), trawl_fts_text(a.content_text) \
         FROM fts_pending p JOIN articles a ON a.id = p.article_id \
         WHERE p.article_id BETWEEN ?1 AND ?2 ORDER BY p.article_id",
    )?
    .execute(params![first, last])?;
    conn.prepare_cached("DELETE FROM fts_pending WHERE article_id BETWEEN ?1 AND ?2")?
        .execute(params![first, last])?;
    Ok(ids.len())
}
