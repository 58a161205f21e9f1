//! The lenient date reader: any text, any zone; no panic, and an answer,
//! when there is one, that survives formatting.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trawl::parse::date::parse_date;

const ZONES: &[chrono_tz::Tz] = &[
    chrono_tz::UTC,
    chrono_tz::Asia::Shanghai,
    chrono_tz::America::New_York,
    chrono_tz::Europe::Moscow,
    chrono_tz::Pacific::Chatham,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let tz = ZONES[usize::from(selector) % ZONES.len()];
    if let Some(t) = parse_date(text, tz) {
        let _ = trawl::article::format_time(&t);
    }
});
