//! The command line: argument parsing and the subcommands, on top of the
//! library. Errors become one line on stderr and a documented exit code.

use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use clap::{Args, Parser, Subcommand};

use crate::article::format_time;
use crate::config::{self, Config};
use crate::fetch::{self, Fetcher, Limits};
use crate::ingest::{self, Fetched, Job, Report, Writer};
use crate::metrics::Metrics;
use crate::parse;
use crate::store::{self, ArticleQuery, FeedRow, Store};
use std::sync::Arc;

/// How many recent publish times inform a feed's adaptive interval.
const RECENT_TIMES: usize = 20;

/// Exit code: every feed succeeded / the document is a feed.
const EXIT_OK: u8 = 0;
/// Exit code: a fatal error (unreadable config, database, not a feed).
const EXIT_FATAL: u8 = 1;
/// Exit code of `fetch`: some feeds failed, the others were stored.
const EXIT_SOME_FAILED: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "trawl",
    version,
    about = "Polls news feeds (RSS, Atom, JSON Feed), normalizes every entry into one clean article, and stores each story once in SQLite."
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug)]
struct Global {
    /// Config file [default: $TRAWL_CONFIG, else ./config/trawl.toml, else /etc/trawl/trawl.toml]
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// SQLite database [default: `[daemon] database` of the config, else ./data/trawl.db]
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<PathBuf>,
    /// More log output on stderr (-v info, -vv debug, -vvv trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Less log output on stderr (-q errors only, -qq nothing)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "verbose")]
    quiet: u8,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Normalize one feed document and print its articles as JSON Lines; stores nothing
    #[command(
        after_help = "Exit status: 0 for a feed (also an empty one), 1 for anything that is not a feed."
    )]
    Parse(ParseArgs),
    /// Fetch feeds once, store their articles, and print one line per feed
    #[command(after_help = FETCH_HELP)]
    Fetch(FetchArgs),
    /// Show the configured feeds and their state (`feeds show NAME`: one feed and its fetch log)
    Feeds(FeedsArgs),
    /// Run the daemon: poll every enabled feed on its schedule until SIGTERM
    #[command(after_help = RUN_HELP)]
    Run,
    /// Show the latest stored articles, newest first
    Articles(ArticlesArgs),
    /// Full-text search of the stored articles, best first, one hit per story
    #[command(after_help = SEARCH_HELP)]
    Search(SearchArgs),
    /// Write the stored articles out as JSON Lines or CSV, oldest first
    Export(ExportArgs),
}

const FETCH_HELP: &str = "\
Each feed gets one line on stdout: how many articles were new (and apart from
them, new copies of stories already stored: near-duplicates), updated in place,
duplicates of articles stored from another source, or unchanged; \"not modified\"
for a 304 answer; or the error. A total line follows.

Exit status:
  0  every feed was fetched and stored
  2  some feeds failed (each failure is recorded on its feed; see `trawl feeds`)
  1  fatal error: unreadable config or database, unknown feed name";

#[derive(Args, Debug)]
struct ParseArgs {
    /// A file, `-` for standard input, or an http(s) URL to fetch
    source: String,
    /// The address the bytes came from (base for relative links)
    #[arg(long, value_name = "BASE")]
    url: Option<String>,
    /// The HTTP Content-Type they were served with (its charset wins)
    #[arg(long, value_name = "CT")]
    content_type: Option<String>,
    /// IANA time zone for dates that carry none
    #[arg(long, value_name = "TZ", default_value = "UTC")]
    timezone: String,
}

#[derive(Args, Debug)]
struct FetchArgs {
    /// Feeds to fetch, by name or URL [default: every enabled feed]
    feeds: Vec<String>,
    /// Also fetch this feed, which need not be in the config (repeatable)
    #[arg(long = "url", value_name = "URL")]
    urls: Vec<String>,
    /// Ask the running daemon's admin listener to fetch the named feeds
    #[arg(long, value_name = "http://127.0.0.1:PORT", conflicts_with = "urls")]
    via: Option<String>,
}

#[derive(Args, Debug)]
struct FeedsArgs {
    #[command(subcommand)]
    action: Option<FeedsAction>,
    /// One JSON object per feed and line
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum FeedsAction {
    /// Write the configured feeds out (tags as folders)
    Export {
        /// As OPML 2.0, the list every feed reader imports
        #[arg(long)]
        opml: bool,
    },
    /// One feed's state and its latest fetches
    Show {
        /// The feed's name (or URL)
        name: String,
        /// How many fetches of the log to show
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// One JSON object: the feed's state, with `fetches`
        #[arg(long)]
        json: bool,
    },
    /// List the feeds an HTML page links (<link rel="alternate">); exit 1 when none
    Discover {
        /// The page: an http(s) URL or a file
        url: String,
        /// One JSON object per feed and line (`url`, `title`, `type`)
        #[arg(long)]
        json: bool,
    },
}

const RUN_HELP: &str = "\
Signals: SIGTERM and SIGINT stop new fetches, give those in flight
[daemon] shutdown_timeout (10 s) to finish and commit, and exit 0. SIGHUP
reloads the config; an invalid one is refused and the old one keeps running.

Under systemd (Type=notify) it reports READY=1, STATUS=, WATCHDOG=1,
RELOADING=1 and STOPPING=1. A `trawl fetch` beside it on the same database
is safe: a feed is leased by whichever process fetches it.";

#[derive(Args, Debug)]
struct ArticlesArgs {
    #[command(subcommand)]
    action: Option<ArticlesAction>,
    /// Only articles seen in this feed (by name)
    #[arg(long, value_name = "NAME")]
    feed: Option<String>,
    /// Only articles published since: an RFC 3339 time, a date (2024-04-17), or an age (36h, 7d)
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// How many at most (0: all)
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// One JSON object per article and line
    #[arg(long)]
    json: bool,
}

/// Parses the arguments, runs the command, maps the result to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.global, matches!(cli.command, Command::Run));
    ignore_file_size_signal();
    limit_malloc_arenas();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("trawl: {e:#}");
            ExitCode::from(EXIT_FATAL)
        }
    }
}

