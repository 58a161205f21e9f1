//! Reads and validates `trawl.toml`: the daemon settings and the list of feeds.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use toml::Spanned;
use toml::de::{DeTable, DeValue};
use url::Url;

/// The whole configuration, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from (for messages), if any.
    pub path: Option<PathBuf>,
    pub daemon: DaemonConfig,
    /// Zone for feeds that set none; UTC when absent.
    pub timezone: Tz,
    /// The `[[feed]]` tables, then the feeds of the `[[opml]]` files that
    /// are not among them.
    pub feeds: Vec<FeedConfig>,
}

/// `[daemon]`
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// SQLite file; `None` means the default under `./data/`.
    pub database: Option<PathBuf>,
    /// Fetches in flight at once, all hosts together (default 16).
    pub concurrency: usize,
    /// Fetches in flight at once against one host (default 2).
    pub per_host_concurrency: usize,
    /// TCP + TLS connect timeout (default 10 s).
    pub connect_timeout: Duration,
    /// Whole fetch, body included (default 60 s).
    pub timeout: Duration,
    /// Largest decompressed body accepted (default 20 MiB).
    pub max_feed_bytes: u64,
    pub user_agent: String,
    /// How often a feed that sets no `interval` is fetched before its
    /// publishing rate is known (default 30 min).
    pub default_interval: Duration,
    /// Bounds of the adaptive interval, and of backoff (defaults 5 min, 24 h).
    pub min_interval: Duration,
    pub max_interval: Duration,
    /// Least time between two request starts on one site (default 500 ms; 0 turns it off).
    pub per_host_gap: Duration,
    /// On SIGTERM, how long fetches in flight may take to finish (default 10 s).
    pub shutdown_timeout: Duration,
    /// Address of the admin listener (`/healthz`, `/metrics`, fetch triggers); off when `None`.
    pub listen: Option<std::net::SocketAddr>,
    /// Bearer token the admin listener requires; needed to listen beyond loopback.
    pub admin_token: Option<String>,
    /// Near-duplicates are looked for among articles published this close
    /// (default 7 days).
    pub near_duplicate_window: Duration,
    /// Fingerprints at most this many bits apart are near-duplicates
    /// (default 6, at most [`crate::dedupe::MAX_DISTANCE`]; 0: equal only).
    pub near_duplicate_distance: u32,
    /// Texts with fewer words are never near-matched (default 40).
    pub near_duplicate_min_words: usize,
    /// Earlier versions kept per article (default 20; 0 keeps none).
    pub max_revisions: usize,
    /// Articles older than this that no feed showed for as long are pruned;
    /// `None` (the default) keeps everything.
    pub retention: Option<Duration>,
    /// Redirects followed per fetch (default 10).
    pub max_redirects: usize,
    /// Largest response head accepted, status line and headers (default 64 KiB).
    pub max_header_bytes: u64,
    /// Follow redirects from a public address to an internal one (loopback,
    /// private, link-local); off by default (see SECURITY.md).
    pub allow_private_redirects: bool,
    /// Items kept per fetch, the newest (default 1000).
    pub max_items: usize,
    /// Bytes kept per stored text field (default 1 MiB).
    pub max_field_bytes: u64,
}

/// One `[[feed]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedConfig {
    /// Unique among the feeds; defaults to the URL.
    pub name: String,
    /// In [`Url`]'s serialized form (`https://Example.com` becomes
    /// `https://example.com/`), so equal addresses compare equal as strings.
    pub url: String,
    /// How often to fetch; `None` means `[daemon] default_interval`.
    pub interval: Option<Duration>,
    /// Zone for zone-less dates in this feed; `None` means the config's default.
    pub timezone: Option<Tz>,
    pub tags: Vec<String>,
    pub enabled: bool,
}

/// A configuration that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Every problem found in the file, one per line, each naming file, line and key.
    #[error("invalid config {}:\n{}", path.display(), problems.join("\n"))]
    Invalid {
        path: PathBuf,
        problems: Vec<String>,
    },
}

pub const DEFAULT_USER_AGENT: &str = concat!(
    "trawl/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/trawl-news/trawl)"
);

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            database: None,
            concurrency: 16,
            per_host_concurrency: 2,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            max_feed_bytes: 20 * 1024 * 1024,
            user_agent: DEFAULT_USER_AGENT.to_string(),
            default_interval: Duration::from_secs(30 * 60),
            min_interval: Duration::from_secs(5 * 60),
            max_interval: Duration::from_secs(24 * 3600),
            per_host_gap: Duration::from_millis(500),
            shutdown_timeout: Duration::from_secs(10),
            listen: None,
            admin_token: None,
            near_duplicate_window: Duration::from_secs(7 * 86_400),
            near_duplicate_distance: 6,
            near_duplicate_min_words: 40,
            max_revisions: 20,
            retention: None,
            max_redirects: 10,
            max_header_bytes: 64 * 1024,
            allow_private_redirects: false,
            max_items: 1000,
            max_field_bytes: 1024 * 1024,
        }
    }
}

impl Config {
    /// The configuration used when none is given and none is found: no feeds.
    pub fn empty() -> Config {
        Config {
            path: None,
            daemon: DaemonConfig::default(),
            timezone: Tz::UTC,
            feeds: Vec::new(),
        }
    }

    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Validates `text`, reporting problems against `path`.
    ///
    /// A syntax error stops there; past it, every problem in the file is
    /// collected (unknown keys, wrong types, bad durations, sizes, zones and
    /// URLs, duplicate feeds) and reported together, in file order, each as
    /// `path:line: message`.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut problems = Problems {
            text,
            found: Vec::new(),
        };
        let mut config = read_document(text, path, &mut problems);
        if problems.found.is_empty() {
            config.path = Some(path.to_path_buf());
            Ok(config)
        } else {
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems: problems.into_lines(path),
            })
        }
    }

    /// The zone for zone-less dates of `feed`.
    pub fn timezone_of(&self, feed: &FeedConfig) -> Tz {
        feed.timezone.unwrap_or(self.timezone)
    }

    /// How often `feed` is fetched: its own `interval`, else `[daemon] default_interval`.
    pub fn interval_of(&self, feed: &FeedConfig) -> Duration {
        feed.interval.unwrap_or(self.daemon.default_interval)
    }

    /// The configured feed called `name_or_url`, matched by name first, then
    /// by URL (compared in parsed form, so `HTTPS://Host/x` finds `https://host/x`).
    pub fn feed(&self, name_or_url: &str) -> Option<&FeedConfig> {
        if let Some(feed) = self.feeds.iter().find(|f| f.name == name_or_url) {
            return Some(feed);
        }
        let url = Url::parse(name_or_url.trim()).ok()?;
        self.feeds.iter().find(|f| f.url == url.as_str())
    }
}

