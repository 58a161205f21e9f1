//! The schema and its migrations, keyed on `PRAGMA user_version`.
//!
//! `MIGRATIONS[i]` takes a database from version `i` to `i + 1`. Migrations
//! are only ever appended: a released one is never edited. They run at open,
//! all in one transaction with the version bump, so a database is always at
//! some version exactly.
//!
//! The table and column names are a public contract (outside tools read the
//! database); new columns are free, renames are not.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// Every migration, in order; the schema version is their count.
const MIGRATIONS: &[&str] = &[
    // 1: feeds, articles and where they were seen, full-text index.
    r#"
CREATE TABLE feeds (
    id INTEGER PRIMARY KEY,
    -- Where the feed is fetched from now: a permanent redirect changes it.
    url TEXT UNIQUE NOT NULL,
    name TEXT UNIQUE NOT NULL,
    -- The URL as configured: a change in the config resets `url` to it.
    config_url TEXT,
    title TEXT,
    site_url TEXT,
    etag TEXT,
    last_modified TEXT,
    last_fetch_at TEXT,
    next_fetch_at TEXT,
    last_status INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX feeds_next_fetch_at ON feeds(next_fetch_at);

CREATE TABLE articles (
    id INTEGER PRIMARY KEY,
    url TEXT,
    guid TEXT NOT NULL,
    title TEXT NOT NULL,
    authors TEXT NOT NULL DEFAULT '[]',      -- JSON array of strings
    published_at TEXT,
    updated_at TEXT,
    summary TEXT,
    content_html TEXT,
    content_text TEXT,
    language TEXT,
    categories TEXT NOT NULL DEFAULT '[]',   -- JSON array of strings
    enclosures TEXT NOT NULL DEFAULT '[]',   -- JSON array of {url, type, length}
    content_hash TEXT NOT NULL,
    simhash INTEGER,
    -- Set by later, near-duplicate detection; SET NULL so pruning the
    -- original never fails on its duplicates.
    duplicate_of INTEGER REFERENCES articles(id) ON DELETE SET NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    -- The feed as the article's first source described itself.
    feed_title TEXT,
    feed_url TEXT,
    feed_site_url TEXT
);
CREATE UNIQUE INDEX articles_url ON articles(url) WHERE url IS NOT NULL;
CREATE INDEX articles_content_hash ON articles(content_hash);
CREATE INDEX articles_newest ON articles(coalesce(published_at, first_seen_at), id);
CREATE INDEX articles_duplicate_of ON articles(duplicate_of) WHERE duplicate_of IS NOT NULL;

-- One row per (feed, guid) that was ever seen; several may name one article.
CREATE TABLE article_sources (
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    guid TEXT NOT NULL,
    url TEXT,
    seen_at TEXT NOT NULL,
    -- The content hash this feed last gave for the entry: a change is an
    -- update only when this source's own content changed, so two sources
    -- with different text never flip the article back and forth.
    content_hash TEXT NOT NULL,
    PRIMARY KEY (feed_id, guid)
) WITHOUT ROWID;
CREATE INDEX article_sources_article_id ON article_sources(article_id);

CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, content_text, content='articles', content_rowid='id'
);
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts(rowid, title, content_text)
    VALUES (new.id, new.title, new.content_text);
END;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, content_text)
    VALUES ('delete', old.id, old.title, old.content_text);
END;
-- Only when indexed text changes: bumping last_seen_at must stay cheap.
CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, content_text ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, content_text)
    VALUES ('delete', old.id, old.title, old.content_text);
    INSERT INTO articles_fts(rowid, title, content_text)
    VALUES (new.id, new.title, new.content_text);
END;
"#,
    // 2: what the daemon needs: enabled feeds, leases, 410s, lying servers,
    // the fetch log, and an index for "articles today".
    r#"
