//! Charset decoding: bytes of any encoding → UTF-8 text.
//!
//! The order of evidence follows RFC 7303 (XML media types): a byte order
//! mark is authoritative, then the HTTP `charset` parameter, then what the
//! document says about itself, and only then a guess from the bytes. A label
//! nobody knows never stops decoding: it is skipped and the next source is
//! asked. Bytes that cannot be decoded become U+FFFD; decoding never fails.
//!
//! The output is meant for the XML parser downstream, so besides being UTF-8
//! it is made safe to hand over: see [`decode`].

use std::borrow::Cow;

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Encoding, GB18030, GBK, REPLACEMENT, UTF_8, UTF_16BE, UTF_16LE};

use crate::limits;

/// A decoded document.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The text, valid UTF-8, without a BOM. For XML documents the encoding
    /// pseudo-attribute of the declaration now says `UTF-8`, so that the XML
    /// parser does not decode a second time.
    pub text: String,
    /// The encoding the bytes were read as (its WHATWG name).
    pub encoding: &'static str,
    /// Where that choice came from: "bom", "http", "declaration" (the XML
    /// declaration), "meta" (an HTML `<meta charset>`), "json" (JSON is
    /// UTF-8 by RFC 8259), "detected" (also for UTF-8 bytes under a
    /// single-byte label, see [`decode`]), "default".
    pub source: &'static str,
    /// True when some bytes could not be decoded and became U+FFFD.
    pub had_errors: bool,
}

/// How far into the document the declaration or a `<meta charset>` is
/// looked for. HTML's prescan uses the same 1024 bytes.
const PRESCAN: usize = 1024;

/// Decodes `bytes`. Order: BOM, HTTP charset of `content_type`, XML
/// declaration (or `<meta charset>`; JSON is UTF-8), detection; GB2312/GBK
/// as GB18030.
///
/// One exception to that order: a label that plainly lies. Bytes labelled
/// with a single-byte charset (ISO-8859-x, windows-125x, KOI8) that are
/// valid UTF-8 with multi-byte sequences in them are UTF-8: text in a real
/// single-byte charset is next to never valid UTF-8 (every byte above 0x7F
/// would have to come in exactly the right pairs and triples), while a
/// template's stale label over UTF-8 content is common.
///
/// The text then gets two repairs the XML parser needs:
/// - the declaration's `encoding` is rewritten to `UTF-8`. feed-rs hands the
///   text to quick-xml's `DecodingReader`, which switches its decoder to
///   whatever the declaration names: left as `gb2312` it would decode our
///   UTF-8 a second time (into mojibake, or into an error that fails the
///   whole feed). Saying `UTF-8` makes that switch a no-op.
/// - NUL and the other C0 controls except tab, LF and CR, and the
///   non-characters U+FFFE/U+FFFF, are removed: XML 1.0 forbids them and
///   one of them fails the parse of the whole document.
pub fn decode(bytes: &[u8], content_type: Option<&str>) -> Decoded {
    let (mut encoding, mut source, body) = choose(bytes, content_type);
    if encoding.is_single_byte() && label_lies(body) {
        (encoding, source) = (UTF_8, "detected");
    }
    let (text, had_errors) = encoding.decode_without_bom_handling(body);
    let text = rewrite_declaration(remove_invalid_chars(text));
    Decoded {
        text: text.into_owned(),
        encoding: encoding.name(),
        source,
        had_errors,
    }
}

/// Whether bytes given a single-byte label are in fact UTF-8 (see [`decode`]).
fn label_lies(body: &[u8]) -> bool {
    !body.is_ascii() && std::str::from_utf8(body).is_ok()
}

