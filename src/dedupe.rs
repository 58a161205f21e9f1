//! First-level deduplication: the keys that make two entries one article,
//! and the pure decision of what to do with an incoming entry.
//!
//! Order of keys: (feed, guid), then canonical URL, then content hash.
//! The store looks the keys up; this module decides. No I/O here.

use sha2::{Digest, Sha256};

/// Hex SHA-256 over the normalized title and text.
pub fn content_hash(title: &str, text: &str) -> String {
    let mut h = Sha256::new();
    h.update(title.as_bytes());
    h.update([0u8]);
    h.update(text.as_bytes());
    hex::encode(h.finalize())
}
