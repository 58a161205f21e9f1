//! HTML: sanitizing for `content_html` and plain text for everything else.

use url::Url;

/// Sanitized HTML: no script/style/iframe/object/embed/form, no `on*`
/// attributes, no `javascript:` URLs; relative links made absolute against `base`.
pub fn sanitize(_html: &str, _base: Option<&Url>) -> String {
    todo!()
}

/// Readable plain text of an HTML fragment: block elements become
/// paragraphs separated by one blank line, `<br>` a line break, entities
/// decoded, runs of whitespace collapsed.
pub fn to_text(_html: &str) -> String {
    todo!()
}
