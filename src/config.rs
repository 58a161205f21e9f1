//! Reads and validates `trawl.toml`: the daemon settings and the list of feeds.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;

/// The whole configuration, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from (for messages), if any.
    pub path: Option<PathBuf>,
    pub daemon: DaemonConfig,
    /// Zone for feeds that set none; UTC when absent.
    pub timezone: Tz,
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
}

/// One `[[feed]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedConfig {
    /// Unique among the feeds; defaults to the URL.
    pub name: String,
    pub url: String,
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
    pub fn parse(_text: &str, _path: &Path) -> Result<Config, ConfigError> {
        todo!("config parsing")
    }

    /// The zone for zone-less dates of `feed`.
    pub fn timezone_of(&self, feed: &FeedConfig) -> Tz {
        feed.timezone.unwrap_or(self.timezone)
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