/// A write past a file size limit (`LimitFSIZE=` in a unit, `ulimit -f`)
/// makes the kernel send SIGXFSZ, whose default action ends the process in
/// the middle of a commit. Ignored, the write fails with `EFBIG` instead,
/// SQLite rolls the batch back and reports it like a full disk, and the
/// daemon goes on (tests/faults.rs).
fn ignore_file_size_signal() {
    // SAFETY: setting a signal's disposition to SIG_IGN touches no memory of
    // ours and is done before any thread of ours exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// glibc gives each thread that allocates under contention an arena of its
/// own (up to 8 per core), and an arena keeps what it freed: parse threads,
/// tokio workers and the writer then each hold their own high-water mark.
/// Two arenas: peak RSS of a 1,000-feed first pass 140 -> 117 MiB
/// (`MALLOC_ARENA_MAX=2`, benches/ingest.sh, same run). The environment
/// variable still wins when set.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: a glibc tunable set before any thread of ours exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Parse(args) => cmd_parse(args),
        Command::Fetch(args) => cmd_fetch(&cli.global, args),
        Command::Feeds(args) => cmd_feeds(&cli.global, args),
        Command::Articles(args) => cmd_articles(&cli.global, args),
        Command::Search(args) => cmd_search(&cli.global, args),
        Command::Export(args) => cmd_export(&cli.global, args),
        Command::Run => cmd_run(&cli.global),
    }
}

fn init_logging(g: &Global, daemon: bool) {
    let level = match (g.verbose, g.quiet) {
        (0, 0) if daemon => "info",
        (0, 0) => "warn",
        (1, _) => "info",
        (2, _) => "debug",
        (v, _) if v > 2 => "trace",
        (_, 1) => "error",
        _ => "off",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_target(false);
    // Under systemd the journal stamps every line itself.
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        let _ = builder.without_time().with_ansi(false).try_init();
    } else {
        let _ = builder.try_init();
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    ingest::runtime().context("cannot start the async runtime")
}

// ---- parse ----

fn cmd_parse(args: ParseArgs) -> Result<u8> {
    let tz: Tz = args
        .timezone
        .parse()
        .map_err(|_| anyhow!("unknown time zone {:?}", args.timezone))?;
    let source = args.source.as_str();
    let doc = read_source(source)?;
    let input = parse::Input {
        bytes: &doc.bytes,
        url: args.url.as_deref().or(doc.url.as_deref()),
        content_type: args.content_type.as_deref().or(doc.content_type.as_deref()),
        content_language: doc.content_language.as_deref(),
        timezone: tz,
        now: Utc::now(),
    };
    let parsed = parse::parse(&input).with_context(|| source.to_string())?;
    for w in &parsed.warnings {
        tracing::warn!("{source}: {w}");
    }
    let mut out = BufWriter::new(io::stdout().lock());
    for article in &parsed.articles {
        serde_json::to_writer(&mut out, article)?;
        if let Err(e) = out.write_all(b"\n") {
            return quiet_broken_pipe(e);
        }
    }
    if let Err(e) = out.flush() {
        return quiet_broken_pipe(e);
    }
    Ok(EXIT_OK)
}

/// `trawl parse f | head` closing the pipe early is not an error.
fn quiet_broken_pipe(e: io::Error) -> Result<u8> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(EXIT_OK)
    } else {
        Err(e).context("cannot write to standard output")
    }
}

// ---- config and database ----

/// Loads the config from `--config`, `$TRAWL_CONFIG` or the default places.
/// `None` when none is given and none exists.
fn load_config(g: &Global) -> Result<Option<Config>> {
    match config::locate(g.config.as_deref()) {
        Some(path) => Ok(Some(Config::load(&path)?)),
        None => Ok(None),
    }
}

fn require_config(g: &Global) -> Result<Config> {
    load_config(g)?.ok_or_else(no_config)
}

fn no_config() -> anyhow::Error {
    anyhow!(
        "no config file: pass --config PATH, set TRAWL_CONFIG, or create ./config/trawl.toml or /etc/trawl/trawl.toml"
    )
}

fn database_path(g: &Global, config: &Config) -> PathBuf {
    g.db.clone()
        .or_else(|| config.daemon.database.clone())
        .unwrap_or_else(|| PathBuf::from(store::DEFAULT_DATABASE))
}

fn open_store(path: &Path) -> Result<Store> {
    Ok(Store::open(path)?)
}

// ---- fetch ----

