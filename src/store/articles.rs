//! `articles` and `article_sources`: applying the dedupe decision to each
//! incoming entry, and listing what is stored.
//!
//! Hot path: an entry costs one to three indexed lookups and one to two
//! writes, all through cached prepared statements, inside the batch's
//! transaction. Re-seeing an entry never touches the full-text index (its
//! triggers fire only when title or text change). Only a new or changed
//! article long enough to judge gets a near-duplicate fingerprint, and only
//! a new one looks it up: four more index lookups (see `near.rs`).

use chrono::{DateTime, Utc};
use rusqlite::types::Type;
use rusqlite::{CachedStatement, Connection, OptionalExtension, Row, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{
    ArticleDetail, ArticleQuery, ClusterMember, Counts, Policy, Source, StoreError, StoredArticle,
    near, revisions,
};
use crate::article::{Article, FeedInfo, format_time, parse_time};
use crate::dedupe::{self, Decision};

/// The statements of the commit path, prepared (from the connection's cache)
/// once per feed rather than once per entry.
struct Statements<'c> {
    by_guid: CachedStatement<'c>,
    by_url: CachedStatement<'c>,
    by_hash: CachedStatement<'c>,
    insert_article: CachedStatement<'c>,
    queue_for_index: CachedStatement<'c>,
    update_article: CachedStatement<'c>,
    insert_source: CachedStatement<'c>,
    update_source: CachedStatement<'c>,
    touch_source: CachedStatement<'c>,
}