-- 1 for a feed in the config and enabled there; 0 for a feed no longer
-- configured, disabled in the config, or fetched once ad hoc (`--url`).
ALTER TABLE feeds ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;
-- A process's claim on fetching the feed now, until `lease_until` (so a
-- killed process cannot hold it forever).
ALTER TABLE feeds ADD COLUMN lease_owner TEXT;
ALTER TABLE feeds ADD COLUMN lease_until TEXT;
-- Set when the server answered 410 Gone: the feed is not polled until a
-- later fetch succeeds or its configured URL changes.
ALTER TABLE feeds ADD COLUMN disabled_reason TEXT;
-- 1 once the server's 304s or ETags were found to hide changed content.
ALTER TABLE feeds ADD COLUMN no_validators INTEGER NOT NULL DEFAULT 0;
-- SHA-256 (hex) of the last 200 body, and when the last unconditional
-- fetch happened: what an occasional unconditional fetch compares against.
ALTER TABLE feeds ADD COLUMN body_hash TEXT;
ALTER TABLE feeds ADD COLUMN last_full_fetch_at TEXT;
-- 1 when the last document needed XML repair.
ALTER TABLE feeds ADD COLUMN malformed INTEGER NOT NULL DEFAULT 0;

-- One row per fetch, the last few per feed.
CREATE TABLE fetch_log (
    id INTEGER PRIMARY KEY,
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    status INTEGER,
    bytes INTEGER,
    duration_ms INTEGER NOT NULL,
    new INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    duplicate INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX fetch_log_feed ON fetch_log(feed_id, id);

-- The scheduler's questions (what is due, when is the next one) only ever
-- look at feeds that may be polled.
CREATE INDEX feeds_pollable ON feeds(next_fetch_at)
    WHERE enabled = 1 AND disabled_reason IS NULL;
CREATE INDEX articles_first_seen_at ON articles(first_seen_at);
"#,
    // 3: near-duplicates (the band index over `simhash`), revisions, and a
    // full-text index that can search Chinese and Japanese.
    r#"
-- The near-duplicate fingerprint's four 16-bit bands, each indexed with the
-- article's time, so candidates are found by lookup within a time window.
-- Only articles long enough to judge have a fingerprint (partial indexes);
-- queries must repeat `simhash IS NOT NULL` and these exact expressions.
CREATE INDEX articles_band0 ON articles((simhash & 65535), coalesce(published_at, first_seen_at))
    WHERE simhash IS NOT NULL;
CREATE INDEX articles_band1 ON articles(((simhash >> 16) & 65535), coalesce(published_at, first_seen_at))
    WHERE simhash IS NOT NULL;
CREATE INDEX articles_band2 ON articles(((simhash >> 32) & 65535), coalesce(published_at, first_seen_at))
    WHERE simhash IS NOT NULL;
CREATE INDEX articles_band3 ON articles(((simhash >> 48) & 65535), coalesce(published_at, first_seen_at))
    WHERE simhash IS NOT NULL;

-- When the article's current title and text were first seen (NULL: at
-- first_seen_at, it never changed).
ALTER TABLE articles ADD COLUMN revised_at TEXT;

-- Earlier versions of an article, written before it is updated in place;
-- `revision` counts up from 1 per article, and only the newest
-- `[daemon] max_revisions` are kept. `seen_at`: when that version was first
-- seen.
CREATE TABLE article_revisions (
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    revision INTEGER NOT NULL,
    title TEXT NOT NULL,
    summary TEXT,
    content_text TEXT,
    content_hash TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (article_id, revision)
) WITHOUT ROWID;

-- The full-text index again, over the text as `trawl_fts_text()` gives it:
-- every Han, Hiragana and Katakana character set apart, so that unicode61
-- makes each one a token and a phrase of them finds a word (those scripts
-- put no spaces between words). The view is the index's content: snippets
-- are cut from it. Both need the function, which trawl registers on every
-- connection; other programs can still MATCH (and read rowids).
DROP TRIGGER articles_fts_insert;
DROP TRIGGER articles_fts_delete;
DROP TRIGGER articles_fts_update;
DROP TABLE articles_fts;
CREATE VIEW articles_fts_text AS
    SELECT id, trawl_fts_text(title) AS title, trawl_fts_text(content_text) AS content_text
    FROM articles;
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, content_text, content='articles_fts_text', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts(rowid, title, content_text)
    VALUES (new.id, trawl_fts_text(new.title), trawl_fts_text(new.content_text));
END;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, content_text)
    VALUES ('delete', old.id, trawl_fts_text(old.title), trawl_fts_text(old.content_text));