fn cmd_fetch(g: &Global, args: FetchArgs) -> Result<u8> {
    if let Some(base) = &args.via {
        return fetch_via(g, base, &args.feeds);
    }
    let config = if args.urls.is_empty() {
        require_config(g)?
    } else {
        load_config(g)?.unwrap_or_else(Config::empty)
    };
    let mut store = open_store(&database_path(g, &config))?;
    store.set_policy(store::Policy::from(&config.daemon));
    let rows = store.sync_feeds(&config.feeds)?;

    // (row, config entry) for every feed to fetch.
    let mut selected: Vec<(FeedRow, Option<&config::FeedConfig>)> = Vec::new();
    if args.feeds.is_empty() && args.urls.is_empty() {
        for (row, fc) in rows.iter().zip(&config.feeds) {
            if fc.enabled {
                selected.push((row.clone(), Some(fc)));
            }
        }
    }
    // A configured feed by name or URL (as configured, or where it moved to).
    let find = |wanted: &str| {
        let by_config = config
            .feed(wanted)
            .and_then(|fc| config.feeds.iter().position(|f| std::ptr::eq(f, fc)));
        by_config
            .or_else(|| rows.iter().position(|r| r.url == wanted))
            .map(|i| (&rows[i], &config.feeds[i]))
    };
    let mut unknown = Vec::new();
    for wanted in &args.feeds {
        match find(wanted) {
            Some((row, fc)) => {
                if !selected.iter().any(|(r, _)| r.id == row.id) {
                    selected.push((row.clone(), Some(fc)));
                }
            }
            None => unknown.push(wanted.as_str()),
        }
    }
    if !unknown.is_empty() {
        bail!(
            "no configured feed named {} (use --url for a feed that is not in the config)",
            unknown
                .iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for url in &args.urls {
        let (row, fc) = match find(url) {
            Some((row, fc)) => (row.clone(), Some(fc)),
            None => (store.ensure_feed(url, url)?, None),
        };
        if !selected.iter().any(|(r, _)| r.id == row.id) {
            selected.push((row, fc));
        }
    }

    let mut jobs: Vec<Job> = Vec::with_capacity(selected.len());
    for (feed, fc) in selected {
        let interval = fc.and_then(|fc| fc.interval);
        jobs.push(Job {
            timezone: fc.map_or(config.timezone, |fc| config.timezone_of(fc)),
            interval,
            // The scheduler reads them only for an adaptive interval.
            recent: match interval {
                Some(_) => Vec::new(),
                None => store.recent_publish_times(feed.id, RECENT_TIMES)?,
            },
            feed,
        });
    }
    if jobs.is_empty() {
        println!("total: 0 feeds (none enabled in the config)");
        return Ok(EXIT_OK);
    }
    // The jobs have their own copies; at 10,000 feeds the rows were ~6 MB
    // of the heap at its peak (heaptrack, BENCHMARKS.md).
    drop(rows);

    let (writer, writer_thread) = Writer::spawn(store);
    let mut ctx = ingest::Context::new(&config, writer, Arc::new(Metrics::new()))?;
    // A site paused by a Retry-After is reported, not waited out for hours.
    ctx.limiter.defer_paused_sites();
    let owner = format!("fetch:{}", std::process::id());
    let mut total = Totals::default();
    runtime()?.block_on(async {
        let mut stdout = io::stdout();
        ingest::ingest(jobs, &ctx, &owner, |r| {
            let _ = writeln!(stdout, "{}", report_line(&r));
            total.add(&r);
        })
        .await
    });
    drop(ctx);
    // What was stored is searchable when `fetch` returns: the full-text
    // entries the writer had no idle time for are written now.
    writer_thread
        .finish()
        .index_all_pending(ingest::INDEX_BATCH)?;

    println!("{}", total.line());
    Ok(if total.failed == 0 {
        EXIT_OK
    } else {
        EXIT_SOME_FAILED
    })
}

/// `trawl fetch --via URL FEED...`: the daemon fetches, we print.
fn fetch_via(g: &Global, base: &str, feeds: &[String]) -> Result<u8> {
    if feeds.is_empty() {
        bail!("--via needs the names of the feeds to fetch");
    }
    let token = load_config(g)?.and_then(|c| c.daemon.admin_token);
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .context("cannot build HTTP client")?;
    let base = base.trim_end_matches('/');
    let total = runtime()?.block_on(async {
        let mut total = Totals::default();
        for name in feeds {
            let url = format!("{base}/feeds/{}/fetch", url_path_segment(name));
            let mut req = client.post(&url);
            if let Some(t) = &token {
                req = req.bearer_auth(t);
            }
            let report = match req.send().await {
                Err(e) => anyhow::bail!("{url}: {e}"),
                Ok(resp) if resp.status().is_success() => {
                    let body = resp.bytes().await.with_context(|| url.clone())?;
                    let json: crate::admin::ReportJson = serde_json::from_slice(&body)
                        .with_context(|| format!("{url}: not a fetch report"))?;
                    Report::from(json)
                }
                Ok(resp) => {
                    let status = resp.status();
                    let text = resp.text().await.unwrap_or_default();
                    Report {
                        name: name.clone(),
                        url: String::new(),
                        result: Err(format!("daemon answered {status}: {}", text.trim())),
                        elapsed: std::time::Duration::ZERO,
                    }
                }
            };
            println!("{}", report_line(&report));
            total.add(&report);
        }
        Ok(total)
    })?;
    println!("{}", total.line());
    Ok(if total.failed == 0 {
        EXIT_OK
    } else {
        EXIT_SOME_FAILED
    })
}

/// Percent-encodes a feed name for one URL path segment.
fn url_path_segment(name: &str) -> String {
    let mut url = url::Url::parse("http://x/").expect("a valid base");
    url.path_segments_mut()
        .expect("http URLs have paths")
        .push(name);
    url.path().trim_start_matches('/').to_string()
}

fn report_line(r: &Report) -> String {
    let secs = r.elapsed.as_secs_f64();
    match &r.result {
        Ok(Fetched::NotModified) => format!("{}: not modified (304, {secs:.2} s)", r.name),
        Ok(Fetched::Stored {
            counts,
            entries,
            warnings,
            moved_to,
        }) => {
            let mut line = format!(
                "{}: {}, {} updated, {} duplicate, {} unchanged ({entries} entries, {secs:.2} s)",
                r.name,
                new_and_copies(counts.new, counts.near),
                counts.updated,
                counts.duplicate,
                counts.unchanged
            );
            if let Some(url) = moved_to {
                line.push_str(&format!("; moved permanently to {url}"));
            }
            if !warnings.is_empty() {
                line.push_str(&format!("; {}", warnings.join("; ")));
            }
            line
        }
        Err(e) => format!("{}: error: {e}", r.name),
    }
}

/// "12 new" and, when some of the new articles are near-duplicates, ", 3
/// copies of stored stories" (counted apart from the new ones): a copy is a
/// new article, but not a new story.
fn new_and_copies(new: usize, near: usize) -> String {
    match near {
        0 => format!("{new} new"),
        1 => format!("{} new, 1 copy of a stored story", new - 1),
        _ => format!("{} new, {near} copies of stored stories", new - near),
    }
}

#[derive(Debug, Default)]
struct Totals {
    feeds: usize,
    failed: usize,
    not_modified: usize,
    new: usize,
    near: usize,
    updated: usize,
    duplicate: usize,
}

impl Totals {
    fn add(&mut self, r: &Report) {
        self.feeds += 1;
        match &r.result {
            Err(_) => self.failed += 1,
            Ok(Fetched::NotModified) => self.not_modified += 1,
            Ok(Fetched::Stored { counts, .. }) => {
                self.new += counts.new;
                self.near += counts.near;
                self.updated += counts.updated;
                self.duplicate += counts.duplicate;
            }
        }
    }

    fn line(&self) -> String {
        format!(
            "total: {} feeds, {} ok, {} not modified, {} failed; {}, {} updated, {} duplicate",
            self.feeds,
            self.feeds - self.failed - self.not_modified,
            self.not_modified,
            self.failed,
            new_and_copies(self.new, self.near),
            self.updated,
            self.duplicate
        )
    }
}

// ---- run ----

fn cmd_run(g: &Global) -> Result<u8> {
    let config_path = config::locate(g.config.as_deref()).ok_or_else(no_config)?;
    crate::daemon::run(crate::daemon::Options {
        config_path,
        db: g.db.clone(),
    })?;
    Ok(EXIT_OK)
}

// ---- feeds ----

#[derive(serde::Serialize)]
struct FeedState<'a> {
    name: &'a str,
    url: &'a str,
    configured_url: &'a str,
    in_config: bool,
    enabled: bool,
    title: Option<&'a str>,
    status: String,
    last_status: Option<u16>,
    last_fetch_at: Option<String>,
    next_fetch_at: Option<String>,
    articles: u64,
    consecutive_failures: u32,
    last_error: Option<&'a str>,
    /// Why the feed is no longer fetched (410 Gone).
    disabled_reason: Option<&'a str>,
    /// The document needed repair (not well-formed XML).
    malformed: bool,
    /// The server's 304s hid changes, so validators are no longer sent.
    validators_untrusted: bool,
}

fn cmd_feeds(g: &Global, args: FeedsArgs) -> Result<u8> {
    if let Some(FeedsAction::Discover { url, json }) = &args.action {
        return cmd_discover(url, *json);
    }
    let config = load_config(g)?.unwrap_or_else(Config::empty);
    let mut store = open_store(&database_path(g, &config))?;
    let configured = store.sync_feeds(&config.feeds)?;
    if let Some(FeedsAction::Export { opml }) = &args.action {
        return cmd_feeds_export(&config, &configured, *opml);
    }
    if let Some(FeedsAction::Show { name, limit, json }) = &args.action {
        return cmd_feed_show(&store, &config, &configured, name, *limit, *json);
    }
    let all = store.feeds()?;
    // Configured feeds in config order, then any others the database knows
    // (ad-hoc `--url` feeds, feeds removed from the config).
    let mut states: Vec<FeedState> = Vec::new();
    for (row, fc) in configured.iter().zip(&config.feeds) {
        let row = all.iter().find(|r| r.id == row.id).unwrap_or(row);
        states.push(feed_state(row, true, fc.enabled));
    }
    for row in &all {
        if !configured.iter().any(|c| c.id == row.id) {
            states.push(feed_state(row, false, false));
        }
    }

    let mut out = BufWriter::new(io::stdout().lock());
    if args.json {
        for s in &states {
            serde_json::to_writer(&mut out, s)?;
            writeln!(out)?;
        }
    } else {
        let mut table = vec![
            [
                "NAME",
                "STATUS",
                "ARTICLES",
                "FAILS",
                "LAST FETCH",
                "NEXT DUE",
                "LAST ERROR",
            ]
            .map(String::from),
        ];
        for s in &states {
            table.push([
                s.name.to_string(),
                s.status.clone(),
                s.articles.to_string(),
                s.consecutive_failures.to_string(),
                s.last_fetch_at.clone().unwrap_or_else(|| "-".into()),
                s.next_fetch_at.clone().unwrap_or_else(|| "-".into()),
                s.last_error.unwrap_or("").to_string(),
            ]);
        }
        write_table(&mut out, &table)?;
    }
    out.flush()?;
    Ok(EXIT_OK)
}

fn feed_state(row: &FeedRow, in_config: bool, enabled: bool) -> FeedState<'_> {
    let status = if !in_config {
        "not in config".to_string()
    } else if !enabled {
        "disabled".to_string()
    } else if let Some(reason) = &row.disabled_reason {
        format!("gone: {reason}")
    } else if row.last_fetch_at.is_none() {
        "never fetched".to_string()
    } else if row.consecutive_failures > 0 {
        match row.last_status {
            Some(s) => format!("failing ({s})"),
            None => "failing".to_string(),
        }
    } else {
        match row.last_status {
            Some(304) => "ok (304)".to_string(),
            Some(s) => format!("ok ({s})"),
            None => "ok".to_string(),
        }
    };
    // Notes a user should see next to the status.
    let mut status = status;
    if row.malformed {
        status.push_str(", malformed");
    }
    if row.no_validators {
        status.push_str(", 304s untrusted");
    }
    FeedState {
        name: &row.name,
        url: &row.url,
        configured_url: &row.config_url,
        in_config,
        enabled,
        title: row.title.as_deref(),
        status,
        last_status: row.last_status,
        last_fetch_at: row.last_fetch_at.as_ref().map(format_time),
        next_fetch_at: row.next_fetch_at.as_ref().map(format_time),
        articles: row.article_count,
        consecutive_failures: row.consecutive_failures,
        last_error: row.last_error.as_deref(),
        disabled_reason: row.disabled_reason.as_deref(),
        malformed: row.malformed,
        validators_untrusted: row.no_validators,
    }
}

