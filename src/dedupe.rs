//! First-level deduplication: the keys that make two entries one article,
//! and the pure decision of what to do with an incoming entry.
//!
//! Order of keys: (feed, guid), then canonical URL, then content hash.
//! The store looks the keys up; this module decides. No I/O here.
//!
//! - **(feed, guid)**: the entry this feed already gave under that guid. Same
//!   article; if its content hash changed since that feed last gave it, the
//!   stored article is updated in place.
//! - **canonical URL** (`Article::url`, canonicalized by `parse`): the same
//!   link from another feed (or under another guid with the same content) is
//!   the same article. Within one feed, a link shared by entries with other
//!   guids and other distinctive content (every item pointing at a weekly
//!   archive page) is not: see [`url_match`].
//! - **content hash** (`Article::content_hash`, over title and text): the same
//!   story under another URL, but only when the text is long enough for equal
//!   hashes to mean the same story; see [`hash_is_distinctive`].
//!
//! Each key is backed by an index in the store: the `article_sources` primary
//! key, the partial index on `articles(url)` (unique up to migration 4; no
//! longer, since one feed may link several stories to one page), and the
//! index on `articles(content_hash)`.
//!
//! # Near-duplicates
//!
//! Second level: an article that is none of the above but says nearly the
//! same as one stored within a few days (a wire story with a word changed, an
//! update line added, a sentence dropped, a retouched title) is kept as an
//! article of its own and linked to the story's first article, its cluster
//! head (`articles.duplicate_of`).
//!
//! The key is a 64-bit [`fingerprint`] of the shingles (three tokens in a
//! row) of the title and text, compared by Hamming distance. It is a
//! one-bit minwise hash (b-bit MinHash with b = 1, one permutation,
//! densified), not Charikar's SimHash, although it lives in the `simhash`
//! column: for two texts whose shingle sets overlap by a Jaccard index J,
//! each bit differs with probability (1 - J) / 2, where a SimHash bit differs
//! with probability arccos(cos θ) / π, about sqrt(1 - J) / π for a
//! near-copy. Near copies of short news texts (J around 0.9) land within 3
//! bits about 90 % of the time this way and about 45 % of the time with a
//! SimHash, measured on `gen_feeds.py` output (see `scripts/dedupe_eval.py`).
//! Unrelated texts differ in half the bits either way.
//!
//! The distance of a near-copy is binomial: 64 bits, each differing with
//! probability (1 - J) / 2, so a copy with a sentence dropped from a short
//! text (J about 0.9, 3.2 bits on average) lands beyond 3 bits a third of
//! the time, whatever the shingles. Hence the default threshold of 6 bits:
//! 99 % of the generated copies' pairs are linked (89 % at 3), and two
//! unrelated texts (32 bits apart on average) come within 6 bits with
//! probability 4 · 10⁻¹², so precision stays 100 % on the generated sets.
//! The curve is in the README and in the script's output.
//!
//! Candidates are found by lookup, not by scanning: the store's writer
//! chains every fingerprint on its four 16-bit [`bands`] (in memory, see
//! `store::near`), and two fingerprints within 3 bits agree in at least one
//! band (pigeonhole). Larger thresholds, up to
//! [`MAX_DISTANCE`], also look up every band value one bit away
//! ([`probes`]): within 7 bits, some band differs in at most one. That is
//! 17 lookups per band instead of one.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::article::Article;

/// Hex SHA-256 over the normalized title and text.
pub fn content_hash(title: &str, text: &str) -> String {
    let mut h = Sha256::new();
    h.update(title.as_bytes());
    h.update([0u8]);
    h.update(text.as_bytes());
    hex::encode(h.finalize())
}

/// What to do with one incoming entry. The ids are `articles.id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A new article: insert it and its source.
    Insert,
    /// This feed's entry changed: update that article in place.
    Update(i64),
    /// This feed's entry, unchanged: only note that it was seen.
    Unchanged(i64),
    /// Another source of an article already stored (same URL or same content).
    AddSource(i64),
}