END;
CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, content_text ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, content_text)
    VALUES ('delete', old.id, trawl_fts_text(old.title), trawl_fts_text(old.content_text));
    INSERT INTO articles_fts(rowid, title, content_text)
    VALUES (new.id, trawl_fts_text(new.title), trawl_fts_text(new.content_text));
END;
INSERT INTO articles_fts(articles_fts) VALUES ('rebuild');
"#,
    // 4: full-text index settings for batch commits (kept in the index's
    // own config table). A batch carries megabytes of text: with FTS5's
    // default 1 MiB in-memory hash each one flushed several small segments,
    // which automerge then merged again and again (nearly half the insert
    // time). One flush per batch, merged in larger steps.
    r#"
INSERT INTO articles_fts(articles_fts, rank) VALUES ('hashsize', 67108864);
INSERT INTO articles_fts(articles_fts, rank) VALUES ('automerge', 8);

-- The band indexes again, with the time as Unix seconds instead of text:
-- half the bytes per entry. Their keys are random, so a batch of inserts
-- dirties pages all over each index; smaller entries mean fewer pages.
DROP INDEX articles_band0;
DROP INDEX articles_band1;
DROP INDEX articles_band2;
DROP INDEX articles_band3;
CREATE INDEX articles_band0 ON articles((simhash & 65535),
    unixepoch(coalesce(published_at, first_seen_at))) WHERE simhash IS NOT NULL;
CREATE INDEX articles_band1 ON articles(((simhash >> 16) & 65535),
    unixepoch(coalesce(published_at, first_seen_at))) WHERE simhash IS NOT NULL;
CREATE INDEX articles_band2 ON articles(((simhash >> 32) & 65535),
    unixepoch(coalesce(published_at, first_seen_at))) WHERE simhash IS NOT NULL;
CREATE INDEX articles_band3 ON articles(((simhash >> 48) & 65535),
    unixepoch(coalesce(published_at, first_seen_at))) WHERE simhash IS NOT NULL;
"#,
    // The entry's picture (`Article::thumbnail`): an absolute URL.
    r#"
ALTER TABLE articles ADD COLUMN thumbnail TEXT;
"#,
    // Fast at scale (issue 6): the full-text index off the commit path, the
    // publish times the scheduler reads kept beside the sources, and an
    // index for the daemon's "when is the next feed due".
    r#"
-- Articles whose full-text entry is still to be written. A commit only adds
-- a row here (same transaction, so the queue is as durable as the article);
-- the writer indexes the queue in small batches when it has nothing else to
-- do, and a one-off `trawl fetch` empties it before it exits. Deleting the
-- old entry of an updated or deleted article needs its old text, so that
-- stays synchronous (rare: updates and retention), and is skipped for an
-- article not indexed yet (FTS5 must never delete what it does not hold).
CREATE TABLE fts_pending (article_id INTEGER PRIMARY KEY);
DROP TRIGGER articles_fts_insert;
DROP TRIGGER articles_fts_delete;
DROP TRIGGER articles_fts_update;
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT OR IGNORE INTO fts_pending (article_id) VALUES (new.id);
END;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, content_text)
    SELECT 'delete', old.id, trawl_fts_text(old.title), trawl_fts_text(old.content_text)
    WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE article_id = old.id);
    DELETE FROM fts_pending WHERE article_id = old.id;
END;
CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, content_text ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, content_text)
    SELECT 'delete', old.id, trawl_fts_text(old.title), trawl_fts_text(old.content_text)
    WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE article_id = old.id);
    INSERT OR IGNORE INTO fts_pending (article_id) VALUES (new.id);
END;

-- What the adaptive interval reads, per source: the entry's published time
-- as this feed gave it and when this feed first showed it. Reading them
-- from `articles` walked each row's overflow pages (they sit after the
-- text). `article_sources.seen_at` is now also the only "last seen" that
-- re-seeing an entry moves: `articles.last_seen_at` is written when the
-- article is inserted or updated, and readers take the latest of both.
ALTER TABLE article_sources ADD COLUMN published_at TEXT;
ALTER TABLE article_sources ADD COLUMN first_seen_at TEXT;
UPDATE article_sources SET (published_at, first_seen_at) =
    (SELECT published_at, first_seen_at FROM articles WHERE id = article_id);

