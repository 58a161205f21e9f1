//! Finding things: the pure parts of `trawl search`. A user's query becomes
//! an FTS5 expression, text becomes what the full-text index tokenizes, and
//! the snippets SQLite cuts get their highlights rendered. No I/O here; the
//! store runs the queries.
//!
//! # Chinese and Japanese
//!
//! FTS5's `unicode61` tokenizer splits at spaces and punctuation, so a run of
//! Han or Kana characters (a whole clause: those scripts put no spaces
//! between words) would be one token, and no word inside it could be found.
//! The index therefore sees the text through [`index_text`], which sets
//! every such character apart with a zero-width space, making each one a
//! token; a query word in those scripts becomes the phrase of its characters
//! ([`fts_query`]), which matches them side by side. The alternative, FTS5's
//! `trigram` tokenizer, finds no word shorter than three characters (most
//! Chinese words have two) and made the database 2.4 times larger and
//! indexing 4.5 times slower on generated English news.

use std::borrow::Cow;

use crate::dedupe::is_cjk;

/// What sets CJK characters apart in the indexed text: a zero-width space,
/// a separator to `unicode61` and invisible if it ever shows.
const APART: char = '\u{200B}';

/// Marks where a snippet's highlight starts and ends, as SQLite writes them
/// (see [`render_snippet`]).
pub const MARK_START: &str = "\u{2}";
pub const MARK_END: &str = "\u{3}";

