//! Broken XML made well-formed, and old formats made readable, before feed-rs
//! sees them.
//!
//! [`repair`] is one pass over the text that re-emits it with the usual
//! breakage fixed: undefined HTML entities, bare `&` and `<`, control
//! characters, junk before the document or after it, unquoted or duplicated
//! attributes, HTML void elements (`<br>`) left open, end tags that close
//! nothing or skip open elements, and a truncated end (the incomplete entry
//! is dropped, the rest closed). It runs only after a strict parse failed, so
//! well-formed feeds pay nothing for it. It keeps line breaks where they
//! were, so that positions in what it reports stay true to the input.
//!
//! [`compat`] covers what is well-formed but that feed-rs does not read:
//! RSS with an unknown `version`, RSS 0.90's namespace, RSS whose elements
//! carry a namespace prefix (`<r:rss>`), and Atom 0.3. Atom text that is
//! base64 (Atom 0.3 `mode="base64"`, an Atom 1.0 media type that is neither
//! text nor XML) is decoded by [`repair`]; Atom 0.3 text with markup in it
//! and no type saying so is read as XHTML.

use std::borrow::Cow;

use html5ever::data::NAMED_ENTITIES;
use url::Url;

/// A repaired document and what was wrong with it.
pub(super) struct Repaired {
    pub text: String,
    /// What was fixed, each kind once, in the order first met.
    pub fixes: Vec<Fix>,
    /// Byte offset, in the input, of the first fix.
    pub first_problem: Option<usize>,
    /// Some base64 Atom text was decoded (not a fix: Atom allows it).
    pub decoded: bool,
}

/// One kind of breakage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fix {
    Prolog,
    Trailing,
    UndefinedEntity,
    BareAmpersand,
    BadCharRef,
    BareLessThan,
    ControlChar,
    Attribute,
    VoidElement,
    Unclosed,
    StrayEndTag,
    BogusMarkup,
    Truncated,
    ItemOutsideChannel,
    AtomTextType,
    AtomContentSrc,
    MarkupInText,
}

impl Fix {
    pub(super) fn describe(self) -> &'static str {
        match self {
            Fix::Prolog => "content before the document",
            Fix::Trailing => "content after the document",
            Fix::UndefinedEntity => "undefined entity",
            Fix::BareAmpersand => "bare `&`",
            Fix::BadCharRef => "invalid character reference",
            Fix::BareLessThan => "bare `<`",
            Fix::ControlChar => "invalid control character",
            Fix::Attribute => "malformed attribute",
            Fix::VoidElement => "unclosed HTML void element",
            Fix::Unclosed => "unclosed element",
            Fix::StrayEndTag => "end tag without a start tag",
            Fix::BogusMarkup => "bogus markup declaration",
            Fix::Truncated => "truncated document (kept the complete entries)",
            Fix::ItemOutsideChannel => "items outside <channel>",
            Fix::AtomTextType => "invalid Atom text type",
            Fix::AtomContentSrc => "Atom content with src and a body or a text type",
            Fix::MarkupInText => "HTML markup not escaped in a text element",
        }
    }
}

/// Repairs `doc`; with `atom03`, also rewrites Atom 0.3 into Atom 1.0.
pub(super) fn repair(doc: &str, atom03: bool) -> Repaired {
    let mut w = Writer {
        doc,
        out: String::with_capacity(doc.len() + doc.len() / 64 + 64),
        stack: Vec::new(),
        root_started: false,
        root_done: false,
        channel_deferred: false,
        root_is_rss: false,
        atom: false,
        atom03,
        text_mode: None,
        text_type: None,
        decoded: false,
        fixes: Vec::new(),
        first_problem: None,
    };
    let b = doc.as_bytes();
    let mut i = start_of_document(doc);
    if doc[..i].contains(|c: char| !c.is_whitespace() && c != '\u{feff}') {
        w.fix(Fix::Prolog, 0);
    }
    while i < b.len() {
        if b[i] == b'<' {
            i = w.markup(i);
        } else {
            let next = find_byte(b, i, b'<');
            w.text(i, next);
            i = next;
        }
    }
    w.finish()
}

/// Where the document proper starts: its XML declaration if it has one,
/// else the first `<` that opens markup.
fn start_of_document(doc: &str) -> usize {
    if let Some(p) = doc.find("<?xml") {
        return p;
    }
    let b = doc.as_bytes();
    let mut i = 0;
    while let Some(p) = doc[i..].find('<').map(|p| p + i) {
        match b.get(p + 1) {
            Some(b'!' | b'?') => return p,
            Some(_) if starts_name(&doc[p + 1..]) => return p,
            Some(_) => i = p + 1,
            None => break,
        }
    }
    doc.len()
}

struct Writer<'a> {
    doc: &'a str,
    out: String,
    /// Open elements: name as written in the input, and where in `out` its
    /// start tag begins (for dropping an incomplete entry).
    stack: Vec<(&'a str, usize)>,
    root_started: bool,
    root_done: bool,
    /// The root is `<rss>` and its `</channel>` came before `</rss>`: the
    /// channel is kept open until then, for items written after it.
    channel_deferred: bool,
    root_is_rss: bool,
    /// The root is an Atom `<feed>` or `<entry>`.
    atom: bool,
    atom03: bool,
    /// Inside an RSS text element (`description`, `title`,
    /// `content:encoded`) at this stack depth: markup in it is HTML that
    /// should have been escaped, and is escaped.
    text_mode: Option<usize>,
    /// The Atom text type to write on the start tag being written, in
    /// place of its own (see [`Writer::atom_text`]).
    text_type: Option<&'static str>,
    decoded: bool,
    fixes: Vec<Fix>,
    first_problem: Option<usize>,
}

impl<'a> Writer<'a> {
    fn fix(&mut self, fix: Fix, at: usize) {
        if !self.fixes.contains(&fix) {
            self.fixes.push(fix);
        }
        if self.first_problem.is_none() {
            self.first_problem = Some(at);
        }
    }

    fn finish(mut self) -> Repaired {
        if !self.stack.is_empty() {
            self.fix(Fix::Truncated, self.doc.len());
            // Drop the entry the document ended in, keep those before it.
            if let Some(k) = self
                .stack
                .iter()
                .position(|(n, _)| matches!(local(n), "item" | "entry"))
            {
                self.out.truncate(self.stack[k].1);
                self.stack.truncate(k);
            }
            while let Some((name, _)) = self.stack.pop() {
                self.end_tag(name);
            }
        }
        Repaired {
            text: self.out,
            fixes: self.fixes,
            first_problem: self.first_problem,
            decoded: self.decoded,
        }
    }

    /// The document ends inside the markup at `i`: nothing from there on.
    fn cut(&mut self, i: usize) -> usize {
        self.fix(Fix::Truncated, i);
        self.doc.len()
    }

    /// Text between markup, `doc[from..to]`.
    fn text(&mut self, from: usize, to: usize) {
        if self.stack.is_empty() {
            // Outside the root only whitespace may stand.
            let s = &self.doc[from..to];
            if let Some(p) = s.find(|c: char| !c.is_whitespace()) {
                let fix = if self.root_done {
                    Fix::Trailing
                } else {
                    Fix::Prolog
                };
                self.fix(fix, from + p);
            } else {
                self.out.push_str(s);
            }
            return;
        }
        self.escaped(from, to, None);
    }

    /// Copies `doc[from..to]` (text or an attribute value) with entities,
    /// `&`, `<`, control characters and the quote character fixed.
    fn escaped(&mut self, from: usize, to: usize, quote: Option<u8>) {
        let b = self.doc.as_bytes();
        let mut run = from;
        let mut i = from;
        while i < to {
            let c = b[i];
            let special = match c {
                b'&' | b'<' => true,
                b'\t' | b'\n' | b'\r' => false,
                0..=0x1f => true,
                _ => Some(c) == quote,
            };
            if !special {
                i += 1;
                continue;
            }
            self.out.push_str(&self.doc[run..i]);
            i = match c {
                b'&' => self.entity(i, to),
                b'<' => {
                    self.fix(Fix::BareLessThan, i);
                    self.out.push_str("&lt;");
                    i + 1
                }
                b'"' if Some(c) == quote => {
                    self.out.push_str("&quot;");
                    i + 1
                }
                b'\'' if Some(c) == quote => {
                    self.out.push_str("&apos;");
                    i + 1
                }
                _ => {
                    self.fix(Fix::ControlChar, i);
                    i + 1
                }
            };
            run = i;
        }
        self.out.push_str(&self.doc[run..to]);
    }