/// A document named on the command line, with what its server said of it.
struct SourceDoc {
    bytes: Vec<u8>,
    /// The address it was fetched from, after redirects; none for a file.
    url: Option<String>,
    content_type: Option<String>,
    content_language: Option<String>,
}

/// Fetches `source` when it is an http(s) URL, reads standard input for
/// `-`, else reads the file.
fn read_source(source: &str) -> Result<SourceDoc> {
    let from_file = |bytes| SourceDoc {
        bytes,
        url: None,
        content_type: None,
        content_language: None,
    };
    if source == "-" {
        let mut buf = Vec::new();
        io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read standard input")?;
        return Ok(from_file(buf));
    }
    if !(source.starts_with("http://") || source.starts_with("https://")) {
        let buf = std::fs::read(source).with_context(|| format!("cannot read {source}"))?;
        return Ok(from_file(buf));
    }
    let fetcher = Fetcher::new(Limits::default())?;
    let response = runtime()?
        .block_on(fetcher.fetch(&fetch::Request {
            url: source,
            ..Default::default()
        }))
        .with_context(|| source.to_string())?;
    match response {
        fetch::Response::Document(d) => Ok(SourceDoc {
            bytes: d.body,
            url: Some(d.final_url),
            content_type: d.content_type,
            content_language: d.content_language,
        }),
        fetch::Response::NotModified { .. } => {
            bail!("{source}: the server answered 304 Not Modified to an unconditional request")
        }
    }
}

