//! The URL canonicalizer: no panic, and the canonical form of a canonical
//! URL is itself (idempotence), with or without a base.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trawl::parse::urls::canonicalize;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let base = url::Url::parse("https://example.com/news/a/b.html?x=1").unwrap();
    for b in [Some(&base), None] {
        if let Some(c) = canonicalize(text, b) {
            assert_eq!(
                canonicalize(&c, None).as_deref(),
                Some(c.as_str()),
                "not idempotent for {text:?}"
            );
            assert!(c.starts_with("http://") || c.starts_with("https://"), "{c}");
        }
    }
});
