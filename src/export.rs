//! Writing stored articles out: JSON Lines and CSV records for `trawl
//! export`, and the text of an article version and the diff between two,
//! for `trawl articles show --diff`. Writers only; the store streams the
//! rows.

use std::io::{self, Write};

use serde::Serialize;

use crate::article::format_time;
use crate::store::{Revision, StoredArticle};

/// `trawl export --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line: the article object of `trawl parse` plus
    /// `id`, `sources`, `duplicate_of`, `first_seen_at`, `last_seen_at`.
    Jsonl,
    /// RFC 4180 CSV with a header row; list fields as JSON arrays.
    Csv,
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "guid",
    "url",
    "title",
    "authors",
    "published",
    "updated",
    "summary",
    "content_text",
    "content_html",
    "categories",
    "language",
    "enclosures",
    "feed_title",
    "feed_url",
    "feed_site_url",
    "content_hash",
    "sources",
    "duplicate_of",
    "first_seen_at",
    "last_seen_at",
    // Appended: the columns before it keep their places.
    "thumbnail",
];

/// Writes articles one at a time in one format; the CSV header goes first.
pub struct Writer<W: Write> {
    out: W,
    format: Format,
    started: bool,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W, format: Format) -> Writer<W> {
        Writer {
            out,
            format,
            started: false,
        }
    }

    /// Writes one article (after the CSV header, the first time).
    pub fn write(&mut self, a: &StoredArticle) -> io::Result<()> {
        match self.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut self.out, a)?;
                self.out.write_all(b"\n")
            }
            Format::Csv => {
                if !self.started {
                    self.started = true;
                    self.header()?;
                }
                self.csv_row(a)
            }
        }
    }

    /// Ends the output: the CSV header when no article came, then a flush.
    pub fn finish(mut self) -> io::Result<W> {
        if self.format == Format::Csv && !self.started {
            self.header()?;
        }
        self.out.flush()?;
        Ok(self.out)
    }

    fn header(&mut self) -> io::Result<()> {
        self.out.write_all(CSV_COLUMNS.join(",").as_bytes())?;
        self.out.write_all(b"\r\n")
    }

    fn csv_row(&mut self, s: &StoredArticle) -> io::Result<()> {
        let a = &s.article;
        let time = |t: &Option<chrono::DateTime<chrono::Utc>>| t.as_ref().map(format_time);
        let fields: [Option<String>; 22] = [
            Some(s.id.to_string()),
            Some(a.guid.clone()),
            a.url.clone(),
            Some(a.title.clone()),
            Some(json(&a.authors)),
            time(&a.published),
            time(&a.updated),
            a.summary.clone(),
            a.content_text.clone(),
            a.content_html.clone(),
            Some(json(&a.categories)),
            a.language.clone(),
            Some(json(&a.enclosures)),
            a.feed.title.clone(),
            a.feed.url.clone(),
            a.feed.site_url.clone(),
            Some(a.content_hash.clone()),
            Some(json(&s.sources)),
            s.duplicate_of.map(|id| id.to_string()),
            Some(format_time(&s.first_seen_at)),
            Some(format_time(&s.last_seen_at)),
            a.thumbnail.clone(),
        ];
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                self.out.write_all(b",")?;
            }
            write_csv_field(&mut self.out, field.as_deref().unwrap_or(""))?;
        }
        self.out.write_all(b"\r\n")
    }
}

/// One CSV field: quoted, with its quotes doubled, when it holds a comma, a
/// quote or a line break, or starts or ends with a space (which readers
/// would trim); as is otherwise.
pub fn write_csv_field(out: &mut impl Write, field: &str) -> io::Result<()> {
    let quote =
        field.contains([',', '"', '\n', '\r']) || field.starts_with(' ') || field.ends_with(' ');
    if !quote {
        return out.write_all(field.as_bytes());
    }
    out.write_all(b"\"")?;
    out.write_all(field.replace('"', "\"\"").as_bytes())?;
    out.write_all(b"\"")
}

fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// One version of an article as the text `--diff` compares: the title, the
/// summary, then the text, one paragraph per line.
pub fn version_text(title: &str, summary: Option<&str>, text: Option<&str>) -> String {
    let mut out = format!("Title: {title}\n");
    if let Some(summary) = summary.filter(|s| !s.is_empty()) {
        out.push_str(&format!("Summary: {summary}\n"));
    }
    out.push('\n');
    for paragraph in text
        .unwrap_or("")
        .split('\n')
        .filter(|p| !p.trim().is_empty())
    {
        out.push_str(paragraph.trim_end());
        out.push('\n');
    }
    out
}

/// The text of a revision, for [`version_text`] comparisons.
pub fn revision_text(r: &Revision) -> String {
    version_text(&r.title, r.summary.as_deref(), r.content_text.as_deref())
}