/// `trawl feeds discover URL`: the feeds a page links. A page that is a
/// feed itself is listed as its own one feed.
fn cmd_discover(source: &str, json: bool) -> Result<u8> {
    // A file has no address: relative links are listed as written.
    let SourceDoc {
        bytes,
        url: page_url,
        content_type,
        ..
    } = read_source(source)?;
    let page_url = page_url.and_then(|u| url::Url::parse(&u).ok());
    let text = parse::charset::decode(&bytes, content_type.as_deref()).text;
    let mut found = crate::discover::discover(&text, page_url.as_ref());
    if found.is_empty()
        && let Ok(parsed) = parse::parse(&parse::Input {
            bytes: &bytes,
            url: page_url.as_ref().map(url::Url::as_str),
            content_type: content_type.as_deref(),
            content_language: None,
            timezone: chrono_tz::UTC,
            now: Utc::now(),
        })
    {
        found.push(crate::discover::Found {
            url: page_url.map_or_else(|| source.to_string(), String::from),
            title: parsed.feed.title,
            mime_type: content_type
                .as_deref()
                .and_then(|ct| ct.split(';').next())
                .map_or("application/xml", str::trim)
                .to_string(),
        });
    }
    if found.is_empty() {
        bail!(
            "{source}: no feeds found (the page has no <link rel=\"alternate\"> to RSS, Atom or JSON Feed)"
        );
    }
    let mut out = BufWriter::new(io::stdout().lock());
    if json {
        for f in &found {
            serde_json::to_writer(&mut out, f)?;
            writeln!(out)?;
        }
    } else {
        let mut table = vec![["URL", "TYPE", "TITLE"].map(String::from)];
        for f in &found {
            table.push([
                f.url.clone(),
                f.mime_type.clone(),
                f.title.clone().unwrap_or_default(),
            ]);
        }
        write_table(&mut out, &table)?;
    }
    out.flush()?;
    Ok(EXIT_OK)
}

/// `trawl feeds show NAME`: the feed's state, then its fetch log.
fn cmd_feed_show(
    store: &Store,
    config: &Config,
    configured: &[FeedRow],
    name: &str,
    limit: usize,
    json: bool,
) -> Result<u8> {
    let in_config = config
        .feed(name)
        .and_then(|fc| config.feeds.iter().position(|f| std::ptr::eq(f, fc)));
    let row = match in_config {
        Some(i) => store.feed_by_id(configured[i].id)?,
        None => store
            .feeds()?
            .into_iter()
            .find(|r| r.name == name || r.url == name)
            .ok_or_else(|| anyhow!("no feed named {name:?}"))?,
    };
    let enabled = in_config.is_some_and(|i| config.feeds[i].enabled);
    let state = feed_state(&row, in_config.is_some(), enabled);
    let log = store.fetch_log(row.id, limit)?;
    let mut out = BufWriter::new(io::stdout().lock());
    if json {
        #[derive(serde::Serialize)]
        struct Show<'a> {
            #[serde(flatten)]
            state: FeedState<'a>,
            fetches: &'a [store::FetchLogRow],
        }
        serde_json::to_writer(
            &mut out,
            &Show {
                state,
                fetches: &log,
            },
        )?;
        writeln!(out)?;
    } else {
        let or_dash = |s: Option<String>| s.unwrap_or_else(|| "-".into());
        writeln!(out, "name:         {}", state.name)?;
        writeln!(out, "url:          {}", state.url)?;
        if state.configured_url != state.url {
            writeln!(out, "configured:   {}", state.configured_url)?;
        }
        writeln!(out, "title:        {}", state.title.unwrap_or("-"))?;
        writeln!(out, "status:       {}", state.status)?;
        writeln!(out, "articles:     {}", state.articles)?;
        writeln!(out, "failures:     {}", state.consecutive_failures)?;
        writeln!(
            out,
            "last fetch:   {}",
            or_dash(state.last_fetch_at.clone())
        )?;
        writeln!(
            out,
            "next due:     {}",
            or_dash(state.next_fetch_at.clone())
        )?;
        if let Some(e) = state.last_error {
            writeln!(out, "last error:   {e}")?;
        }
        writeln!(out)?;
        let mut table = vec![
            [
                "AT",
                "STATUS",
                "BYTES",
                "MS",
                "NEW",
                "UPDATED",
                "DUPLICATE",
                "ERROR",
            ]
            .map(String::from),
        ];
        for f in &log {
            table.push([
                format_time(&f.at),
                f.status.map_or("-".into(), |s| s.to_string()),
                f.bytes.map_or("-".into(), |b| b.to_string()),
                f.duration_ms.to_string(),
                f.new.to_string(),
                f.updated.to_string(),
                f.duplicate.to_string(),
                f.error.clone().unwrap_or_default(),
            ]);
        }
        write_table(&mut out, &table)?;
    }
    out.flush()?;
    Ok(EXIT_OK)
}