impl<'c> Statements<'c> {
    fn prepare(conn: &'c Connection) -> rusqlite::Result<Statements<'c>> {
        Ok(Statements {
            by_guid: conn.prepare_cached(
                "SELECT article_id, content_hash FROM article_sources \
                 WHERE feed_id = ?1 AND guid = ?2",
            )?,
            // The URL's articles, oldest first, each with what this feed
            // gave for it under other guids (see `dedupe::url_match`).
            by_url: conn.prepare_cached(
                "SELECT a.id, s.content_hash FROM articles a LEFT JOIN article_sources s \
                 ON s.article_id = a.id AND s.feed_id = ?2 WHERE a.url = ?1 ORDER BY a.id",
            )?,
            by_hash: conn.prepare_cached(
                "SELECT id FROM articles WHERE content_hash = ?1 ORDER BY id LIMIT 1",
            )?,
            insert_article: conn.prepare_cached(
                "INSERT INTO articles (url, guid, title, authors, published_at, updated_at, \
                 summary, content_html, content_text, language, categories, enclosures, \
                 content_hash, first_seen_at, last_seen_at, feed_title, feed_url, feed_site_url, \
                 simhash, duplicate_of, thumbnail) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14, \
                 ?15, ?16, ?17, ?18, ?19, ?20)",
            )?,
            // Not a trigger: see migration 9.
            queue_for_index: conn
                .prepare_cached("INSERT OR IGNORE INTO fts_pending (article_id) VALUES (?1)")?,
            // The URL follows the entry unless another article has it (the
            // unique index would refuse it) or the entry lost its link.
            update_article: conn.prepare_cached(
                "UPDATE articles SET \
                 url = CASE WHEN ?2 IS NOT NULL AND NOT EXISTS \
                 (SELECT 1 FROM articles WHERE url = ?2 AND id <> ?1) THEN ?2 ELSE url END, \
                 title = ?3, authors = ?4, published_at = coalesce(?5, published_at), \
                 updated_at = ?6, summary = ?7, content_html = ?8, content_text = ?9, \
                 language = ?10, categories = ?11, enclosures = ?12, content_hash = ?13, \
                 last_seen_at = max(last_seen_at, ?14), simhash = ?15, \
                 revised_at = coalesce(?16, revised_at), thumbnail = ?17 \
                 WHERE id = ?1",
            )?,
            // Re-seeing an entry moves only its source's `seen_at`: the
            // article's row is wide (its text), and rewriting it to move a
            // time was most of the cost of a duplicate. The article's last
            // seen time is the latest over its sources (`SELECT_ARTICLE`).
            insert_source: conn.prepare_cached(
                "INSERT INTO article_sources (article_id, feed_id, guid, url, seen_at, \
                 content_hash, published_at, first_seen_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?5)",
            )?,
            update_source: conn.prepare_cached(
                "UPDATE article_sources SET url = ?3, seen_at = max(seen_at, ?4), content_hash = ?5, \
                 published_at = coalesce(?6, published_at) \
                 WHERE feed_id = ?1 AND guid = ?2",
            )?,
            touch_source: conn.prepare_cached(
                "UPDATE article_sources SET seen_at = ?3 \
                 WHERE feed_id = ?1 AND guid = ?2 AND seen_at < ?3",
            )?,
        })
    }
}

/// Stores one feed's entries, in feed order, seen at `seen_at`.
pub(super) fn store(
    conn: &Connection,
    feed_id: i64,
    seen_at: &str,
    articles: &[Article],
    policy: &Policy,
    recent: &mut Option<near::Recent>,
) -> Result<Counts, StoreError> {
    let mut st = Statements::prepare(conn)?;
    let near = &policy.near_duplicates;
    let mut counts = Counts::default();
    for a in articles {
        match decide(&mut st, feed_id, a)? {
            Decision::Insert => {
                let published = a.published.as_ref().map(format_time);
                let fp = fingerprint(a, near.min_words);
                let join = match fp {
                    Some(fp) => {
                        let at = published.as_deref().unwrap_or(seen_at);
                        near::find(conn, recent, fp, at, near)?
                    }
                    None => None,
                };
                let id = st.insert_article.insert(params![
                    a.url,
                    a.guid,
                    a.title,
                    json(&a.authors),
                    published,
                    a.updated.as_ref().map(format_time),
                    a.summary,
                    a.content_html,
                    a.content_text,
                    a.language,
                    json(&a.categories),
                    json(&a.enclosures),
                    a.content_hash,
                    seen_at,
                    a.feed.title,
                    a.feed.url,
                    a.feed.site_url,
                    fp.map(|fp| fp as i64),
                    match join {
                        Some(dedupe::Join::Under(head)) => Some(head),
                        _ => None,
                    },
                    a.thumbnail,
                ])?;
                st.queue_for_index.execute([id])?;
                if let (Some(fp), Some(recent)) = (fp, recent.as_mut()) {
                    recent.add(id, fp);
                }
                if let Some(dedupe::Join::Before(head)) = join {
                    near::make_head(conn, id, head)?;
                }
                counts.near += usize::from(join.is_some());
                st.insert_source.execute(params![
                    id,
                    feed_id,
                    a.guid,
                    a.url,
                    seen_at,
                    a.content_hash,
                    published,
                ])?;
                counts.new += 1;
            }
            Decision::Update(id) => {
                let updated_at = a
                    .updated
                    .as_ref()
                    .map_or_else(|| seen_at.to_string(), format_time);
                // The stored version is kept first, when the text really
                // changed (another source may have brought this one already).
                let changed = revisions::archive(conn, id, &a.content_hash, policy.max_revisions)?;
                let fp = fingerprint(a, near.min_words);
                if let (Some(fp), Some(recent)) = (fp, recent.as_mut()) {
                    recent.add(id, fp);
                }
                st.update_article.execute(params![
                    id,
                    a.url,
                    a.title,
                    json(&a.authors),
                    a.published.as_ref().map(format_time),
                    updated_at,
                    a.summary,
                    a.content_html,
                    a.content_text,
                    a.language,
                    json(&a.categories),
                    json(&a.enclosures),
                    a.content_hash,
                    seen_at,
                    fp.map(|fp| fp as i64),
                    changed.then_some(seen_at),
                    a.thumbnail,
                ])?;
                st.update_source.execute(params![
                    feed_id,
                    a.guid,
                    a.url,
                    seen_at,
                    a.content_hash,
                    a.published.as_ref().map(format_time),
                ])?;
                counts.updated += 1;
            }
            Decision::Unchanged(_) => {
                st.touch_source.execute(params![feed_id, a.guid, seen_at])?;
                counts.unchanged += 1;
            }
            Decision::AddSource(id) => {
                st.insert_source.execute(params![
                    id,
                    feed_id,
                    a.guid,
                    a.url,
                    seen_at,
                    a.content_hash,
                    a.published.as_ref().map(format_time),
                ])?;
                counts.duplicate += 1;
            }
        }
    }
    Ok(counts)
}

/// The entry's near-duplicate fingerprint, when its text is long enough.
fn fingerprint(a: &Article, min_words: usize) -> Option<u64> {
    // Worked out on the parse threads (ingest), else here.
    a.near_key
        .0
        .unwrap_or_else(|| dedupe::near_key(&a.title, a.content_text.as_deref().unwrap_or("")))
        .fingerprint(min_words)
}

/// Looks the entry's keys up in dedupe order, each only while no earlier one
/// matched, and lets [`dedupe::decide`] decide.
fn decide(st: &mut Statements, feed_id: i64, a: &Article) -> rusqlite::Result<Decision> {
    let by_guid: Option<(i64, String)> = st
        .by_guid
        .query_row(params![feed_id, a.guid], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let by_url = match (&by_guid, &a.url) {
        (None, Some(url)) => {
            let stored = st
                .by_url
                .query_map(params![url, feed_id], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let stored: Vec<(i64, Option<&str>)> =
                stored.iter().map(|(id, h)| (*id, h.as_deref())).collect();
            dedupe::url_match(&stored, a)
        }
        _ => None,
    };
    // The content hash is a key only for text long enough to be
    // distinctive, which takes a scan of its first words: done only when
    // no earlier key matched. Done for every entry, it was ~9 % of the
    // commit time of entries that other feeds had brought (perf).
    let by_hash = match (&by_guid, by_url) {
        (None, None) => match dedupe::hash_key(a) {
            Some(hash) => st.by_hash.query_row([hash], |r| r.get(0)).optional()?,
            None => None,
        },
        _ => None,
    };
    let by_guid = by_guid.as_ref().map(|(id, hash)| (*id, hash.as_str()));
    Ok(dedupe::decide(by_guid, by_url, by_hash, &a.content_hash))
}

/// JSON text of a list column.
fn json<T: Serialize + ?Sized>(value: &T) -> String {
    // Lists of strings and of enclosures (string and number fields) have no
    // way to fail serializing.
    serde_json::to_string(value).expect("list columns always serialize")
}

/// Reads a JSON list column.
fn json_column<T: DeserializeOwned>(row: &Row, idx: usize) -> rusqlite::Result<T> {
    let text: String = row.get(idx)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e)))
}

