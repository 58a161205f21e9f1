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
//!   link from another feed (or under another guid) is the same article.
//! - **content hash** (`Article::content_hash`, over title and text): the same
//!   story under another URL, but only when the text is long enough for equal
//!   hashes to mean the same story; see [`hash_is_distinctive`].
//!
//! Each key is backed by an index in the store: the `article_sources` primary
//! key, the partial unique index on `articles(url)`, and the index on
//! `articles(content_hash)`.

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
fn is_cjk(c: char) -> bool {
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
            feed: Default::default(),
            content_hash: H.into(),
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
    fn hash_separates_title_from_text() {
        assert_ne!(content_hash("ab", "c"), content_hash("a", "bc"));
        assert_eq!(content_hash("a", "b").len(), 64);
    }
}
