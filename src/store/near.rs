//! Near-duplicates in the database: a new fingerprint's candidates, found
//! in the writer's memory of stored fingerprints ([`Recent`], read from the
//! `articles_newest` index) and checked against the rows within the
//! publish-time window, and the cluster bookkeeping (`articles.duplicate_of`
//! always names the cluster head, never a member). The decisions are
//! [`crate::dedupe`]'s.

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OptionalExtension};

use super::StoreError;
use crate::article::parse_time;
use crate::dedupe::{self, Candidate, Join, NearDuplicates};

/// Registers `trawl_fingerprint(title, content_text, min_words)`: the
/// near-duplicate fingerprint ([`dedupe::fingerprint`]) as an integer, or
/// NULL for a text too short to judge. A migration fills in the
/// fingerprints of articles stored before migration 3 with it, so it must
/// exist before migrating. Innocuous: it reads nothing but its arguments.
pub(super) fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "trawl_fingerprint",
        3,
        FunctionFlags::SQLITE_UTF8
            | FunctionFlags::SQLITE_DETERMINISTIC
            | FunctionFlags::SQLITE_INNOCUOUS,
        |ctx| {
            // NULL (or a number, never written by trawl) reads as no text.
            let text = |i| ctx.get_raw(i).as_str_or_null().ok().flatten().unwrap_or("");
            let min_words = usize::try_from(ctx.get::<i64>(2)?).unwrap_or(0);
            Ok(dedupe::fingerprint(text(0), text(1), min_words).map(|fp| fp as i64))
        },
    )
}

/// Where an article with fingerprint `fp`, published (else first seen) at
/// `at`, joins a cluster: `None` when no stored article within the window
/// is close enough.
///
/// `recent` is loaded on first use. A window reaching a little before what
/// it holds extends it back in time; one reaching further back is looked
/// up in a second, bounded memory of that time ([`Recent::past`]).
pub(super) fn find(
    conn: &Connection,
    recent: &mut Option<Recent>,
    fp: u64,
    at: &str,
    settings: &NearDuplicates,
) -> Result<Option<Join>, StoreError> {
    let window = i64::try_from(settings.window.as_secs()).unwrap_or(i64::MAX);
    let t = parse_time(at).map_or(0, |t| t.timestamp());
    let (from, to) = (t.saturating_sub(window), t.saturating_add(window));
    let memory = match recent {
        Some(memory) => memory,
        None => recent.insert(Recent::load(conn, window)?),
    };
    let close = memory.close_to(conn, fp, (from, to), window, settings.max_distance)?;
    let found = verified(conn, &close, (from, to))?;
    let candidates: Vec<Candidate> = found
        .iter()
        .map(|(id, simhash, duplicate_of, published)| Candidate {
            id: *id,
            fingerprint: *simhash as u64,
            duplicate_of: *duplicate_of,
            published,
        })
        .collect();
    let Some(closest) = dedupe::closest(fp, &candidates, settings.max_distance) else {
        return Ok(None);
    };
    let head = closest.duplicate_of.unwrap_or(closest.id);
    let head_published = if head == closest.id {
        closest.published.to_string()
    } else {
        conn.prepare_cached(
            "SELECT coalesce(published_at, first_seen_at) FROM articles WHERE id = ?1",
        )?
        .query_row([head], |r| r.get(0))
        .optional()?
        // A head is never deleted while it has members (see retention);
        // should one be missing, the match joins under it all the same.
        .unwrap_or_else(|| closest.published.to_string())
    };
    Ok(Some(dedupe::join(head, &head_published, at)))
}

/// A candidate as stored: id, fingerprint, cluster head, publish (else
/// first-seen) time.
type Found = (i64, i64, Option<i64>, String);

/// The stored rows of `ids` (close fingerprints found in memory) as they
/// are now, keeping those that still have a fingerprint and were published
/// within `from..=to` (Unix seconds).
/// Memory may be stale (an article since deleted, changed or re-dated);
/// the database never is.
fn verified(
    conn: &Connection,
    ids: &[i64],
    (from, to): (i64, i64),
) -> Result<Vec<Found>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, simhash, duplicate_of, coalesce(published_at, first_seen_at), \
         unixepoch(coalesce(published_at, first_seen_at)) FROM articles \
         WHERE id = ?1 AND simhash IS NOT NULL",
    )?;
    let mut found = Vec::new();
    for &id in ids {
        let row = stmt
            .query_row([id], |r| {
                Ok((
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?),
                    r.get::<_, Option<i64>>(4)?,
                ))
            })
            .optional()?;
        if let Some((row, Some(t))) = row
            && (from..=to).contains(&t)
        {
            found.push(row);
        }
    }
    Ok(found)
}

