//! Near-duplicates in the database: a new fingerprint's candidates, found
//! through the four band indexes of migration 3 within the publish-time
//! window, and the cluster bookkeeping (`articles.duplicate_of` always
//! names the cluster head, never a member). The decisions are
//! [`crate::dedupe`]'s.

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OptionalExtension, params_from_iter};

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

/// The band expressions, exactly as the indexes `articles_band0` to
/// `articles_band3` spell them (the planner matches them as written).
const BANDS: [&str; 4] = [
    "(simhash & 65535)",
    "((simhash >> 16) & 65535)",
    "((simhash >> 32) & 65535)",
    "((simhash >> 48) & 65535)",
];

/// The candidates query over `bands` (some of [`BANDS`]) for `probes`
/// values per band: ?1 and ?2 bound the publish time (Unix seconds, as the
/// indexes hold it), then the band values, the first band's first.
fn candidates_sql(bands: &[&str], probes: usize) -> String {
    let mut next = 3;
    let parts: Vec<String> = bands
        .iter()
        .map(|band| {
            let values: Vec<String> = (0..probes)
                .map(|_| {
                    next += 1;
                    format!("?{}", next - 1)
                })
                .collect();
            format!(
                "SELECT id, simhash, duplicate_of, coalesce(published_at, first_seen_at) \
                 FROM articles WHERE simhash IS NOT NULL AND {band} IN ({}) \
                 AND unixepoch(coalesce(published_at, first_seen_at)) BETWEEN ?1 AND ?2",
                values.join(", ")
            )
        })
        .collect();
    parts.join(" UNION ALL ")
}

/// How many bands one candidates query covers. With one value per band,
/// one query over all four bands (a `UNION ALL`) is quickest. With 17
/// values per band (thresholds above 3 bits), SQLite ran that compound more
/// than twice as slowly as the four bands' queries one after the other
/// (about 300 against 130 µs per lookup in 9,000 articles, same run), so
/// each band gets its own.
fn bands_per_query(probes: usize) -> usize {
    if probes == 1 { BANDS.len() } else { 1 }
}

/// The candidates query over bands `first..first + n`, for plan tests.
#[cfg(test)]
pub(super) fn candidates_sql_for_tests(first: usize, n: usize, probes: usize) -> String {
    candidates_sql(&BANDS[first..first + n], probes)
}

/// Where an article with fingerprint `fp`, published (else first seen) at
/// `at`, joins a cluster: `None` when no stored article within the window
/// is close enough.
pub(super) fn find(
    conn: &Connection,
    fp: u64,
    at: &str,
    settings: &NearDuplicates,
) -> Result<Option<Join>, StoreError> {
    let window = i64::try_from(settings.window.as_secs()).unwrap_or(i64::MAX);
    let t = parse_time(at).map_or(0, |t| t.timestamp());
    let (from, to) = (t.saturating_sub(window), t.saturating_add(window));
    let mut values: Vec<i64> = Vec::new();
    let mut probes = 0;
    for band in dedupe::bands(fp) {
        let p = dedupe::probes(band, settings.max_distance);
        probes = p.len();
        values.extend(p.into_iter().map(i64::from));
    }
    let per_query = bands_per_query(probes);
    let mut found: Vec<(i64, i64, Option<i64>, String)> = Vec::new();
    for (bands, values) in BANDS
        .chunks(per_query)
        .zip(values.chunks(per_query * probes))
    {
        let mut stmt = conn.prepare_cached(&candidates_sql(bands, probes))?;
        let params = [from, to].into_iter().chain(values.iter().copied());
        let rows = stmt.query_map(params_from_iter(params), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        for row in rows {
            found.push(row?);
        }
    }
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