    /// An `&` at `i`: keeps a valid reference, turns an HTML entity into a
    /// character reference, escapes anything else. Returns where to go on.
    fn entity(&mut self, i: usize, to: usize) -> usize {
        let rest = &self.doc[i + 1..to];
        let b = rest.as_bytes();
        if b.first() == Some(&b'#') {
            let (hex, digits_at) = match b.get(1) {
                Some(b'x' | b'X') => (true, 2),
                _ => (false, 1),
            };
            let n = b[digits_at..]
                .iter()
                .take_while(|c| {
                    if hex {
                        c.is_ascii_hexdigit()
                    } else {
                        c.is_ascii_digit()
                    }
                })
                .count();
            if n > 0 && b.get(digits_at + n) == Some(&b';') {
                let digits = &rest[digits_at..digits_at + n];
                let len = 1 + digits_at + n + 1;
                let code = u32::from_str_radix(digits, if hex { 16 } else { 10 }).ok();
                match code.and_then(xml_char) {
                    // `&#X41;`: XML wants a lowercase `x`.
                    Some(c) if code == Some(c as u32) && b.get(1) == Some(&b'X') => {
                        self.fix(Fix::BadCharRef, i);
                        push_char_ref(&mut self.out, c as u32);
                    }
                    Some(c) if code == Some(c as u32) => {
                        self.out.push_str(&self.doc[i..i + len]);
                    }
                    Some(c) => {
                        self.fix(Fix::BadCharRef, i);
                        push_char_ref(&mut self.out, c as u32);
                    }
                    None => self.fix(Fix::BadCharRef, i),
                }
                return i + len;
            }
        } else {
            let n = b
                .iter()
                .take(40)
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
            if n > 0 && b[0].is_ascii_alphabetic() && b.get(n) == Some(&b';') {
                let name = &rest[..n];
                let len = 1 + n + 1;
                if matches!(name, "amp" | "lt" | "gt" | "quot" | "apos") {
                    self.out.push_str(&self.doc[i..i + len]);
                } else if let Some(&(a, b2)) = NAMED_ENTITIES.get(&rest[..n + 1]) {
                    self.fix(Fix::UndefinedEntity, i);
                    push_char_ref(&mut self.out, a);
                    if b2 != 0 {
                        push_char_ref(&mut self.out, b2);
                    }
                } else {
                    self.fix(Fix::UndefinedEntity, i);
                    self.out.push_str("&amp;");
                    return i + 1;
                }
                return i + len;
            }
        }
        self.fix(Fix::BareAmpersand, i);
        self.out.push_str("&amp;");
        i + 1
    }

    /// Markup starting with the `<` at `i`. Returns where to go on.
    fn markup(&mut self, i: usize) -> usize {
        let doc = self.doc;
        let rest = &doc[i..];
        if let Some(depth) = self.text_mode {
            let closing = rest.strip_prefix("</").is_some_and(|end| {
                let n = name_len(end);
                n > 0
                    && self
                        .stack
                        .get(depth - 1)
                        .is_some_and(|(open, _)| *open == &end[..n])
            });
            let tag = rest.starts_with("</") || starts_name(&rest[1..]);
            if tag && !closing {
                let Some(len) = markup_len(rest) else {
                    return self.cut(i);
                };
                self.fix(Fix::MarkupInText, i);
                for c in rest[..len].chars() {
                    match c {
                        '<' => self.out.push_str("&lt;"),
                        '>' => self.out.push_str("&gt;"),
                        '&' => self.out.push_str("&amp;"),
                        c if c < ' ' && !matches!(c, '\t' | '\n' | '\r') => {}
                        c => self.out.push(c),
                    }
                }
                return i + len;
            }
        }
        if let Some(comment) = rest.strip_prefix("<!--") {
            return match comment.find("-->") {
                Some(p) => {
                    let end = i + 4 + p + 3;
                    self.out.push_str(&doc[i..end]);
                    end
                }
                None => self.cut(i),
            };
        }
        if rest.starts_with("<![CDATA[") {
            return match rest.find("]]>") {
                Some(p) if !self.stack.is_empty() => {
                    self.out.push_str(&doc[i..i + p + 3]);
                    i + p + 3
                }
                Some(p) => {
                    self.fix(Fix::BogusMarkup, i);
                    i + p + 3
                }
                None => self.cut(i),
            };
        }
        if rest.len() >= 9 && rest.as_bytes()[..9].eq_ignore_ascii_case(b"<!DOCTYPE") {
            let end = i + doctype_len(rest);
            if !self.root_started {
                self.out.push_str(&doc[i..end]);
            } else {
                self.fix(Fix::BogusMarkup, i);
            }
            return end;
        }
        if rest.starts_with("<!") {
            self.fix(Fix::BogusMarkup, i);
            return rest.find('>').map_or(doc.len(), |p| i + p + 1);
        }
        if rest.starts_with("<?") {
            let lt = rest[1..].find('<').map(|p| p + 1);
            return match rest.find("?>") {
                // Not closed before the next markup: it ends at its first `>`.
                Some(p) if lt.is_some_and(|lt| lt < p) => {
                    self.fix(Fix::BogusMarkup, i);
                    rest.find('>').map_or(doc.len(), |p| i + p + 1)
                }
                None if lt.is_some() => {
                    self.fix(Fix::BogusMarkup, i);
                    rest.find('>').map_or(doc.len(), |p| i + p + 1)
                }
                Some(p) => {
                    let end = i + p + 2;
                    let is_decl = rest.starts_with("<?xml")
                        && rest
                            .as_bytes()
                            .get(5)
                            .is_some_and(|c| c.is_ascii_whitespace());
                    if is_decl && !self.out.trim().is_empty() {
                        self.fix(Fix::Prolog, i);
                    } else {
                        self.out.push_str(&doc[i..end]);
                    }
                    end
                }
                None => self.cut(i),
            };
        }
        if let Some(end_tag) = rest.strip_prefix("</") {
            let name_len = name_len(end_tag);
            return match rest.find('>') {
                None => self.cut(i),
                Some(_) if name_len == 0 => {
                    self.fix(Fix::BareLessThan, i);
                    self.out.push_str("&lt;");
                    i + 1
                }
                Some(p) => {
                    self.close(&end_tag[..name_len], i);
                    i + p + 1
                }
            };
        }
        if !starts_name(&rest[1..]) {
            self.fix(Fix::BareLessThan, i);
            self.out.push_str("&lt;");
            return i + 1;
        }
        match parse_start_tag(doc, i) {
            None => self.cut(i),
            Some(tag) => {
                let (text_type, decoded) = self.atom_text(&tag);
                self.text_type = text_type;
                self.start_tag(&tag, i);
                self.text_type = None;
                match decoded {
                    Some((text, end)) => {
                        self.decoded = true;
                        push_escaped(&mut self.out, &text);
                        // The line breaks of the base64, so that lines stay
                        // where they were.
                        let breaks = doc[tag.end..end].matches('\n').count();
                        self.out.extend(std::iter::repeat_n('\n', breaks));
                        end
                    }
                    None => tag.end,
                }
            }
        }
    }

    /// What an Atom text construct (or content) starting with `tag` needs
    /// that its type does not say: base64 text (Atom 0.3 `mode="base64"`,
    /// an Atom 1.0 type that is neither text nor XML, RFC 4287 §4.1.3.3)
    /// decoded when it is UTF-8 text, typed `html` or `text`, with where
    /// its end tag starts; Atom 0.3 text with elements in it (`mode="xml"`,
    /// the default, with no type or `text/plain`) typed `xhtml`, so that
    /// all of its text is read and not only what comes before the first
    /// element.
    fn atom_text(&self, tag: &StartTag) -> (Option<&'static str>, Option<(String, usize)>) {
        let name = local(tag.name);
        let construct = matches!(
            name,
            "title"
                | "subtitle"
                | "summary"
                | "rights"
                | "tagline"
                | "copyright"
                | "info"
                | "content"
        );
        if !(self.atom || self.atom03) || tag.self_closing || !construct {
            return (None, None);
        }
        let ty = tag.attr("type").map(str::trim);
        let mode = tag.attr("mode").map(str::trim);
        let base64 = if self.atom03 {
            mode == Some("base64")
        } else {
            ty.is_some_and(is_base64_type) && tag.attr("src").is_none()
        };
        let plain = ty.is_none_or(|t| matches!(t, "text/plain" | "text"));
        let naked = self.atom03 && plain && mode.is_none_or(|m| m == "xml");
        if !(base64 || naked) {
            return (None, None);
        }
        let doc = self.doc;
        let Some(end) = doc[tag.end..]
            .match_indices("</")
            .map(|(p, _)| tag.end + p)
            .find(|&p| {
                doc[p + 2..]
                    .strip_prefix(tag.name)
                    .is_some_and(|rest| name_len(rest) == 0)
            })
        else {
            return (None, None);
        };
        let body = &doc[tag.end..end];
        if base64 {
            let Some(text) = decode_base64(body) else {
                return (None, None);
            };
            let html = ty.is_some_and(|t| t.to_ascii_lowercase().contains("html"));
            return (Some(if html { "html" } else { "text" }), Some((text, end)));
        }
        let elements = body
            .match_indices('<')
            .any(|(p, _)| starts_name(&body[p + 1..]));
        (elements.then_some("xhtml"), None)
    }