/// Where the config is looked for when `--config` is not given:
/// `$TRAWL_CONFIG`, else `./config/trawl.toml`, else `/etc/trawl/trawl.toml`.
/// Returns the first candidate that exists (or `$TRAWL_CONFIG` as set, so a
/// wrong value is an error rather than silently ignored).
pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("TRAWL_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    ["config/trawl.toml", "/etc/trawl/trawl.toml"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Parses a duration: integer seconds (`"90"`), or numbers with units, run
/// together or spaced (`"500ms"`, `"30s"`, `"15m"`, `"6h"`, `"1d"`, `"2w"`,
/// `"1h30m"`). `None` when it is none of those or overflows.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok().map(Duration::from_secs);
    }
    let mut rest = text;
    let mut millis: u64 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let (number, after) = split_number(rest)?;
        let after = after.trim_start();
        let unit_len = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let per_unit: u64 = match &after[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            _ => return None,
        };
        millis = millis.checked_add(number.checked_mul(per_unit)?)?;
        rest = after[unit_len..].trim_start();
    }
    Some(Duration::from_millis(millis))
}

/// Parses a size: integer bytes (`"1048576"`), or a number with a unit,
/// decimal (`"10MB"`, `"1kB"`: powers of 1000) or binary (`"512KiB"`,
/// `"20MiB"`, `"1GiB"`: powers of 1024); units are case-insensitive and may
/// follow a space. `None` when it is none of those or overflows.
pub fn parse_size(text: &str) -> Option<u64> {
    let (number, unit) = split_number(text.trim())?;
    let per_unit: u64 = match unit.trim_start().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(per_unit)
}

/// The leading decimal digits of `text` as a number, and what follows them.
fn split_number(text: &str) -> Option<(u64, &str)> {
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let number = text[..digits].parse().ok()?;
    Some((number, &text[digits..]))
}

/// Problems found so far, each at the byte offset in the file it is about.
struct Problems<'t> {
    text: &'t str,
    found: Vec<(usize, String)>,
}

impl Problems<'_> {
    fn add(&mut self, span: Range<usize>, message: String) {
        self.found.push((span.start, message));
    }

    /// The source text of `span`, shortened for quoting in a message.
    fn snippet(&self, span: Range<usize>) -> String {
        const MAX: usize = 60;
        let text = self.text.get(span).unwrap_or("").trim();
        match text.char_indices().nth(MAX) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text.to_string(),
        }
    }

    /// `path:line: message`, in file order.
    fn into_lines(mut self, path: &Path) -> Vec<String> {
        self.found.sort_by_key(|(offset, _)| *offset);
        self.found.dedup();
        // In offset order, so each problem's line counts on from the last's:
        // one pass over the text however many problems there are.
        let (mut at, mut line) = (0, 1);
        self.found
            .iter()
            .map(|(offset, message)| {
                let end = (*offset).clamp(at, self.text.len());
                line += self.text.as_bytes()[at..end]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count();
                at = end;
                format!("{}:{line}: {message}", path.display())
            })
            .collect()
    }
}

/// The 1-based line holding byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Where a key lives, for the keys it may hold and for messages.
#[derive(Clone, Copy, PartialEq)]
enum Section {
    Top,
    Daemon,
    Feed,
    Opml,
}

impl Section {
    fn keys(self) -> &'static [&'static str] {
        match self {
            Section::Top => &["timezone", "daemon", "feed", "opml"],
            Section::Daemon => &[
                "database",
                "concurrency",
                "per_host_concurrency",
                "connect_timeout",
                "timeout",
                "max_feed_bytes",
                "user_agent",
                "default_interval",
                "min_interval",
                "max_interval",
                "per_host_gap",
                "shutdown_timeout",
                "listen",
                "admin_token",
                "near_duplicate_window",
                "near_duplicate_distance",
                "near_duplicate_min_words",
                "max_revisions",
                "retention",
                "max_redirects",
                "max_header_bytes",
                "allow_private_redirects",
                "max_items",
                "max_field_bytes",
            ],
            Section::Feed => &["name", "url", "interval", "timezone", "tags", "enabled"],
            Section::Opml => &["path", "interval", "timezone", "tags", "enabled"],
        }
    }

    fn place(self) -> &'static str {
        match self {
            Section::Top => "at the top level",
            Section::Daemon => "in [daemon]",
            Section::Feed => "in [[feed]]",
            Section::Opml => "in [[opml]]",
        }
    }
}

/// A key of a section, displayed as `"interval" in [[feed]]`.
#[derive(Clone, Copy)]
struct Key<'a> {
    name: &'a str,
    section: Section,
}

impl std::fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{}\" {}", self.name, self.section.place())
    }
}

type Value<'i> = Spanned<DeValue<'i>>;

/// Walks the parsed document by hand rather than through `#[derive(Deserialize)]`
/// with `deny_unknown_fields`: serde stops at the first unknown key or wrong
/// type, and this way every one of them is reported, each with its own span.
fn read_document(text: &str, path: &Path, problems: &mut Problems) -> Config {
    let mut config = Config::empty();
    // Recoverable parsing reports every syntax error, not only the first; but
    // the document it recovers may be wrong, so nothing past them is checked.
    let (document, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        for error in errors {
            let span = error.span().unwrap_or(0..0);
            let message = match problems.snippet(span.clone()) {
                quoted if quoted.is_empty() => format!("syntax error: {}", error.message()),
                quoted => format!("syntax error: {} at {quoted:?}", error.message()),
            };
            problems.add(span, message);
        }
        return config;
    }
    let mut feeds = None;
    let mut opml = None;
    for (key, value) in document.get_ref().iter() {
        let key_here = Key {
            name: key.get_ref(),
            section: Section::Top,
        };
        match key_here.name {
            "timezone" => set(
                &mut config.timezone,
                read_timezone(value, key_here, problems),
            ),
            "daemon" => match value.get_ref() {
                DeValue::Table(table) => read_daemon(table, &mut config.daemon, problems),
                _ => wrong_type(value, key_here, "a table ([daemon])", problems),
            },
            "feed" => feeds = Some(value),
            "opml" => opml = Some(value),
            _ => unknown_key(key, Section::Top, problems),
        }
    }
    if let Some(feeds) = feeds {
        config.feeds = read_feeds(feeds, problems);
    }
    if let Some(opml) = opml {
        read_opml(opml, path, &mut config.feeds, problems);
    }
    config
}