/// Writes rows as columns aligned on their widest cell (counted in chars);
/// the last column is left ragged.
fn write_table<const N: usize>(out: &mut impl Write, rows: &[[String; N]]) -> io::Result<()> {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(
                    ' ',
                    widths[i] - cell.chars().count() + 2,
                ));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

// ---- articles ----

fn cmd_articles(g: &Global, args: ArticlesArgs) -> Result<u8> {
    if let Some(ArticlesAction::Show { id, diff, json }) = args.action {
        return cmd_article_show(g, id, diff, json);
    }
    let config = load_config(g)?.unwrap_or_else(Config::empty);
    let store = open_store(&database_path(g, &config))?;
    let since = args
        .since
        .as_deref()
        .map(|s| parse_since(s, Utc::now()))
        .transpose()?;
    let articles = store.articles(&ArticleQuery {
        feed: args.feed,
        since,
        limit: args.limit,
    })?;
    let mut out = BufWriter::new(io::stdout().lock());
    let result = (|| -> io::Result<()> {
        for a in &articles {
            if args.json {
                serde_json::to_writer(&mut out, a)?;
                writeln!(out)?;
            } else {
                let when = a.article.published.unwrap_or(a.first_seen_at);
                let feeds: Vec<&str> = a.sources.iter().map(|s| s.feed.as_str()).collect();
                writeln!(
                    out,
                    "{}  {}  {}",
                    when.format("%Y-%m-%d %H:%MZ"),
                    feeds.join(", "),
                    a.article.title
                )?;
                if let Some(url) = &a.article.url {
                    writeln!(out, "                   {url}")?;
                }
            }
        }
        out.flush()
    })();
    match result {
        Ok(()) => Ok(EXIT_OK),
        Err(e) => quiet_broken_pipe(e),
    }
}

/// `--since`: an RFC 3339 time, a date (midnight UTC), or an age such as
/// `36h` or `7d` counted back from `now`.
fn parse_since(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let s = s.trim();
    if let Some(t) = crate::article::parse_time(s) {
        return Ok(t);
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    let age = config::parse_duration(s).ok_or_else(|| {
        anyhow!("--since {s:?}: expected an RFC 3339 time, a date like 2024-04-17, or an age like 36h or 7d")
    })?;
    let age =
        chrono::Duration::from_std(age).map_err(|_| anyhow!("--since {s:?}: too far back"))?;
    Ok(now - age)
}

// ---- search ----

const SEARCH_HELP: &str = "\
Query syntax: words separated by spaces must all match (in the title or the
text); \"a phrase\" matches words side by side; prefix* matches words that
start with prefix; a OR b matches either; NOT c excludes c. Punctuation is
part of a word, never syntax (U.S., don't). A Chinese or Japanese word
matches its characters side by side.

Near-duplicates of a story (copies under other URLs with small edits) are one
hit, shown as the story's first article with \"+N copies\"; --all lists each.";

#[derive(Args, Debug)]
struct SearchArgs {
    /// What to look for (see below)
    #[arg(required = true, num_args = 1..)]
    query: Vec<String>,
    /// Only articles seen in this feed (by name)
    #[arg(long, value_name = "NAME")]
    feed: Option<String>,
    /// Only articles published since: an RFC 3339 time, a date (2024-04-17), or an age (36h, 7d)
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Only articles in this language: a tag (en-gb) or its first part (en)
    #[arg(long = "lang", value_name = "L")]
    language: Option<String>,
    /// How many hits at most (0: all)
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Every matching article, near-duplicates too
    #[arg(long)]
    all: bool,
    /// One JSON object per hit and line: the article with `rank`, `copies`,
    /// `title_highlighted` and `snippet` (matches in <mark>, HTML-escaped)
    #[arg(long)]
    json: bool,
}

fn cmd_search(g: &Global, args: SearchArgs) -> Result<u8> {
    let query = args.query.join(" ");
    let fts = crate::search::fts_query(&query)
        .ok_or_else(|| anyhow!("nothing to search for in {query:?}"))?;
    let config = load_config(g)?.unwrap_or_else(Config::empty);
    let store = open_store(&database_path(g, &config))?;
    let since = args
        .since
        .as_deref()
        .map(|s| parse_since(s, Utc::now()))
        .transpose()?;
    let hits = store.search(&store::SearchQuery {
        fts,
        feed: args.feed,
        since,
        language: args.language,
        limit: args.limit,
        all: args.all,
    })?;
    use crate::search::{Highlight, render_snippet};
    let how = if args.json {
        Highlight::Html
    } else if io::IsTerminal::is_terminal(&io::stdout()) {
        Highlight::Bold
    } else {
        Highlight::Brackets
    };
    let mut out = BufWriter::new(io::stdout().lock());
    let result = (|| -> io::Result<()> {
        for hit in &hits {
            let title = render_snippet(&hit.title_marked, how);
            let snippet = render_snippet(&hit.snippet, how);
            if args.json {
                #[derive(serde::Serialize)]
                struct HitJson<'a> {
                    #[serde(flatten)]
                    stored: &'a store::StoredArticle,
                    rank: f64,
                    copies: usize,
                    title_highlighted: String,
                    snippet: String,
                }
                serde_json::to_writer(
                    &mut out,
                    &HitJson {
                        stored: &hit.stored,
                        rank: hit.rank,
                        copies: hit.copies,
                        title_highlighted: title,
                        snippet,
                    },
                )?;
                writeln!(out)?;
                continue;
            }
            let a = &hit.stored;
            let when = a.article.published.unwrap_or(a.first_seen_at);
            let mut feeds: Vec<&str> = a.sources.iter().map(|s| s.feed.as_str()).collect();
            feeds.dedup();
            let copies = match hit.copies {
                0 => String::new(),
                1 => "  (+1 copy)".to_string(),
                n => format!("  (+{n} copies)"),
            };
            writeln!(
                out,
                "#{}  {}  {}  {title}{copies}",
                a.id,
                when.format("%Y-%m-%d %H:%MZ"),
                feeds.join(", ")
            )?;
            if let Some(url) = &a.article.url {
                writeln!(out, "    {url}")?;
            }
            if !snippet.is_empty() {
                writeln!(out, "    {snippet}")?;
            }
        }
        out.flush()
    })();
    match result {
        Ok(()) => Ok(EXIT_OK),
        Err(e) => quiet_broken_pipe(e),
    }
}

