//! Bytes → decode → parse → normalize → caps, as a fetched body goes.
//! Whatever the bytes: no panic, no hang, every stored field within its cap
//! and free of control characters, no active content in `content_html`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trawl::limits::{self, Caps};
use trawl::parse::{Input, parse};

const CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some("application/rss+xml; charset=utf-8"),
    Some("text/xml; charset=windows-1251"),
    Some("application/feed+json"),
    Some("text/html; charset=gb2312"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let now = chrono::DateTime::from_timestamp(1_713_319_429, 0).unwrap();
    let input = Input {
        bytes,
        url: Some("https://example.com/news/feed.xml"),
        content_type: CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()],
        content_language: None,
        timezone: chrono_tz::Asia::Shanghai,
        now,
    };
    let Ok(mut parsed) = parse(&input) else {
        return;
    };
    for a in &parsed.articles {
        if let Some(html) = &a.content_html
            && let Some(found) = limits::find_active_content(html)
        {
            panic!("active content {found} in {html:?}");
        }
    }
    let caps = Caps {
        max_items: 3,
        max_field_bytes: 64,
    };
    limits::cap_parsed(&mut parsed, &caps);
    assert!(parsed.articles.len() <= 3);
    for a in &parsed.articles {
        for field in [Some(&a.guid), Some(&a.title), a.summary.as_ref(), a.content_text.as_ref()]
            .into_iter()
            .flatten()
        {
            assert!(field.len() <= 64, "{field:?}");
            assert_eq!(limits::clean_text(field), field.as_str());
        }
        if let Some(html) = &a.content_html {
            assert!(html.len() <= 64, "{html:?}");
            assert!(limits::find_active_content(html).is_none(), "{html:?}");
        }
    }
});