-- Leased feeds (few at any time): "when is the next feed due" walks
-- `feeds_pollable` to the first unleased row and looks at these.
CREATE INDEX feeds_leased ON feeds(lease_until) WHERE lease_until IS NOT NULL;
"#,
    // Near-duplicates, continued (issue 7). One feed may link several
    // stories to one page (`dedupe::url_match`), so the URL index is no
    // longer unique. Articles stored before migration 3 get a fingerprint
    // (`trawl_fingerprint()`, registered on every connection; the default
    // 40 words), so that new copies of them are found; a one-off pass.
    r#"
DROP INDEX articles_url;
CREATE INDEX articles_url ON articles(url) WHERE url IS NOT NULL;
UPDATE articles SET simhash = trawl_fingerprint(title, content_text, 40)
    WHERE simhash IS NULL AND content_text IS NOT NULL;

-- The band indexes cover the candidates query (`store::near::find`): at a
-- threshold above 3 bits a lookup probes 17 values per band, and each
-- candidate found used to read its `articles` row, whose `simhash`,
-- `duplicate_of` and times sit after the text, through overflow pages.
DROP INDEX articles_band0;
DROP INDEX articles_band1;
DROP INDEX articles_band2;
DROP INDEX articles_band3;
CREATE INDEX articles_band0 ON articles((simhash & 65535),
    unixepoch(coalesce(published_at, first_seen_at)),
    simhash, duplicate_of, published_at, first_seen_at) WHERE simhash IS NOT NULL;
CREATE INDEX articles_band1 ON articles(((simhash >> 16) & 65535),
    unixepoch(coalesce(published_at, first_seen_at)),
    simhash, duplicate_of, published_at, first_seen_at) WHERE simhash IS NOT NULL;
CREATE INDEX articles_band2 ON articles(((simhash >> 32) & 65535),
    unixepoch(coalesce(published_at, first_seen_at)),
    simhash, duplicate_of, published_at, first_seen_at) WHERE simhash IS NOT NULL;
CREATE INDEX articles_band3 ON articles(((simhash >> 48) & 65535),
    unixepoch(coalesce(published_at, first_seen_at)),
    simhash, duplicate_of, published_at, first_seen_at) WHERE simhash IS NOT NULL;
"#,
    // Near-duplicates, fast at scale (issue 6). The writer finds candidates
    // in memory (`store::near::Recent`) and reads them from one
    // time-ordered covering index, which new articles mostly append to; the
    // four band indexes took four inserts at random places per article and
    // a lookup of 17 values in each. Store bench, same session: the commit
    // of 100,000 new articles 14.0 -> 9.7 s CPU.
    r#"
DROP INDEX articles_band0;
DROP INDEX articles_band1;
DROP INDEX articles_band2;
DROP INDEX articles_band3;
CREATE INDEX articles_fingerprints ON articles(
    unixepoch(coalesce(published_at, first_seen_at)), simhash) WHERE simhash IS NOT NULL;
"#,
    // The commit path queues a new article for its full-text entry itself
    // (`articles::store`), in a statement of its own. A trigger made every
    // article's INSERT a statement that writes two tables, which SQLite can
    // only undo alone with a statement journal: a copy of each existing
    // page the insert changed (index leaves, mostly), taken before the
    // change. perf, 1,000-feed first pass: 2.5 % of all CPU, a ninth of the
    // writer's commits. Updates keep their trigger (rare, and they need
    // the old text).
    //
    // A row inserted some other way is now in neither the index nor the
    // queue, so the old entry is deleted only when the index holds one
    // (its `docsize` row) rather than when the queue does not: deleting
    // what FTS5 does not hold corrupts it.
    r#"
DROP TRIGGER articles_fts_insert;
DROP TRIGGER articles_fts_delete;
DROP TRIGGER articles_fts_update;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, content_text)
    SELECT 'delete', old.id, trawl_fts_text(old.title), trawl_fts_text(old.content_text)
    WHERE EXISTS (SELECT 1 FROM articles_fts_docsize WHERE id = old.id);
    DELETE FROM fts_pending WHERE article_id = old.id;
