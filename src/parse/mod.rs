//! Turns the bytes of one feed document into `Article`s: decode the charset,
//! parse RSS/Atom/JSON Feed, and normalize every entry.
//!
//! Invariant: this module does no I/O and reads no clock; `now` comes in.

pub mod charset;
pub mod date;
pub mod html;
pub mod urls;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::article::{Article, FeedInfo};

/// One feed document and what is known about where it came from.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    pub bytes: &'a [u8],
    /// The address the bytes came from: base for relative links.
    pub url: Option<&'a str>,
    /// The HTTP `Content-Type` they were served with; its charset wins.
    pub content_type: Option<&'a str>,
    /// Zone for dates that carry none.
    pub timezone: Tz,
    pub now: DateTime<Utc>,
}

/// A parsed feed: its articles in feed order, plus what went wrong on the way
/// (bad entries, undecodable bytes) that did not stop it.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub feed: FeedInfo,
    pub articles: Vec<Article>,
    pub warnings: Vec<String>,
}

/// A document that is not a feed at all.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed: {0}")]
    NotAFeed(String),
}

/// Decodes, parses and normalizes one feed document.
pub fn parse(_input: &Input) -> Result<Parsed, ParseError> {
    todo!("parse")
}