/// The latest time of a fingerprinted article (Unix seconds): the last
/// such entry of `articles_newest` that reads as a time (a row written by
/// another program may hold any text there).
pub(super) const LATEST: &str = "SELECT unixepoch(coalesce(published_at, first_seen_at)) \
     FROM articles INDEXED BY articles_newest WHERE simhash IS NOT NULL \
     AND unixepoch(coalesce(published_at, first_seen_at)) IS NOT NULL \
     ORDER BY coalesce(published_at, first_seen_at) DESC, id DESC LIMIT 1";

/// The fingerprints published (else first seen) from ?1 up to ?2 (times as
/// stored, see [`time_bound`]): a range of `articles_newest`, never a read
/// of the wide article row.
pub(super) const RANGE: &str = "SELECT id, simhash FROM articles \
     INDEXED BY articles_newest WHERE simhash IS NOT NULL \
     AND coalesce(published_at, first_seen_at) >= ?1 \
     AND coalesce(published_at, first_seen_at) < ?2";

/// A Unix time as stored times compare with it: RFC 3339 UTC, fixed width
/// ([`crate::article::format_time`]), so that text order is time order.
/// Times beyond what that writes become the empty string (before every
/// stored time) or `~` (after every one).
pub(super) fn time_bound(t: i64) -> String {
    match chrono::DateTime::from_timestamp(t, 0) {
        Some(at) if (0..=9999).contains(&chrono::Datelike::year(&at)) => {
            crate::article::format_time(&at)
        }
        _ if t < 0 => String::new(),
        _ => "~".to_string(),
    }
}

/// Chains end here.
const NONE: u32 = u32::MAX;

/// The fingerprints of the stored articles from some time on, in memory,
/// for the writer: an article's candidates are a few hash-chain walks. The
/// four band indexes they replace (migration 8) cost 68 index lookups per
/// new article at the default 6 bits (45 % of the store bench's commit CPU)
/// and four random-order index inserts (another 31 %; BENCHMARKS.md).
///
/// It only proposes: every candidate is read back from the database
/// ([`verified`]) before it counts, so entries made stale by an update, a
/// deletion or a re-dating do no harm. What it must never do is miss one,
/// so it holds every fingerprint stored with a time at or after
/// [`Recent::complete_from`], plus every fingerprint this connection wrote
/// since it was loaded (new articles and changed texts), and the past
/// memory holds every one of its span. The store drops it when another
/// connection commits (`PRAGMA data_version` moved), when a transaction
/// rolls back, and once it has grown well past what it read (old entries
/// then leave).
///
/// Its size is bounded whatever the dates of the articles looked up. The
/// part from `complete_from` on reaches back at most one window before
/// where it was loaded from ([`Recent::floor`]). An article dated before
/// that (a feed's backlog, an archive, a date of 1970) is looked up in
/// [`Recent::past`], which holds at most [`PAST_SPAN`] windows of some
/// earlier time and is dropped once unused. (Extending the one memory back
/// to such a date, as it once did, read every fingerprint stored since: the
/// whole database for one article dated 1970.)
pub(super) struct Recent {
    /// Every fingerprint of an article published (else first seen) at or
    /// after this Unix time is in `index`.
    complete_from: i64,
    /// How far back `complete_from` may move: one window before where the
    /// load started.
    floor: i64,
    /// Entries of `index` read from the database.
    loaded: usize,
    index: Index,
    /// Fingerprints of a span before `floor`, for articles dated there.
    past: Option<Past>,
    /// Batches begun since the load ([`Recent::begin_batch`]).
    batches: u64,
}

/// A memory of the fingerprints published (else first seen) from `from`
/// up to (not including) `to`, all of them, read from the database.
struct Past {
    from: i64,
    to: i64,
    index: Index,
    /// The batch that last looked something up here.
    used_in: u64,
}