fn read_daemon(table: &DeTable, daemon: &mut DaemonConfig, problems: &mut Problems) {
    for (key, value) in table.iter() {
        let key_here = Key {
            name: key.get_ref(),
            section: Section::Daemon,
        };
        match key_here.name {
            "database" => {
                if let Some(path) = read_text(value, key_here, problems) {
                    daemon.database = Some(PathBuf::from(path));
                }
            }
            "concurrency" => set(
                &mut daemon.concurrency,
                read_count(value, key_here, problems),
            ),
            "per_host_concurrency" => set(
                &mut daemon.per_host_concurrency,
                read_count(value, key_here, problems),
            ),
            "connect_timeout" => set(
                &mut daemon.connect_timeout,
                read_duration(value, key_here, problems),
            ),
            "timeout" => set(
                &mut daemon.timeout,
                read_duration(value, key_here, problems),
            ),
            "max_feed_bytes" => set(
                &mut daemon.max_feed_bytes,
                read_size(value, key_here, problems),
            ),
            "user_agent" => set(
                &mut daemon.user_agent,
                read_text(value, key_here, problems).map(str::to_string),
            ),
            "default_interval" => set(
                &mut daemon.default_interval,
                read_duration(value, key_here, problems),
            ),
            "min_interval" => set(
                &mut daemon.min_interval,
                read_duration(value, key_here, problems),
            ),
            "max_interval" => set(
                &mut daemon.max_interval,
                read_duration(value, key_here, problems),
            ),
            "per_host_gap" => set(
                &mut daemon.per_host_gap,
                read_duration_or_zero(value, key_here, problems),
            ),
            "shutdown_timeout" => set(
                &mut daemon.shutdown_timeout,
                read_duration(value, key_here, problems),
            ),
            "listen" => {
                if let Some(text) = read_text(value, key_here, problems) {
                    match text.parse::<std::net::SocketAddr>() {
                        Ok(addr) => daemon.listen = Some(addr),
                        Err(_) => problems.add(
                            value.span(),
                            format!(
                                "invalid address {text:?} for {key_here} (expected IP:PORT, \
                                 as in \"127.0.0.1:8035\")"
                            ),
                        ),
                    }
                }
            }
            "admin_token" => {
                daemon.admin_token = read_text(value, key_here, problems).map(str::to_string)
            }
            "near_duplicate_window" => set(
                &mut daemon.near_duplicate_window,
                read_duration(value, key_here, problems),
            ),
            "near_duplicate_distance" => {
                let max = crate::dedupe::MAX_DISTANCE;
                match read_integer(value, key_here, "a whole number", problems) {
                    Some(n) if (0..=i64::from(max)).contains(&n) => {
                        daemon.near_duplicate_distance = n as u32
                    }
                    Some(n) => problems.add(
                        value.span(),
                        format!("{key_here} must be from 0 to {max} (bits of 64), not {n}"),
                    ),
                    None => {}
                }
            }
            "near_duplicate_min_words" => set(
                &mut daemon.near_duplicate_min_words,
                read_count_or_zero(value, key_here, problems),
            ),
            "max_revisions" => set(
                &mut daemon.max_revisions,
                read_count_or_zero(value, key_here, problems),
            ),
            "retention" => {
                if let Some(age) = read_duration(value, key_here, problems) {
                    daemon.retention = Some(age);
                }
            }
            "max_redirects" => set(
                &mut daemon.max_redirects,
                read_count(value, key_here, problems),
            ),
            "max_header_bytes" => set(
                &mut daemon.max_header_bytes,
                read_size(value, key_here, problems),
            ),
            "allow_private_redirects" => set(
                &mut daemon.allow_private_redirects,
                read_bool(value, key_here, problems),
            ),
            "max_items" => set(&mut daemon.max_items, read_count(value, key_here, problems)),
            "max_field_bytes" => set(
                &mut daemon.max_field_bytes,
                read_size(value, key_here, problems),
            ),
            _ => unknown_key(key, Section::Daemon, problems),
        }
    }
    if daemon.min_interval > daemon.max_interval {
        let span = table
            .get("max_interval")
            .or_else(|| table.get("min_interval"))
            .map(|v| v.span())
            .unwrap_or(0..0);
        problems.add(
            span,
            "\"min_interval\" in [daemon] is longer than \"max_interval\"".to_string(),
        );
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

/// Reads every `[[feed]]`, then reports names and URLs used twice.
fn read_feeds(value: &Value, problems: &mut Problems) -> Vec<FeedConfig> {
    let key = Key {
        name: "feed",
        section: Section::Top,
    };
    let items = match value.get_ref() {
        DeValue::Array(items) => items,
        _ => {
            wrong_type(value, key, "an array of tables ([[feed]])", problems);
            return Vec::new();
        }
    };
    let mut feeds = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut urls: HashMap<String, usize> = HashMap::new();
    for item in items.iter() {
        let DeValue::Table(table) = item.get_ref() else {
            wrong_type(item, key, "an array of tables ([[feed]])", problems);
            continue;
        };
        let Some(read) = read_feed(table, item.span(), problems) else {
            continue;
        };
        // Offsets, not lines: counting lines for every feed was quadratic in
        // the config's size; only a reported duplicate needs its line.
        let url_taken = match urls.get(&read.feed.url) {
            Some(&first) => {
                let first = line_of(problems.text, first);
                let message = format!(
                    "duplicate feed url {:?} (first used on line {first})",
                    read.feed.url
                );
                problems.add(read.url_span.clone(), message);
                true
            }
            None => {
                urls.insert(read.feed.url.clone(), read.url_span.start);
                false
            }
        };
        // A name defaulted from a repeated URL is the same mistake, said once.
        if read.name_explicit || !url_taken {
            match names.get(&read.feed.name) {
                Some(&first) => {
                    let first = line_of(problems.text, first);
                    let message = format!(
                        "duplicate feed name {:?} (first used on line {first})",
                        read.feed.name
                    );
                    problems.add(read.name_span, message);
                }
                None => {
                    names.insert(read.feed.name.clone(), read.name_span.start);
                }
            }
        }
        feeds.push(read.feed);
    }
    feeds
}

/// One `[[feed]]` and where its name and URL were written.
struct ReadFeed {
    feed: FeedConfig,
    name_explicit: bool,
    name_span: Range<usize>,
    url_span: Range<usize>,
}

/// `None` when the feed has no usable URL (the problem is recorded).
fn read_feed(table: &DeTable, header: Range<usize>, problems: &mut Problems) -> Option<ReadFeed> {
    let mut name = None;
    let mut url = None;
    let mut url_seen = false;
    let mut feed = FeedConfig {
        name: String::new(),
        url: String::new(),
        interval: None,
        timezone: None,
        tags: Vec::new(),
        enabled: true,
    };
    for (key, value) in table.iter() {
        let key_here = Key {
            name: key.get_ref(),
            section: Section::Feed,
        };
        match key_here.name {
            "name" => {
                name = read_text(value, key_here, problems).map(|n| (n.to_string(), value.span()))
            }
            "url" => {
                url_seen = true;
                url = read_url(value, key_here, problems).map(|u| (u, value.span()));
            }
            "interval" => feed.interval = read_duration(value, key_here, problems),
            "timezone" => feed.timezone = read_timezone(value, key_here, problems),
            "tags" => set(&mut feed.tags, read_tags(value, key_here, problems)),
            "enabled" => set(&mut feed.enabled, read_bool(value, key_here, problems)),
            _ => unknown_key(key, Section::Feed, problems),
        }
    }
    if !url_seen {
        problems.add(header, "missing key \"url\" in [[feed]]".to_string());
    }
    let (url, url_span) = url?;
    feed.url = url;
    let name_explicit = name.is_some();
    let (name, name_span) = name.unwrap_or_else(|| (feed.url.clone(), url_span.clone()));
    feed.name = name;
    Some(ReadFeed {
        feed,
        name_explicit,
        name_span,
        url_span,
    })
}

/// Reads every `[[opml]]`: the feeds of each file (its `path` relative to
/// the config's folder) that no `[[feed]]` or earlier file has by URL,
/// named by their outline titles, tagged by their folders and the table's
/// `tags`, with the table's `interval`, `timezone` and `enabled`.
fn read_opml(
    value: &Value,
    config_path: &Path,
    feeds: &mut Vec<FeedConfig>,
    problems: &mut Problems,
) {
    let key = Key {
        name: "opml",
        section: Section::Top,
    };
    let DeValue::Array(items) = value.get_ref() else {
        wrong_type(value, key, "an array of tables ([[opml]])", problems);
        return;
    };
    // Feeds from here on came from OPML files.
    let configured = feeds.len();
    for item in items.iter() {
        let DeValue::Table(table) = item.get_ref() else {
            wrong_type(item, key, "an array of tables ([[opml]])", problems);
            continue;
        };
        let mut file = None;
        let mut template = FeedConfig {
            name: String::new(),
            url: String::new(),
            interval: None,
            timezone: None,
            tags: Vec::new(),
            enabled: true,
        };
        for (key, value) in table.iter() {
            let key_here = Key {
                name: key.get_ref(),
                section: Section::Opml,
            };
            match key_here.name {
                "path" => {
                    file = read_text(value, key_here, problems).map(|p| (PathBuf::from(p), value))
                }
                "interval" => template.interval = read_duration(value, key_here, problems),
                "timezone" => template.timezone = read_timezone(value, key_here, problems),
                "tags" => set(&mut template.tags, read_tags(value, key_here, problems)),
                "enabled" => set(&mut template.enabled, read_bool(value, key_here, problems)),
                _ => unknown_key(key, Section::Opml, problems),
            }
        }
        let Some((file, value)) = file else {
            if !table.contains_key("path") {
                problems.add(item.span(), "missing key \"path\" in [[opml]]".to_string());
            }
            continue;
        };
        let file = match config_path.parent() {
            Some(dir) if file.is_relative() => dir.join(file),
            _ => file,
        };
        let outlines = match std::fs::read(&file) {
            Err(e) => Err(format!("cannot read OPML file {}: {e}", file.display())),
            Ok(bytes) => crate::opml::parse(&String::from_utf8_lossy(&bytes))
                .map_err(|e| format!("invalid OPML file {}: {e}", file.display())),
        };
        let outlines = match outlines {
            Ok(outlines) => outlines,
            Err(message) => {
                problems.add(value.span(), message);
                continue;
            }
        };
        for outline in outlines {
            let url = match Url::parse(&outline.xml_url) {
                Ok(url) if matches!(url.scheme(), "http" | "https" | "file") => String::from(url),
                _ => {
                    problems.add(
                        value.span(),
                        format!(
                            "{}:{}: invalid feed url {:?} (expected an absolute http, https or file URL)",
                            file.display(),
                            outline.line,
                            outline.xml_url
                        ),
                    );
                    continue;
                }
            };
            let mut tags = outline.categories;
            for tag in &template.tags {
                if !tags.contains(tag) {
                    tags.push(tag.clone());
                }
            }
            // A feed both configured and listed is the configured one; one
            // listed twice (in two folders) is one feed with both tags.
            if let Some(i) = feeds.iter().position(|f| f.url == url) {
                if i >= configured {
                    for tag in tags {
                        if !feeds[i].tags.contains(&tag) {
                            feeds[i].tags.push(tag);
                        }
                    }
                }
                continue;
            }
            feeds.push(FeedConfig {
                name: unique_name(outline.title.as_deref(), &url, feeds),
                url,
                tags,
                ..template.clone()
            });
        }
    }
}

/// A name for a feed read from OPML: its title, else its URL; when another
/// feed has that name, the title with the site's host, else the URL, else
/// the URL numbered.
fn unique_name(title: Option<&str>, url: &str, feeds: &[FeedConfig]) -> String {
    let free = |name: &str| !feeds.iter().any(|f| f.name == name);
    let host = Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string));
    let candidates = [
        title.map(str::to_string),
        title.zip(host).map(|(t, h)| format!("{t} ({h})")),
        Some(url.to_string()),
    ];
    if let Some(name) = candidates.into_iter().flatten().find(|n| free(n)) {
        return name;
    }
    (2..)
        .map(|n| format!("{url} ({n})"))
        .find(|n| free(n))
        .unwrap_or_default()
}