    fn start_tag(&mut self, tag: &StartTag<'a>, at: usize) {
        if self.root_done && self.stack.is_empty() {
            // A second root: nothing after the first one counts.
            self.fix(Fix::Trailing, at);
            return;
        }
        if !self.root_started {
            self.root_started = true;
            self.root_is_rss = local(tag.name) == "rss";
            self.atom = matches!(local(tag.name), "feed" | "entry");
        }
        self.close_for_entry(tag.name, at);
        let start = self.out.len();
        let void = !tag.self_closing && is_void(tag.name);
        if void {
            self.fix(Fix::VoidElement, at);
        }
        if tag.malformed {
            self.fix(Fix::Attribute, at);
        }
        self.out.push('<');
        let name = self.renamed(tag.name);
        self.out.push_str(name);
        let mode = tag.attr("mode");
        let doc = self.doc;
        // Atom content with `src` must be empty and typed with a media
        // type; feed-rs fails the whole feed otherwise. A body wins over
        // the `src`; an empty one loses a text type (`type="html"`).
        let drop = if self.atom && local(tag.name) == "content" && tag.attr("src").is_some() {
            let body = !tag.self_closing && !doc[tag.end..].trim_start().starts_with("</");
            if body {
                Some("src")
            } else {
                tag.attr("type")
                    .filter(|t| !is_media_type(t))
                    .map(|_| "type")
            }
        } else {
            None
        };
        for (k, a) in tag.attrs.iter().enumerate() {
            if Some(a.name) == drop {
                self.fix(Fix::AtomContentSrc, at);
                continue;
            }
            if tag.attrs[..k].iter().any(|o| o.name == a.name) {
                self.fix(Fix::Attribute, at);
                continue;
            }
            if self.atom03 && a.name == "mode" {
                continue;
            }
            // feed-rs fails the feed on an xml:base that is not a URL.
            if a.name == "xml:base"
                && a.value.is_some_and(|v| {
                    !matches!(
                        Url::parse(v.raw.trim()),
                        Ok(_) | Err(url::ParseError::RelativeUrlWithoutBase)
                    )
                })
            {
                self.fix(Fix::Attribute, at);
                continue;
            }
            self.out
                .push_str(if a.space.is_empty() { " " } else { a.space });
            self.out.push_str(a.name);
            self.out.push('=');
            let (from, to, quote) = match a.value {
                Some(v) => (v.from, v.to, v.quote.unwrap_or(b'"')),
                None => (0, 0, b'"'),
            };
            self.out.push(quote as char);
            let value = &doc[from..to];
            if let Some(ty) = self.text_type.filter(|_| a.name == "type") {
                if !self.atom03 && local(tag.name) != "content" {
                    // Atom 1.0 allows no other type on a text construct.
                    self.fix(Fix::AtomTextType, at);
                }
                self.out.push_str(ty);
                self.out.push(quote as char);
                continue;
            }
            match self.replaced_value(tag.name, a.name, value, mode) {
                Some((v, is_fix)) => {
                    if is_fix {
                        self.fix(Fix::AtomTextType, at);
                    }
                    self.out.push_str(v);
                }
                None => self.escaped(from, to, Some(quote)),
            }
            self.out.push(quote as char);
        }
        if let Some(ty) = self.text_type
            && tag.attr("type").is_none()
        {
            self.out.push_str(" type=\"");
            self.out.push_str(ty);
            self.out.push('"');
        }
        self.out.push_str(tag.space_before_end);
        if tag.self_closing || void {
            self.out.push_str("/>");
        } else {
            self.out.push('>');
            self.stack.push((tag.name, start));
            if !self.atom
                && self.text_mode.is_none()
                && self.stack.len() >= 3
                && matches!(local(tag.name), "description" | "title" | "encoded")
            {
                self.text_mode = Some(self.stack.len());
            }
        }
    }

    /// An entry cannot be inside anything but its feed: one that is (after
    /// an element left open, say) closes what is open above the feed.
    fn close_for_entry(&mut self, name: &str, at: usize) {
        let containers: &[&str] = match name {
            "item" => &["channel", "rss", "RDF"],
            "entry" | "atom:entry" => &["feed"],
            _ => return,
        };
        if self.channel_deferred {
            self.fix(Fix::ItemOutsideChannel, at);
        }
        let Some(k) = self
            .stack
            .iter()
            .rposition(|(n, _)| containers.contains(&local(n)))
        else {
            return;
        };
        while self.stack.len() > k + 1 {
            self.fix(Fix::Unclosed, at);
            let (open, _) = self.stack.pop().expect("stack longer than k + 1");
            self.end_tag(open);
        }
    }

    fn close(&mut self, name: &'a str, at: usize) {
        if self.root_is_rss
            && local(name) == "channel"
            && self.stack.len() == 2
            && local(self.stack[1].0) == "channel"
        {
            self.channel_deferred = true;
            return;
        }
        if self.channel_deferred && self.stack.len() == 2 && local(name) == "rss" {
            let (open, _) = self.stack.pop().expect("stack has two elements");
            self.end_tag(open);
        }
        let found = self
            .stack
            .iter()
            .rposition(|(n, _)| *n == name)
            .or_else(|| {
                self.stack
                    .iter()
                    .rposition(|(n, _)| n.eq_ignore_ascii_case(name))
            });
        let Some(k) = found else {
            self.fix(Fix::StrayEndTag, at);
            return;
        };
        while self.stack.len() > k + 1 {
            self.fix(Fix::Unclosed, at);
            let (open, _) = self.stack.pop().expect("stack longer than k + 1");
            self.end_tag(open);
        }
        let (open, _) = self.stack.pop().expect("k is in the stack");
        self.end_tag(open);
        if self.text_mode.is_some_and(|d| self.stack.len() < d) {
            self.text_mode = None;
        }
        if self.stack.is_empty() {
            self.root_done = true;
        }
    }

    fn end_tag(&mut self, name: &str) {
        self.out.push_str("</");
        let name = self.renamed(name);
        self.out.push_str(name);
        self.out.push('>');
    }

    /// Atom 0.3 element names that Atom 1.0 renamed.
    fn renamed<'n>(&self, name: &'n str) -> &'n str {
        if !self.atom03 {
            return name;
        }
        match local(name) {
            "issued" => "published",
            "modified" => "updated",
            "tagline" => "subtitle",
            "copyright" => "rights",
            _ => name,
        }
    }

    /// Attribute values to write instead of the given one: Atom 0.3
    /// spellings of Atom 1.0 ones, and Atom text types that feed-rs rejects
    /// (it fails the whole feed on a `type="text/plain"` title). The flag
    /// says whether the value was an error (Atom 0.3 spellings are not).
    fn replaced_value(
        &self,
        element: &str,
        attr: &str,
        value: &str,
        mode: Option<&str>,
    ) -> Option<(&'static str, bool)> {
        if self.atom03 && value == ATOM03_NS {
            return Some((ATOM10_NS, false));
        }
        if !(self.atom03 || self.atom) || attr != "type" {
            return None;
        }
        let content = local(element) == "content";
        let text_construct = content
            || matches!(
                local(element),
                "title" | "subtitle" | "summary" | "rights" | "tagline" | "copyright" | "info"
            );
        if !text_construct {
            return None;
        }
        if self.atom03 {
            match (value, mode) {
                ("text/plain", _) => return Some(("text", false)),
                ("text/html", Some("xml")) => return Some(("xhtml", false)),
                ("text/html", _) => return Some(("html", false)),
                ("application/xhtml+xml", _) => return Some(("xhtml", false)),
                _ => {}
            }
        }
        if matches!(value, "text" | "html" | "xhtml" | "text/html") {
            return None;
        }
        let lower = value.trim().to_ascii_lowercase();
        let mime = lower.contains('/')
            && lower
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'+' | b'-' | b'.'));
        if content && mime {
            // Any media type is fine for content.
            return None;
        }
        let v = if lower.contains("xhtml") {
            "xhtml"
        } else if lower.contains("html") {
            "html"
        } else {
            "text"
        };
        Some((v, true))
    }
}

const ATOM03_NS: &str = "http://purl.org/atom/ns#";
const ATOM10_NS: &str = "http://www.w3.org/2005/Atom";
const RSS090_NS: &str = "http://my.netscape.com/rdf/simple/0.9/";
const RSS10_NS: &str = "http://purl.org/rss/1.0/";