END;
CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, content_text ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, content_text)
    SELECT 'delete', old.id, trawl_fts_text(old.title), trawl_fts_text(old.content_text)
    WHERE EXISTS (SELECT 1 FROM articles_fts_docsize WHERE id = old.id);
    INSERT OR IGNORE INTO fts_pending (article_id) VALUES (new.id);
END;
"#,
    // One time-ordered index instead of two (issue 6). `articles_newest`
    // (listings, retention) and `articles_fingerprints` (the writer's
    // memory of fingerprints) were both keyed on the publish time, which a
    // first pass writes in random order: every commit rewrote a leaf of
    // each for every article. This one serves both, covering the
    // fingerprint ranges, which now compare the times as the text they are
    // stored as (RFC 3339 UTC, fixed width).
    r#"
DROP INDEX articles_newest;
DROP INDEX articles_fingerprints;
CREATE INDEX articles_newest ON articles(coalesce(published_at, first_seen_at), id, simhash);
"#,
    // An index no query uses (issue 6). The scheduler's questions have
    // gone through `feeds_pollable` since migration 2, but every fetch
    // still moved the feed's entry in this one too: a running daemon wrote
    // 14 % fewer bytes per fetch answered 304 without it (10,000 feeds,
    // BENCHMARKS.md, ninth session).
    r#"
DROP INDEX feeds_next_fetch_at;
"#,
    // A source's article is checked by the code that writes it, not by a
    // foreign key (issue 6). Every source row inserted made SQLite look
    // the article up in `articles`, whose rows are wide (their text): one
    // table leaf per article, seldom in the page cache when another feed
    // brings a copy of an older story. perf, store bench `other-feed`: 25 %
    // of the commit's time. The writer only ever names an article it has
    // just inserted or looked up in the same transaction; deleting an
    // article still deletes its sources, by trigger. SQLite cannot drop a
    // constraint in place, so the table is copied.
    r#"
CREATE TABLE article_sources_v12 (
    article_id INTEGER NOT NULL,
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    guid TEXT NOT NULL,
    url TEXT,
    seen_at TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    published_at TEXT,
    first_seen_at TEXT,
    PRIMARY KEY (feed_id, guid)
) WITHOUT ROWID;
INSERT INTO article_sources_v12 (article_id, feed_id, guid, url, seen_at, content_hash,
    published_at, first_seen_at)
    SELECT article_id, feed_id, guid, url, seen_at, content_hash, published_at, first_seen_at
    FROM article_sources;
DROP TABLE article_sources;
ALTER TABLE article_sources_v12 RENAME TO article_sources;
CREATE INDEX article_sources_article_id ON article_sources(article_id);
CREATE TRIGGER article_sources_of_deleted AFTER DELETE ON articles BEGIN
    DELETE FROM article_sources WHERE article_id = old.id;
END;
"#,
    // 13: the longest wait between polls that the feed's last document asked
    // for (RSS `<ttl>`, `sy:updatePeriod`), in seconds. A 304 carries no
    // document, and its feed was scheduled as if it asked for nothing: a
    // feed with `<ttl>30</ttl>` on a 2-minute interval waited 30 minutes
    // after each 200 and 2 after each 304 (found by the daemon bench with
    // changing feeds, issue 6). The 304 says the document, ttl and all, is
    // the same one, so its ask stands.
    r#"
ALTER TABLE feeds ADD COLUMN asked_interval INTEGER;
"#,
];

/// The SQL of migration `i` (from version `i` to `i + 1`), for tests that
/// build a database at an older version.
#[cfg(test)]
pub(super) fn migration(i: usize) -> &'static str {
    MIGRATIONS[i]
}

/// The schema version this code writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database at `path` (used in messages) to [`VERSION`].
///
/// Refuses a database from a newer trawl, and a database that has tables but
/// no version (not one of ours), rather than guess.
pub fn migrate(conn: &mut Connection, path: &str) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > VERSION {
        return Err(StoreError::TooNew {
            path: path.to_string(),
            found,
            known: VERSION,
        });
    }
    if found == 0 {
        let tables: i64 = tx.query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
            [],
            |r| r.get(0),
        )?;
        if tables > 0 {
            return Err(StoreError::NotOurs {
                path: path.to_string(),
            });
        }
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    tx.commit()?;
    Ok(())
}