fn unknown_key(
    key: &Spanned<std::borrow::Cow<'_, str>>,
    section: Section,
    problems: &mut Problems,
) {
    let name: &str = key.get_ref();
    let mut message = format!(
        "unknown key {name:?} {} (expected one of {})",
        section.place(),
        section.keys().join(", ")
    );
    if section != Section::Top && Section::Top.keys().contains(&name) {
        message.push_str("; top-level keys must come before the first [table]");
    }
    problems.add(key.span(), message);
}

fn wrong_type(value: &Value, key: Key, expected: &str, problems: &mut Problems) {
    let found = problems.snippet(value.span());
    problems.add(
        value.span(),
        format!("{key} must be {expected}, not {found}"),
    );
}

fn not_positive(value: &Value, key: Key, problems: &mut Problems) {
    let found = problems.snippet(value.span());
    problems.add(
        value.span(),
        format!("{key} must be greater than zero, not {found}"),
    );
}

/// A non-blank string, trimmed.
fn read_text<'v>(value: &'v Value, key: Key, problems: &mut Problems) -> Option<&'v str> {
    match value.get_ref().as_str().map(str::trim) {
        Some("") => {
            problems.add(value.span(), format!("{key} must not be empty"));
            None
        }
        Some(text) => Some(text),
        None => {
            wrong_type(value, key, "a string", problems);
            None
        }
    }
}

fn read_bool(value: &Value, key: Key, problems: &mut Problems) -> Option<bool> {
    let flag = value.get_ref().as_bool();
    if flag.is_none() {
        wrong_type(value, key, "true or false", problems);
    }
    flag
}

/// An integer; `None` (with the problem recorded) for another type or one past `i64`.
fn read_integer(value: &Value, key: Key, expected: &str, problems: &mut Problems) -> Option<i64> {
    let Some(integer) = value.get_ref().as_integer() else {
        wrong_type(value, key, expected, problems);
        return None;
    };
    let parsed = i64::from_str_radix(integer.as_str(), integer.radix()).ok();
    if parsed.is_none() {
        let found = problems.snippet(value.span());
        problems.add(value.span(), format!("{key} is out of range: {found}"));
    }
    parsed
}

/// A count of at least one.
fn read_count(value: &Value, key: Key, problems: &mut Problems) -> Option<usize> {
    let n = read_integer(value, key, "a whole number", problems)?;
    match usize::try_from(n) {
        Ok(n) if n > 0 => Some(n),
        _ => {
            not_positive(value, key, problems);
            None
        }
    }
}