/// Text that was UTF-8 encoded twice (its UTF-8 bytes read as windows-1252
/// or Latin-1 and encoded again: "CafÃ©" for "Café", "â€™" for "’")
/// made right, when that is unambiguous: every character that could start
/// such a sequence (U+00C2 to U+00F4) does start one that decodes, and
/// there is at least one. A text that also holds a real "é" or "Ã" (a
/// Portuguese "SÃO") is left as it is.
pub fn repair_double_utf8(s: &str) -> Cow<'_, str> {
    // Every candidate lead character is encoded as 0xC3 0x82..=0xB4.
    if !s.as_bytes().contains(&0xC3) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut found = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        let lead = c as u32;
        if !(0xC2..=0xF4).contains(&lead) {
            out.push(c);
            continue;
        }
        let n = match lead {
            0xC2..=0xDF => 1,
            0xE0..=0xEF => 2,
            _ => 3,
        };
        let mut bytes = [lead as u8, 0, 0, 0];
        let mut rest = chars.clone();
        for b in bytes.iter_mut().skip(1).take(n) {
            match rest.next().and_then(cp1252_byte) {
                Some(x @ 0x80..=0xBF) => *b = x,
                _ => return Cow::Borrowed(s),
            }
        }
        match std::str::from_utf8(&bytes[..=n]) {
            Ok(fixed) => {
                out.push_str(fixed);
                found = true;
                chars = rest;
            }
            Err(_) => return Cow::Borrowed(s),
        }
    }
    if found {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(s)
    }
}

/// The windows-1252 (or Latin-1) byte that decodes to `c`, if any.
fn cp1252_byte(c: char) -> Option<u8> {
    let code = c as u32;
    if code < 0x100 {
        return Some(code as u8);
    }
    const HIGH: [(char, u8); 27] = [
        ('€', 0x80),
        ('‚', 0x82),
        ('ƒ', 0x83),
        ('„', 0x84),
        ('…', 0x85),
        ('†', 0x86),
        ('‡', 0x87),
        ('ˆ', 0x88),
        ('‰', 0x89),
        ('Š', 0x8A),
        ('‹', 0x8B),
        ('Œ', 0x8C),
        ('Ž', 0x8E),
        ('‘', 0x91),
        ('’', 0x92),
        ('“', 0x93),
        ('”', 0x94),
        ('•', 0x95),
        ('–', 0x96),
        ('—', 0x97),
        ('˜', 0x98),
        ('™', 0x99),
        ('š', 0x9A),
        ('›', 0x9B),
        ('œ', 0x9C),
        ('ž', 0x9E),
        ('Ÿ', 0x9F),
    ];
    HIGH.iter().find(|(h, _)| *h == c).map(|&(_, b)| b)
}

/// Picks the encoding, where the choice came from, and the bytes left to
/// decode (without the BOM, when there was one).
fn choose<'a>(
    bytes: &'a [u8],
    content_type: Option<&str>,
) -> (&'static Encoding, &'static str, &'a [u8]) {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        return (encoding, "bom", bytes.get(bom_len..).unwrap_or_default());
    }
    let ascii_compatible = looks_ascii_compatible(bytes);
    if let Some(encoding) = content_type
        .and_then(http_charset)
        .and_then(|label| from_label(label, ascii_compatible))
    {
        return (encoding, "http", bytes);
    }
    // XML 1.0 appendix F: a document without a BOM that starts `<?` in
    // UTF-16 announces its byte order by where the zero bytes are.
    if bytes.starts_with(b"<\0?\0") {
        return (UTF_16LE, "detected", bytes);
    }
    if bytes.starts_with(b"\0<\0?") {
        return (UTF_16BE, "detected", bytes);
    }
    let head = &bytes[..bytes.len().min(PRESCAN)];
    match declaration(head).map(|(_, decl)| decl) {
        // A declaration without `encoding` means UTF-8 by the letter of XML,
        // but feeds that omit it are often in a legacy charset: detection
        // returns UTF-8 anyway whenever the bytes are valid UTF-8.
        Some(decl) => {
            if let Some(encoding) = attribute(decl, b"encoding").and_then(|l| from_label(l, true)) {
                return (encoding, "declaration", bytes);
            }
        }
        None => {
            if is_json(head) {
                return (UTF_8, "json", bytes);
            }
            if let Some(encoding) = meta_charset(head).and_then(|l| from_label(l, true)) {
                return (encoding, "meta", bytes);
            }
        }
    }
    let (encoding, source) = detect(bytes);
    (encoding, source, bytes)
}