/// Reads a time column written by [`format_time`].
pub(super) fn time_column(row: &Row, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let Some(text) = row.get::<_, Option<String>>(idx)? else {
        return Ok(None);
    };
    match parse_time(&text) {
        Some(t) => Ok(Some(t)),
        None => Err(rusqlite::Error::FromSqlConversionFailure(
            idx,
            Type::Text,
            format!("not an RFC 3339 time: {text:?}").into(),
        )),
    }
}

pub(super) fn required_time_column(row: &Row, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
    time_column(row, idx)?.ok_or(rusqlite::Error::InvalidColumnType(
        idx,
        "time".to_string(),
        Type::Null,
    ))
}

/// `SELECT` of every stored-article column, in [`from_row`]'s order.
const SELECT_ARTICLE: &str = "SELECT id, guid, url, title, authors, published_at, updated_at, \
     summary, content_html, content_text, categories, language, enclosures, feed_title, \
     feed_url, feed_site_url, content_hash, duplicate_of, first_seen_at, \
     max(last_seen_at, coalesce((SELECT max(seen_at) FROM article_sources \
     WHERE article_id = articles.id), last_seen_at)), \
     thumbnail FROM articles";

fn from_row(row: &Row) -> rusqlite::Result<StoredArticle> {
    Ok(StoredArticle {
        id: row.get(0)?,
        article: Article {
            guid: row.get(1)?,
            url: row.get(2)?,
            title: row.get(3)?,
            authors: json_column(row, 4)?,
            published: time_column(row, 5)?,
            updated: time_column(row, 6)?,
            summary: row.get(7)?,
            content_html: row.get(8)?,
            content_text: row.get(9)?,
            categories: json_column(row, 10)?,
            language: row.get(11)?,
            enclosures: json_column(row, 12)?,
            thumbnail: row.get(20)?,
            feed: FeedInfo {
                title: row.get(13)?,
                url: row.get(14)?,
                site_url: row.get(15)?,
            },
            content_hash: row.get(16)?,
            near_key: Default::default(),
        },
        sources: Vec::new(),
        duplicate_of: row.get(17)?,
        first_seen_at: required_time_column(row, 18)?,
        last_seen_at: required_time_column(row, 19)?,
    })
}