// ---- export ----

#[derive(Args, Debug)]
struct ExportArgs {
    /// jsonl: the article object of `trawl parse` plus id, sources,
    /// duplicate_of, first_seen_at and last_seen_at; csv: the same fields,
    /// lists as JSON
    #[arg(long, value_enum, default_value = "jsonl")]
    format: crate::export::Format,
    /// Only articles published since: an RFC 3339 time, a date (2024-04-17), or an age (36h, 7d)
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Only articles seen in this feed (by name)
    #[arg(long, value_name = "NAME")]
    feed: Option<String>,
    /// Write to this file (replaced only once the export is complete) instead of standard output
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

fn cmd_export(g: &Global, args: ExportArgs) -> Result<u8> {
    let config = load_config(g)?.unwrap_or_else(Config::empty);
    let store = open_store(&database_path(g, &config))?;
    let since = args
        .since
        .as_deref()
        .map(|s| parse_since(s, Utc::now()))
        .transpose()?;
    let q = ArticleQuery {
        feed: args.feed,
        since,
        limit: 0,
    };
    // Into FILE.part, renamed over FILE at the end: a failed export never
    // leaves a file that looks complete.
    let (out, part): (Box<dyn Write>, _) = match &args.output {
        Some(path) => {
            let mut part = path.clone().into_os_string();
            part.push(".part");
            let part = PathBuf::from(part);
            let file = std::fs::File::create(&part)
                .with_context(|| format!("cannot create {}", part.display()))?;
            (Box::new(BufWriter::new(file)), Some(part))
        }
        None => (Box::new(BufWriter::new(io::stdout().lock())), None),
    };
    let mut writer = crate::export::Writer::new(out, args.format);
    let written = store
        .export(&q, |a| writer.write(&a).map_err(anyhow::Error::from))
        .and_then(|n| {
            writer.finish()?;
            Ok(n)
        });
    match (written, part) {
        (Ok(n), Some(part)) => {
            let path = args.output.as_deref().unwrap_or(Path::new(""));
            std::fs::rename(&part, path).with_context(|| {
                format!("cannot rename {} to {}", part.display(), path.display())
            })?;
            tracing::info!(articles = n, path = %path.display(), "exported");
            Ok(EXIT_OK)
        }
        (Ok(_), None) => Ok(EXIT_OK),
        (Err(e), part) => {
            if let Some(part) = part {
                let _ = std::fs::remove_file(part);
            }
            match e.downcast::<io::Error>() {
                Ok(io) if io.kind() == io::ErrorKind::BrokenPipe => Ok(EXIT_OK),
                Ok(io) => Err(io).context("cannot write the export"),
                Err(e) => Err(e),
            }
        }
    }
}

// ---- articles show ----

#[derive(Subcommand, Debug)]
enum ArticlesAction {
    /// One article: its fields, its sources, the other articles of its story, its revisions
    Show {
        /// The article's id (as `trawl articles --json` and `trawl search` print it)
        id: i64,
        /// Also show what changed from each revision to the next, as a line diff
        #[arg(long)]
        diff: bool,
        /// One JSON object: the article with `revised_at`, `cluster`, `revisions` (and `diffs`)
        #[arg(long)]
        json: bool,
    },
}

/// The diffs between consecutive versions of an article, oldest first:
/// (from, to, unified diff).
fn revision_diffs(d: &store::ArticleDetail) -> Vec<(String, String, String)> {
    use crate::export::{diff, revision_text, version_text};
    let a = &d.stored.article;
    let mut versions: Vec<(String, String)> = d
        .revisions
        .iter()
        .map(|r| {
            (
                format!("revision {} ({})", r.revision, format_time(&r.seen_at)),
                revision_text(r),
            )
        })
        .collect();
    versions.push((
        format!(
            "current ({})",
            format_time(&d.revised_at.unwrap_or(d.stored.first_seen_at))
        ),
        version_text(&a.title, a.summary.as_deref(), a.content_text.as_deref()),
    ));
    versions
        .windows(2)
        .map(|w| {
            let text = diff(&w[0].0, &w[0].1, &w[1].0, &w[1].1);
            (w[0].0.clone(), w[1].0.clone(), text)
        })
        .collect()
}

fn cmd_article_show(g: &Global, id: i64, diff: bool, json: bool) -> Result<u8> {
    let config = load_config(g)?.unwrap_or_else(Config::empty);
    let store = open_store(&database_path(g, &config))?;
    let d = store
        .article(id)?
        .ok_or_else(|| anyhow!("no article with id {id}"))?;
    let diffs = if diff { revision_diffs(&d) } else { Vec::new() };
    let mut out = BufWriter::new(io::stdout().lock());
    let result = (|| -> io::Result<()> {
        if json {
            #[derive(serde::Serialize)]
            struct DiffJson<'a> {
                from: &'a str,
                to: &'a str,
                diff: &'a str,
            }
            #[derive(serde::Serialize)]
            struct ShowJson<'a> {
                #[serde(flatten)]
                detail: &'a store::ArticleDetail,
                #[serde(skip_serializing_if = "Vec::is_empty")]
                diffs: Vec<DiffJson<'a>>,
            }
            let diffs = diffs
                .iter()
                .map(|(from, to, diff)| DiffJson { from, to, diff })
                .collect();
            serde_json::to_writer(&mut out, &ShowJson { detail: &d, diffs })?;
            writeln!(out)?;
            return out.flush();
        }
        let s = &d.stored;
        let a = &s.article;
        let time = |t: Option<DateTime<Utc>>| t.as_ref().map_or_else(|| "-".into(), format_time);
        writeln!(out, "id:          {}", s.id)?;
        writeln!(out, "title:       {}", a.title)?;
        writeln!(out, "url:         {}", a.url.as_deref().unwrap_or("-"))?;
        writeln!(out, "guid:        {}", a.guid)?;
        writeln!(out, "published:   {}", time(a.published))?;
        writeln!(out, "updated:     {}", time(a.updated))?;
        writeln!(out, "first seen:  {}", format_time(&s.first_seen_at))?;
        writeln!(out, "last seen:   {}", format_time(&s.last_seen_at))?;
        if let Some(t) = d.revised_at {
            writeln!(out, "revised:     {}", format_time(&t))?;
        }
        if !a.authors.is_empty() {
            writeln!(out, "authors:     {}", a.authors.join(", "))?;
        }
        writeln!(out, "language:    {}", a.language.as_deref().unwrap_or("-"))?;
        if let Some(t) = &a.thumbnail {
            writeln!(out, "thumbnail:   {t}")?;
        }
        match s.duplicate_of {
            Some(head) => writeln!(out, "story:       near-duplicate of #{head}")?,
            None if !d.cluster.is_empty() => {
                writeln!(out, "story:       first article of its story")?
            }
            None => {}
        }
        writeln!(out, "\nsources ({}):", s.sources.len())?;
        let mut table = vec![["FEED", "SEEN", "GUID", "URL"].map(String::from)];
        for src in &s.sources {
            table.push([
                src.feed.clone(),
                format_time(&src.seen_at),
                src.guid.clone(),
                src.url.clone().unwrap_or_default(),
            ]);
        }
        write_indented_table(&mut out, &table)?;
        if !d.cluster.is_empty() {
            writeln!(out, "\nsame story ({} other articles):", d.cluster.len())?;
            let mut table = vec![["ID", "PUBLISHED", "BITS", "FEEDS", "TITLE"].map(String::from)];
            for m in &d.cluster {
                table.push([
                    format!("#{}{}", m.id, if m.head { " (first)" } else { "" }),
                    format_time(&m.published.unwrap_or(m.first_seen_at)),
                    m.distance.map_or("-".into(), |d| d.to_string()),
                    m.feeds.join(", "),
                    m.title.clone(),
                ]);
            }
            write_indented_table(&mut out, &table)?;
        }
        if !d.revisions.is_empty() {
            writeln!(
                out,
                "\nrevisions ({} earlier versions kept):",
                d.revisions.len()
            )?;
            let mut table = vec![["REVISION", "FIRST SEEN", "TITLE"].map(String::from)];
            for r in &d.revisions {
                table.push([
                    r.revision.to_string(),
                    format_time(&r.seen_at),
                    r.title.clone(),
                ]);
            }
            table.push([
                "current".into(),
                format_time(&d.revised_at.unwrap_or(s.first_seen_at)),
                a.title.clone(),
            ]);
            write_indented_table(&mut out, &table)?;
        }
        for (_, _, text) in &diffs {
            writeln!(out)?;
            out.write_all(text.as_bytes())?;
        }
        if let Some(summary) = a.summary.as_deref().filter(|t| !t.is_empty()) {
            writeln!(out, "\nsummary:\n{summary}")?;
        }
        if let Some(text) = a.content_text.as_deref().filter(|t| !t.is_empty()) {
            writeln!(out, "\ntext:\n{text}")?;
        }
        out.flush()
    })();
    match result {
        Ok(()) => Ok(EXIT_OK),
        Err(e) => quiet_broken_pipe(e),
    }
}