/// A count of zero or more.
fn read_count_or_zero(value: &Value, key: Key, problems: &mut Problems) -> Option<usize> {
    let n = read_integer(value, key, "a whole number", problems)?;
    let count = usize::try_from(n).ok();
    if count.is_none() {
        let found = problems.snippet(value.span());
        problems.add(
            value.span(),
            format!("{key} must be zero or more, not {found}"),
        );
    }
    count
}

/// Integer seconds or a duration string; zero is refused.
fn read_duration(value: &Value, key: Key, problems: &mut Problems) -> Option<Duration> {
    let duration = read_duration_or_zero(value, key, problems)?;
    if duration.is_zero() {
        not_positive(value, key, problems);
        return None;
    }
    Some(duration)
}

/// Integer seconds or a duration string, zero included.
fn read_duration_or_zero(value: &Value, key: Key, problems: &mut Problems) -> Option<Duration> {
    const EXPECTED: &str = "seconds or a duration like \"90s\", \"15m\", \"6h\", \"1h30m\"";
    let duration = match value.get_ref() {
        DeValue::Integer(_) => {
            let seconds = read_integer(value, key, EXPECTED, problems)?;
            Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
        }
        DeValue::String(text) => {
            let Some(duration) = parse_duration(text) else {
                problems.add(
                    value.span(),
                    format!(
                        "invalid duration {text:?} for {key} (expected seconds, or numbers \
                         with units ms, s, m, h, d, w, as in \"90s\", \"15m\", \"1h30m\")"
                    ),
                );
                return None;
            };
            duration
        }
        _ => {
            wrong_type(value, key, EXPECTED, problems);
            return None;
        }
    };
    Some(duration)
}

/// Integer bytes or a size string; zero is refused.
fn read_size(value: &Value, key: Key, problems: &mut Problems) -> Option<u64> {
    const EXPECTED: &str = "bytes or a size like \"512KiB\", \"20MiB\"";
    let size = match value.get_ref() {
        DeValue::Integer(_) => {
            let bytes = read_integer(value, key, EXPECTED, problems)?;
            u64::try_from(bytes).unwrap_or(0)
        }
        DeValue::String(text) => {
            let Some(size) = parse_size(text) else {
                problems.add(
                    value.span(),
                    format!(
                        "invalid size {text:?} for {key} (expected bytes, or a number with \
                         a unit B, kB, MB, GB, KiB, MiB, GiB, as in \"512KiB\", \"20MiB\")"
                    ),
                );
                return None;
            };
            size
        }
        _ => {
            wrong_type(value, key, EXPECTED, problems);
            return None;
        }
    };
    if size == 0 {
        not_positive(value, key, problems);
        return None;
    }
    Some(size)
}

/// An IANA zone name such as `Asia/Shanghai`.
fn read_timezone(value: &Value, key: Key, problems: &mut Problems) -> Option<Tz> {
    let Some(name) = value.get_ref().as_str() else {
        wrong_type(
            value,
            key,
            "an IANA zone name such as \"Asia/Shanghai\"",
            problems,
        );
        return None;
    };
    let zone = name.trim().parse::<Tz>().ok();
    if zone.is_none() {
        problems.add(
            value.span(),
            format!(
                "unknown timezone {name:?} for {key} \
                 (expected an IANA name such as \"Asia/Shanghai\" or \"UTC\")"
            ),
        );
    }
    zone
}

/// An absolute http, https or file URL, in its serialized form.
fn read_url(value: &Value, key: Key, problems: &mut Problems) -> Option<String> {
    let text = read_text(value, key, problems)?;
    match Url::parse(text) {
        Err(error) => {
            problems.add(
                value.span(),
                format!("invalid url {text:?} for {key}: {error}"),
            );
            None
        }
        Ok(url) if !matches!(url.scheme(), "http" | "https" | "file") => {
            problems.add(
                value.span(),
                format!(
                    "unsupported url scheme {:?} in {text:?} (expected http, https or file)",
                    url.scheme()
                ),
            );
            None
        }
        Ok(url) => Some(url.into()),
    }
}

