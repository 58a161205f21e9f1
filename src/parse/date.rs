//! Dates as real feeds write them → UTC.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// Parses a feed date. Times without a zone are read in `tz`.
pub fn parse_date(_s: &str, _tz: Tz) -> Option<DateTime<Utc>> {
    todo!()
}