/// What the root element asks for before feed-rs can read the document.
pub(super) enum Compat {
    None,
    /// The root start tag was rewritten (RSS version, RSS 0.90 namespace).
    Rewritten(String),
    /// Atom 0.3: needs [`repair`] with `atom03`.
    Atom03,
}

/// Looks at the root element of `doc` (see [`root_tag`]).
pub(super) fn compat(doc: &str, root: &StartTag) -> Compat {
    // (from, to, replacement) in `doc`, in order.
    let mut edits: Vec<(usize, usize, &str)> = Vec::new();
    match local(root.name) {
        "rss" => {
            match root.attrs.iter().find(|a| a.name == "version") {
                None => {
                    let at = root.start + 1 + root.name.len();
                    edits.push((at, at, " version=\"2.0\""));
                }
                Some(a) => match a.value {
                    Some(v) if matches!(doc[v.from..v.to].trim(), "2.0" | "0.91" | "0.92" | "") => {
                    }
                    // 0.93, 0.94, "2", "2.01"...: RSS 2.0 reads them all.
                    Some(v) if v.quote.is_some() => edits.push((v.from, v.to, "2.0")),
                    _ => {}
                },
            }
            // A default namespace on RSS (Userland's "rss2" one, say) would
            // hide every element from feed-rs, which knows RSS without one.
            if let Some(v) = root
                .attrs
                .iter()
                .find(|a| a.name == "xmlns")
                .and_then(|a| a.value)
                && v.quote.is_some()
                && !matches!(v.raw, "" | RSS10_NS)
            {
                edits.push((v.from, v.to, ""));
            }
            // RSS whose elements carry a prefix (`<r:rss xmlns:r="...">`):
            // feed-rs knows RSS without a namespace, so the prefix goes.
            if let Some((prefix, _)) = root.name.split_once(':') {
                for open in [format!("<{prefix}:"), format!("</{prefix}:")] {
                    for (at, _) in doc.match_indices(open.as_str()) {
                        let from = at + open.len() - prefix.len() - 1;
                        edits.push((from, at + open.len(), ""));
                    }
                }
            }
        }
        "RDF" => {
            if let Some(v) = root
                .attrs
                .iter()
                .find(|a| a.value_in(doc) == Some(RSS090_NS))
                .and_then(|a| a.value)
            {
                edits.push((v.from, v.to, RSS10_NS));
            }
        }
        "feed"
            if root
                .attrs
                .iter()
                .any(|a| a.value_in(doc) == Some(ATOM03_NS)) =>
        {
            return Compat::Atom03;
        }
        _ => {}
    }
    // RSS 0.9x written without a channel: items right in <rss>.
    if local(root.name) == "rss"
        && doc[root.end..].trim_start().starts_with("<item")
        && !doc.contains("<channel")
    {
        edits.push((root.end, root.end, "<channel>"));
        if let Some(end) = doc.rfind("</rss>") {
            edits.push((end, end, "</channel>"));
        }
    }
    // Namespaces spelled a little off (no trailing slash, another case,
    // https): feed-rs matches them exactly and would skip their elements.
    for a in root.attrs.iter().filter(|a| a.name.starts_with("xmlns:")) {
        if let Some(v) = a.value.filter(|v| v.quote.is_some())
            && let Some(canonical) = known_namespace(v.raw)
            && canonical != v.raw
        {
            edits.push((v.from, v.to, canonical));
        }
    }
    if edits.is_empty() {
        return Compat::None;
    }
    edits.sort_by_key(|e| e.0);
    let mut s = String::with_capacity(doc.len() + 16);
    let mut at = 0;
    for (from, to, with) in edits {
        s.push_str(&doc[at..from]);
        s.push_str(with);
        at = to;
    }
    s.push_str(&doc[at..]);
    Compat::Rewritten(s)
}

/// The namespaces feed-rs knows, as it spells them.
const NAMESPACES: [&str; 8] = [
    "http://purl.org/rss/1.0/modules/content/",
    "http://purl.org/dc/elements/1.1/",
    "http://search.yahoo.com/mrss/",
    "http://www.itunes.com/dtds/podcast-1.0.dtd",
    ATOM10_NS,
    "https://podcastindex.org/namespace/1.0",
    "http://wellformedweb.org/CommentAPI/",
    RSS10_NS,
];

/// The namespace feed-rs knows that `uri` means: the same but for the
/// scheme, letter case and a trailing slash; and the RSS Board's name for
/// Media RSS. `None` for any other.
fn known_namespace(uri: &str) -> Option<&'static str> {
    fn key(u: &str) -> &str {
        let u = u.trim();
        let u = u
            .strip_prefix("http://")
            .or_else(|| u.strip_prefix("https://"))
            .unwrap_or(u);
        u.strip_suffix('/').unwrap_or(u)
    }
    let k = key(uri);
    if k.eq_ignore_ascii_case("www.rssboard.org/media-rss") {
        return Some(NAMESPACES[2]);
    }
    NAMESPACES
        .iter()
        .find(|n| key(n).eq_ignore_ascii_case(k))
        .copied()
}

/// The root element's start tag: after the declaration, comments, processing
/// instructions and doctype. `None` when something else comes first.
pub(super) fn root_tag(doc: &str) -> Option<StartTag<'_>> {
    let b = doc.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace()) {
            i += 1;
        }
        let rest = &doc[i..];
        if let Some(r) = rest.strip_prefix('\u{feff}') {
            i = doc.len() - r.len();
        } else if let Some(comment) = rest.strip_prefix("<!--") {
            i += 4 + comment.find("-->")? + 3;
        } else if rest.starts_with("<?") {
            i += rest.find("?>")? + 2;
        } else if rest.starts_with("<!") {
            i += doctype_len(rest);
        } else if rest.starts_with('<') && starts_name(&rest[1..]) {
            return parse_start_tag(doc, i);
        } else {
            return None;
        }
    }
}

/// Length of a `<!DOCTYPE ...>`, internal subset included.
fn doctype_len(s: &str) -> usize {
    let mut depth = 0i32;
    let mut quote = None;
    for (k, c) in s.bytes().enumerate() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(c),
            (None, b'[') => depth += 1,
            (None, b']') => depth -= 1,
            (None, b'>') if depth <= 0 => return k + 1,
            _ => {}
        }
    }
    s.len()
}

/// A start tag as written.
pub(super) struct StartTag<'a> {
    /// Offset of its `<`.
    pub start: usize,
    /// Offset just after its `>`.
    pub end: usize,
    pub name: &'a str,
    pub attrs: Vec<Attr<'a>>,
    /// Whitespace between the last attribute and `>` or `/>`.
    pub space_before_end: &'a str,
    pub self_closing: bool,
    /// Unquoted or valueless attributes, or junk in the tag.
    pub malformed: bool,
}

impl StartTag<'_> {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name == name)
            .and_then(|a| a.value.map(|v| v.raw))
    }
}

pub(super) struct Attr<'a> {
    /// The whitespace before it.
    pub space: &'a str,
    pub name: &'a str,
    pub value: Option<Value<'a>>,
}

impl Attr<'_> {
    pub(super) fn value_in<'d>(&self, doc: &'d str) -> Option<&'d str> {
        self.value.map(|v| &doc[v.from..v.to])
    }
}

#[derive(Clone, Copy)]
pub(super) struct Value<'a> {
    pub from: usize,
    pub to: usize,
    pub raw: &'a str,
    pub quote: Option<u8>,
}