/// Looks a label up the WHATWG way (so ISO-8859-1 and US-ASCII are read as
/// windows-1252), with two changes:
/// - every GBK label (GB2312, GBK, x-gbk, cp936, …) maps to GB18030, its
///   superset, so that a feed labelled GB2312 but written in GBK or GB18030
///   decodes whole;
/// - a label that cannot be right is treated as unknown: the "replacement"
///   encoding (labels like ISO-2022-KR that WHATWG turns into one U+FFFD),
///   and UTF-16 for bytes that are visibly ASCII-compatible (the label was
///   readable as ASCII, so it lies).
fn from_label(label: &[u8], ascii_compatible: bool) -> Option<&'static Encoding> {
    let encoding = Encoding::for_label(label).or_else(|| alias(label))?;
    if encoding == REPLACEMENT {
        return None;
    }
    if encoding == GBK {
        return Some(GB18030);
    }
    if ascii_compatible && (encoding == UTF_16LE || encoding == UTF_16BE) {
        return None;
    }
    Some(encoding)
}

/// Labels seen in feeds that WHATWG does not list: Microsoft code page
/// names, and Python-style spellings with `_` for `-`.
fn alias(label: &[u8]) -> Option<&'static Encoding> {
    let label = String::from_utf8_lossy(label)
        .trim()
        .to_ascii_lowercase()
        .replace('_', "-");
    let encoding = match label.as_str() {
        "cp936" | "ms936" | "windows-936" | "euc-cn" | "x-euc-cn" => GB18030,
        "cp932" | "shift-jis" | "x-shift-jis" => encoding_rs::SHIFT_JIS,
        "cp949" | "ms949" | "uhc" | "windows-949" => encoding_rs::EUC_KR,
        "cp950" | "ms950" | "windows-950" => encoding_rs::BIG5,
        "latin-1" | "iso-latin-1" => encoding_rs::WINDOWS_1252,
        "utf8" | "utf-8n" => UTF_8,
        other => return Encoding::for_label(other.as_bytes()),
    };
    Some(encoding)
}

/// Whether the document visibly starts in an ASCII-compatible encoding:
/// its first non-blank byte is `<`, `{` or `[` and the next one is not NUL.
fn looks_ascii_compatible(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    match bytes.get(start..start + 2) {
        Some([first, second]) => matches!(first, b'<' | b'{' | b'[') && *second != 0,
        _ => false,
    }
}

/// The value of the `charset` parameter of a `Content-Type` header value.
fn http_charset(content_type: &str) -> Option<&[u8]> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
        (!value.is_empty()).then_some(value.as_bytes())
    })
}

/// The inside of the XML declaration (`<?xml` … `?>`) when `head` starts
/// with one, allowing blank space before it, and where that inside starts.
fn declaration(head: &[u8]) -> Option<(usize, &[u8])> {
    let lead = head.iter().position(|b| !b.is_ascii_whitespace())?;
    if !head[lead..].starts_with(b"<?xml") {
        return None;
    }
    let start = lead + b"<?xml".len();
    if !head.get(start).is_some_and(u8::is_ascii_whitespace) {
        return None;
    }
    let len = find(&head[start..], b"?>")?;
    Some((start, &head[start..start + len]))
}

/// The value of the pseudo-attribute `name` inside a declaration, quoted with
/// `"` or `'`.
fn attribute<'a>(decl: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    attribute_span(decl, name).map(|(start, end)| &decl[start..end])
}

/// Where the value of the pseudo-attribute `name` lies in `decl`, without
/// its quotes.
fn attribute_span(decl: &[u8], name: &[u8]) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(found) = find(decl.get(from..)?, name) {
        let at = from + found;
        from = at + name.len();
        // The name must stand alone (not the tail of another name).
        if at > 0 && !decl[at - 1].is_ascii_whitespace() {
            continue;
        }
        let mut i = from;
        while decl.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if decl.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while decl.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let quote = *decl.get(i).filter(|q| matches!(q, b'"' | b'\''))?;
        let start = i + 1;
        let len = decl.get(start..)?.iter().position(|&b| b == quote)?;
        return Some((start, start + len));
    }
    None
}