/// The widest span [`Past`] holds, in windows. A lookup needs two windows
/// (before and after the article's time) and reads one more before them for
/// the next, older article of a backlog; a memory that would span more than
/// this is read afresh instead of extended.
const PAST_SPAN: i64 = 4;

/// Batches in a row without a lookup in [`Past`] before it is dropped.
const PAST_IDLE_BATCHES: u64 = 64;

/// Fingerprints with their ids, chained by band value.
struct Index {
    ids: Blocks<i64>,
    /// The entries' fingerprints and chain links (the ids apart: they are
    /// read only for a match).
    entries: Blocks<Entry>,
    /// The first entry of each band value's chain, band by band.
    heads: Vec<u32>,
}

/// One fingerprint and its next entry in its chain of each band: together,
/// so that a step along a chain reads one place in memory, not two (a
/// lookup walks ~70 chains, each longer as more articles are held: at
/// 300,000 articles the walk was 10 % of the writer's time, perf).
struct Entry {
    fingerprint: u64,
    next: [u32; 4],
}

impl Recent {
    /// Holding nothing, and complete from no time on.
    fn empty() -> Recent {
        Recent {
            complete_from: i64::MAX,
            floor: i64::MIN,
            loaded: 0,
            index: Index::empty(),
            past: None,
            batches: 0,
        }
    }

    /// Everything published (else first seen) from a window and a quarter
    /// before the latest stored time (or now, if that is earlier: a feed's
    /// future dates must not move the bound).
    ///
    /// A new article dated after the latest stored time needs the one
    /// window before it; the quarter is slack for articles dated a little
    /// earlier. One dated earlier still extends what is held ([`find`]),
    /// down to one window before where the load started.
    /// With [`Recent::worn_out`], a daemon holds at most ~1.6 windows of
    /// articles plus 200,000 (at 7 days and 100,000 articles a day, ~41 MB;
    /// BENCHMARKS.md, eleventh session) while the articles it stores are
    /// recent, and ~2.6 windows plus 200,000 when they reach back further,
    /// with at most [`PAST_SPAN`] windows of an earlier time beside them
    /// while a backlog from then goes by.
    fn load(conn: &Connection, window: i64) -> Result<Recent, StoreError> {
        let latest: Option<i64> = conn
            .prepare_cached(LATEST)?
            .query_row([], |r| r.get(0))
            .optional()?
            .flatten();
        let mut recent = Recent::empty();
        let from = match latest {
            None => i64::MIN,
            Some(latest) => latest
                .min(chrono::Utc::now().timestamp())
                .saturating_sub(window.saturating_add(window / 4)),
        };
        recent.floor = from.saturating_sub(window);
        recent.extend(conn, from)?;
        Ok(recent)
    }

    /// Reads the fingerprints published from `from` up to what it holds
    /// (a range of the time-ordered covering index).
    fn extend(&mut self, conn: &Connection, from: i64) -> Result<(), StoreError> {
        self.loaded += self.index.read(conn, from, self.complete_from)?;
        self.complete_from = from;
        Ok(())
    }

    /// Records that article `id` now has fingerprint `fp`.
    pub(super) fn add(&mut self, id: i64, fp: u64) {
        self.index.add(id, fp);
    }