/// Parses the start tag whose `<` is at `i`; `None` when the document ends
/// inside it.
pub(super) fn parse_start_tag(doc: &str, i: usize) -> Option<StartTag<'_>> {
    let b = doc.as_bytes();
    let name_from = i + 1;
    let name_to = name_from + name_len(&doc[name_from..]);
    let mut tag = StartTag {
        start: i,
        end: 0,
        name: &doc[name_from..name_to],
        attrs: Vec::new(),
        space_before_end: "",
        self_closing: false,
        malformed: false,
    };
    let mut k = name_to;
    loop {
        let space_from = k;
        while k < b.len() && b[k].is_ascii_whitespace() {
            k += 1;
        }
        let space = &doc[space_from..k];
        match b.get(k)? {
            b'>' => {
                tag.space_before_end = space;
                tag.end = k + 1;
                return Some(tag);
            }
            b'/' if b.get(k + 1) == Some(&b'>') => {
                tag.space_before_end = space;
                tag.self_closing = true;
                tag.end = k + 2;
                return Some(tag);
            }
            // A `<` cannot be inside a tag: this one was never closed.
            b'<' => {
                tag.malformed = true;
                tag.space_before_end = space;
                tag.end = k;
                return Some(tag);
            }
            _ => {}
        }
        let n = name_len(&doc[k..]);
        if n == 0 {
            // Junk such as a stray quote or slash.
            tag.malformed = true;
            k += doc[k..].chars().next().map_or(1, char::len_utf8);
            continue;
        }
        let name = &doc[k..k + n];
        k += n;
        let mut j = k;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        let mut value = None;
        if b.get(j) == Some(&b'=') {
            j += 1;
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            match b.get(j)? {
                q @ (b'"' | b'\'') => {
                    let from = j + 1;
                    let rest = &doc[from..];
                    let close = rest.find(*q as char);
                    match close {
                        Some(p) if !rest[..p].contains('<') => {
                            let to = from + p;
                            value = Some(Value {
                                from,
                                to,
                                raw: &doc[from..to],
                                quote: Some(*q),
                            });
                            k = to + 1;
                        }
                        // The quote is never closed (or only after markup that
                        // must be outside the tag): the value ends with the tag.
                        _ => {
                            let end = rest.find(['>', '<'])?;
                            let mut to = from + end;
                            if doc.as_bytes()[to - 1] == b'/' && to - 1 > from {
                                to -= 1;
                            }
                            tag.malformed = true;
                            value = Some(Value {
                                from,
                                to,
                                raw: &doc[from..to],
                                quote: None,
                            });
                            k = to;
                        }
                    }
                }
                _ => {
                    let from = j;
                    let mut to = j;
                    while to < b.len() && !b[to].is_ascii_whitespace() && b[to] != b'>' {
                        to += 1;
                    }
                    tag.malformed = true;
                    value = Some(Value {
                        from,
                        to,
                        raw: &doc[from..to],
                        quote: None,
                    });
                    k = to;
                }
            }
        } else {
            tag.malformed = true;
        }
        tag.attrs.push(Attr { space, name, value });
    }
}

/// Length of the tag at the start of `s` up to its `>`, quotes respected;
/// `None` when the document ends first.
fn markup_len(s: &str) -> Option<usize> {
    let mut quote = None;
    for (k, c) in s.bytes().enumerate().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(c),
            (None, b'>') => return Some(k + 1),
            // A tag does not hold another: this one was never closed.
            (None, b'<') => return Some(k),
            _ => {}
        }
    }
    None
}

/// Whether Atom 1.0 text of media type `mt` is base64 (RFC 4287
/// §4.1.3.3): a media type that is neither text nor XML.
pub(super) fn is_base64_type(mt: &str) -> bool {
    let essence = mt
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    is_media_type(&essence)
        && !essence.starts_with("text/")
        && !essence.ends_with("+xml")
        && !essence.ends_with("/xml")
}

/// Whether feed-rs read an entry's content as base64 it left encoded
/// (Atom 1.0 accepts any media type there; see [`is_base64_type`]).
pub(super) fn has_base64_content(feed: &feed_rs::model::Feed) -> bool {
    feed.entries.iter().any(|e| {
        e.content.as_ref().is_some_and(|c| {
            c.body.as_deref().is_some_and(|b| !b.trim().is_empty())
                && is_base64_type(c.content_type.as_ref())
        })
    })
}

/// Base64 (blanks ignored, padding optional) decoded, when what it encodes
/// is UTF-8 text: no control characters but blanks.
fn decode_base64(body: &str) -> Option<String> {
    use base64::Engine as _;
    let compact: Vec<u8> = body.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT
        .decode(compact)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let binary = text.contains(|c: char| c.is_control() && !c.is_whitespace());
    (!binary).then_some(text)
}

/// `text` written as XML character data; its line breaks as references, so
/// that the lines of the output stay those of the input.
fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// Whether `s` reads as a media type (`text/html`, `application/atom+xml`).
fn is_media_type(s: &str) -> bool {
    let s = s.trim();
    s.contains('/')
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'+' | b'-' | b'.'))
}

/// Length of the XML name at the start of `s` (0 when there is none).
fn name_len(s: &str) -> usize {
    if !starts_name(s) {
        return 0;
    }
    s.find(|c: char| {
        c.is_ascii_whitespace() || matches!(c, '/' | '>' | '<' | '=' | '"' | '\'' | '&')
    })
    .unwrap_or(s.len())
}

fn starts_name(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == ':')
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// HTML elements that never have content. `link` and `source` are left
/// out: RSS has elements of those names with text in them.
fn is_void(name: &str) -> bool {
    const VOID: [&str; 14] = [
        "br", "hr", "img", "input", "meta", "wbr", "area", "col", "embed", "param", "track",
        "basefont", "bgsound", "keygen",
    ];
    VOID.iter().any(|v| v.eq_ignore_ascii_case(name))
}

/// The character a numeric reference stands for, if XML allows it; the C1
/// range is read as windows-1252, as browsers do.
fn xml_char(code: u32) -> Option<char> {
    let code = match code {
        0x80..=0x9f => {
            let byte = [code as u8];
            let (s, _, _) = encoding_rs::WINDOWS_1252.decode(&byte);
            s.chars().next().map_or(code, |c| c as u32)
        }
        _ => code,
    };
    match code {
        0x9 | 0xa | 0xd | 0x20..=0xd7ff | 0xe000..=0xfffd | 0x10000..=0x10ffff => {
            char::from_u32(code)
        }
        _ => None,
    }
}

fn push_char_ref(out: &mut String, code: u32) {
    use std::fmt::Write;
    let _ = write!(out, "&#{code};");
}

fn find_byte(b: &[u8], from: usize, needle: u8) -> usize {
    b[from..]
        .iter()
        .position(|&c| c == needle)
        .map_or(b.len(), |p| p + from)
}