/// Whether the document is JSON: its first non-blank byte opens an object
/// or an array.
fn is_json(head: &[u8]) -> bool {
    head.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'['))
}

/// The label of an HTML `<meta charset="…">` or `<meta http-equiv
/// content="…; charset=…">`, for the HTML pages that are sometimes fetched in
/// place of a feed. A simplified form of HTML's prescan.
fn meta_charset(head: &[u8]) -> Option<&[u8]> {
    let lower = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = find(&lower[from..], b"<meta") {
        let tag_start = from + found;
        let tag_end = lower[tag_start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(lower.len(), |p| tag_start + p);
        let tag = &lower[tag_start..tag_end];
        if let Some(at) = find(tag, b"charset") {
            let mut i = at + b"charset".len();
            while tag.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            if tag.get(i) == Some(&b'=') {
                i += 1;
                while tag
                    .get(i)
                    .is_some_and(|b| matches!(b, b'"' | b'\'') || b.is_ascii_whitespace())
                {
                    i += 1;
                }
                let len = tag[i..]
                    .iter()
                    .position(|b| {
                        matches!(b, b'"' | b'\'' | b';' | b'/') || b.is_ascii_whitespace()
                    })
                    .unwrap_or(tag.len() - i);
                if len > 0 {
                    let start = tag_start + i;
                    return head.get(start..start + len);
                }
            }
        }
        from = tag_end;
    }
    None
}

/// Guesses the encoding of undeclared bytes. Valid UTF-8 is UTF-8 (and pure
/// ASCII is reported as the default, since any ASCII-compatible guess would
/// read it the same); anything else goes to chardetng, with no top-level
/// domain because the address of a feed says little about its language.
fn detect(bytes: &[u8]) -> (&'static Encoding, &'static str) {
    // ISO-2022-JP is 7-bit: pure ASCII with escapes still needs a look.
    if bytes.is_ascii() && !bytes.contains(&0x1B) {
        return (UTF_8, "default");
    }
    if std::str::from_utf8(bytes).is_ok() {
        return (UTF_8, "detected");
    }
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Allow);
    detector.feed(bytes, true);
    let guess = detector.guess(None, Utf8Detection::Allow);
    // chardetng answers GBK for Chinese; read it as its superset, like a label.
    let guess = if guess == GBK { GB18030 } else { guess };
    (guess, "detected")
}

/// Removes the characters XML 1.0 does not allow anywhere (C0 controls but
/// tab, LF and CR; U+FFFE and U+FFFF) and any leading BOM (U+FEFF) that
/// survived, e.g. a second one after the one that was sniffed.
fn remove_invalid_chars(text: Cow<'_, str>) -> Cow<'_, str> {
    let invalid = |c: char| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}'
    };
    let without_bom = text.trim_start_matches('\u{FEFF}');
    if without_bom.len() == text.len() && !has_invalid(text.as_bytes()) {
        return text;
    }
    Cow::Owned(without_bom.chars().filter(|&c| !invalid(c)).collect())
}

/// Whether `b` (UTF-8) holds a character [`remove_invalid_chars`] drops:
/// read in chunks whose test the compiler vectorizes
/// ([`limits::suspect_bytes`]; decoding every character to ask was 5 % of
/// parsing a feed, callgrind). The characters are a C0 byte or
/// `EF BF BE`/`EF BF BF`.
fn has_invalid(b: &[u8]) -> bool {
    let suspect = |c: u8| (c < 0x20) & (c != b'\t') & (c != b'\n') & (c != b'\r') | (c == 0xef);
    limits::suspect_bytes(b, suspect).any(|at| b[at] != 0xef || limits::is_noncharacter_at(b, at))
}

