//! The sanitizer and the nesting guards: any text; no panic, nothing
//! active in the output, as `limits::find_active_content` defines it, and
//! `sanitize_with_text` agreeing with `sanitize`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trawl::limits;
use trawl::parse::html::{sanitize, sanitize_with_text};

fuzz_target!(|data: &[u8]| {
    let Ok(html) = std::str::from_utf8(data) else {
        return;
    };
    let base = url::Url::parse("https://example.com/news/story.html").unwrap();
    let clean = sanitize(html, Some(&base));
    if let Some(found) = limits::find_active_content(&clean) {
        panic!("active content {found} in {clean:?} from {html:?}");
    }
    let bare = sanitize(html, None);
    if let Some(found) = limits::find_active_content(&bare) {
        panic!("active content {found} in {bare:?} from {html:?}");
    }
    // The one-parse path gives the same HTML, and its text is read without
    // a panic whatever that HTML is.
    let (with_text, _text) = sanitize_with_text(html, Some(&base));
    assert_eq!(with_text, clean, "sanitize_with_text differs for {html:?}");
    let _ = limits::check_nesting(html);
    if let Some(flat) = limits::flatten_deep_html(html) {
        assert!(limits::find_active_content(&flat).is_none(), "{flat:?}");
    }
});