/// Line and column (1-based, in characters) of byte offset `at` in `doc`.
pub(super) fn line_col(doc: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(doc.len());
    while !doc.is_char_boundary(at) {
        at -= 1;
    }
    let before = &doc[..at];
    let line = before.bytes().filter(|&c| c == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// A JSON Feed that feed-rs rejects, with what real feeds get wrong made
/// right: the old `http://` version URL, numeric ids, `tags` as one string,
/// an author given as a string, a lone object where an array belongs, and
/// fields of the wrong type (dropped). `None` when it is no JSON Feed at all
/// (not an object, or no `items` array).
pub(super) fn json_feed(text: &str) -> Option<String> {
    use serde_json::{Map, Value};

    fn strings(obj: &mut Map<String, Value>, keys: &[&str]) {
        for k in keys {
            if obj.get(*k).is_some_and(|v| !v.is_string()) {
                obj.remove(*k);
            }
        }
    }
    fn author(v: Value) -> Option<Value> {
        match v {
            Value::String(name) => Some(serde_json::json!({ "name": name })),
            Value::Object(mut o) => {
                strings(&mut o, &["name", "url", "avatar"]);
                Some(Value::Object(o))
            }
            _ => None,
        }
    }
    fn list(v: Value) -> Vec<Value> {
        match v {
            Value::Array(a) => a,
            Value::Null => Vec::new(),
            one => vec![one],
        }
    }
    fn authors(obj: &mut Map<String, Value>) {
        if let Some(a) = obj.remove("author").and_then(author) {
            obj.insert("author".into(), a);
        }
        if let Some(a) = obj.remove("authors") {
            let a: Vec<Value> = list(a).into_iter().filter_map(author).collect();
            obj.insert("authors".into(), Value::Array(a));
        }
    }

    let mut feed: Map<String, Value> = serde_json::from_str(text).ok()?;
    let items = list(feed.remove("items").filter(Value::is_array)?);
    match feed.get("version").and_then(Value::as_str) {
        Some(v) if v.starts_with("https://jsonfeed.org/version/1") => {}
        Some(v) if !v.contains("jsonfeed.org/version/1") => return None,
        _ => {
            feed.insert("version".into(), "https://jsonfeed.org/version/1".into());
        }
    }
    if !feed.get("title").is_some_and(Value::is_string) {
        feed.insert("title".into(), "".into());
    }
    strings(
        &mut feed,
        &[
            "home_page_url",
            "feed_url",
            "language",
            "description",
            "icon",
            "favicon",
        ],
    );
    authors(&mut feed);
    let items: Vec<Value> = items
        .into_iter()
        .filter_map(|item| {
            let Value::Object(mut item) = item else {
                return None;
            };
            if let Some(Value::Number(n)) = item.get("id") {
                let id = n.to_string();
                item.insert("id".into(), id.into());
            }
            strings(
                &mut item,
                &[
                    "id",
                    "url",
                    "external_url",
                    "title",
                    "content_html",
                    "content_text",
                    "summary",
                    "date_published",
                    "date_modified",
                ],
            );
            authors(&mut item);
            if let Some(tags) = item.remove("tags") {
                let tags: Vec<Value> = match tags {
                    Value::String(s) => s
                        .split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(Value::from)
                        .collect(),
                    other => list(other)
                        .into_iter()
                        .filter_map(|t| match t {
                            Value::String(s) => Some(Value::String(s)),
                            Value::Number(n) => Some(Value::String(n.to_string())),
                            _ => None,
                        })
                        .collect(),
                };
                item.insert("tags".into(), Value::Array(tags));
            }
            if let Some(att) = item.remove("attachments") {
                let att: Vec<Value> = list(att)
                    .into_iter()
                    .filter_map(|a| {
                        let Value::Object(mut a) = a else {
                            return None;
                        };
                        strings(&mut a, &["url", "mime_type", "title"]);
                        if !a.get("size_in_bytes").is_some_and(Value::is_u64) {
                            a.remove("size_in_bytes");
                        }
                        a.get("url")?;
                        a.entry("mime_type")
                            .or_insert_with(|| "application/octet-stream".into());
                        Some(Value::Object(a))
                    })
                    .collect();
                item.insert("attachments".into(), Value::Array(att));
            }
            Some(Value::Object(item))
        })
        .collect();
    feed.insert("items".into(), Value::Array(items));
    serde_json::to_string(&feed).ok()
}

// ---------------------------------------------------------------------------
// Inputs that make feed-rs or quick-xml panic

/// `doc` with what makes feed-rs 3.0 or quick-xml 0.42 panic taken out, so
/// that such a document is read rather than lost (fuzzing found both; see
/// fuzz/README.md). Every text handed to feed-rs goes through it; it borrows
/// when there is nothing to do, which is nearly always.
///
/// - An XML declaration anywhere but at the start (pasted feeds) makes
///   quick-xml switch encodings mid-stream and panic. The text is UTF-8
///   already, so a declaration means nothing more: a late one is removed
///   (its line breaks kept, so that line numbers in errors stay true), and
///   the first one's `encoding`, should it name another, says `UTF-8`.
///   Comments and CDATA sections are left alone: a declaration there is text.
/// - An e-mail address in an RSS `author`, `managingEditor`, `webMaster` or
///   `dc:creator` (and `itunes:author`/`itunes:name`) right next to a
///   character of several bytes (`“dave@userland.com”`, also written as a
///   character reference) makes feed-rs slice inside that character. A
///   curly quote there becomes `"`; any other such neighbour is set apart
///   by a space.
pub(super) fn defuse(doc: &str) -> Cow<'_, str> {
    // JSON Feed: `<?xml` in a string is text; authors' names are read by
    // the same regex.
    if doc
        .trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n'])
        .starts_with('{')
    {
        return match defuse_addresses(doc, true) {
            Some(fixed) => Cow::Owned(fixed),
            None => Cow::Borrowed(doc),
        };
    }
    let doc = defuse_declarations(doc);
    match defuse_addresses(&doc, false) {
        Some(fixed) => Cow::Owned(fixed),
        None => doc,
    }
}

/// Where the leading XML declaration starts and ends, if the document
/// (after a BOM and blank space) starts with one.
fn leading_declaration(doc: &str) -> Option<(usize, usize)> {
    let start = doc.len()
        - doc
            .trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n'])
            .len();
    is_declaration(&doc[start..]).then_some(())?;
    let end = doc[start..].find("?>")? + start + 2;
    Some((start, end))
}

/// True when `s` starts with `<?xml` as a declaration (not `<?xml-stylesheet`).
fn is_declaration(s: &str) -> bool {
    s.starts_with("<?xml")
        && s.as_bytes()
            .get(5)
            .is_some_and(|&c| c == b'?' || c.is_ascii_whitespace())
}

fn defuse_declarations(doc: &str) -> Cow<'_, str> {
    let lead = leading_declaration(doc);
    let mut out = String::new();
    let mut copied = 0;
    // The first declaration's encoding (charset::decode rewrites it already
    // for the usual case; this covers text repair moved it to the front of).
    if let Some((start, end)) = lead {
        let decl = &doc[start..end];
        if let Some(at) = decl.find("encoding") {
            let rest = &decl[at + "encoding".len()..];
            let eq = rest.len() - rest.trim_start().len();
            if let Some(value) = rest[eq..].strip_prefix('=') {
                let value = value.trim_start();
                let vstart = end - value.len();
                if let Some(q @ ('"' | '\'')) = value.chars().next()
                    && let Some(len) = value[1..].find(q)
                    && !value[1..1 + len].eq_ignore_ascii_case("utf-8")
                {
                    out.push_str(&doc[..vstart + 1]);
                    out.push_str("UTF-8");
                    copied = vstart + 1 + len;
                }
            }
        }
    }
    let after_lead = lead.map_or(0, |(_, end)| end);
    if doc[after_lead..].contains("<?xml") {
        let mut i = after_lead;
        while let Some(p) = doc[i..].find('<').map(|p| p + i) {
            let s = &doc[p..];
            let skip_to = if s.starts_with("<!--") {
                s.find("-->").map(|e| p + e + 3)
            } else if s.starts_with("<![CDATA[") {
                s.find("]]>").map(|e| p + e + 3)
            } else if is_declaration(s) {
                let Some(e) = s.find("?>") else { break };
                out.push_str(&doc[copied..p]);
                out.extend(s[..e].chars().filter(|&c| c == '\n'));
                copied = p + e + 2;
                Some(copied)
            } else {
                Some(p + 1)
            };
            match skip_to {
                Some(next) => i = next,
                None => break,
            }
        }
    }
    if copied == 0 {
        return Cow::Borrowed(doc);
    }
    out.push_str(&doc[copied..]);
    Cow::Owned(out)
}

/// The elements whose text feed-rs splits into a name and an address.
fn is_contact_element(name: &str) -> bool {
    matches!(
        local(name),
        "author" | "managingEditor" | "webMaster" | "creator"
    ) || name == "itunes:name"
}

/// Quotation marks that are set around an address as `"` would be.
fn is_quote(c: char) -> bool {
    matches!(
        c,
        '\u{201c}'
            | '\u{201d}'
            | '\u{201e}'
            | '\u{201f}'
            | '\u{2018}'
            | '\u{2019}'
            | '\u{00ab}'
            | '\u{00bb}'
            | '\u{2039}'
            | '\u{203a}'
            | '\u{ff02}'
            | '\u{300c}'
            | '\u{300d}'
    )
}

/// What a neighbour of an address stands for: one character, written as
/// itself or as a reference, and where it is in the text.
struct Neighbour {
    start: usize,
    end: usize,
    /// `None` for a named entity (XML's five aside) not known here.
    char: Option<char>,
}

impl Neighbour {
    /// True when feed-rs would slice inside it.
    fn is_wide(&self) -> bool {
        self.char.is_none_or(|c| !c.is_ascii())
    }
}

/// The character before byte `at`, or the reference (JSON: the `\u`
/// escape) that ends there.
fn neighbour_before(doc: &str, at: usize, json: bool) -> Option<Neighbour> {
    let c = doc[..at].chars().next_back()?;
    if json {
        let escape = at
            .checked_sub(6)
            .filter(|&s| doc.is_char_boundary(s))
            .and_then(|s| Some((s, json_escape(&doc[s..at])?)));
        return Some(match escape {
            Some((s, ch)) => Neighbour {
                start: s,
                end: at,
                char: Some(ch),
            },
            None => Neighbour {
                start: at - c.len_utf8(),
                end: at,
                char: Some(c),
            },
        });
    }
    if c == ';'
        && let Some(amp) = doc[..at - 1].rfind('&').filter(|&a| at - 1 - a <= 10)
        && let Some(r) = reference(&doc[amp..at])
    {
        return Some(Neighbour {
            start: amp,
            end: at,
            char: r,
        });
    }
    Some(Neighbour {
        start: at - c.len_utf8(),
        end: at,
        char: Some(c),
    })
}

/// The character at byte `at`, or the reference (JSON: the `\u` escape)
/// that starts there.
fn neighbour_after(doc: &str, at: usize, json: bool) -> Option<Neighbour> {
    let c = doc[at..].chars().next()?;
    if json && let Some(ch) = doc.get(at..at + 6).and_then(json_escape) {
        return Some(Neighbour {
            start: at,
            end: at + 6,
            char: Some(ch),
        });
    }
    if c == '&'
        && let Some(semi) = doc[at..].find(';').filter(|&s| s <= 10)
        && let Some(r) = reference(&doc[at..at + semi + 1])
    {
        return Some(Neighbour {
            start: at,
            end: at + semi + 1,
            char: r,
        });
    }
    Some(Neighbour {
        start: at,
        end: at + c.len_utf8(),
        char: Some(c),
    })
}

