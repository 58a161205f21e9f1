//! URL resolution and canonical form.

use url::Url;

/// Resolves `href` against `base` (when relative) and returns its canonical
/// form: scheme and host lowercased, default port and fragment dropped,
/// tracking parameters removed. `None` when it is not an http(s) URL.
pub fn canonicalize(_href: &str, _base: Option<&Url>) -> Option<String> {
    todo!()
}
