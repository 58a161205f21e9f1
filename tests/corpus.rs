//! Corpus smoke test: `parse` over every real-world feed in
//! `../shared/corpus/real` (or `$TRAWL_CORPUS`). It fails when a file panics,
//! or yields no articles where the MANIFEST's `entries` column (the count of
//! the reference parser) is above zero. Count mismatches are printed, not
//! failed: matching counts per file is a later, stricter test.

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use trawl::parse::{Input, parse};

fn corpus_dir() -> PathBuf {
    match std::env::var_os("TRAWL_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/real"),
    }
}

/// The MANIFEST rows: file name → `entries`.
fn manifest(dir: &Path) -> Vec<(String, usize)> {
    let path = dir.join("MANIFEST.tsv");
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .expect("MANIFEST has a header")
        .split('\t')
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("MANIFEST has no {name:?} column"))
    };
    let (file, entries) = (col("file"), col("entries"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let n = f[entries]
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("bad entries {:?} for {}", f[entries], f[file]));
            (f[file].to_string(), n)
        })
        .collect()
}

#[test]
fn every_corpus_file_parses() {
    let dir = corpus_dir();
    if !dir.join("MANIFEST.tsv").is_file() {
        eprintln!(
            "corpus smoke test skipped: no MANIFEST.tsv in {}",
            dir.display()
        );
        return;
    }
    let rows = manifest(&dir);
    let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();

    // Panics are caught and reported per file; keep the default hook from
    // printing each one in the middle of the summary.
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));

    let mut failures = Vec::new();
    let mut mismatches = Vec::new();
    let mut malformed = 0;
    let mut articles = 0;
    let mut expected = 0;
    for (file, entries) in &rows {
        expected += entries;
        let bytes = match fs::read(dir.join(file)) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("{file}: cannot read: {e}"));
                continue;
            }
        };
        let input = Input {
            bytes: &bytes,
            url: None,
            content_type: None,
            content_language: None,
            timezone: chrono_tz::UTC,
            now,
        };
        let result = panic::catch_unwind(|| parse(&input));
        let got = match result {
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| p.downcast_ref::<&str>().copied())
                    .unwrap_or("?");
                let msg: String = msg.chars().take(200).collect();
                failures.push(format!("{file}: panicked: {msg}"));
                continue;
            }
            Ok(Err(e)) if *entries > 0 => {
                failures.push(format!("{file}: {e} (manifest: {entries} entries)"));
                continue;
            }
            Ok(Err(_)) => 0,
            Ok(Ok(parsed)) => {
                if parsed.malformed() {
                    malformed += 1;
                }
                parsed.articles.len()
            }
        };
        articles += got;
        if got == 0 && *entries > 0 {
            failures.push(format!("{file}: no articles (manifest: {entries} entries)"));
        } else if got != *entries {
            mismatches.push(format!("{file}: {got} articles, manifest {entries}"));
        }
    }
    panic::set_hook(hook);

    eprintln!(
        "corpus: {} files, {articles} articles (manifest: {expected} entries), \
         {malformed} read after repairs (malformed)",
        rows.len()
    );
    if !mismatches.is_empty() {
        eprintln!("article counts that differ from the manifest (informational):");
        for m in &mismatches {
            eprintln!("  {m}");
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus files failed:\n  {}",
        failures.len(),
        rows.len(),
        failures.join("\n  ")
    );
}