/// Reads a JSON `\uXXXX` escape (a surrogate stands for a wide character).
fn json_escape(s: &str) -> Option<char> {
    let hex = s.strip_prefix("\\u")?;
    let code = u32::from_str_radix(hex, 16).ok()?;
    Some(char::from_u32(code).unwrap_or('\u{fffd}'))
}

/// True when byte `at` is inside a JSON string that is the value of a
/// `"name"` key.
fn in_json_name(doc: &str, at: usize) -> bool {
    let b = doc.as_bytes();
    let window = at.saturating_sub(4096);
    // The string's opening quote: the last `"` not escaped.
    let mut k = at;
    let open = loop {
        let Some(q) = b[window..k].iter().rposition(|&c| c == b'"') else {
            return false;
        };
        let q = q + window;
        let slashes = b[..q].iter().rev().take_while(|&&c| c == b'\\').count();
        if slashes % 2 == 0 {
            break q;
        }
        k = q;
    };
    let key = doc[..open].trim_end();
    let Some(key) = key.strip_suffix(':') else {
        return false;
    };
    key.trim_end().ends_with("\"name\"")
}

/// Reads `&…;`: `Some(Some(c))` for a character reference or one of XML's
/// entities, `Some(None)` for another named entity, `None` for no reference.
fn reference(r: &str) -> Option<Option<char>> {
    let body = r.strip_prefix('&')?.strip_suffix(';')?;
    if let Some(num) = body.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return Some(Some(char::from_u32(code).unwrap_or('\u{fffd}')));
    }
    if body.is_empty() || !body.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some(match body {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => NAMED_ENTITIES
            .get(&r[1..])
            .and_then(|&(a, _)| char::from_u32(a)),
    })
}

/// The start tag of the element whose text holds byte `at` (looking past a
/// CDATA section), if that text runs unbroken from the tag to `at`.
fn enclosing_element(doc: &str, at: usize) -> Option<&str> {
    let window = at.saturating_sub(4096);
    let mut end = at;
    loop {
        let lt = doc.as_bytes()[window..end]
            .iter()
            .rposition(|&c| c == b'<')?
            + window;
        let s = &doc[lt..];
        if s.starts_with("<![CDATA[") {
            end = lt;
            continue;
        }
        if !starts_name(&s[1..]) {
            return None;
        }
        let tag = parse_start_tag(doc, lt)?;
        return Some(tag.name);
    }
}