/// Decides what an incoming entry is, from what the store found for its keys.
///
/// - `by_guid`: the article this feed already stored under the entry's guid,
///   with the content hash this feed last gave for it;
/// - `by_url`: the article stored under the entry's canonical URL;
/// - `by_hash`: an article with the same content hash, looked up only when
///   [`hash_key`] gives one.
///
/// Keys are consulted in that order and the first match wins, so a caller may
/// skip looking up a key once an earlier one matched and pass `None`.
pub fn decide(
    by_guid: Option<(i64, &str)>,
    by_url: Option<i64>,
    by_hash: Option<i64>,
    incoming_hash: &str,
) -> Decision {
    match (by_guid, by_url, by_hash) {
        (Some((id, stored)), _, _) if stored == incoming_hash => Decision::Unchanged(id),
        (Some((id, _)), _, _) => Decision::Update(id),
        (None, Some(id), _) | (None, None, Some(id)) => Decision::AddSource(id),
        (None, None, None) => Decision::Insert,
    }
}

/// The entry's content hash as a cross-URL key, or `None` when its text is
/// too short for an equal hash to mean the same story.
pub fn hash_key(article: &Article) -> Option<&str> {
    let text = article.content_text.as_deref().unwrap_or("");
    hash_is_distinctive(text).then_some(article.content_hash.as_str())
}

/// Of the articles stored under an entry's canonical URL, oldest first, the
/// one the entry is another source of; `None` when the URL key does not
/// apply and the entry goes on to the content hash (and else is new).
///
/// `stored` holds one row per (article, content hash the entry's own feed
/// last gave for it under another guid), with `None` when only other feeds
/// gave that article: the rows of a `LEFT JOIN` of the URL's articles on
/// this feed's sources.
///
/// - Another feed's link: the same article (the URL rule across feeds).
/// - This feed's link under another guid with the same content: the same
///   article (the feed changed its guids).
/// - This feed's link under another guid with other, distinctive content
///   ([`hash_key`]): another story. Some feeds link many items to one page
///   (a weekly archive, a live blog, the site's front page). A short entry
///   cannot be told from a retitled one, so it stays with the URL's article.
pub fn url_match(stored: &[(i64, Option<&str>)], incoming: &Article) -> Option<i64> {
    let first = stored.first()?.0;
    if let Some(&(id, _)) = stored
        .iter()
        .find(|(_, hash)| *hash == Some(incoming.content_hash.as_str()))
    {
        return Some(id);
    }
    let shared_here = stored.iter().any(|(_, hash)| hash.is_some());
    if shared_here && hash_key(incoming).is_some() {
        None
    } else {
        Some(first)
    }
}

/// Words of `content_text` needed before equal content hashes count as the
/// same story.
pub const DISTINCTIVE_WORDS: usize = 20;

/// Whether `text` is long enough that two entries with equal title and text
/// are the same story rather than two items that merely look alike.
///
/// Two "Daily briefing" entries with no body, or with the same one-line
/// teaser, hash equal but are different stories; twenty words of the same
/// body text are not a coincidence. The rule: at least [`DISTINCTIVE_WORDS`]
/// words, where a word is a whitespace-separated run holding at least one
/// letter or digit, and in Chinese and Japanese, which put no spaces between
/// words, every two Han, Hiragana or Katakana characters count as one word
/// (a word there is one to three characters, so this errs on the side of
/// keeping stories apart). Other scripts written without spaces (Thai, Khmer,
/// ...) count by whitespace only, which also errs that way.
pub fn hash_is_distinctive(text: &str) -> bool {
    // Counted in half-words: a spaced word is 2, a CJK character is 1.
    let needed = 2 * DISTINCTIVE_WORDS;
    let mut halves = 0;
    let mut in_counted_word = false;
    for c in text.chars() {
        if is_cjk(c) {
            halves += 1;
            in_counted_word = false;
        } else if c.is_whitespace() {
            in_counted_word = false;
        } else if c.is_alphanumeric() && !in_counted_word {
            halves += 2;
            in_counted_word = true;
        }
        if halves >= needed {
            return true;
        }
    }
    false
}

/// Han ideographs, Hiragana and Katakana: scripts written without spaces
/// between words. (Hangul is written with spaces and counts like Latin.)
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF     // Hiragana, Katakana
        | 0x31F0..=0x31FF   // Katakana phonetic extensions
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified ideographs
        | 0xF900..=0xFAFF   // CJK compatibility ideographs
        | 0xFF66..=0xFF9D   // halfwidth Katakana
        | 0x20000..=0x3FFFF // CJK extensions B and later
    )
}

// ---- near-duplicates ----