    /// The ids of the fingerprints within `max_distance` bits of `fp`
    /// among every one stored within `from..=to` (and perhaps others): a
    /// superset of the candidates of an article whose window that is.
    fn close_to(
        &mut self,
        conn: &Connection,
        fp: u64,
        (from, to): (i64, i64),
        window: i64,
        max_distance: u32,
    ) -> Result<Vec<i64>, StoreError> {
        if from < self.complete_from && from >= self.floor {
            // One window more than needed: the next older article is
            // likely covered too.
            self.extend(conn, from.saturating_sub(window).max(self.floor))?;
        }
        let mut ids = self.index.close_to(fp, max_distance);
        if from < self.complete_from {
            let until = to.saturating_add(1).min(self.complete_from);
            let past = self.past(conn, from, until, window)?;
            for id in past.index.close_to(fp, max_distance) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        Ok(ids)
    }

    /// The past memory, holding at least `from..until`: the one held if it
    /// does, else that one extended if it stays within [`PAST_SPAN`]
    /// windows, else a new one. Each reads a window more before `from`,
    /// for a backlog's next, older article.
    fn past(
        &mut self,
        conn: &Connection,
        from: i64,
        until: i64,
        window: i64,
    ) -> Result<&Past, StoreError> {
        let start = from.saturating_sub(window);
        let widest = window.saturating_mul(PAST_SPAN);
        let past = match self.past.take() {
            Some(past) if past.from <= from && until <= past.to => past,
            Some(mut past) if past.to.max(until).saturating_sub(past.from.min(start)) <= widest => {
                if start < past.from {
                    past.index.read(conn, start, past.from)?;
                    past.from = start;
                }
                if until > past.to {
                    past.index.read(conn, past.to, until)?;
                    past.to = until;
                }
                past
            }
            _ => {
                let mut index = Index::empty();
                index.read(conn, start, until)?;
                Past {
                    from: start,
                    to: until,
                    index,
                    used_in: 0,
                }
            }
        };
        let past = self.past.insert(past);
        past.used_in = self.batches;
        Ok(past)
    }

    /// Called as each batch begins: drops the past memory when no lookup
    /// of the last [`PAST_IDLE_BATCHES`] batches needed it (a backlog has
    /// gone by).
    pub(super) fn begin_batch(&mut self) {
        self.batches += 1;
        if self
            .past
            .as_ref()
            .is_some_and(|p| p.used_in + PAST_IDLE_BATCHES < self.batches)
        {
            self.past = None;
        }
    }

    /// Whether it has grown enough past what it read to be read afresh
    /// (its window moved on; stale entries cost memory): by a quarter of
    /// what it read, and by at least 200,000 entries (6 MB), so that a
    /// first pass into an empty database reads back at most once or twice.
    /// A read of 300,000 entries takes 0.1 s from the page cache, 1 s from
    /// disk (the 10,000-feed bench database).
    pub(super) fn worn_out(&self) -> bool {
        self.index.len() > self.loaded + self.loaded / 4 + 200_000
    }
}

impl Index {
    fn empty() -> Index {
        Index {
            ids: Blocks::default(),
            entries: Blocks::default(),
            heads: vec![NONE; 4 << 16],
        }
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    /// Adds the fingerprints published (else first seen) from `from` up to
    /// (not including) `to`, a range of the time-ordered covering index;
    /// returns how many.
    fn read(&mut self, conn: &Connection, from: i64, to: i64) -> Result<usize, StoreError> {
        let mut stmt = conn.prepare_cached(RANGE)?;
        let mut rows = stmt.query([time_bound(from), time_bound(to)])?;
        let before = self.len();
        while let Some(row) = rows.next()? {
            self.add(row.get(0)?, row.get::<_, i64>(1)? as u64);
        }
        Ok(self.len() - before)
    }

    fn add(&mut self, id: i64, fp: u64) {
        let Ok(entry) = u32::try_from(self.ids.len()) else {
            return; // never reached: `worn_out` drops it long before
        };
        let mut next = [NONE; 4];
        for (band, value) in dedupe::bands(fp).into_iter().enumerate() {
            let head = &mut self.heads[(band << 16) | usize::from(value)];
            next[band] = *head;
            *head = entry;
        }
        self.ids.push(id);
        self.entries.push(Entry {
            fingerprint: fp,
            next,
        });
    }

    /// The ids of the entries within `max_distance` bits of `fp`, each
    /// once: those sharing a probed value (see [`dedupe::probes`]) in some
    /// band, which is every fingerprint that close.
    ///
    /// The chains are walked side by side, a step of each in turn. A step
    /// reads an entry from anywhere in `entries`, and the next step of the
    /// same chain needs what it read; walked one chain at a time, every read
    /// waited for the one before (82 % of the lookup's samples sat on that
    /// wait at 300,000 entries, perf). Steps of different chains do not
    /// depend on each other, so their reads overlap.
    fn close_to(&self, fp: u64, max_distance: u32) -> Vec<i64> {
        // (band, entry) of every chain not yet walked to its end.
        let mut walks: Vec<(usize, u32)> = Vec::with_capacity(4 * 17);
        for (band, value) in dedupe::bands(fp).into_iter().enumerate() {
            for probe in dedupe::probes(value, max_distance) {
                let head = self.heads[(band << 16) | usize::from(probe)];
                if head != NONE {
                    walks.push((band, head));
                }
            }
        }
        let mut ids = Vec::new();
        while !walks.is_empty() {
            let mut i = 0;
            while i < walks.len() {
                let (band, entry) = walks[i];
                let e = entry as usize;
                let Entry { fingerprint, next } = self.entries.get(e);
                if dedupe::distance(fp, *fingerprint) <= max_distance
                    && !ids.contains(self.ids.get(e))
                {
                    ids.push(*self.ids.get(e));
                }
                if next[band] == NONE {
                    walks.swap_remove(i);
                } else {
                    walks[i].1 = next[band];
                    i += 1;
                }
            }
        }
        ids
    }
}

/// A growable array in blocks of a fixed size: growing never moves what it
/// holds. A `Vec` grows by allocating twice its size and copying into it,
/// so for a moment it holds three times what it had: the daemon bench with
/// changing feeds showed a one-second jump of 13 MiB in RSS when the
/// fingerprints passed 262,144 (BENCHMARKS.md, twelfth session), and a
/// daemon holding a million of them would jump by ~50 MB.
struct Blocks<T> {
    /// Every block is full but the last.
    blocks: Vec<Vec<T>>,
}

/// Entries per block: 1.5 MiB of `Entry`, 512 KiB of ids.
const BLOCK: usize = 1 << 16;

impl<T> Default for Blocks<T> {
    fn default() -> Self {
        Blocks { blocks: Vec::new() }
    }
}

impl<T> Blocks<T> {
    fn len(&self) -> usize {
        self.blocks
            .last()
            .map_or(0, |last| (self.blocks.len() - 1) * BLOCK + last.len())
    }