fn defuse_addresses(doc: &str, json: bool) -> Option<String> {
    if !doc.contains('@') {
        return None;
    }
    let local_char = |c: u8| c.is_ascii_alphanumeric() || b"._%+-:".contains(&c);
    let domain_char = |c: u8| c.is_ascii_alphanumeric() || b".-".contains(&c);
    let b = doc.as_bytes();
    // Replacements in order: (start, end, with).
    let mut edits: Vec<(usize, usize, &str)> = Vec::new();
    for (at, _) in doc.match_indices('@') {
        let start = b[..at]
            .iter()
            .rposition(|&c| !local_char(c))
            .map_or(0, |p| p + 1);
        let end = b[at + 1..]
            .iter()
            .position(|&c| !domain_char(c))
            .map_or(b.len(), |p| p + at + 1);
        // JSON: a `\uXXXX` escape's digits are no part of the address.
        let start = match json {
            true => {
                let lo = start.saturating_sub(2);
                b[lo..at]
                    .windows(2)
                    .rposition(|w| w == b"\\u")
                    .map_or(start, |k| (lo + k + 6).min(at))
            }
            false => start,
        };
        if start == at || end == at + 1 {
            continue;
        }
        let before = neighbour_before(doc, start, json).filter(Neighbour::is_wide);
        let after = neighbour_after(doc, end, json).filter(Neighbour::is_wide);
        if before.is_none() && after.is_none() {
            continue;
        }
        let contact = if json {
            in_json_name(doc, start)
        } else {
            enclosing_element(doc, start).is_some_and(is_contact_element)
        };
        if !contact {
            continue;
        }
        for n in [before, after].into_iter().flatten() {
            if edits.last().is_some_and(|&(_, e, _)| e > n.start) {
                continue;
            }
            if n.char.is_some_and(is_quote) {
                edits.push((n.start, n.end, if json { "\\\"" } else { "\"" }));
            } else if n.end <= start {
                edits.push((n.end, n.end, " "));
            } else {
                edits.push((n.start, n.start, " "));
            }
        }
    }
    if edits.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(doc.len() + edits.len());
    let mut copied = 0;
    for (start, end, with) in edits {
        out.push_str(&doc[copied..start]);
        out.push_str(with);
        copied = end;
    }
    out.push_str(&doc[copied..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, want: &str, fixes: &[Fix]) {
        let r = repair(input, false);
        assert_eq!(r.text, want, "{input:?}");
        assert_eq!(r.fixes, fixes, "{input:?}");
    }

    #[test]
    fn repairs() {
        check("<a>x</a>", "<a>x</a>", &[]);
        check(
            "<a>caf&eacute;&nbsp;&amp;&#233;&#x4E2D;</a>",
            "<a>caf&#233;&#160;&amp;&#233;&#x4E2D;</a>",
            &[Fix::UndefinedEntity],
        );
        check(
            "<a>R&D &foo; & x</a>",
            "<a>R&amp;D &amp;foo; &amp; x</a>",
            &[Fix::BareAmpersand, Fix::UndefinedEntity],
        );
        check("<a>&#0;&#150;</a>", "<a>&#8211;</a>", &[Fix::BadCharRef]);
        check("<a>&#X41;</a>", "<a>&#65;</a>", &[Fix::BadCharRef]);
        check("<a>1 < 2</a>", "<a>1 &lt; 2</a>", &[Fix::BareLessThan]);
        check("<a>x\u{1}y</a>", "<a>xy</a>", &[Fix::ControlChar]);
        check(
            "Warning: oops\n<?xml version=\"1.0\"?><a/>",
            "<?xml version=\"1.0\"?><a/>",
            &[Fix::Prolog],
        );
        check("<a>x</a>junk<b/>", "<a>x</a>", &[Fix::Trailing]);
        check(
            "<a href=x?a=1&b=2 b='q\"' c>t</a>",
            "<a href=\"x?a=1&amp;b=2\" b='q\"' c=\"\">t</a>",
            &[Fix::Attribute, Fix::BareAmpersand],
        );
        check("<a x=\"1\" x=\"2\"/>", "<a x=\"1\"/>", &[Fix::Attribute]);
        check(
            "<d>a<br>b<img src=\"i\"></d>",
            "<d>a<br/>b<img src=\"i\"/></d>",
            &[Fix::VoidElement],
        );
        check("<d><p>a</d>", "<d><p>a</p></d>", &[Fix::Unclosed]);
        check("<d>a</p></d>", "<d>a</d>", &[Fix::StrayEndTag]);
        check(
            "<rss><channel><item><description>one<br>two <b class=\"x>\">b</b></description></item></channel></rss>",
            "<rss><channel><item><description>one&lt;br&gt;two &lt;b class=\"x&gt;\"&gt;b&lt;/b&gt;</description></item></channel></rss>",
            &[Fix::MarkupInText],
        );
        check(
            "<rss><channel><item><title>1</title></item>\n<item><title>2</ti",
            "<rss><channel><item><title>1</title></item>\n</channel></rss>",
            &[Fix::Truncated],
        );
        check(
            "<feed><entry>a</entry><entry>b</entry></fe",
            "<feed><entry>a</entry><entry>b</entry></feed>",
            &[Fix::Truncated],
        );
        check(
            "<rss><channel><x:category><item>a</item></channel></rss>",
            "<rss><channel><x:category></x:category><item>a</item></channel></rss>",
            &[Fix::Unclosed],
        );
        check(
            "<rss><channel><title>t</title></channel><item>a</item></rss>",
            "<rss><channel><title>t</title><item>a</item></channel></rss>",
            &[Fix::ItemOutsideChannel],
        );
        check(
            "<a title=\"x><b/></a>",
            "<a title=\"x\"><b/></a>",
            &[Fix::Attribute],
        );
        check(
            "<?xml version=\"1.0\"]>\n<a/>",
            "\n<a/>",
            &[Fix::BogusMarkup],
        );
        check(
            "<a xml:base=\"http://exa mple.com/\" b=\"1\"/>",
            "<a b=\"1\"/>",
            &[Fix::Attribute],
        );
        check(
            "<feed><title type=\"text/plain\">t</title><content type=\"text/plain\">c</content></feed>",
            "<feed><title type=\"text\">t</title><content type=\"text/plain\">c</content></feed>",
            &[Fix::AtomTextType],
        );
        check(
            "<feed><content src=\"x\" type=\"html\">b</content><content src=\"y\" type=\"html\"/></feed>",
            "<feed><content type=\"html\">b</content><content src=\"y\"/></feed>",
            &[Fix::AtomContentSrc],
        );
        check(
            "<a><![CDATA[x & <y>]]></a>",
            "<a><![CDATA[x & <y>]]></a>",
            &[],
        );
        check("<a><!-- & < --></a>", "<a><!-- & < --></a>", &[]);
    }

    #[test]
    fn atom03_becomes_atom10() {
        let doc = "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\">\
            <tagline>t</tagline><entry><issued>2004-01-01T00:00:00Z</issued>\
            <content type=\"application/xhtml+xml\" mode=\"xml\"><div>x</div></content>\
            <summary type=\"text/plain\">s</summary></entry></feed>";
        let r = repair(doc, true);
        assert_eq!(
            r.text,
            "<feed version=\"0.3\" xmlns=\"http://www.w3.org/2005/Atom\">\
            <subtitle>t</subtitle><entry><published>2004-01-01T00:00:00Z</published>\
            <content type=\"xhtml\"><div>x</div></content>\
            <summary type=\"text\">s</summary></entry></feed>"
        );
        assert!(r.fixes.is_empty());
    }

    #[test]
    fn root_compat() {
        let rewritten = |doc: &str| match compat(doc, &root_tag(doc).unwrap()) {
            Compat::Rewritten(s) => Some(s),
            _ => None,
        };
        assert_eq!(
            rewritten("<?xml version=\"1.0\"?>\n<rss><channel/></rss>").as_deref(),
            Some("<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel/></rss>")
        );
        assert_eq!(
            rewritten("<rss version=\"0.94\"/>").as_deref(),
            Some("<rss version=\"2.0\"/>")
        );
        assert_eq!(rewritten("<rss version=\"2.0\"/>"), None);
        assert_eq!(
            rewritten("<rss version=\"2.0\">\n<item/>\n</rss>").as_deref(),
            Some("<rss version=\"2.0\"><channel>\n<item/>\n</channel></rss>")
        );
        // Namespaces spelled a little off are spelled as feed-rs knows them.
        assert_eq!(
            rewritten(
                "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1\" \
                 xmlns:itunes=\"http://www.itunes.com/DTDs/Podcast-1.0.dtd\" \
                 xmlns:media=\"http://www.rssboard.org/media-rss\" xmlns:x=\"urn:x\"/>"
            )
            .as_deref(),
            Some(
                "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
                 xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\" \
                 xmlns:media=\"http://search.yahoo.com/mrss/\" xmlns:x=\"urn:x\"/>"
            )
        );
        assert_eq!(
            rewritten("<!-- c --><rdf:RDF xmlns=\"http://my.netscape.com/rdf/simple/0.9/\"/>")
                .as_deref(),
            Some("<!-- c --><rdf:RDF xmlns=\"http://purl.org/rss/1.0/\"/>")
        );
    }

    #[test]
    fn line_and_column() {
        assert_eq!(line_col("ab\ncdé\nf", 0), (1, 1));
        assert_eq!(line_col("ab\ncdé\nf", 4), (2, 2));
        assert_eq!(line_col("ab\ncdé\nf", 8), (3, 1));
    }

    #[test]
    fn defuse_takes_out_what_makes_feed_rs_panic() {
        let check = |input: &str, want: &str| assert_eq!(defuse(input), want, "{input:?}");
        // Nothing to do: borrowed, as is.
        for same in [
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss/>",
            "\u{feff}\n <?xml version='1.0'?><rss><?xml-stylesheet href=\"a\"?></rss>",
            "<rss><!-- <?xml version=\"1.0\"?> --><![CDATA[<?xml version=\"1.0\"?>]]></rss>",
            "<rss><author>Dave (dave@userland.com)</author><p>“dave@userland.com”</p></rss>",
            "<rss><author>&lt;dave@userland.com&gt;</author></rss>",
            "{\"title\": \"<?xml version='1.0'?> “dave@userland.com”\"}",
        ] {
            assert!(matches!(defuse(same), Cow::Borrowed(_)), "{same:?}");
        }
        // A late declaration goes, its line breaks stay.
        check(
            "<rss><item>a<?xml version=\"1.0\"\n encoding=\"euc-kr\"?>b</item></rss>",
            "<rss><item>a\nb</item></rss>",
        );
        check(
            "junk<?xml version=\"1.0\" encoding=\"euc-kr\"?><rss/>",
            "junk<rss/>",
        );
        // The first one says UTF-8.
        check(
            " <?xml version=\"1.0\" encoding='euc-kr'?><rss/><?xml version=\"1.0\"?>",
            " <?xml version=\"1.0\" encoding='UTF-8'?><rss/>",
        );
        // Addresses beside wide characters, in the elements feed-rs splits.
        check(
            "<author>“dave@userland.com”</author>",
            "<author>\"dave@userland.com\"</author>",
        );
        check(
            "<dc:creator>Dave &#8220;dave@userland.com&rdquo;</dc:creator>",
            "<dc:creator>Dave \"dave@userland.com\"</dc:creator>",
        );
        check(
            "<managingEditor>编辑dave@userland.com编辑</managingEditor>",
            "<managingEditor>编辑 dave@userland.com 编辑</managingEditor>",
        );
        check(
            "<webMaster><![CDATA[a“b@c.org”é@x.io]]></webMaster>",
            "<webMaster><![CDATA[a\"b@c.org\"é@x.io]]></webMaster>",
        );
        check(
            "{\"authors\": [{\"name\": \"\\u201cdave@userland.com”\"}]}",
            "{\"authors\": [{\"name\": \"\\\"dave@userland.com\\\"\"}]}",
        );
    }

    #[test]
    fn defuse_never_panics() {
        // Every cut of a text dense with what defuse looks at.
        let text = "<author>é“a@b.cd”&#8220;x@y.zz&ldquo;é@\\u201cq@r.st\\u0022 \
            <![CDATA[ü@ü.üü“m@n.op]]><?xml version='1.0' encoding='x'?><!--";
        for (i, _) in text.char_indices() {
            for (j, _) in text[i..].char_indices() {
                let s = &text[i..i + j];
                let _ = defuse(s);
                let _ = defuse(&format!("{{\"name\": \"{s}"));
            }
        }
    }

    /// The inputs fuzzing found (tests/properties.rs keeps them too) are
    /// read, with their entries, and no panic is left to catch.
    #[test]
    fn the_fuzz_crashes_are_read_without_a_panic() {
        let parse = |doc: &str| {
            crate::parse::parse_unguarded(&crate::parse::Input {
                bytes: doc.as_bytes(),
                url: None,
                content_type: None,
                content_language: None,
                timezone: chrono_tz::UTC,
                now: chrono::DateTime::UNIX_EPOCH,
            })
            .unwrap_or_else(|e| panic!("{e}: {doc}"))
        };
        for doc in [
            "<rss version=\"2.0\"><channel><title>t</title><item><title>a</title>\
             <?xml version=\"1.0\" encoding=\"euc-kr\"?></item></channel></rss>",
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">\
             <title>t</title><entry><title>a</title><content>x<?xml version=\"1.0\" \
             encoding=\"euc-kr\"?></content></entry></feed>",
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title><item>\
             <title>a</title></item></channel></rss>\n<?xml version=\"1.0\" encoding=\"gbk\"?>\
             <rss version=\"2.0\"><channel><title>u</title></channel></rss>",
        ] {
            let p = parse(doc);
            assert_eq!(p.articles.len(), 1, "{doc}");
            assert_eq!(p.articles[0].title, "a");
        }
        for (author, want) in [
            ("“dave@userland.com”", vec![]),
            ("Dave “dave@userland.com", vec!["Dave"]),
            ("dave@userland.com”", vec![]),
            ("&#8220;dave@userland.com&#8221; (Dave)", vec!["Dave"]),
            ("&ldquo;dave@userland.com&rdquo;", vec![]),
            ("編集部dave@userland.com", vec!["編集部"]),
        ] {
            let doc = format!(
                "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel>\
                 <title>t</title><managingEditor>{author}</managingEditor><item><title>a</title>\
                 <author>{author}</author><dc:creator>{author}</dc:creator></item></channel></rss>"
            );
            let p = parse(&doc);
            assert_eq!(p.articles.len(), 1, "{doc}");
            assert_eq!(p.articles[0].authors, want, "{author}");
        }
        let json = "{\"version\": \"https://jsonfeed.org/version/1.1\", \"title\": \"t\", \"items\": \
            [{\"id\": \"1\", \"title\": \"a\", \"content_text\": \"x\", \
            \"authors\": [{\"name\": \"Dave “dave@userland.com”\"}]}]}";
        assert_eq!(parse(json).articles[0].authors, vec!["Dave"]);
    }
}