/// Settings of the near-duplicate step (`[daemon] near_duplicate_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NearDuplicates {
    /// Only articles published this close (before or after) are compared.
    pub window: Duration,
    /// Fingerprints at most this many bits apart are near-duplicates; at most
    /// [`MAX_DISTANCE`].
    pub max_distance: u32,
    /// Texts with fewer words than this are never near-matched.
    pub min_words: usize,
}

impl Default for NearDuplicates {
    fn default() -> Self {
        NearDuplicates {
            window: Duration::from_secs(7 * 86_400),
            max_distance: 6,
            min_words: 40,
        }
    }
}

/// The largest threshold the band lookup answers exactly: four bands, each
/// probed at its value and every value one bit away, hold every fingerprint
/// within 4 × 1 + 3 bits.
pub const MAX_DISTANCE: u32 = 7;

/// Tokens per shingle.
const SHINGLE: usize = 3;

/// The 64-bit near-duplicate fingerprint of an article's title and text, or
/// `None` when `text` has fewer than `min_words` words (counted as in
/// [`hash_is_distinctive`]: two CJK characters make a word).
///
/// Tokens are lower-cased runs of letters and digits, and single Han,
/// Hiragana and Katakana characters (those scripts put no spaces between
/// words); punctuation, markup left-overs and spacing do not count. Shingles
/// are three tokens in a row, over the title, a boundary and the text. Each
/// shingle is hashed once; the top six bits of its hash pick one of 64 bins
/// and each bin keeps its smallest hash (one-permutation MinHash). Empty bins
/// borrow from a pseudo-random other bin, the same for every text
/// (densification), and bit `i` of the fingerprint is one bit of bin `i`'s
/// minimum, re-mixed with `i`.
///
/// Cost: one pass over the text and one multiply-and-mix per token and per
/// shingle; nothing is allocated.
pub fn fingerprint(title: &str, text: &str, min_words: usize) -> Option<u64> {
    near_key(title, text).fingerprint(min_words)
}

/// What [`fingerprint`] reads off a text before it looks at `min_words`:
/// the fingerprint (none for fewer than three tokens) and the text's
/// length in half words. Worked out where the article is parsed, so that
/// the single writer does not (see [`NearKeyMemo`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NearKey {
    fingerprint: Option<u64>,
    half_words: usize,
}

impl NearKey {
    /// The article's fingerprint for texts of at least `min_words` words.
    pub fn fingerprint(&self, min_words: usize) -> Option<u64> {
        self.fingerprint
            .filter(|_| self.half_words >= min_words.saturating_mul(2))
    }
}

/// [`near_key`] of an article, worked out ahead of the store (by `ingest`,
/// on the parse threads, once the texts are capped) or not at all. It is a
/// memo of its article's title and text, not part of the article: it never
/// makes two articles unequal, and it is neither printed nor stored.
#[derive(Debug, Clone, Copy, Default)]
pub struct NearKeyMemo(pub Option<NearKey>);