/// An array of non-blank strings, trimmed, repeats dropped.
fn read_tags(value: &Value, key: Key, problems: &mut Problems) -> Option<Vec<String>> {
    let Some(items) = value.get_ref().as_array() else {
        wrong_type(value, key, "an array of strings", problems);
        return None;
    };
    let mut tags: Vec<String> = Vec::new();
    let mut ok = true;
    for item in items.iter() {
        match read_text(item, key, problems) {
            Some(tag) if tags.iter().any(|t| t == tag) => {}
            Some(tag) => tags.push(tag.to_string()),
            None => ok = false,
        }
    }
    ok.then_some(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "config/trawl.toml";

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new(PATH))
    }

    fn ok(text: &str) -> Config {
        parse(text).unwrap_or_else(|e| panic!("expected a valid config, got: {e}"))
    }

    /// `text` is rejected with exactly these problems, in this order; each
    /// expectation is the start of its problem (`path:line: message`).
    fn check(text: &str, expected: &[&str]) {
        let problems = match parse(text) {
            Err(ConfigError::Invalid { problems, .. }) => problems,
            other => panic!("expected problems {expected:?}, got {other:?}"),
        };
        let matches = problems.len() == expected.len()
            && problems.iter().zip(expected).all(|(p, e)| p.starts_with(e));
        assert!(matches, "expected {expected:#?}\ngot {problems:#?}");
    }

    #[test]
    fn daemon_scheduling_keys() {
        let config = ok(
            "[daemon]\nmin_interval = \"1m\"\nmax_interval = \"2h\"\nper_host_gap = 0\n\
             shutdown_timeout = \"3s\"\nlisten = \"127.0.0.1:8035\"\n",
        );
        let d = config.daemon;
        assert_eq!(d.min_interval, Duration::from_secs(60));
        assert_eq!(d.max_interval, Duration::from_secs(7200));
        assert_eq!(
            d.per_host_gap,
            Duration::ZERO,
            "a zero gap turns politeness delays off"
        );
        assert_eq!(d.shutdown_timeout, Duration::from_secs(3));
        assert_eq!(d.listen, Some("127.0.0.1:8035".parse().unwrap()));
        check(
            "[daemon]\nlisten = \"localhost\"\n",
            &["config/trawl.toml:2: invalid address \"localhost\" for \"listen\" in [daemon]"],
        );
        check(
            "[daemon]\nmin_interval = \"2h\"\nmax_interval = \"1h\"\n",
            &["config/trawl.toml:3: \"min_interval\" in [daemon] is longer than \"max_interval\""],
        );
        check(
            "[daemon]\nshutdown_timeout = 0\n",
            &["config/trawl.toml:2: \"shutdown_timeout\" in [daemon] must be greater than zero"],
        );
    }

    #[test]
    fn hostile_feed_limits() {
        let d = DaemonConfig::default();
        assert_eq!(d.max_redirects, 10);
        assert_eq!(d.max_header_bytes, 64 * 1024);
        assert!(!d.allow_private_redirects);
        assert_eq!(d.max_items, 1000);
        assert_eq!(d.max_field_bytes, 1 << 20);
        let config = ok(
            "[daemon]\nmax_redirects = 3\nmax_header_bytes = \"16KiB\"\n\
             allow_private_redirects = true\nmax_items = 50\nmax_field_bytes = \"64KiB\"\n",
        );
        let d = config.daemon;
        assert_eq!(d.max_redirects, 3);
        assert_eq!(d.max_header_bytes, 16 * 1024);
        assert!(d.allow_private_redirects);
        assert_eq!(d.max_items, 50);
        assert_eq!(d.max_field_bytes, 64 * 1024);
        check(
            "[daemon]\nmax_redirects = 0\nmax_header_bytes = \"lots\"\n\
             allow_private_redirects = \"yes\"\nmax_items = -1\nmax_field_bytes = 0\n",
            &[
                "config/trawl.toml:2: \"max_redirects\" in [daemon] must be greater than zero",
                "config/trawl.toml:3: invalid size \"lots\" for \"max_header_bytes\" in [daemon]",
                "config/trawl.toml:4: \"allow_private_redirects\" in [daemon] must be true or false",
                "config/trawl.toml:5: \"max_items\" in [daemon] must be greater than zero",
                "config/trawl.toml:6: \"max_field_bytes\" in [daemon] must be greater than zero",
            ],
        );
    }

    #[test]
    fn defaults() {
        let config = ok("");
        assert_eq!(config.path.as_deref(), Some(Path::new(PATH)));
        assert_eq!(config.timezone, Tz::UTC);
        assert!(config.feeds.is_empty());
        let daemon = &config.daemon;
        assert_eq!(daemon.database, None);
        assert_eq!(daemon.concurrency, 16);
        assert_eq!(daemon.per_host_concurrency, 2);
        assert_eq!(daemon.connect_timeout, Duration::from_secs(10));
        assert_eq!(daemon.timeout, Duration::from_secs(60));
        assert_eq!(daemon.max_feed_bytes, 20 * 1024 * 1024);
        assert_eq!(daemon.user_agent, DEFAULT_USER_AGENT);
        assert_eq!(daemon.default_interval, Duration::from_secs(1800));

        let config = ok("[[feed]]\nurl = \"https://Example.com\"\n");
        let feed = &config.feeds[0];
        assert_eq!(
            feed,
            &FeedConfig {
                name: "https://example.com/".into(),
                url: "https://example.com/".into(),
                interval: None,
                timezone: None,
                tags: vec![],
                enabled: true,
            }
        );
        assert_eq!(config.timezone_of(feed), Tz::UTC);
        assert_eq!(config.interval_of(feed), Duration::from_secs(1800));
    }

    #[test]
    fn every_key() {
        let config = ok(r#"
timezone = "Europe/Moscow"

[daemon]
database = "/var/lib/trawl/trawl.db"
concurrency = 8
per_host_concurrency = 1
connect_timeout = "5s"
timeout = 120
max_feed_bytes = "5MiB"
user_agent = "test/1"
default_interval = "1h"

[[feed]]
name = "China Daily"
url = "https://www.chinadaily.com.cn/rss/world_rss.xml"
interval = "15m"
timezone = "Asia/Shanghai"
tags = ["world", "zh", "world"]
enabled = false

[[feed]]
url = "file:///tmp/feed.xml"
"#);
        assert_eq!(config.timezone, Tz::Europe__Moscow);
        let daemon = &config.daemon;
        assert_eq!(
            daemon.database,
            Some(PathBuf::from("/var/lib/trawl/trawl.db"))
        );
        assert_eq!(daemon.concurrency, 8);
        assert_eq!(daemon.per_host_concurrency, 1);
        assert_eq!(daemon.connect_timeout, Duration::from_secs(5));
        assert_eq!(daemon.timeout, Duration::from_secs(120));
        assert_eq!(daemon.max_feed_bytes, 5 << 20);
        assert_eq!(daemon.user_agent, "test/1");
        assert_eq!(daemon.default_interval, Duration::from_secs(3600));
        let feed = &config.feeds[0];
        assert_eq!(feed.name, "China Daily");
        assert_eq!(feed.interval, Some(Duration::from_secs(900)));
        assert_eq!(feed.timezone, Some(Tz::Asia__Shanghai));
        assert_eq!(feed.tags, ["world", "zh"]);
        assert!(!feed.enabled);
        assert_eq!(config.interval_of(feed), Duration::from_secs(900));
        assert_eq!(config.timezone_of(&config.feeds[1]), Tz::Europe__Moscow);
        assert_eq!(config.feeds[1].url, "file:///tmp/feed.xml");

        let by_url = config.feed("HTTPS://www.chinadaily.com.cn/rss/world_rss.xml");
        assert_eq!(by_url.map(|f| f.name.as_str()), Some("China Daily"));
        assert_eq!(config.feed("China Daily"), by_url);
        assert_eq!(config.feed("nope"), None);
    }

    #[test]
    fn durations() {
        let ms = Duration::from_millis;
        let s = Duration::from_secs;
        for (text, want) in [
            ("90", Some(s(90))),
            ("500ms", Some(ms(500))),
            ("30s", Some(s(30))),
            ("15m", Some(s(900))),
            ("6h", Some(s(21_600))),
            ("1d", Some(s(86_400))),
            ("2w", Some(s(1_209_600))),
            ("1h30m", Some(s(5_400))),
            ("1h 30m", Some(s(5_400))),
            (" 2 m ", Some(s(120))),
            ("1m30s250ms", Some(ms(90_250))),
            ("", None),
            ("m", None),
            ("15", Some(s(15))),
            ("15 minutes", None),
            ("1.5h", None),
            ("-5s", None),
            ("10y", None),
            ("99999999999999999999s", None),
        ] {
            assert_eq!(parse_duration(text), want, "{text:?}");
        }
        // Through the config: integers are seconds.
        let config = ok("[daemon]\ntimeout = 45\nconnect_timeout = \"1500ms\"\n");
        assert_eq!(config.daemon.timeout, s(45));
        assert_eq!(config.daemon.connect_timeout, ms(1500));
    }

    #[test]
    fn sizes() {
        for (text, want) in [
            ("1024", Some(1024)),
            ("1kB", Some(1_000)),
            ("10MB", Some(10_000_000)),
            ("1GB", Some(1_000_000_000)),
            ("512KiB", Some(512 * 1024)),
            ("20MiB", Some(20 << 20)),
            ("20 MiB", Some(20 << 20)),
            ("20mib", Some(20 << 20)),
            ("1GiB", Some(1 << 30)),
            ("7B", Some(7)),
            ("", None),
            ("MiB", None),
            ("1.5MiB", None),
            ("20 megs", None),
            ("99999999999GiB", None),
        ] {
            assert_eq!(parse_size(text), want, "{text:?}");
        }
        let config = ok("[daemon]\nmax_feed_bytes = 1_048_576\n");
        assert_eq!(config.daemon.max_feed_bytes, 1 << 20);
        let config = ok("[daemon]\nmax_feed_bytes = \"1GiB\"\n");
        assert_eq!(config.daemon.max_feed_bytes, 1 << 30);
    }

    #[test]
    fn unknown_keys_name_file_line_and_key() {
        check(
            "timezone = \"UTC\"\nfeeds = []\n",
            &[
                "config/trawl.toml:2: unknown key \"feeds\" at the top level \
                 (expected one of timezone, daemon, feed, opml)",
            ],
        );
        check(
            "[daemon]\nconcurrency = 4\nconcurency = 4\n",
            &[
                "config/trawl.toml:3: unknown key \"concurency\" in [daemon] (expected one of database,",
            ],
        );
        check(
            "[[feed]]\nurl = \"https://a.example/\"\n\n[[feed]]\nurl = \"https://b.example/\"\nintervall = \"1h\"\n",
            &[
                "config/trawl.toml:6: unknown key \"intervall\" in [[feed]] \
               (expected one of name, url, interval, timezone, tags, enabled)",
            ],
        );
        // A top-level key written after a table header lands in that table.
        check(
            "[daemon]\ntimezone = \"UTC\"\n",
            &[
                "config/trawl.toml:2: unknown key \"timezone\" in [daemon] (expected one of \
               database, concurrency, per_host_concurrency, connect_timeout, timeout, \
               max_feed_bytes, user_agent, default_interval, min_interval, max_interval, per_host_gap, \
               shutdown_timeout, listen, admin_token, near_duplicate_window, \
               near_duplicate_distance, near_duplicate_min_words, max_revisions, retention, \
               max_redirects, max_header_bytes, \
               allow_private_redirects, max_items, max_field_bytes); top-level keys must come \
               before the first [table]",
            ],
        );
        // Dotted keys and inline tables are tables too.
        check(
            "[daemon]\nlimits.per_host = 2\n",
            &["config/trawl.toml:2: unknown key \"limits\" in [daemon]"],
        );
        check(
            "feed = [{ url = \"https://a.example/\", tag = \"x\" }]\n",
            &["config/trawl.toml:1: unknown key \"tag\" in [[feed]]"],
        );
    }

    #[test]
    fn bad_values() {
        check(
            "timezone = \"Asia/Peking\"\n",
            &[
                "config/trawl.toml:1: unknown timezone \"Asia/Peking\" for \"timezone\" \
               at the top level (expected an IANA name",
            ],
        );
        check(
            "[[feed]]\nurl = \"https://a.example/\"\ntimezone = \"CST\"\n",
            &["config/trawl.toml:3: unknown timezone \"CST\" for \"timezone\" in [[feed]]"],
        );
        check(
            "[daemon]\ntimeout = \"15 minutes\"\nmax_feed_bytes = \"20 megs\"\n",
            &[
                "config/trawl.toml:2: invalid duration \"15 minutes\" for \"timeout\" in [daemon] (expected",
                "config/trawl.toml:3: invalid size \"20 megs\" for \"max_feed_bytes\" in [daemon] (expected",
            ],
        );
        check(
            "[daemon]\nconcurrency = 0\nper_host_concurrency = -1\ntimeout = \"0s\"\nmax_feed_bytes = 0\n",
            &[
                "config/trawl.toml:2: \"concurrency\" in [daemon] must be greater than zero, not 0",
                "config/trawl.toml:3: \"per_host_concurrency\" in [daemon] must be greater than zero, not -1",
                "config/trawl.toml:4: \"timeout\" in [daemon] must be greater than zero, not \"0s\"",
                "config/trawl.toml:5: \"max_feed_bytes\" in [daemon] must be greater than zero, not 0",
            ],
        );
        check(
            "[daemon]\nconcurrency = \"16\"\nuser_agent = \"  \"\ntimeout = 1.5\n",
            &[
                "config/trawl.toml:2: \"concurrency\" in [daemon] must be a whole number, not \"16\"",
                "config/trawl.toml:3: \"user_agent\" in [daemon] must not be empty",
                "config/trawl.toml:4: \"timeout\" in [daemon] must be seconds or a duration like",
            ],
        );
        check(
            "[[feed]]\nurl = \"ftp://a.example/feed\"\n[[feed]]\nurl = \"www.b.example/rss\"\n\
             [[feed]]\nname = \"c\"\n[[feed]]\nurl = \"https://d.example/\"\nenabled = \"yes\"\ntags = [\"x\", 1]\n",
            &[
                "config/trawl.toml:2: unsupported url scheme \"ftp\" in \"ftp://a.example/feed\" \
                 (expected http, https or file)",
                "config/trawl.toml:4: invalid url \"www.b.example/rss\" for \"url\" in [[feed]]: \
                 relative URL without a base",
                "config/trawl.toml:5: missing key \"url\" in [[feed]]",
                "config/trawl.toml:9: \"enabled\" in [[feed]] must be true or false, not \"yes\"",
                "config/trawl.toml:10: \"tags\" in [[feed]] must be a string, not 1",
            ],
        );
        check(
            "[feed]\nurl = \"https://a.example/\"\n",
            &[
                "config/trawl.toml:1: \"feed\" at the top level must be an array of tables ([[feed]]), not [feed]",
            ],
        );
        check(
            "daemon = 3\n",
            &["config/trawl.toml:1: \"daemon\" at the top level must be a table ([daemon]), not 3"],
        );
    }

    #[test]
    fn duplicate_feeds() {
        check(
            r#"
[[feed]]
name = "bbc"
url = "https://feeds.bbci.co.uk/news/world/rss.xml"

[[feed]]
name = "bbc"
url = "https://feeds.bbci.co.uk/news/rss.xml"

[[feed]]
name = "bbc again"
url = "https://FEEDS.bbci.co.uk/news/world/rss.xml"

[[feed]]
url = "https://feeds.bbci.co.uk/news/rss.xml"
"#,
            &[
                "config/trawl.toml:7: duplicate feed name \"bbc\" (first used on line 3)",
                "config/trawl.toml:12: duplicate feed url \
                 \"https://feeds.bbci.co.uk/news/world/rss.xml\" (first used on line 4)",
                // Said once: the defaulted name repeats only because the url does.
                "config/trawl.toml:15: duplicate feed url \
                 \"https://feeds.bbci.co.uk/news/rss.xml\" (first used on line 8)",
            ],
        );
    }

    #[test]
    fn every_problem_reported_together() {
        check(
            r#"timezone = "Mars/Olympus"

[daemon]
concurrency = 0
timeout = "soon"
colour = "blue"

[[feed]]
name = "a"
url = "https://a.example/rss"
intervall = "1h"

[[feed]]
name = "a"
url = "gopher://b.example/"
interval = "1 fortnight"
"#,
            &[
                "config/trawl.toml:1: unknown timezone \"Mars/Olympus\"",
                "config/trawl.toml:4: \"concurrency\" in [daemon] must be greater than zero",
                "config/trawl.toml:5: invalid duration \"soon\" for \"timeout\" in [daemon]",
                "config/trawl.toml:6: unknown key \"colour\" in [daemon]",
                "config/trawl.toml:11: unknown key \"intervall\" in [[feed]]",
                "config/trawl.toml:15: unsupported url scheme \"gopher\"",
                "config/trawl.toml:16: invalid duration \"1 fortnight\" for \"interval\" in [[feed]]",
            ],
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        check(
            "[daemon]\nconcurrency = 4\ntimeout = 60s\n",
            &["config/trawl.toml:3: syntax error: "],
        );
        check(
            "[daemon]\nconcurrency = 4\nconcurrency = 8\n",
            &["config/trawl.toml:3: syntax error: duplicate key at \"concurrency\""],
        );
        check("\n\n[daemon\n", &["config/trawl.toml:3: syntax error: "]);
        // The whole message, as the CLI prints it.
        let error = parse("x = \n").unwrap_err().to_string();
        assert!(
            error.starts_with(
                "invalid config config/trawl.toml:\nconfig/trawl.toml:1: syntax error: "
            ),
            "{error}"
        );
    }

    #[test]
    fn near_duplicate_revision_and_retention_keys() {
        let d = DaemonConfig::default();
        assert_eq!(d.near_duplicate_window, Duration::from_secs(7 * 86_400));
        assert_eq!(d.near_duplicate_distance, 6);
        assert_eq!(d.near_duplicate_min_words, 40);
        assert_eq!(d.max_revisions, 20);
        assert_eq!(d.retention, None, "retention is off by default");
        let d = ok(
            "[daemon]\nnear_duplicate_window = \"2d\"\nnear_duplicate_distance = 0\n\
             near_duplicate_min_words = 0\nmax_revisions = 0\nretention = \"365d\"\n",
        )
        .daemon;
        assert_eq!(d.near_duplicate_window, Duration::from_secs(2 * 86_400));
        assert_eq!(d.near_duplicate_distance, 0);
        assert_eq!(d.near_duplicate_min_words, 0);
        assert_eq!(d.max_revisions, 0);
        assert_eq!(d.retention, Some(Duration::from_secs(365 * 86_400)));
        check(
            "[daemon]\nnear_duplicate_window = 0\nnear_duplicate_distance = 8\n\
             near_duplicate_min_words = -1\nmax_revisions = \"20\"\nretention = \"forever\"\n",
            &[
                "config/trawl.toml:2: \"near_duplicate_window\" in [daemon] must be greater than zero",
                "config/trawl.toml:3: \"near_duplicate_distance\" in [daemon] must be from 0 to 7 (bits of 64), not 8",
                "config/trawl.toml:4: \"near_duplicate_min_words\" in [daemon] must be zero or more, not -1",
                "config/trawl.toml:5: \"max_revisions\" in [daemon] must be a whole number, not \"20\"",
                "config/trawl.toml:6: invalid duration \"forever\" for \"retention\" in [daemon]",
            ],
        );
    }

    /// A config at `dir/trawl.toml` with `text`, read from disk.
    fn load_in(dir: &Path, text: &str) -> Result<Config, ConfigError> {
        let path = dir.join("trawl.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(&path)
    }

    #[test]
    fn opml_tables_add_the_feeds_of_their_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("lists")).unwrap();
        std::fs::write(
            dir.path().join("lists/subs.opml"),
            r#"<?xml version="1.0"?>
<opml version="2.0"><head><title>subs</title></head><body>
  <outline text="News">
    <outline text="World">
      <outline type="rss" text="BBC World" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
    </outline>
    <outline type="rss" title="Configured" text="x" xmlUrl="https://a.example/feed"/>
    <outline type="rss" text="a" xmlUrl="https://other.example/feed"/>
  </outline>
  <outline type="rss" xmlUrl="https://untitled.example/rss"/>
</body></opml>"#,
        )
        .unwrap();
        let config = load_in(
            dir.path(),
            "[[feed]]\nname = \"a\"\nurl = \"https://a.example/feed\"\n\n\
             [[opml]]\npath = \"lists/subs.opml\"\ntags = [\"imported\"]\ninterval = \"1h\"\n",
        )
        .unwrap();
        let feeds: Vec<(&str, &str, Vec<&str>)> = config
            .feeds
            .iter()
            .map(|f| {
                (
                    f.name.as_str(),
                    f.url.as_str(),
                    f.tags.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            feeds,
            [
                ("a", "https://a.example/feed", vec![]),
                (
                    "BBC World",
                    "https://feeds.bbci.co.uk/news/world/rss.xml",
                    vec!["News", "World", "imported"]
                ),
                // "a" is taken: the title gets the host.
                (
                    "a (other.example)",
                    "https://other.example/feed",
                    vec!["News", "imported"]
                ),
                (
                    "https://untitled.example/rss",
                    "https://untitled.example/rss",
                    vec!["imported"]
                ),
            ],
            "a feed both configured and listed appears once, as configured"
        );
        assert_eq!(config.feeds[1].interval, Some(Duration::from_secs(3600)));
        assert_eq!(config.feeds[0].interval, None);

        // Problems name the config line, the file and the outline's line.
        let err = load_in(
            dir.path(),
            "[[opml]]\npath = \"missing.opml\"\n[[opml]]\nfile = \"x\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("trawl.toml:2: cannot read OPML file"), "{err}");
        assert!(
            err.contains("trawl.toml:4: unknown key \"file\" in [[opml]]"),
            "{err}"
        );
        assert!(
            err.contains("trawl.toml:3: missing key \"path\" in [[opml]]"),
            "{err}"
        );
        std::fs::write(
            dir.path().join("bad.opml"),
            "<opml><body>\n<outline xmlUrl=\"feeds.example/rss\"/>\n</body></opml>",
        )
        .unwrap();
        let err = load_in(dir.path(), "[[opml]]\npath = \"bad.opml\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("trawl.toml:2: ")
                && err.contains("bad.opml:2: invalid feed url \"feeds.example/rss\""),
            "{err}"
        );
        std::fs::write(dir.path().join("rss.opml"), "<rss><channel/></rss>").unwrap();
        let err = load_in(dir.path(), "[[opml]]\npath = \"rss.opml\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not an OPML document (its root element is <rss>)"),
            "{err}"
        );
    }

    #[test]
    fn shipped_config() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/trawl.toml");
        let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let enabled: Vec<&FeedConfig> = config.feeds.iter().filter(|f| f.enabled).collect();
        assert!(enabled.len() >= 12, "only {} enabled feeds", enabled.len());
        let mut names: Vec<&str> = config.feeds.iter().map(|f| f.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), config.feeds.len(), "feed names repeat");
        assert!(
            config
                .feeds
                .iter()
                .any(|f| f.timezone == Some(Tz::Asia__Shanghai)),
            "no feed reads zone-less dates as Asia/Shanghai"
        );
        // The [daemon] values shown are the defaults.
        let shown = &config.daemon;
        let default = DaemonConfig::default();
        assert_eq!(shown.concurrency, default.concurrency);
        assert_eq!(shown.per_host_concurrency, default.per_host_concurrency);
        assert_eq!(shown.connect_timeout, default.connect_timeout);
        assert_eq!(shown.timeout, default.timeout);
        assert_eq!(shown.max_feed_bytes, default.max_feed_bytes);
        assert_eq!(shown.default_interval, default.default_interval);
    }
}