/// The listing query with the filters in use, and only those, so that the
/// planner can walk the `articles_newest` index (and range-scan it for
/// `since`). Parameters: ?1 feed id, ?2 since, ?3 limit (-1: none).
pub(super) fn list_sql(by_feed: bool, since: bool) -> String {
    let mut sql = String::from(SELECT_ARTICLE);
    let mut clauses = Vec::new();
    if by_feed {
        clauses.push("id IN (SELECT article_id FROM article_sources WHERE feed_id = ?1)");
    }
    if since {
        clauses.push("coalesce(published_at, first_seen_at) >= ?2");
    }
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    sql.push_str(" ORDER BY coalesce(published_at, first_seen_at) DESC, id DESC LIMIT ?3");
    sql
}

/// See [`super::Store::articles`].
pub(super) fn list(conn: &Connection, q: &ArticleQuery) -> Result<Vec<StoredArticle>, StoreError> {
    let feed_id: Option<i64> = match &q.feed {
        None => None,
        Some(name) => match conn
            .prepare_cached("SELECT id FROM feeds WHERE name = ?1")?
            .query_row([name], |r| r.get(0))
            .optional()?
        {
            Some(id) => Some(id),
            None => return Ok(Vec::new()),
        },
    };
    let since = q.since.as_ref().map(format_time);

    // ?3 is always there, so the statement always takes three parameters;
    // those it does not mention bind to nothing.
    let limit = match q.limit {
        0 => -1,
        n => i64::try_from(n).unwrap_or(i64::MAX),
    };

    let mut stmt = conn.prepare_cached(&list_sql(feed_id.is_some(), since.is_some()))?;
    let mut found = stmt
        .query_map(params![feed_id, since, limit], from_row)?
        .collect::<Result<Vec<_>, _>>()?;

    for stored in &mut found {
        stored.sources = sources(conn, stored.id)?;
    }
    Ok(found)
}

/// Where article `id` was seen, by feed name.
pub(super) fn sources(conn: &Connection, id: i64) -> Result<Vec<Source>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT f.name, s.guid, s.url, s.seen_at FROM article_sources s \
         JOIN feeds f ON f.id = s.feed_id WHERE s.article_id = ?1 ORDER BY f.name, s.guid",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(Source {
            feed: r.get(0)?,
            guid: r.get(1)?,
            url: r.get(2)?,
            seen_at: required_time_column(r, 3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The id of the feed named `name`; `None` when there is none.
pub(super) fn feed_id(conn: &Connection, name: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT id FROM feeds WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?)
}

/// The stored article `id` with its sources.
pub(super) fn by_id(conn: &Connection, id: i64) -> Result<Option<StoredArticle>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT_ARTICLE} WHERE id = ?1"))?;
    let Some(mut stored) = stmt.query_row([id], from_row).optional()? else {
        return Ok(None);
    };
    stored.sources = sources(conn, id)?;
    Ok(Some(stored))
}

