//! OPML subscription lists: `[[opml]]` reads the files other readers export
//! (fixtures written by hand in their shapes: folders nested to any depth,
//! `xmlUrl`/`htmlUrl` in any case, the `category` attribute, missing titles,
//! a byte order mark, a feed in two folders), and `trawl feeds export
//! --opml` writes the configured feeds so that reading them back gives the
//! same feeds.

mod common;

use std::path::Path;

use common::Trawl;
use trawl::config::Config;

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/opml")
        .join(name)
        .display()
        .to_string()
}

/// (name, url, tags) of every feed of a config.
fn feeds(config: &Config) -> Vec<(String, String, Vec<String>)> {
    config
        .feeds
        .iter()
        .map(|f| (f.name.clone(), f.url.clone(), f.tags.clone()))
        .collect()
}

fn owned(list: &[(&str, &str, &[&str])]) -> Vec<(String, String, Vec<String>)> {
    list.iter()
        .map(|(n, u, t)| {
            (
                n.to_string(),
                u.to_string(),
                t.iter().map(|t| t.to_string()).collect(),
            )
        })
        .collect()
}

const CONFIG: &str = r#"
[[feed]]
name = "nhk"
url = "https://www3.nhk.or.jp/rss/news/cat0.xml"
tags = ["japan"]
"#;

fn imports(trawl: &Trawl) -> String {
    format!(
        "{CONFIG}\n[[opml]]\npath = {:?}\n\n[[opml]]\npath = {:?}\ntags = [\"imported\"]\n\n[[opml]]\npath = {:?}\nenabled = false\n",
        fixture("feedly.opml"),
        fixture("nested.opml"),
        // Relative to the config's folder.
        {
            std::fs::copy(
                fixture("untitled.opml"),
                trawl.dir.path().join("untitled.opml"),
            )
            .unwrap();
            "untitled.opml"
        }
    )
}

#[test]
fn opml_files_of_other_readers_add_their_feeds() {
    let trawl = Trawl::new("", &[]);
    std::fs::write(trawl.config(), imports(&trawl)).unwrap();
    let config = Config::load(&trawl.config()).unwrap();
    assert_eq!(
        feeds(&config),
        owned(&[
            (
                "nhk",
                "https://www3.nhk.or.jp/rss/news/cat0.xml",
                &["japan"]
            ),
            // feedly: one level of folders; a feed in two folders is one feed.
            (
                "BBC News - World",
                "https://feeds.bbci.co.uk/news/world/rss.xml",
                &["World", "Asia"]
            ),
            (
                "Al Jazeera English",
                "https://www.aljazeera.com/xml/rss/all.xml",
                &["World"]
            ),
            (
                "Ars Technica",
                "https://feeds.arstechnica.com/arstechnica/index",
                &["Tech & Science"]
            ),
            // Nested folders, lower-case attributes, the category attribute.
            (
                "tagesschau.de - Die Nachrichten der ARD",
                "https://www.tagesschau.de/xml/rss2/",
                &["News", "Europe", "Germany", "imported"],
            ),
            (
                "France 24 – International",
                "https://www.france24.com/en/rss",
                &["News", "Europe", "Wire", "Français", "imported"],
            ),
            (
                "Reuters: World",
                "https://example.org/reuters/world.rss?format=xml&edition=intl",
                &["News", "imported"],
            ),
            // No title: named by URL.
            (
                "https://blog.example.com/atom.xml",
                "https://blog.example.com/atom.xml",
                &[]
            ),
            (
                "https://news.example.net/feed.json",
                "https://news.example.net/feed.json",
                &[]
            ),
            (
                "新华网 World",
                "https://www.xinhuanet.com/english/rss/worldrss.xml",
                &[]
            ),
            ("TASS", "https://tass.com/rss/v2.xml", &[]),
        ]),
        "NHK is configured and in the feedly file: it appears once, as configured"
    );
    assert!(config.feeds[..7].iter().all(|f| f.enabled));
    assert!(
        config.feeds[7..].iter().all(|f| !f.enabled),
        "the table's settings apply to its feeds"
    );

    let run = trawl.run(&["feeds", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 11);
    assert!(
        run.stdout.contains("\"name\":\"Reuters: World\""),
        "{}",
        run.stdout
    );
}

#[test]
fn exported_opml_reads_back_as_the_same_feeds() {
    let trawl = Trawl::new("", &[]);
    std::fs::write(trawl.config(), imports(&trawl)).unwrap();
    let before = Config::load(&trawl.config()).unwrap();

    let run = trawl.run(&["feeds", "export", "--opml"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = run.stdout;
    assert!(
        text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">"),
        "{text}"
    );
    assert!(
        text.contains("<outline text=\"Tech &amp; Science\" title=\"Tech &amp; Science\">"),
        "{text}"
    );
    assert!(
        text.contains(
            "xmlUrl=\"https://example.org/reuters/world.rss?format=xml&amp;edition=intl\""
        ),
        "{text}"
    );
    let outlines = trawl::opml::parse(&text).unwrap();
    assert_eq!(outlines.len(), before.feeds.len());

    // Another trawl reads the export: same names, URLs and tags.
    let other = Trawl::new("", &[]);
    std::fs::write(other.dir.path().join("export.opml"), &text).unwrap();
    std::fs::write(other.config(), "[[opml]]\npath = \"export.opml\"\n").unwrap();
    let after = Config::load(&other.config()).unwrap();
    let mut a = feeds(&before);
    let mut b = feeds(&after);
    for list in [&mut a, &mut b] {
        for (_, _, tags) in list.iter_mut() {
            tags.sort();
        }
        list.sort();
    }
    assert_eq!(a, b);

    let run = trawl.run(&["feeds", "export"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("--opml"), "{}", run.stderr);
}

#[test]
fn a_broken_opml_file_is_a_config_error_naming_the_file_and_line() {
    let trawl = Trawl::new("", &[]);
    std::fs::write(
        trawl.dir.path().join("broken.opml"),
        "<opml version=\"2.0\"><body>\n<outline text=\"a\">\n<outline xmlUrl=\"https://a.example/\"/>\n</body></opml>",
    )
    .unwrap();
    std::fs::write(trawl.config(), "[[opml]]\npath = \"broken.opml\"\n").unwrap();
    let run = trawl.run(&["feeds"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("trawl.toml:2: invalid OPML file"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("broken.opml: line 4: not well-formed XML"),
        "{}",
        run.stderr
    );
}