impl PartialEq for NearKeyMemo {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The fingerprint of `title` and `text` and the length of `text` (see
/// [`fingerprint`]).
pub fn near_key(title: &str, text: &str) -> NearKey {
    let mut bins = [u64::MAX; 64];
    let mut window = [0u64; SHINGLE];
    let mut tokens = 0usize;
    let mut add = |token: u64| {
        window.rotate_left(1);
        window[SHINGLE - 1] = token;
        tokens += 1;
        if tokens >= SHINGLE {
            // Token hashes are well mixed already: rotate them apart so
            // that order counts, and mix once more for the bins.
            let h = mix(window[0] ^ window[1].rotate_left(21) ^ window[2].rotate_left(42));
            let bin = (h >> 58) as usize;
            bins[bin] = bins[bin].min(h << 6);
        }
    };
    for_each_token(title, |t, _| add(t));
    add(0x5EC7_10B0_u64); // the title/text boundary
    let mut halves = 0usize;
    for_each_token(text, |t, cjk| {
        halves += if cjk { 1 } else { 2 };
        add(t);
    });
    // Fewer than three tokens in all leave every bin empty.
    if bins.iter().all(|&b| b == u64::MAX) {
        return NearKey {
            fingerprint: None,
            half_words: halves,
        };
    }
    let mut fp = 0u64;
    for i in 0..64 {
        let mut value = bins[i];
        let mut attempt = 0u64;
        while value == u64::MAX {
            attempt += 1;
            let j = (mix(((i as u64) << 32) | attempt) >> 58) as usize;
            value = bins[j];
        }
        let bit = mix(value ^ (i as u64 + 1).wrapping_mul(0xD6E8_FEB8_6659_FD93)) & 1;
        fp |= bit << i;
    }
    NearKey {
        fingerprint: Some(fp),
        half_words: halves,
    }
}

/// Calls `f(hash, is_cjk)` for every token of `text`, in order: each run of
/// letters and digits (lower-cased), and each CJK character on its own.
///
/// Walks bytes: an all-ASCII word is hashed eight bytes at a time; only
/// non-ASCII characters are decoded.
fn for_each_token(text: &str, mut f: impl FnMut(u64, bool)) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_alphanumeric() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                i += 1;
            }
            if i < bytes.len() && bytes[i] >= 0x80 {
                // A word that goes on in another script ("café", "naïve").
                i = word_end(text, start);
                f(hash_chars(&text[start..i]), false);
            } else {
                f(hash_ascii(&bytes[start..i]), false);
            }
        } else if b < 0x80 {
            i += 1;
        } else {
            // `i` is on a character boundary: only whole characters are skipped.
            let c = text[i..]
                .chars()
                .next()
                .unwrap_or(char::REPLACEMENT_CHARACTER);
            if is_cjk(c) {
                i += c.len_utf8();
                f(mix(c as u64), true);
            } else if c.is_alphanumeric() {
                let start = i;
                i = word_end(text, start);
                f(hash_chars(&text[start..i]), false);
            } else {
                i += c.len_utf8();
            }
        }
    }
}

/// Where the word of letters and digits starting at `start` ends (a CJK
/// character ends it too: each of those is a token of its own).
fn word_end(text: &str, start: usize) -> usize {
    text[start..]
        .char_indices()
        .find(|&(_, c)| !c.is_alphanumeric() || is_cjk(c))
        .map_or(text.len(), |(at, _)| start + at)
}

/// The hash of an ASCII word, lower-cased: eight bytes per multiply. Letters
/// and digits only, so `| 0x20` lower-cases the letters and keeps the digits.
fn hash_ascii(word: &[u8]) -> u64 {
    let mut h = word.len() as u64;
    for chunk in word.chunks(8) {
        let mut buf = [0u8; 8];
        buf[..chunk.len()].copy_from_slice(chunk);
        let x = u64::from_le_bytes(buf)
            | (0x2020_2020_2020_2020 & (u64::MAX >> (64 - 8 * chunk.len())));
        h = (h ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    }
    mix(h)
}

/// The hash of any word, lower-cased; equal to [`hash_ascii`] on ASCII words.
fn hash_chars(word: &str) -> u64 {
    if word.is_ascii() {
        return hash_ascii(word.as_bytes());
    }
    let mut lower = String::with_capacity(word.len());
    lower.extend(word.chars().flat_map(char::to_lowercase));
    let bytes = lower.as_bytes();
    let mut h = bytes.len() as u64 ^ 0x8000_0000_0000_0000;
    for chunk in bytes.chunks(8) {
        let mut buf = [0u8; 8];
        buf[..chunk.len()].copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(buf))
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
    mix(h)
}

/// A 64-bit finalizer (MurmurHash3's): every input bit moves every output bit.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    x = x.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    x ^ (x >> 33)
}

/// How many bits two fingerprints differ in.
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// The four 16-bit bands of a fingerprint, low bits first.
pub fn bands(fp: u64) -> [u16; 4] {
    [0, 16, 32, 48].map(|shift| (fp >> shift) as u16)
}

/// The band values to look up for a band of value `band` so that every
/// fingerprint within `max_distance` of it is found: the value itself, and
/// for thresholds above 3 every value one bit away.
pub fn probes(band: u16, max_distance: u32) -> Vec<u16> {
    let mut values = vec![band];
    if max_distance > 3 {
        values.extend((0..16).map(|bit| band ^ (1 << bit)));
    }
    values
}

/// A stored article whose fingerprint shares a band with a new one's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub id: i64,
    pub fingerprint: u64,
    /// Its cluster head, or `None` when it is a head itself.
    pub duplicate_of: Option<i64>,
    /// Its publish time (else first-seen time) as stored: RFC 3339 text.
    pub published: &'a str,
}

