//! The `Article` type: the contract between parse, dedupe and store.
//!
//! Everything downstream of `parse` sees only this type. It is also the JSON
//! object that `trawl parse` prints and `trawl articles --json` returns, so
//! field names here are part of the user-facing format.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// One normalized feed entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    /// The entry's id as the feed gives it; when the feed gives none, a stable
    /// id derived from link, title and date (see `parse`).
    pub guid: String,
    /// Absolute, canonical URL (see `parse::urls::canonicalize`), if the entry has a link.
    pub url: Option<String>,
    /// Plain text: markup stripped, entities decoded, whitespace collapsed.
    pub title: String,
    /// Plain author names, bylines like "By X" reduced to "X".
    pub authors: Vec<String>,
    #[serde(with = "opt_rfc3339")]
    pub published: Option<DateTime<Utc>>,
    #[serde(with = "opt_rfc3339")]
    pub updated: Option<DateTime<Utc>>,
    /// Plain text summary.
    pub summary: Option<String>,
    /// Sanitized HTML with absolute links.
    pub content_html: Option<String>,
    /// Readable plain text, paragraphs separated by one blank line.
    pub content_text: Option<String>,
    pub categories: Vec<String>,
    pub language: Option<String>,
    pub enclosures: Vec<Enclosure>,
    /// Absolute http(s) URL of the entry's picture: its `media:thumbnail`,
    /// else its `itunes:image` or JSON Feed `image`, else an image enclosure
    /// or `media:content medium="image"` (see `parse`).
    #[serde(default)]
    pub thumbnail: Option<String>,
    pub feed: FeedInfo,
    /// Hex SHA-256 of the normalized title and text: the content dedupe key,
    /// computed once during normalization by `dedupe::content_hash`.
    pub content_hash: String,
    /// The near-duplicate fingerprint's ingredients, when worked out before
    /// the store (see [`crate::dedupe::NearKeyMemo`]); the store works them
    /// out itself otherwise.
    #[serde(skip)]
    pub near_key: crate::dedupe::NearKeyMemo,
}

/// A media attachment of an entry (RSS `<enclosure>`, Atom `rel="enclosure"`,
/// JSON Feed `attachments`, `media:content`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enclosure {
    pub url: String,
    #[serde(rename = "type")]
    pub mime_type: Option<String>,
    pub length: Option<u64>,
}

/// What an article says about the feed it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedInfo {
    pub title: Option<String>,
    /// The address the feed document was read from.
    pub url: Option<String>,
    /// The feed's web site (its `<link>` / Atom `rel="alternate"`).
    pub site_url: Option<String>,
}

/// Formats a timestamp the way trawl stores and prints every time:
/// RFC 3339, UTC, whole seconds, with `Z`. Lexical order is time order.
pub fn format_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Reads a timestamp written by [`format_time`] (or any RFC 3339 time).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

mod opt_rfc3339 {
    use super::{format_time, parse_time};
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format_time(t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => parse_time(&s)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("not an RFC 3339 time: {s:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_with_z_and_round_trip() {
        let t = parse_time("2024-04-17T10:03:49+08:00").unwrap();
        assert_eq!(format_time(&t), "2024-04-17T02:03:49Z");
        assert_eq!(parse_time(&format_time(&t)), Some(t));
    }
}