/// [`write_table`], two spaces in.
fn write_indented_table<const N: usize>(
    out: &mut impl Write,
    rows: &[[String; N]],
) -> io::Result<()> {
    let mut buf = Vec::new();
    write_table(&mut buf, rows)?;
    for line in String::from_utf8_lossy(&buf).lines() {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}

// ---- feeds export ----

/// `trawl feeds export --opml`: the configured feeds as OPML 2.0.
fn cmd_feeds_export(config: &Config, configured: &[FeedRow], opml: bool) -> Result<u8> {
    if !opml {
        bail!("trawl feeds export: choose a format: --opml (the only one so far)");
    }
    let feeds: Vec<crate::opml::Feed> = config
        .feeds
        .iter()
        .zip(configured)
        .map(|(fc, row)| crate::opml::Feed {
            name: &fc.name,
            url: &fc.url,
            site_url: row.site_url.as_deref(),
            tags: &fc.tags,
        })
        .collect();
    let text = crate::opml::write("trawl feeds", &Utc::now().to_rfc2822(), &feeds);
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(EXIT_OK),
        Err(e) => quiet_broken_pipe(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_times_dates_and_ages() {
        let now = crate::article::parse_time("2024-04-17T12:00:00Z").unwrap();
        let check = |input: &str, want: Option<&str>| {
            let got = parse_since(input, now).ok().map(|t| format_time(&t));
            assert_eq!(got.as_deref(), want, "--since {input:?}");
        };
        check("2024-04-17T10:03:49+08:00", Some("2024-04-17T02:03:49Z"));
        check("2024-04-01", Some("2024-04-01T00:00:00Z"));
        check("36h", Some("2024-04-16T00:00:00Z"));
        check("7d", Some("2024-04-10T12:00:00Z"));
        check("yesterday", None);
    }

    #[test]
    fn copies_of_stored_stories_are_counted_apart_from_new_articles() {
        assert_eq!(new_and_copies(12, 0), "12 new");
        assert_eq!(new_and_copies(12, 1), "11 new, 1 copy of a stored story");
        assert_eq!(new_and_copies(15, 3), "12 new, 3 copies of stored stories");
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