/// Of the candidates, the one a new article with fingerprint `fp` is a
/// near-duplicate of: the closest within `max_distance`, then the earliest
/// published, then the first stored. `None` when none is that close.
pub fn closest<'a>(
    fp: u64,
    candidates: &[Candidate<'a>],
    max_distance: u32,
) -> Option<Candidate<'a>> {
    candidates
        .iter()
        .filter(|c| distance(fp, c.fingerprint) <= max_distance)
        .min_by_key(|c| (distance(fp, c.fingerprint), c.published, c.id))
        .copied()
}

/// Where a new near-duplicate goes, given the head of the cluster it matched
/// (`head`, published at `head_published`) and its own publish time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// Under the existing head.
    Under(i64),
    /// It was published before the head: it becomes the head of the
    /// cluster, and the old head and its duplicates move under it.
    Before(i64),
}

/// The cluster head is the earliest published article of the story; a copy
/// that turns up later but was published earlier takes its place. Equal
/// times keep the existing head.
pub fn join(head: i64, head_published: &str, published: &str) -> Join {
    if published < head_published {
        Join::Before(head)
    } else {
        Join::Under(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the store found for the keys of an entry whose hash is `H`.
    type Found = (Option<(i64, &'static str)>, Option<i64>, Option<i64>);
    const H: &str = "hash";

    #[test]
    fn decisions() {
        #[rustfmt::skip]
        let cases: &[(Found, Decision)] = &[
            // (feed, guid) known: same hash → unchanged, other hash → update.
            ((Some((1, H)), None, None), Decision::Unchanged(1)),
            ((Some((1, "old")), None, None), Decision::Update(1)),
            // The guid wins over URL and hash matches.
            ((Some((1, H)), Some(2), Some(3)), Decision::Unchanged(1)),
            ((Some((1, "old")), Some(2), Some(3)), Decision::Update(1)),
            // Then the URL, then the content hash.
            ((None, Some(2), Some(3)), Decision::AddSource(2)),
            ((None, Some(2), None), Decision::AddSource(2)),
            ((None, None, Some(3)), Decision::AddSource(3)),
            ((None, None, None), Decision::Insert),
        ];
        for &((by_guid, by_url, by_hash), want) in cases {
            assert_eq!(
                decide(by_guid, by_url, by_hash, H),
                want,
                "{by_guid:?} {by_url:?} {by_hash:?}"
            );
        }
    }

    #[test]
    fn distinctive_text() {
        let words = |n: usize| vec!["word"; n].join(" ");
        #[rustfmt::skip]
        let cases: &[(String, bool)] = &[
            (String::new(), false),
            ("Daily briefing".into(), false),
            (words(19), false),
            (words(20), true),
            (format!("{}\n\n{}", words(10), words(10)), true),
            // Punctuation alone is no word; punctuation inside one splits nothing.
            (format!("{} — • … don't", words(18)), false),
            (format!("{} — • … don't U.S.", words(18)), true),
            // Two CJK characters make a word; mixed scripts add up.
            ("一".repeat(39), false),
            ("一".repeat(40), true),
            ("ニュース速報です".repeat(5), true),
            (format!("{} {}", "新闻".repeat(10), words(9)), false),
            (format!("{} {}", "新闻".repeat(10), words(10)), true),
            // Hangul is spaced like Latin.
            (vec!["뉴스"; 19].join(" "), false),
            (vec!["뉴스"; 20].join(" "), true),
        ];
        for (text, want) in cases {
            assert_eq!(hash_is_distinctive(text), *want, "{text:?}");
        }
    }

    #[test]
    fn hash_key_reads_only_the_content_text() {
        let words = vec!["word"; 20].join(" ");
        let entry = |text: Option<&str>, summary: Option<&str>| Article {
            guid: "g".into(),
            url: None,
            title: "Daily briefing".into(),
            authors: Vec::new(),
            published: None,
            updated: None,
            summary: summary.map(Into::into),
            content_html: None,
            content_text: text.map(Into::into),
            categories: Vec::new(),
            language: None,
            enclosures: Vec::new(),
            thumbnail: None,
            feed: Default::default(),
            content_hash: H.into(),
            near_key: Default::default(),
        };
        #[rustfmt::skip]
        let cases = [
            (entry(Some(&words), None), Some(H)),
            (entry(Some("Read more."), None), None),
            (entry(None, None), None),
            // Only the content text counts, never the summary.
            (entry(None, Some(&words)), None),
        ];
        for (article, want) in &cases {
            assert_eq!(hash_key(article), *want, "{:?}", article.content_text);
        }
    }

    #[test]
    fn a_link_one_feed_shares_between_distinctive_stories_is_no_key() {
        let entry = |text: &str, hash: &str| Article {
            guid: "g".into(),
            url: Some("https://example.test/archive".into()),
            title: "Weekly notes".into(),
            authors: Vec::new(),
            published: None,
            updated: None,
            summary: None,
            content_html: None,
            content_text: Some(text.into()),
            categories: Vec::new(),
            language: None,
            enclosures: Vec::new(),
            thumbnail: None,
            feed: Default::default(),
            content_hash: hash.into(),
            near_key: Default::default(),
        };
        let long = entry(&vec!["word"; 20].join(" "), "new");
        let short = entry("Read more.", "new");
        type Stored<'a> = &'a [(i64, Option<&'a str>)];
        #[rustfmt::skip]
        let cases: &[(Stored, &Article, Option<i64>)] = &[
            (&[], &long, None),
            // Other feeds' articles: the URL rule, the oldest first.
            (&[(1, None)], &long, Some(1)),
            (&[(1, None), (2, None)], &long, Some(1)),
            // This feed gave the link under another guid: same content is
            // the same article, other distinctive content another story.
            (&[(1, Some("new"))], &long, Some(1)),
            (&[(1, Some("old"))], &long, None),
            (&[(1, Some("old")), (2, Some("new"))], &long, Some(2)),
            (&[(1, None), (2, Some("old"))], &long, None),
            // Too short to tell a new story from a retitled one.
            (&[(1, Some("old"))], &short, Some(1)),
        ];
        for &(stored, incoming, want) in cases {
            assert_eq!(
                url_match(stored, incoming),
                want,
                "{stored:?} {:?}",
                incoming.content_text
            );
        }
    }

    /// `n` words of deterministic prose, different for each `seed`.
    fn prose(seed: u64, n: usize) -> String {
        const WORDS: &[&str] = &[
            "the",
            "council",
            "approved",
            "budget",
            "river",
            "bridge",
            "workers",
            "said",
            "on",
            "monday",
            "after",
            "months",
            "of",
            "talks",
            "with",
            "unions",
            "and",
            "residents",
            "who",
            "feared",
            "rising",
            "costs",
            "mayor",
            "announced",
            "plan",
            "to",
            "repair",
            "roads",
            "before",
            "winter",
            "schools",
            "hospital",
            "election",
            "minister",
            "market",
            "prices",
            "fell",
            "sharply",
            "investors",
            "data",
        ];
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                WORDS[(x % WORDS.len() as u64) as usize]
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `n` characters of deterministic Chinese.
    fn hanzi(seed: u64, n: usize) -> String {
        let chars: Vec<char> = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理世"
            .chars()
            .collect();
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if i % 20 == 19 {
                    '。'
                } else {
                    chars[(x % chars.len() as u64) as usize]
                }
            })
            .collect()
    }

    #[test]
    fn fingerprints_of_equal_and_nearly_equal_texts_are_close() {
        let fp = |title: &str, text: &str| fingerprint(title, text, 40).unwrap();
        let text = prose(1, 300);
        let base = fp("Council approves budget", &text);
        // Identical, and equal but for case, punctuation and spacing: 0 bits.
        assert_eq!(distance(base, fp("Council approves budget", &text)), 0);
        let noisy = format!("  {}!!", text.to_uppercase().replace(' ', " — "));
        assert_eq!(distance(base, fp("COUNCIL: approves budget.", &noisy)), 0);
        // Small edits: a word, an added line, a retouched title.
        let edits = [
            (
                "Council approves budget",
                text.replacen("river", "canal", 1),
            ),
            (
                "Council approves budget",
                format!("{text}\n\nUpdate: comment added."),
            ),
            ("UPDATE: Council approves budget", text.clone()),
        ];
        for (title, text) in &edits {
            let d = distance(base, fp(title, text));
            assert!(d <= 3, "{d} bits for a small edit: {title}");
        }
        // Unrelated texts differ in about half the bits.
        let far = (2..12)
            .map(|seed| distance(base, fp("Council approves budget", &prose(seed, 300))))
            .min()
            .unwrap();
        assert!(far >= 16, "unrelated texts only {far} bits apart");
    }

    #[test]
    fn chinese_and_japanese_are_shingled_by_characters() {
        let fp = |text: &str| fingerprint("新闻", text, 40).unwrap();
        let text = hanzi(1, 400);
        let base = fp(&text);
        let mut one_changed: Vec<char> = text.chars().collect();
        one_changed[200] = if one_changed[200] == '国' {
            '家'
        } else {
            '国'
        };
        let one_changed: String = one_changed.into_iter().collect();
        assert!(distance(base, fp(&one_changed)) <= 3);
        assert!(distance(base, fp(&hanzi(2, 400))) >= 16);
        // Two characters count as a word, punctuation as nothing: 83
        // characters with 4 full stops are 39.5 words, 84 are 40.
        assert_eq!(fingerprint("新闻", &hanzi(3, 83), 40), None);
        assert!(fingerprint("新闻", &hanzi(3, 84), 40).is_some());
        // Kana too, and mixed with Latin words.
        let ja = "東京で大きな地震がありました。".repeat(8);
        assert!(fingerprint("ニュース", &format!("{ja} NHK news"), 40).is_some());
    }

    #[test]
    fn short_texts_get_no_fingerprint() {
        assert_eq!(fingerprint("Title", &prose(1, 39), 40), None);
        assert!(fingerprint("Title", &prose(1, 40), 40).is_some());
        assert_eq!(fingerprint("", "", 0), None, "nothing to hash");
        assert!(fingerprint("Three word title", "", 0).is_some());
        assert_eq!(fingerprint("Title", "— … !!", 0), None);
    }

    #[test]
    fn bands_and_probes() {
        assert_eq!(
            bands(0x0123_4567_89AB_CDEF),
            [0xCDEF, 0x89AB, 0x4567, 0x0123]
        );
        assert_eq!(probes(0x00FF, 3), [0x00FF]);
        let p = probes(0x00FF, 7);
        assert_eq!(p.len(), 17);
        assert!(p[1..].iter().all(|v| (v ^ 0x00FF).count_ones() == 1));
        // Within 3 bits, some band is equal; within 7, some band is one bit away.
        let fp = 0xDEAD_BEEF_0BAD_F00D_u64;
        for diff in [
            0b111_u64,
            1 | 1 << 16 | 1 << 32,
            (1 << 5) | (1 << 20) | (1 << 40) | (1 << 62) | (1 << 63) | (1 << 1) | (1 << 17),
        ] {
            let other = fp ^ diff;
            let found = bands(fp)
                .iter()
                .zip(bands(other))
                .any(|(&b, o)| probes(b, distance(fp, other)).contains(&o));
            assert!(found, "{diff:064b}");
        }
    }

    #[test]
    fn the_closest_candidate_wins_then_the_earliest() {
        let c = |id, fingerprint, published| Candidate {
            id,
            fingerprint,
            duplicate_of: None,
            published,
        };
        let cands = [
            c(1, 0b1111, "2024-04-17T10:00:00Z"),
            c(2, 0b0011, "2024-04-17T12:00:00Z"),
            c(3, 0b0011, "2024-04-17T11:00:00Z"),
            c(4, 0b0001, "2024-04-17T09:00:00Z"),
        ];
        assert_eq!(closest(0, &cands, 3).map(|c| c.id), Some(4));
        assert_eq!(
            closest(0, &cands[..3], 3).map(|c| c.id),
            Some(3),
            "equal bits: earliest"
        );
        assert_eq!(closest(0, &cands[..1], 3), None, "4 bits is too far");
        assert_eq!(closest(0, &cands[..1], 4).map(|c| c.id), Some(1));
        assert_eq!(closest(0, &[], 3), None);
    }

    #[test]
    fn the_earliest_published_article_heads_its_story() {
        let head = "2024-04-17T10:00:00Z";
        assert_eq!(join(7, head, "2024-04-17T11:00:00Z"), Join::Under(7));
        assert_eq!(join(7, head, head), Join::Under(7));
        assert_eq!(join(7, head, "2024-04-17T09:59:59Z"), Join::Before(7));
    }

    #[test]
    fn hash_separates_title_from_text() {
        assert_ne!(content_hash("ab", "c"), content_hash("a", "bc"));
        assert_eq!(content_hash("a", "b").len(), 64);
    }
}