    fn push(&mut self, value: T) {
        match self.blocks.last_mut() {
            Some(block) if block.len() < BLOCK => block.push(value),
            _ => {
                let mut block = Vec::with_capacity(BLOCK);
                block.push(value);
                self.blocks.push(block);
            }
        }
    }

    fn get(&self, i: usize) -> &T {
        &self.blocks[i / BLOCK][i % BLOCK]
    }

    #[cfg(test)]
    fn iter(&self) -> impl Iterator<Item = &T> {
        self.blocks.iter().flatten()
    }
}

/// Makes `id` the head of the cluster `old_head` leads: the old head and
/// its members move under it.
pub(super) fn make_head(conn: &Connection, id: i64, old_head: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE articles SET duplicate_of = ?1 WHERE duplicate_of = ?2")?
        .execute([id, old_head])?;
    conn.prepare_cached("UPDATE articles SET duplicate_of = ?1 WHERE id = ?2")?
        .execute([id, old_head])?;
    Ok(())
}

/// Before article `id` is deleted: when it heads a cluster, its earliest
/// member becomes the head and the others move under that one, so the
/// story stays one cluster.
pub(super) fn hand_over(conn: &Connection, id: i64) -> Result<(), StoreError> {
    let next: Option<i64> = conn
        .prepare_cached(
            "SELECT id FROM articles WHERE duplicate_of = ?1 \
             ORDER BY coalesce(published_at, first_seen_at), id LIMIT 1",
        )?
        .query_row([id], |r| r.get(0))
        .optional()?;
    if let Some(next) = next {
        conn.prepare_cached("UPDATE articles SET duplicate_of = NULL WHERE id = ?1")?
            .execute([next])?;
        conn.prepare_cached("UPDATE articles SET duplicate_of = ?1 WHERE duplicate_of = ?2")?
            .execute([next, id])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past a block's end the next block starts, and nothing held moves:
    /// the first entry stays where it was written.
    #[test]
    fn blocks_grow_without_moving_what_they_hold() {
        let mut b = Blocks::default();
        b.push(7u64);
        let first: *const u64 = b.get(0);
        for i in 1..(2 * BLOCK + 3) as u64 {
            b.push(i * 3);
        }
        assert_eq!(b.len(), 2 * BLOCK + 3);
        assert_eq!(b.blocks.len(), 3);
        assert!(std::ptr::eq(first, b.get(0)), "the first entry moved");
        assert_eq!(*b.get(0), 7);
        for i in [1, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK, 2 * BLOCK + 2] {
            assert_eq!(*b.get(i), i as u64 * 3, "entry {i}");
        }
        assert_eq!(b.iter().count(), 2 * BLOCK + 3);
    }

    /// xorshift64: fingerprints spread over all bits, the same every run.
    fn random(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// A copy of one of `stories`, fewer than `bits_below` bits off.
    fn copy_of(stories: &[u64], bits_below: u64, state: &mut u64) -> u64 {
        let story = stories[random(state) as usize % stories.len()];
        let bits = (random(state) % bits_below) as u32;
        flipped(story, bits, state)
    }

    /// `fp` with `bits` distinct random bits flipped.
    fn flipped(fp: u64, bits: u32, state: &mut u64) -> u64 {
        let mut out = fp;
        while dedupe::distance(out, fp) < bits {
            out ^= 1 << (random(state) % 64);
        }
        out
    }

    /// Stores one article per `step` seconds from [`T0`], `n` of them, with
    /// fingerprints far apart; returns (id, fingerprint) of each.
    fn store_series(conn: &Connection, step: i64, n: i64, state: &mut u64) -> Vec<(i64, u64)> {
        (0..n)
            .map(|i| {
                let fp = random(state);
                (insert(conn, i, fp, T0 + i * step), fp)
            })
            .collect()
    }

    /// Stores an article with fingerprint `fp` published at `t` (guid
    /// `g{n}`); returns its id.
    fn insert(conn: &Connection, n: i64, fp: u64, t: i64) -> i64 {
        conn.execute(
            "INSERT INTO articles (guid, title, content_hash, simhash, published_at, \
             first_seen_at, last_seen_at) VALUES (?1, 't', ?1, ?2, ?3, ?3, ?3)",
            rusqlite::params![format!("g{n}"), fp as i64, time_bound(t)],
        )
        .unwrap();
        conn.last_insert_rowid()
    }

    /// The window of these tests.
    const WINDOW: i64 = 4 * 86_400;

    /// 2023-11-14: the tests' articles are dated in the past.
    const T0: i64 = 1_700_000_000;

    fn settings() -> NearDuplicates {
        NearDuplicates {
            window: std::time::Duration::from_secs(WINDOW as u64),
            max_distance: 6,
            min_words: 0,
        }
    }

    /// Looks up a copy of a stored article, 3 bits off, dated `at`.
    fn find_copy(
        conn: &Connection,
        memory: &mut Option<Recent>,
        (_, fp): (i64, u64),
        at: i64,
        state: &mut u64,
    ) -> Option<Join> {
        let copy = flipped(fp, 3, state);
        find(conn, memory, copy, &time_bound(at), &settings()).unwrap()
    }

    fn held(index: &Index) -> Vec<i64> {
        let mut ids: Vec<i64> = index.ids.iter().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// What a load holds is the daemon's memory: the window before the
    /// latest stored time and a quarter more, not two windows. An article
    /// dated a little before that extends it, by no more than a window; one
    /// dated further back is looked up in a memory of its own time. Both
    /// find their copies.
    #[test]
    fn a_load_holds_a_window_and_a_quarter_and_older_articles_find_their_copies() {
        let store = crate::store::Store::open_in_memory().unwrap();
        let conn = &store.conn;
        let day = 86_400;
        let mut state = 0x2545_F491_4F6C_DD1D;
        // One article a day for 20 days.
        let stored = store_series(conn, day, 20, &mut state);
        let ids = |days: std::ops::Range<usize>| -> Vec<i64> {
            stored[days].iter().map(|(id, _)| *id).collect()
        };
        let recent = Recent::load(conn, WINDOW).unwrap();
        // Days 14 to 19: from five days before the latest, day 19.
        assert_eq!(held(&recent.index), ids(14..20));
        assert_eq!(recent.loaded, 6);
        let mut memory = Some(recent);

        // A copy of day 11's article (3 bits off), dated day 14: day 11 is
        // not held; the memory is extended to day 10 (a window below where
        // it was loaded from, no further) and finds it.
        let joined = find_copy(conn, &mut memory, stored[11], T0 + 14 * day, &mut state);
        assert_eq!(joined, Some(dedupe::Join::Under(stored[11].0)));
        let recent = memory.as_ref().unwrap();
        assert_eq!(held(&recent.index), ids(10..20));
        assert_eq!(recent.complete_from, T0 + 10 * day);
        assert!(recent.past.is_none());

        // A copy of day 2's article, dated day 3: its window starts before
        // day 10. Found in a past memory of days -2 to 7 (the article's
        // window and one more before it); the memory from day 10 on stays.
        let joined = find_copy(conn, &mut memory, stored[2], T0 + 3 * day, &mut state);
        assert_eq!(joined, Some(dedupe::Join::Under(stored[2].0)));
        let recent = memory.as_mut().unwrap();
        assert_eq!(held(&recent.index), ids(10..20));
        assert_eq!(held(&recent.past.as_ref().unwrap().index), ids(0..8));

        // Batches that look nothing up in it drop it.
        for _ in 0..PAST_IDLE_BATCHES {
            recent.begin_batch();
        }
        assert!(recent.past.is_some());
        recent.begin_batch();
        assert!(recent.past.is_none());
    }

    /// An article dated 1970 (a feed's broken date) does not make the
    /// writer read every fingerprint stored since, and a backlog walked
    /// from new to old, or in any order, finds every copy while the memory
    /// holds a few windows, never the whole database.
    #[test]
    fn old_dates_keep_the_memory_to_a_few_windows() {
        let store = crate::store::Store::open_in_memory().unwrap();
        let conn = &store.conn;
        let hour = 3_600;
        let mut state = 0x1234_5678_9ABC_DEF1;
        // One article an hour for 200 days: 4,800.
        let stored = store_series(conn, hour, 4_800, &mut state);
        let held_now = |memory: &Option<Recent>| {
            let r = memory.as_ref().unwrap();
            r.index.len() + r.past.as_ref().map_or(0, |p| p.index.len())
        };
        // The most a memory may hold: the load (5 days), a window more, the
        // past's four windows, of 24 articles a day.
        let bound = (5 + 4 + 4 * 4 + 2) * 24;

        let mut memory = None;
        let joined = find(
            conn,
            &mut memory,
            random(&mut state),
            "1970-01-01T00:00:00Z",
            &settings(),
        );
        assert_eq!(joined.unwrap(), None);
        assert!(
            held_now(&memory) <= bound,
            "{} held after a date of 1970",
            held_now(&memory)
        );

        // Copies of every tenth article, newest first, then of every tenth
        // in a scrambled order: each is found.
        let mut order: Vec<usize> = (0..stored.len()).step_by(10).rev().collect();
        let mut scrambled = order.clone();
        for i in (1..scrambled.len()).rev() {
            scrambled.swap(i, random(&mut state) as usize % (i + 1));
        }
        order.extend(scrambled);
        let mut most = 0;
        for i in order {
            let at = T0 + i as i64 * hour + 600;
            let joined = find_copy(conn, &mut memory, stored[i], at, &mut state);
            assert_eq!(
                joined,
                Some(dedupe::Join::Under(stored[i].0)),
                "article {i}"
            );
            most = most.max(held_now(&memory));
        }
        assert!(most <= bound, "{most} held at most, bound {bound}");
    }

    /// Whatever the dates looked up (recent, a little older, far back,
    /// 1970) and their order, `find` answers what comparing with every
    /// stored article within the window answers, while articles keep being
    /// stored and batches go by (dropping the past memory now and then).
    #[test]
    fn find_answers_what_a_scan_of_every_stored_article_answers() {
        let store = crate::store::Store::open_in_memory().unwrap();
        let conn = &store.conn;
        let day = 86_400;
        let span = 100 * day;
        let mut state = 0x0DDB_1A5E_5BAD_5EED;
        let mut stored: Vec<(i64, u64, i64)> = Vec::new();
        // 2,000 articles over 100 days: stories of up to 7-bit copies.
        let mut stories = Vec::new();
        for n in 0..2_000 {
            let fp = if n % 3 == 0 || stories.is_empty() {
                let fp = random(&mut state);
                stories.push(fp);
                fp
            } else {
                copy_of(&stories, 8, &mut state)
            };
            let t = T0 + (random(&mut state) % span as u64) as i64;
            stored.push((insert(conn, n, fp, t), fp, t));
        }
        let mut memory = None;
        let mut joined = 0;
        for q in 0..600 {
            let r = random(&mut state);
            // Half are copies dated near what they copy (anywhere in the
            // 100 days, or far before them for those stored by lookups
            // below); the others new texts, recent, a little older, far
            // back, or in 1970.
            let (fp, t) = if q % 2 == 0 {
                let (_, fp, t) = stored[r as usize % stored.len()];
                let near = (random(&mut state) % (6 * day as u64)) as i64 - 3 * day;
                (
                    flipped(fp, (random(&mut state) % 8) as u32, &mut state),
                    t + near,
                )
            } else {
                let t = match q % 10 {
                    1 => T0 + span - (r % (2 * day as u64)) as i64,
                    3 => T0 + (r % span as u64) as i64,
                    5 => T0 + span / 2 + (r % (3 * day as u64)) as i64,
                    7 => T0 - (r % (400 * day as u64)) as i64,
                    _ => 0,
                };
                (random(&mut state), t)
            };
            let at = time_bound(t);
            let published: Vec<String> = stored.iter().map(|s| time_bound(s.2)).collect();
            let candidates: Vec<Candidate> = stored
                .iter()
                .zip(&published)
                .filter(|((_, _, s), _)| (t - WINDOW..=t + WINDOW).contains(s))
                .map(|(&(id, fingerprint, _), published)| Candidate {
                    id,
                    fingerprint,
                    duplicate_of: None,
                    published,
                })
                .collect();
            let want = dedupe::closest(fp, &candidates, settings().max_distance)
                .map(|c| dedupe::join(c.id, c.published, &at));
            let got = find(conn, &mut memory, fp, &at, &settings()).unwrap();
            assert_eq!(got, want, "lookup {q} at {at}");
            joined += usize::from(got.is_some());
            // Every third is stored, as the writer does; now and then
            // batches go by.
            if q % 3 == 0 {
                let id = insert(conn, 10_000 + q, fp, t);
                stored.push((id, fp, t));
                memory.as_mut().unwrap().add(id, fp);
            }
            if q % 40 == 39 {
                for _ in 0..=(r % (2 * PAST_IDLE_BATCHES)) {
                    memory.as_mut().unwrap().begin_batch();
                }
            }
        }
        assert!(joined > 200, "too few joins to mean much: {joined}");
    }

    /// Every fingerprint within the distance is found, once, and nothing
    /// farther: the same answer as comparing with each entry in turn.
    /// Stories of many close copies make long chains that end at different
    /// steps; an id added twice (a changed text) is reported once.
    #[test]
    fn close_to_finds_what_a_scan_of_every_entry_finds() {
        let mut state = 0x9E37_79B9_7F4A_7C15;
        let mut recent = Index::empty();
        let mut stored: Vec<(i64, u64)> = Vec::new();
        let mut stories = Vec::new();
        for id in 0..20_000 {
            let fp = match id % 4 {
                // A new story.
                0 => {
                    let fp = random(&mut state);
                    stories.push(fp);
                    fp
                }
                // A copy of an earlier story, up to 9 bits off.
                _ => copy_of(&stories, 10, &mut state),
            };
            recent.add(id, fp);
            stored.push((id, fp));
        }
        // Changed texts: ids already held come again with another print.
        for id in (0..20_000).step_by(97) {
            let fp = flipped(stored[id as usize].1, 2, &mut state);
            recent.add(id, fp);
            stored.push((id, fp));
        }
        let mut matched = 0;
        for query in 0..2_000 {
            let fp = if query % 2 == 0 {
                random(&mut state)
            } else {
                copy_of(&stories, 8, &mut state)
            };
            for max_distance in [3, 6] {
                let mut found = recent.close_to(fp, max_distance);
                let unique = found.len();
                found.sort_unstable();
                found.dedup();
                assert_eq!(found.len(), unique, "an id reported twice");
                let mut want: Vec<i64> = stored
                    .iter()
                    .filter(|(_, s)| dedupe::distance(fp, *s) <= max_distance)
                    .map(|(id, _)| *id)
                    .collect();
                want.sort_unstable();
                want.dedup();
                assert_eq!(found, want, "fingerprint {fp:016x}, {max_distance} bits");
                matched += found.len();
            }
        }
        assert!(matched > 2_000, "too few matches to mean much: {matched}");
    }
}