/// See [`super::Store::article`].
pub(super) fn detail(conn: &Connection, id: i64) -> Result<Option<ArticleDetail>, StoreError> {
    let Some(stored) = by_id(conn, id)? else {
        return Ok(None);
    };
    let (revised_at, simhash): (Option<String>, Option<i64>) = conn
        .prepare_cached("SELECT revised_at, simhash FROM articles WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let head = stored.duplicate_of.unwrap_or(stored.id);
    let mut stmt = conn.prepare_cached(
        "SELECT id, title, url, published_at, first_seen_at, simhash, duplicate_of \
         FROM articles WHERE (id = ?1 OR duplicate_of = ?1) AND id <> ?2 \
         ORDER BY duplicate_of IS NOT NULL, coalesce(published_at, first_seen_at), id",
    )?;
    let rows = stmt.query_map([head, id], |r| {
        let other: Option<i64> = r.get(5)?;
        Ok(ClusterMember {
            id: r.get(0)?,
            title: r.get(1)?,
            url: r.get(2)?,
            published: time_column(r, 3)?,
            first_seen_at: required_time_column(r, 4)?,
            head: r.get::<_, Option<i64>>(6)?.is_none(),
            distance: simhash
                .zip(other)
                .map(|(a, b)| dedupe::distance(a as u64, b as u64)),
            feeds: Vec::new(),
        })
    })?;
    let mut cluster: Vec<ClusterMember> = rows.collect::<Result<_, _>>()?;
    for member in &mut cluster {
        member.feeds = sources(conn, member.id)?
            .into_iter()
            .map(|s| s.feed)
            .collect();
        member.feeds.dedup();
    }
    Ok(Some(ArticleDetail {
        revised_at: revised_at.as_deref().and_then(parse_time),
        cluster,
        revisions: super::revisions::list(conn, id)?,
        stored,
    }))
}

/// See [`super::Store::export`]: one statement walked row by row in
/// publish order (the `articles_newest` index, so no sort), the sources of
/// each row read as it comes. Memory stays that of one article.
pub(super) fn export<E: From<StoreError>>(
    conn: &Connection,
    q: &ArticleQuery,
    mut each: impl FnMut(StoredArticle) -> Result<(), E>,
) -> Result<u64, E> {
    let feed = match &q.feed {
        None => None,
        Some(name) => match feed_id(conn, name)? {
            Some(id) => Some(id),
            None => return Ok(0),
        },
    };
    let mut sql = String::from(SELECT_ARTICLE);
    let mut clauses = Vec::new();
    if feed.is_some() {
        // Correlated, so SQLite walks the time index and probes the
        // sources by article, holding nothing.
        clauses.push(
            "EXISTS (SELECT 1 FROM article_sources s WHERE s.article_id = articles.id \
             AND s.feed_id = ?1)",
        );
    }
    if q.since.is_some() {
        clauses.push("coalesce(published_at, first_seen_at) >= ?2");
    }
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    sql.push_str(" ORDER BY coalesce(published_at, first_seen_at), id LIMIT ?3");
    let limit = match q.limit {
        0 => -1,
        n => i64::try_from(n).unwrap_or(i64::MAX),
    };
    let since = q.since.as_ref().map(format_time);
    let mut stmt = conn.prepare(&sql).map_err(StoreError::from)?;
    let mut rows = stmt
        .query(params![feed, since, limit])
        .map_err(StoreError::from)?;
    let mut n = 0;
    while let Some(row) = rows.next().map_err(StoreError::from)? {
        let mut stored = from_row(row).map_err(StoreError::from)?;
        stored.sources = sources(conn, stored.id)?;
        each(stored)?;
        n += 1;
    }
    Ok(n)
}

/// See [`super::Store::recent_publish_times`]. Walks the feed's sources (a
/// primary-key range) and sorts them: the cost of one feed's articles.
pub(super) fn recent_publish_times(
    conn: &Connection,
    feed_id: i64,
    n: usize,
) -> Result<Vec<DateTime<Utc>>, StoreError> {
    // A published time later than a day after the article was first seen is
    // in the future (a wrong zone, a scheduled post); one before 1995 is a
    // default or a typo. Either would skew the rate, so first-seen stands in.
    // Sources only (a primary-key range of narrow rows): the times are
    // kept there for this.
    let mut stmt = conn.prepare_cached(
        "SELECT CASE WHEN published_at >= '1995-01-01T00:00:00Z' \
         AND published_at <= strftime('%Y-%m-%dT%H:%M:%SZ', f, '+1 day') \
         THEN published_at ELSE f END AS t \
         FROM (SELECT published_at, coalesce(first_seen_at, seen_at) AS f, article_id \
         FROM article_sources WHERE feed_id = ?1) \
         ORDER BY t DESC, article_id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(
        params![feed_id, i64::try_from(n).unwrap_or(i64::MAX)],
        |r| required_time_column(r, 0),
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// For [`super::Store::summary`]: the articles first seen at or after
/// `since` (a range of `articles_first_seen_at`).
pub(super) fn count_since(conn: &Connection, since: &str) -> Result<u64, StoreError> {
    count(
        conn,
        "SELECT count(*) FROM articles WHERE first_seen_at >= ?1",
        [since],
    )
}

/// For [`super::Store::summary`]: every article (a scan of an index).
pub(super) fn count_all(conn: &Connection) -> Result<u64, StoreError> {
    count(conn, "SELECT count(*) FROM articles", [])
}

fn count(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<u64, StoreError> {
    let n: i64 = conn.prepare_cached(sql)?.query_row(p, |r| r.get(0))?;
    Ok(n.try_into().unwrap_or(0))
}