/// The text the full-text index tokenizes: `text` with every Han, Hiragana
/// and Katakana character set apart. Borrowed unchanged when there are none.
pub fn index_text(text: &str) -> Cow<'_, str> {
    // Every character `is_cjk` takes is U+3040 or above, so its first UTF-8
    // byte is 0xE3 or more. A text with no such byte (most text outside
    // East Asia, curly quotes and accented letters included) is passed over
    // in chunks the compiler vectorizes, no character decoded: the
    // full-text indexing of a 10,000-feed pass spent 7 % of its time here
    // (perf) when every character was decoded to ask.
    let maybe_cjk = crate::limits::suspect_bytes(text.as_bytes(), |b| b >= 0xE3)
        .next()
        .is_some();
    if !maybe_cjk || !text.chars().any(is_cjk) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    for c in text.chars() {
        if is_cjk(c) {
            out.push(APART);
            out.push(c);
            out.push(APART);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A query in trawl's syntax as an FTS5 expression, or `None` when it holds
/// no term.
///
/// Terms are separated by spaces and all must match; `"a phrase"` matches
/// words side by side; `word*` matches words that start with `word`; `OR`
/// between terms matches either and `NOT` before one excludes it. Everything
/// else is a literal word: punctuation never makes a syntax error (`U.S.`,
/// `don't`, `C++`), and a CJK word matches its characters in a row.
pub fn fts_query(query: &str) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut rest = query.trim();
    // Whether the last part pushed was a term (an operator needs one before it).
    let mut after_term = false;
    while !rest.is_empty() {
        let (token, quoted, after) = if let Some(body) = rest.strip_prefix('"') {
            match body.find('"') {
                Some(end) => (&body[..end], true, &body[end + 1..]),
                None => (body, true, ""),
            }
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            (&rest[..end], false, &rest[end..])
        };
        rest = after.trim_start();
        // An operator joins the terms around it; one with no term before
        // it is a word meant literally, one with none after it is dropped.
        if !quoted && after_term && matches!(token, "OR" | "NOT" | "AND") {
            if !rest.is_empty() {
                parts.push(token.to_string());
                after_term = false;
            }
            continue;
        }
        let (word, prefix) = match token.strip_suffix('*') {
            Some(stem) if !quoted && !stem.is_empty() => (stem, true),
            _ => (token, false),
        };
        let phrase = phrase(word);
        if phrase.is_empty() {
            continue;
        }
        let mut part = format!("\"{}\"", phrase.replace('"', "\"\""));
        if prefix {
            part.push_str(" *");
        }
        parts.push(part);
        after_term = true;
    }
    // An operator whose following tokens held no term (`a OR !!`).
    while matches!(parts.last().map(String::as_str), Some("OR" | "NOT" | "AND")) {
        parts.pop();
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The tokens of one query word or phrase, space-separated, as FTS5 should
/// see them inside a quoted string: CJK characters set apart, everything
/// else left to the tokenizer. Empty when nothing in it is a token.
fn phrase(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_cjk(c) {
            out.push(' ');
            out.push(c);
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    if out.chars().any(char::is_alphanumeric) {
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        String::new()
    }
}

/// How [`render_snippet`] shows a highlight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Highlight {
    /// `[term]`: plain text.
    Brackets,
    /// Bold on a terminal (ANSI escapes).
    Bold,
    /// `<mark>term</mark>`, the rest HTML-escaped: for JSON consumers that
    /// show it in a page.
    Html,
}

/// A snippet as SQLite cut it from the indexed text (highlights between
/// [`MARK_START`] and [`MARK_END`]), readable again: the zero-width spaces
/// [`index_text`] added are gone, line breaks are spaces, and highlights
/// are shown as asked.
pub fn render_snippet(snippet: &str, how: Highlight) -> String {
    let (open, close) = match how {
        Highlight::Brackets => ("[", "]"),
        Highlight::Bold => ("\u{1b}[1m", "\u{1b}[0m"),
        Highlight::Html => ("<mark>", "</mark>"),
    };
    let mut out = String::with_capacity(snippet.len());
    let mut last_space = false;
    for c in snippet.chars() {
        match c {
            APART => continue,
            '\u{2}' => out.push_str(open),
            '\u{3}' => out.push_str(close),
            c if c.is_whitespace() => {
                if !last_space {
                    out.push(' ');
                }
                last_space = true;
                continue;
            }
            '<' if how == Highlight::Html => out.push_str("&lt;"),
            '>' if how == Highlight::Html => out.push_str("&gt;"),
            '&' if how == Highlight::Html => out.push_str("&amp;"),
            c => out.push(c),
        }
        last_space = false;
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_text_sets_cjk_characters_apart() {
        assert!(matches!(
            index_text("plain text"),
            Cow::Borrowed("plain text")
        ));
        assert_eq!(
            index_text("台灣news 日本"),
            "\u{200B}台\u{200B}\u{200B}灣\u{200B}news \u{200B}日\u{200B}\u{200B}本\u{200B}"
        );
    }

    use proptest::prelude::*;

    proptest::proptest! {
        /// The byte pre-check never passes over a CJK character: text of
        /// ASCII runs, characters on both sides of U+3040 and of the other
        /// ranges' ends, and random characters, past a 64-byte chunk.
        #[test]
        fn index_text_sets_every_cjk_character_apart(
            parts in proptest::collection::vec(proptest::prop_oneof![
                3 => "[a-z ]{0,40}",
                1 => proptest::sample::select(vec![
                    "\u{2019}", "\u{2fff}", "\u{3000}", "\u{303f}", "\u{3040}", "\u{30ff}",
                    "\u{3100}", "\u{4e00}", "\u{9fff}", "\u{ff66}", "\u{ff9e}", "\u{20000}", "é",
                ]).prop_map(str::to_string),
                1 => any::<char>().prop_map(String::from),
            ], 0..24)
        ) {
            let text = parts.concat();
            let mut want = String::new();
            for c in text.chars() {
                if is_cjk(c) {
                    want.extend([APART, c, APART]);
                } else {
                    want.push(c);
                }
            }
            proptest::prop_assert_eq!(index_text(&text), want);
        }
    }

    #[test]
    fn queries() {
        #[rustfmt::skip]
        let cases: &[(&str, Option<&str>)] = &[
            ("volcano", Some(r#""volcano""#)),
            ("volcano ash", Some(r#""volcano" "ash""#)),
            (r#""ash cloud" iceland"#, Some(r#""ash cloud" "iceland""#)),
            ("elect*", Some(r#""elect" *"#)),
            ("rates OR inflation", Some(r#""rates" OR "inflation""#)),
            ("rates NOT inflation", Some(r#""rates" NOT "inflation""#)),
            // Punctuation is never syntax; quotes inside words are literal.
            ("U.S. don't C++ -x", Some(r#""U.S." "don't" "C++" "-x""#)),
            (r#"say "hi"#, Some(r#""say" "hi""#)),
            // Operators out of place are dropped or taken literally.
            ("OR rates", Some(r#""OR" "rates""#)),
            ("rates OR", Some(r#""rates""#)),
            ("NOT", Some(r#""NOT""#)),
            // CJK words become phrases of their characters.
            ("台灣", Some(r#""台 灣""#)),
            ("台灣選舉 vote", Some(r#""台 灣 選 舉" "vote""#)),
            ("ニュース", Some(r#""ニ ュ ー ス""#)),
            // Nothing to search for.
            ("", None),
            ("  - ... ", None),
            ("*", None),
        ];
        for (query, want) in cases {
            assert_eq!(fts_query(query).as_deref(), *want, "{query:?}");
        }
    }

    #[test]
    fn snippets_render() {
        let raw =
            "The \u{2}volcano\u{3} <erupted>\n\nagain & \u{200B}台\u{200B}\u{200B}灣\u{200B}…";
        #[rustfmt::skip]
        let cases = [
            (Highlight::Brackets, "The [volcano] <erupted> again & 台灣…"),
            (Highlight::Bold, "The \u{1b}[1mvolcano\u{1b}[0m <erupted> again & 台灣…"),
            (Highlight::Html, "The <mark>volcano</mark> &lt;erupted&gt; again &amp; 台灣…"),
        ];
        for (how, want) in cases {
            assert_eq!(render_snippet(raw, how), want, "{how:?}");
        }
    }
}