/// A unified, line-based diff from `old` to `new` (one line of context),
/// headed by the two labels; empty when they are equal.
pub fn diff(old_label: &str, old: &str, new_label: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(1)
        .header(old_label, new_label)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::{Article, FeedInfo, parse_time};
    use crate::store::Source;

    fn stored(id: i64, title: &str, text: &str) -> StoredArticle {
        let t = parse_time("2024-04-17T10:00:00Z").unwrap();
        StoredArticle {
            id,
            article: Article {
                guid: format!("g{id}"),
                url: Some(format!("https://a.test/{id}")),
                title: title.into(),
                authors: vec!["Li Wei".into(), "O'Neill, Grace".into()],
                published: Some(t),
                updated: None,
                summary: None,
                content_html: None,
                content_text: Some(text.into()),
                categories: vec![],
                language: Some("en".into()),
                enclosures: vec![],
                thumbnail: None,
                feed: FeedInfo::default(),
                content_hash: "h".into(),
                near_key: Default::default(),
            },
            sources: vec![Source {
                feed: "a".into(),
                guid: format!("g{id}"),
                url: None,
                seen_at: t,
            }],
            duplicate_of: (id > 1).then_some(1),
            first_seen_at: t,
            last_seen_at: t,
        }
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        #[rustfmt::skip]
        let cases = [
            ("plain", "plain"),
            ("", ""),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("two\nlines", "\"two\nlines\""),
            ("cr\r", "\"cr\r\""),
            (" padded", "\" padded\""),
            ("台灣, 日本", "\"台灣, 日本\""),
        ];
        for (field, want) in cases {
            let mut out = Vec::new();
            write_csv_field(&mut out, field).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), want, "{field:?}");
        }
    }

    #[test]
    fn csv_has_a_header_and_one_record_per_article() {
        let mut w = Writer::new(Vec::new(), Format::Csv);
        w.write(&stored(
            1,
            "Volcano, erupting",
            "Line one.\n\n\"Quoted\" line.",
        ))
        .unwrap();
        w.write(&stored(2, "Copy", "Text")).unwrap();
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(lines[0], CSV_COLUMNS.join(","));
        assert!(
            lines[1].starts_with(
                "1,g1,https://a.test/1,\"Volcano, erupting\",\"[\"\"Li Wei\"\",\"\"O'Neill, Grace\"\"]\",\
                 2024-04-17T10:00:00Z,,,\"Line one.\n\n\"\"Quoted\"\" line.\",,[],en,[],"
            ),
            "{}",
            lines[1]
        );
        // ..., first and last seen, and no thumbnail.
        assert!(lines[1].ends_with(",,2024-04-17T10:00:00Z,2024-04-17T10:00:00Z,"));
        assert!(lines[2].starts_with("2,g2,"));
        assert!(
            lines[2].contains(",1,2024-04-17T10:00:00Z,"),
            "duplicate_of"
        );
        assert_eq!(lines[3], "", "every record ends with CRLF");
        assert_eq!(lines.len(), 4);

        // No article: the header alone.
        let empty = Writer::new(Vec::new(), Format::Csv).finish().unwrap();
        assert_eq!(
            String::from_utf8(empty).unwrap(),
            CSV_COLUMNS.join(",") + "\r\n"
        );
    }

    #[test]
    fn jsonl_is_one_object_per_line() {
        let mut w = Writer::new(Vec::new(), Format::Jsonl);
        w.write(&stored(1, "One", "Text\nwith a break")).unwrap();
        w.write(&stored(2, "Two", "Text")).unwrap();
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        let objects: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[0]["title"], "One");
        assert_eq!(objects[0]["content_text"], "Text\nwith a break");
        assert_eq!(objects[0]["sources"][0]["feed"], "a");
        assert_eq!(objects[0]["duplicate_of"], serde_json::Value::Null);
        assert_eq!(objects[1]["duplicate_of"], 1);
        assert_eq!(objects[1]["published"], "2024-04-17T10:00:00Z");
    }

    #[test]
    fn diffs_show_changed_lines() {
        let old = version_text(
            "Volcano erupts",
            None,
            Some("Ash fell.\n\nFlights stopped."),
        );
        let new = version_text(
            "Volcano erupts again",
            None,
            Some("Ash fell.\n\nFlights resumed.\n\nUpdate: no injuries."),
        );
        let d = diff("revision 1", &old, "current", &new);
        assert!(d.starts_with("--- revision 1\n+++ current\n"), "{d}");
        for line in [
            "-Title: Volcano erupts\n",
            "+Title: Volcano erupts again\n",
            "-Flights stopped.\n",
            "+Flights resumed.\n",
            "+Update: no injuries.\n",
            " Ash fell.\n",
        ] {
            assert!(d.contains(line), "{line:?} in\n{d}");
        }
        assert_eq!(diff("a", &old, "b", &old), "");
    }
}