/// Makes the declaration's `encoding` say `UTF-8` (see [`decode`]).
fn rewrite_declaration(text: Cow<'_, str>) -> Cow<'_, str> {
    let head = &text.as_bytes()[..text.len().min(PRESCAN)];
    let Some((offset, decl)) = declaration(head) else {
        return text;
    };
    let Some((start, end)) = attribute_span(decl, b"encoding") else {
        return text;
    };
    if decl[start..end].eq_ignore_ascii_case(b"utf-8") {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..offset + start]);
    out.push_str("UTF-8");
    out.push_str(&text[offset + end..]);
    Cow::Owned(out)
}

/// The first position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `bytes` served as `content_type` and compares the encoding
    /// chosen, its source, whether errors were seen, and that the text holds
    /// `expected` (or equals it, when it starts with `=`).
    #[track_caller]
    fn check(
        bytes: &[u8],
        content_type: Option<&str>,
        expected: &str,
        encoding: &str,
        source: &str,
        had_errors: bool,
    ) {
        let decoded = decode(bytes, content_type);
        match expected.strip_prefix('=') {
            Some(whole) => assert_eq!(decoded.text, whole),
            None => assert!(
                decoded.text.contains(expected),
                "{expected:?} not in {:?}",
                decoded.text
            ),
        }
        assert_eq!(decoded.encoding, encoding, "encoding of {:?}", decoded.text);
        assert_eq!(decoded.source, source, "source of {:?}", decoded.text);
        assert_eq!(
            decoded.had_errors, had_errors,
            "errors in {:?}",
            decoded.text
        );
        assert!(!decoded.text.starts_with('\u{FEFF}'));
    }

    fn encode(encoding: &'static Encoding, text: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = encoding.encode(text);
        assert!(!unmappable, "{text:?} is not all in {}", encoding.name());
        bytes.into_owned()
    }

    fn utf16le(text: &str, bom: bool) -> Vec<u8> {
        let mut out = if bom { vec![0xFF, 0xFE] } else { vec![] };
        out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        out
    }

    const RUSSIAN: &str = "Правительство России утвердило новые правила для \
        государственных закупок. Министерство финансов подготовило изменения, \
        которые вступят в силу в следующем году, сообщает пресс-служба.";

    #[test]
    fn gbk_served_as_gb2312() {
        let doc = "<?xml version=\"1.0\" encoding=\"gb2312\"?><rss><title>中国新闻网：经济稳步增长</title></rss>";
        check(
            &encode(encoding_rs::GBK, doc),
            Some("text/xml; charset=gb2312"),
            "=<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss><title>中国新闻网：经济稳步增长</title></rss>",
            "gb18030",
            "http",
            false,
        );
    }

    #[test]
    fn gbk_labels_read_as_gb18030() {
        // 镕 and 喆 are outside GB2312 (GBK only): they must survive.
        let bytes = encode(
            encoding_rs::GBK,
            "<?xml version='1.0' encoding='GBK'?><a>朱镕基 陶喆</a>",
        );
        for ct in [
            "text/xml; charset=GBK",
            "text/xml; charset=x-gbk",
            "text/xml;charset=\"CP936\"",
        ] {
            check(&bytes, Some(ct), "朱镕基 陶喆", "gb18030", "http", false);
        }
        check(&bytes, None, "朱镕基 陶喆", "gb18030", "declaration", false);
        check(
            &bytes,
            None,
            "encoding='UTF-8'",
            "gb18030",
            "declaration",
            false,
        );
    }

    #[test]
    fn windows_1251_by_declaration_only() {
        let doc = format!(
            "<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<rss><item>{RUSSIAN}</item></rss>"
        );
        check(
            &encode(encoding_rs::WINDOWS_1251, &doc),
            None,
            &doc.replace("windows-1251", "UTF-8"),
            "windows-1251",
            "declaration",
            false,
        );
    }

    #[test]
    fn shift_jis_by_declaration() {
        let doc = "<?xml version='1.0' encoding='Shift_JIS' standalone='yes'?><rss><title>東京で桜が満開に</title></rss>";
        let bytes = encode(encoding_rs::SHIFT_JIS, doc);
        check(
            &bytes,
            None,
            "東京で桜が満開に",
            "Shift_JIS",
            "declaration",
            false,
        );
        check(
            &bytes,
            None,
            "encoding='UTF-8' standalone='yes'?>",
            "Shift_JIS",
            "declaration",
            false,
        );
        // The HTTP header wins over the declaration.
        check(
            &bytes,
            Some("application/rss+xml; charset=shift_jis"),
            "東京で桜",
            "Shift_JIS",
            "http",
            false,
        );
    }

    #[test]
    fn bom_overrides_http_charset() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend(
            "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><t>Café – “quoted”</t>".as_bytes(),
        );
        check(
            &bytes,
            Some("text/xml; charset=iso-8859-1"),
            "=<?xml version=\"1.0\" encoding=\"UTF-8\"?><t>Café – “quoted”</t>",
            "UTF-8",
            "bom",
            false,
        );
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><t>Ελληνικά</t>";
        let want = "=<?xml version=\"1.0\" encoding=\"UTF-8\"?><t>Ελληνικά</t>";
        check(&utf16le(doc, true), None, want, "UTF-16LE", "bom", false);
        check(
            &utf16le(doc, false),
            None,
            want,
            "UTF-16LE",
            "detected",
            false,
        );
        check(
            &utf16le(doc, false),
            Some("text/xml; charset=utf-16"),
            want,
            "UTF-16LE",
            "http",
            false,
        );
    }

    #[test]
    fn utf16_label_on_ascii_bytes_is_a_lie() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><t>naïve</t>";
        check(
            doc.as_bytes(),
            Some("text/xml; charset=utf-16"),
            "=<?xml version=\"1.0\" encoding=\"UTF-8\"?><t>naïve</t>",
            "UTF-8",
            "detected",
            false,
        );
    }

    #[test]
    fn undeclared_utf8() {
        let doc = "<rss><title>Müller says 你好 — привет</title></rss>";
        check(
            doc.as_bytes(),
            None,
            &format!("={doc}"),
            "UTF-8",
            "detected",
            false,
        );
        check(
            doc.as_bytes(),
            Some("text/xml"),
            "你好",
            "UTF-8",
            "detected",
            false,
        );
        let decl = "<?xml version=\"1.0\"?><rss><title>Müller</title></rss>";
        check(
            decl.as_bytes(),
            None,
            &format!("={decl}"),
            "UTF-8",
            "detected",
            false,
        );
        check(b"<rss/>", None, "=<rss/>", "UTF-8", "default", false);
        check(b"", None, "=", "UTF-8", "default", false);
    }

    #[test]
    fn undeclared_cyrillic_detected() {
        let doc = format!(
            "<rss><item><title>Новости</title><description>{RUSSIAN}</description></item></rss>"
        );
        check(
            &encode(encoding_rs::WINDOWS_1251, &doc),
            None,
            RUSSIAN,
            "windows-1251",
            "detected",
            false,
        );
        // chardetng names KOI8-U, the superset, for any KOI8 text.
        check(
            &encode(encoding_rs::KOI8_R, &doc),
            None,
            RUSSIAN,
            "KOI8-U",
            "detected",
            false,
        );
        // A declaration without `encoding` does not stop detection.
        let decl = format!("<?xml version=\"1.0\"?>{doc}");
        check(
            &encode(encoding_rs::WINDOWS_1251, &decl),
            None,
            RUSSIAN,
            "windows-1251",
            "detected",
            false,
        );
    }

    #[test]
    fn latin1_label_reads_curly_quotes() {
        let bytes =
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><t>\x93caf\xe9\x94 \x96 5\x80</t>";
        let want = "=<?xml version=\"1.0\" encoding=\"UTF-8\"?><t>“café” – 5€</t>";
        check(bytes, None, want, "windows-1252", "declaration", false);
        check(
            bytes,
            Some("text/xml; charset=latin1"),
            want,
            "windows-1252",
            "http",
            false,
        );
        check(
            b"<t>\x93a\x94</t>",
            Some("text/xml; charset=us-ascii"),
            "“a”",
            "windows-1252",
            "http",
            false,
        );
    }

    #[test]
    fn a_single_byte_label_over_utf8_lies() {
        let doc = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><t>Sänger lässt – „los“</t>";
        let want = "=<?xml version=\"1.0\" encoding=\"UTF-8\"?><t>Sänger lässt – „los“</t>";
        check(doc.as_bytes(), None, want, "UTF-8", "detected", false);
        check(
            doc.as_bytes(),
            Some("text/xml; charset=windows-1251"),
            want,
            "UTF-8",
            "detected",
            false,
        );
        // Real Latin-1 is not valid UTF-8: the label stands.
        check(
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><t>S\xe4nger</t>",
            None,
            "Sänger",
            "windows-1252",
            "declaration",
            false,
        );
        // A multi-byte label is not second-guessed.
        let sjis = "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><t>ü</t>";
        assert_eq!(decode(sjis.as_bytes(), None).encoding, "Shift_JIS");
    }

    #[test]
    fn double_encoded_utf8() {
        for (input, want) in [
            ("CafÃ© au lait", "Café au lait"),
            ("Itâ€™s â€œfineâ€\u{9d}", "It’s “fine”"),
            ("Â\u{a0}50 â‚¬", "\u{a0}50 €"),
            ("ä¸\u{ad}å›½", "中国"),
            // Ambiguous or plain text: left alone.
            ("Café", "Café"),
            ("SÃO PAULO", "SÃO PAULO"),
            ("CafÃ© and café", "CafÃ© and café"),
            ("plain", "plain"),
        ] {
            assert_eq!(repair_double_utf8(input), want, "{input:?}");
        }
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        check(
            b"<?xml version=\"1.0\" encoding=\"utf-8\"?><t>ok \xFF\xFE bad \xE4\xBD</t>",
            None,
            "=<?xml version=\"1.0\" encoding=\"utf-8\"?><t>ok \u{FFFD}\u{FFFD} bad \u{FFFD}</t>",
            "UTF-8",
            "declaration",
            true,
        );
        check(
            b"<t>\x81\x20</t>",
            Some("text/xml; charset=shift_jis"),
            "\u{FFFD}",
            "Shift_JIS",
            "http",
            true,
        );
    }

    #[test]
    fn unknown_labels_fall_through() {
        let doc = "<?xml version=\"1.0\" encoding=\"x-no-such\"?><t>Grüße</t>";
        // Unknown HTTP label → declaration (also unknown) → detection.
        check(
            doc.as_bytes(),
            Some("text/xml; charset=bogus"),
            "Grüße",
            "UTF-8",
            "detected",
            false,
        );
        // Unknown HTTP label → a known declaration.
        let bytes = encode(
            encoding_rs::WINDOWS_1252,
            &doc.replace("x-no-such", "cp1252"),
        );
        check(
            &bytes,
            Some("text/xml; charset=\"\""),
            "Grüße",
            "windows-1252",
            "declaration",
            false,
        );
        // WHATWG's "replacement" labels would turn everything into one U+FFFD.
        check(
            doc.as_bytes(),
            Some("text/xml; charset=iso-2022-kr"),
            "Grüße",
            "UTF-8",
            "detected",
            false,
        );
    }

    #[test]
    fn json_is_utf8() {
        check(
            b" {\"title\":\"caf\xc3\xa9\"}",
            Some("application/feed+json"),
            "café",
            "UTF-8",
            "json",
            false,
        );
        check(b"{\"t\":\"\xe9\"}", None, "\u{FFFD}", "UTF-8", "json", true);
        check(
            b"{\"t\":\"\xe9\"}",
            Some("application/json; charset=windows-1252"),
            "é",
            "windows-1252",
            "http",
            false,
        );
    }

    #[test]
    fn html_meta_charset() {
        let page = "<!doctype html><html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=euc-kr\"><title>뉴스</title>";
        check(
            &encode(encoding_rs::EUC_KR, page),
            None,
            "<title>뉴스</title>",
            "EUC-KR",
            "meta",
            false,
        );
        let page = "<html><head><META CHARSET='koi8-r'><title>Новости</title>";
        check(
            &encode(encoding_rs::KOI8_R, page),
            None,
            "Новости",
            "KOI8-R",
            "meta",
            false,
        );
    }

    #[test]
    fn control_characters_removed() {
        check(
            b"\xEF\xBB\xBF\xEF\xBB\xBF<t>a\0b\x01c\x1fd\te\nf\rg\xEF\xBF\xBEh\x7f</t>",
            None,
            "=<t>abcd\te\nf\rgh\x7f</t>",
            "UTF-8",
            "bom",
            false,
        );
    }

    #[test]
    fn declaration_rewrite_forms() {
        for (doc, want) in [
            // Leading blank space, single quotes, spaces around `=`.
            (
                " \n<?xml version='1.0' encoding = 'Big5'?><a/>",
                " \n<?xml version='1.0' encoding = 'UTF-8'?><a/>",
            ),
            // `encoding` inside another word is not the attribute.
            (
                "<?xml version=\"1.0\" xencoding=\"x\"?><a/>",
                "<?xml version=\"1.0\" xencoding=\"x\"?><a/>",
            ),
            // Only the declaration is touched, not later text.
            (
                "<?xml version=\"1.0\"?><a encoding=\"big5\"/>",
                "<?xml version=\"1.0\"?><a encoding=\"big5\"/>",
            ),
            // Not a declaration.
            (
                "<?xml-stylesheet encoding=\"big5\"?><a/>",
                "<?xml-stylesheet encoding=\"big5\"?><a/>",
            ),
            // Unterminated: left alone.
            (
                "<?xml version=\"1.0\" encoding=\"big5",
                "<?xml version=\"1.0\" encoding=\"big5",
            ),
        ] {
            assert_eq!(rewrite_declaration(Cow::Borrowed(doc)), want);
        }
    }

    /// feed-rs decodes by the declaration again: the rewrite must make it
    /// read our UTF-8 as UTF-8.
    #[test]
    fn feed_rs_reads_decoded_text() {
        let title = |bytes: &[u8], content_type| {
            let decoded = decode(bytes, content_type);
            let feed = feed_rs::parser::parse(decoded.text.as_bytes()).expect("a feed");
            feed.entries[0].title.as_ref().map(|t| t.content.clone())
        };
        let rss = "<?xml version=\"1.0\" encoding=\"gb2312\"?><rss version=\"2.0\"><channel><title>t</title><item><title>经济稳步增长</title></item></channel></rss>";
        let gbk = encode(encoding_rs::GBK, rss);
        assert_eq!(
            title(&gbk, Some("text/xml; charset=gb2312")).as_deref(),
            Some("经济稳步增长")
        );
        assert_eq!(title(&gbk, None).as_deref(), Some("经济稳步增长"));
        // A UTF-16 label on UTF-8 bytes would make quick-xml read garbage.
        let lying = rss.replace("gb2312", "UTF-16");
        assert_eq!(
            title(lying.as_bytes(), None).as_deref(),
            Some("经济稳步增长")
        );
        let utf16 = utf16le(&rss.replace("gb2312", "UTF-16"), true);
        assert_eq!(title(&utf16, None).as_deref(), Some("经济稳步增长"));
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        for bytes in [
            &b""[..],
            b"\xEF\xBB",
            b"\xFF",
            b"\0",
            b"<",
            b"<?xml",
            b"<?xml ",
            b"<?xml encoding=",
            b"<?xml encoding='?>",
            b"<meta charset=",
            b"<meta charset",
            b"<meta",
            b"\xFE\xFF\xD8",
        ] {
            for ct in [
                None,
                Some(""),
                Some(";"),
                Some("text/xml; charset"),
                Some("a;charset=;"),
            ] {
                let decoded = decode(bytes, ct);
                assert!(!decoded.text.contains('\0'));
            }
        }
    }

    proptest::proptest! {
        /// The chunked byte scan finds exactly the characters the decoder drops.
        #[test]
        fn invalid_scan_agrees_with_the_characters(s in crate::limits::text_near_controls()) {
            let invalid = s
                .chars()
                .any(|c| (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{fffe}' | '\u{ffff}'));
            proptest::prop_assert_eq!(has_invalid(s.as_bytes()), invalid, "{:?}", s);
        }
    }
}
