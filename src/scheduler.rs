//! When each feed is fetched next, and how politely each site is asked.
//!
//! Two halves:
//!
//! - **Policy** ([`next_fetch`] and the pieces it is built from) is pure: the
//!   feed's history, the hints it sent, `now` and a random fraction come in; a
//!   due time comes out. No clock, no I/O, no randomness of its own, so every
//!   rule has a table test. [`random_fraction`] gives the daemon a
//!   deterministic fraction without a random-number crate.
//! - **Politeness** ([`Politeness`]) is the runtime half: at most N requests at
//!   once per site and a minimum gap between request starts, where a site is a
//!   registrable domain ([`site_of`]), and a `Retry-After` from one host pauses
//!   the whole site.
//!
//! # The rules, in order
//!
//! 1. `410 Gone` disables the feed: [`next_fetch`] returns `None`.
//! 2. The normal interval is the feed's configured `interval` when set (used
//!    as given: the operator knows that feed), else [`adaptive_interval`] of
//!    its recent publish times, slowed down further while the feed is quiet,
//!    within `[min_interval, max_interval]`.
//! 3. After a failure the wait is [`backoff`]: doubling from `min_interval`,
//!    up to the longest interval the feed may have. A feed failing for ever is
//!    tried at that longest interval for ever; it is never dropped.
//! 4. Floors: never poll more often than the feed asks ([`Hints::floor`]),
//!    and never sooner than a `Retry-After`. A floor is capped at the longest
//!    interval, so a cache header of a year cannot park a feed for a year:
//!    `max_interval` is the operator's promise that every feed is looked at.
//! 5. Jitter: the wait is spread over ±`jitter` of itself, shifted to stay
//!    within the floor and the longest interval, so feeds added together drift
//!    apart instead of polling in lockstep.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// The bounds of every feed's schedule (`[daemon]` settings).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Shortest interval an unconfigured feed gets; also where backoff starts.
    pub min_interval: Duration,
    /// Longest interval any feed waits, failing or quiet.
    pub max_interval: Duration,
    /// Spread of each wait as a fraction of it: 0.1 is ±10 %.
    pub jitter: f64,
    /// The interval of an unconfigured feed with too little history to
    /// judge its publishing rate (`[daemon] default_interval`).
    pub initial_interval: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            min_interval: Duration::from_secs(5 * 60),
            max_interval: Duration::from_secs(24 * 60 * 60),
            jitter: 0.1,
            initial_interval: NO_DATA_INTERVAL,
        }
    }
}

/// What the feed and its server said about how often to ask: each one is a
/// floor under the interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hints {
    /// RSS `<ttl>` (given in minutes in the feed).
    pub ttl: Option<Duration>,
    /// `sy:updatePeriod` / `sy:updateFrequency`, see [`sy_update_period`].
    pub update_period: Option<Duration>,
    /// `Cache-Control: max-age`, see [`parse_cache_control_max_age`].
    pub max_age: Option<Duration>,
    /// HTTP `Expires`, see [`parse_http_date`].
    pub expires: Option<DateTime<Utc>>,
}

impl Hints {
    /// The longest of the waits the feed asks for, counted from `now`.
    ///
    /// As in HTTP caching, `max-age` overrides `Expires` when both are sent:
    /// servers often send a stale or far-future `Expires` beside the
    /// `max-age` they mean. An `Expires` in the past asks for nothing.
    pub fn floor(&self, now: DateTime<Utc>) -> Option<Duration> {
        let expires = || {
            self.expires
                .and_then(|at| (at - now).to_std().ok())
                .filter(|d| !d.is_zero())
        };
        let http = self.max_age.or_else(expires);
        [self.ttl, self.update_period, http]
            .into_iter()
            .flatten()
            .max()
    }
}

/// How the last fetch of a feed ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastOutcome {
    /// A document came back (new articles or not).
    Success,
    /// `304 Not Modified`.
    NotModified,
    /// Any failure: network, HTTP error status, unparseable body.
    /// `retry_after` is the server's `Retry-After` (on 429 and 503).
    Failure { retry_after: Option<Duration> },
    /// `410 Gone`: the feed is disabled.
    Gone,
}

/// The default [`Policy::initial_interval`]: the interval of a feed with too little history to judge (fewer than
/// [`MIN_TIMES`] distinct publish times): hourly is frequent enough for a news
/// feed to be caught up within the hour, and rare enough that a thousand new
/// feeds cost a request every few seconds.
const NO_DATA_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// How many of the newest gaps [`adaptive_interval`] looks at: enough for the
/// median to ignore a burst or a holiday, few enough to follow a feed that
/// changes pace within days.
const RECENT_GAPS: usize = 20;

/// Distinct publish times needed before their gaps mean anything: two gaps,
/// so that one pair of items posted together cannot pin a feed at
/// `min_interval`.
const MIN_TIMES: usize = 3;

/// While a feed is quiet, its interval is at least the quiet time divided by
/// this: the first article after a silence of `q` is found within about
/// `q / 8`, and a feed that died after a burst drifts to `max_interval` within
/// eight days instead of being polled at its burst rate for ever.
const QUIET_DIVISOR: u32 = 8;

/// Resolves RSS 1.0 `sy:updatePeriod` (`hourly`, `daily`, `weekly`, `monthly`,
/// `yearly`, any case) and `sy:updateFrequency` (times per period; missing or
/// 0 means 1, the module's default) to the gap between updates.
///
/// A month is 30 days and a year 365. An unknown or empty period is no hint:
/// `None`. (The module's default period is `daily`; a caller that saw only a
/// frequency passes `"daily"`.)
pub fn sy_update_period(period: &str, frequency: Option<u32>) -> Option<Duration> {
    const DAY: u64 = 24 * 60 * 60;
    let units = [
        ("hourly", 60 * 60),
        ("daily", DAY),
        ("weekly", 7 * DAY),
        ("monthly", 30 * DAY),
        ("yearly", 365 * DAY),
    ];
    let period = period.trim();
    let (_, secs) = units
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(period))?;
    let times = frequency.filter(|&f| f > 0).unwrap_or(1);
    Some(Duration::from_secs(secs) / times)
}

/// The `max-age` directive of a `Cache-Control` header, if it has a valid one.
///
/// Other directives (`no-cache`, `private`, `s-maxage`, …) are ignored: they
/// are about what a cache may keep, not about how often to ask. The first
/// valid `max-age` wins; a value too large for a `u64` is the largest one.
pub fn parse_cache_control_max_age(header: &str) -> Option<Duration> {
    header.split(',').find_map(|directive| {
        let (name, value) = directive.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("max-age") {
            return None;
        }
        delta_seconds(value.trim().trim_matches('"'))
    })
}

/// Parses an HTTP date in any of the three forms HTTP allows: IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850 (`Sunday, 06-Nov-94 08:49:37
/// GMT`) and asctime (`Sun Nov  6 08:49:37 1994`); RFC 2822 with a numeric
/// zone is accepted too.
///
/// The weekday is not checked against the date: a wrong one is a sloppy
/// server, not a different time. RFC 850's two-digit years follow chrono's
/// `%y` (69–99 → 19xx, 00–68 → 20xx) since this function reads no clock.
pub fn parse_http_date(s: &str) -> Option<DateTime<Utc>> {
    let words: Vec<&str> = s.split_whitespace().collect();
    let rest = |from: usize| words.get(from..).map(|w| w.join(" "));
    let naive = |text: &str, formats: &[&str]| {
        formats
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    };
    let first = words.first()?;
    let found = if first.ends_with(',') {
        // IMF-fixdate or RFC 850: the weekday, a comma, then the date.
        naive(
            &rest(1)?,
            &[
                "%d %b %Y %H:%M:%S GMT",
                "%d-%b-%y %H:%M:%S GMT",
                "%d %b %Y %H:%M:%S UTC",
                "%d-%b-%Y %H:%M:%S GMT",
            ],
        )
    } else {
        // asctime: `Sun Nov 6 08:49:37 1994` once the spaces are collapsed.
        naive(&rest(1)?, &["%b %d %H:%M:%S %Y"])
    };
    match found {
        Some(t) => Some(t.and_utc()),
        None => DateTime::parse_from_rfc2822(&words.join(" "))
            .ok()
            .map(|t| t.with_timezone(&Utc)),
    }
}

/// Parses `Retry-After`: delta-seconds or an HTTP date. A date in the past is
/// a wait of zero; anything else unreadable (`-5`, `1.5`, text) is `None`.
pub fn parse_retry_after(s: &str, now: DateTime<Utc>) -> Option<Duration> {
    let s = s.trim();
    if let Some(d) = delta_seconds(s) {
        return Some(d);
    }
    let at = parse_http_date(s)?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// HTTP delta-seconds: ASCII digits only; too many of them is the largest
/// wait, not an error.
fn delta_seconds(s: &str) -> Option<Duration> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Duration::from_secs(s.parse().unwrap_or(u64::MAX)))
}

/// How often a feed with no configured interval is polled, judged from when
/// it publishes: the median gap between its newest distinct publish times
/// (at most 20 gaps), clamped to `[min_interval, max_interval]`.
///
/// The median, not the mean, so that one long silence (a weekend) or one
/// burst (ten items posted at once) does not swing the schedule; about one
/// poll per new article. Identical times count once: a feed that stamps every
/// item with its build time tells nothing about its pace. With fewer than
/// three distinct times the interval is an hour, clamped likewise.
///
/// This reads no clock, so it cannot see that a feed has gone quiet;
/// [`next_fetch`] adds that.
pub fn adaptive_interval(publish_times: &[DateTime<Utc>], policy: &Policy) -> Duration {
    let mut times = publish_times.to_vec();
    times.sort_unstable_by(|a, b| b.cmp(a));
    times.dedup();
    times.truncate(RECENT_GAPS + 1);
    if times.len() < MIN_TIMES {
        return bound(
            policy.initial_interval,
            policy.min_interval,
            policy.max_interval,
        );
    }
    let mut gaps: Vec<Duration> = times
        .windows(2)
        .map(|w| (w[0] - w[1]).to_std().unwrap_or_default())
        .collect();
    gaps.sort_unstable();
    let mid = gaps.len() / 2;
    let median = if gaps.len().is_multiple_of(2) {
        (gaps[mid - 1] + gaps[mid]) / 2
    } else {
        gaps[mid]
    };
    bound(median, policy.min_interval, policy.max_interval)
}

/// The wait after `consecutive_failures` failures in a row: `min_interval`
/// (at least a second) doubled for each failure after the first, capped at
/// `max_interval`, then jittered by `policy.jitter` as every wait is (see
/// [`next_fetch`]); the result stays within `[min_interval, max_interval]`.
///
/// Not "full jitter" (anywhere in `[0, wait]`): that can retry a dead server
/// at once and gives no backoff guarantee. What the spread is for here is only
/// to keep feeds apart, and the ±fraction used for every other wait does that
/// while keeping the doubling.
pub fn backoff(consecutive_failures: u32, policy: &Policy, rand: f64) -> Duration {
    let wait = doubled(
        consecutive_failures,
        policy.min_interval,
        policy.max_interval,
    );
    spread(
        wait,
        policy.min_interval,
        policy.max_interval,
        policy.jitter,
        rand,
    )
}

/// `base` doubled `failures - 1` times, capped at `cap`.
fn doubled(failures: u32, base: Duration, cap: Duration) -> Duration {
    let base = base.max(Duration::from_secs(1));
    let doublings = failures.saturating_sub(1);
    base.saturating_mul(2u32.saturating_pow(doublings)).min(cap)
}

/// When to fetch a feed next, after a fetch at `now` that ended with `last`.
/// `None` means never: the feed is gone (410).
///
/// - `configured`: the feed's own `interval`, used as given (not clamped to
///   the policy: the operator chose it), though the feed's floors still apply
///   and its longest wait is `max(configured, max_interval)`.
/// - `publish_times`: the feed's recent publish times (first-seen times where
///   an entry has no date), for [`adaptive_interval`]. The interval is also
///   at least an eighth of the time since the newest of them, up to
///   `max_interval`: a feed that has gone quiet is asked less often.
/// - `failures`: consecutive failures including this one; read only when
///   `last` is a failure (and then taken as at least 1).
/// - `rand`: a fraction in `[0, 1)`, e.g. [`random_fraction`]; it places the
///   time within the jitter window.
///
/// The rules and their order are in the module docs.
// The arguments are the rule list itself; a struct bundling them would only
// be unpacked again here.
#[allow(clippy::too_many_arguments)]
pub fn next_fetch(
    now: DateTime<Utc>,
    configured: Option<Duration>,
    publish_times: &[DateTime<Utc>],
    hints: &Hints,
    failures: u32,
    last: &LastOutcome,
    policy: &Policy,
    rand: f64,
) -> Option<DateTime<Utc>> {
    let (normal, shortest, longest) = match configured {
        Some(c) => (c, Duration::ZERO, c.max(policy.max_interval)),
        None => (
            quiet_adjusted(now, publish_times, policy),
            policy.min_interval,
            policy.max_interval,
        ),
    };
    let floor = hints.floor(now).unwrap_or_default().min(longest);
    let (target, lowest) = match *last {
        LastOutcome::Gone => return None,
        LastOutcome::Success | LastOutcome::NotModified => (normal, shortest.max(floor)),
        LastOutcome::Failure { retry_after } => {
            let retry_after = retry_after.unwrap_or_default().min(longest);
            let wait = doubled(failures.max(1), policy.min_interval, longest);
            (wait, shortest.max(floor).max(retry_after))
        }
    };
    let wait = spread(target, lowest, longest, policy.jitter, rand);
    Some(later(now, wait))
}

/// [`adaptive_interval`], slowed down while the feed has been quiet.
fn quiet_adjusted(now: DateTime<Utc>, times: &[DateTime<Utc>], policy: &Policy) -> Duration {
    let interval = adaptive_interval(times, policy);
    let Some(newest) = times.iter().max() else {
        return interval;
    };
    let quiet = (now - *newest).to_std().unwrap_or_default();
    bound(
        interval.max(quiet / QUIET_DIVISOR),
        policy.min_interval,
        policy.max_interval,
    )
}

/// How long after start-up a never-fetched feed is first fetched: a
/// deterministic point in `[0, spread)` from its id, so a thousand new feeds
/// do not all start at once and a restart puts each one at the same point.
pub fn first_fetch_delay(feed_id: i64, spread: Duration) -> Duration {
    scale(spread, fraction(splitmix64(feed_id as u64)))
}

/// A fraction in `[0, 1)` for the jitter of `feed_id`'s fetch at `now`:
/// deterministic (a test or a log can replay it), different for every feed and
/// every fetch.
pub fn random_fraction(feed_id: i64, now: DateTime<Utc>) -> f64 {
    let time = now.timestamp_micros() as u64;
    fraction(splitmix64(splitmix64(feed_id as u64) ^ time))
}

/// SplitMix64: one well-mixed 64-bit value per input.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The top 53 bits of `x` as a fraction in `[0, 1)`.
fn fraction(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Places `target` within ±`jitter` of itself by `rand`, with the window
/// shifted or cut to stay within `[lowest, longest]`: at a bound the spread
/// goes one way only, and when the bounds meet there is none.
fn spread(
    target: Duration,
    lowest: Duration,
    longest: Duration,
    jitter: f64,
    rand: f64,
) -> Duration {
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let rand = if rand.is_nan() {
        0.5
    } else {
        rand.clamp(0.0, 1.0)
    };
    let target = bound(target, lowest, longest);
    let width = scale(target, jitter);
    let low = target.saturating_sub(width).max(lowest);
    let high = target.saturating_add(width).min(longest.max(lowest));
    low + scale(high.saturating_sub(low), rand)
}

/// `d` clamped to `[lo, hi]`; `lo` wins if the bounds cross (where
/// `Duration::clamp` would panic).
fn bound(d: Duration, lo: Duration, hi: Duration) -> Duration {
    d.min(hi).max(lo)
}

/// `d × f` for `f` in `[0, 1]`, saturating instead of panicking.
fn scale(d: Duration, f: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * f)
        .unwrap_or(Duration::MAX)
        .min(d)
}

/// `now + wait`, saturating at the end of time rather than failing.
fn later(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(wait)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The site a host belongs to: its registrable domain by the public suffix
/// list (`a.example.co.uk` → `example.co.uk`). IP addresses, `localhost` and
/// names that are themselves a public suffix are their own site. Case and a
/// trailing dot do not matter.
///
/// Private suffixes count too: `alice.github.io` and `bob.github.io` are two
/// sites, as the list's maintainers intend.
pub fn site_of(host: &str) -> String {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    site_key(&host).to_owned()
}

/// [`site_of`] for a host that is already lower case, without allocating.
fn site_key(host: &str) -> &str {
    if host.starts_with('[') || host == "localhost" || host.parse::<IpAddr>().is_ok() {
        return host;
    }
    psl::domain_str(host).unwrap_or(host)
}

/// The lower-case host of `url`, borrowed from it when the URL is a plain
/// `http(s)://host[:port]/…` with an ASCII lower-case name or a dotted-quad
/// address (nearly every feed), so the common acquire allocates nothing.
/// Anything else goes through the `url` crate, which also normalizes
/// (IDNA, percent-encoding, odd IPv4 forms) the way the fetcher will.
/// `None` for URLs without a host (`file:`), which have no site to spare.
fn host_of(url: &str) -> Option<Cow<'_, str>> {
    if let Some(host) = plain_host(url) {
        return Some(Cow::Borrowed(host));
    }
    let parsed = url::Url::parse(url).ok()?;
    let host = match parsed.host()? {
        url::Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => format!("[{ip}]"),
    };
    (!host.is_empty()).then_some(Cow::Owned(host))
}

/// The host of a plain URL (see [`host_of`]), or `None` to take the slow path.
fn plain_host(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = &rest[..rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len())];
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        Some(_) => return None,
        None => authority,
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    let plain = host
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if host.is_empty() || !plain {
        return None;
    }
    // A name whose last label starts with a digit is an IPv4 address to the
    // URL standard; only the canonical dotted quad is taken as it stands.
    let last = host.rsplit('.').next()?;
    if last.starts_with(|c: char| c.is_ascii_digit()) && host.parse::<Ipv4Addr>().is_err() {
        return None;
    }
    Some(host)
}

/// Politeness per site: at most `per_site_concurrency` requests at once and
/// at least `min_gap` between request starts on one site, and a pause on a
/// whole site when one of its hosts asks for it.
///
/// Each site waits on its own state; the map of sites is locked only for a
/// lookup, never across an await, so one slow or paused site never holds up
/// another. An acquire is a map lookup plus the site's own semaphore and
/// mutex: O(1), and no allocation except the first time a site is seen.
/// Sites stay in the map: one small entry per site ever fetched, bounded by
/// the feeds configured.
///
/// Take the site's permit before a global one (as `ingest` does with its
/// per-host semaphore), so that a task waiting on a busy or paused site does
/// not sit on a global slot; the gap is then between the moments each task
/// was let onto its site.
#[derive(Debug, Clone)]
pub struct Politeness {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    per_site: usize,
    min_gap: Duration,
    sites: Mutex<HashMap<Box<str>, Arc<Site>>>,
}

/// The state of one site.
#[derive(Debug)]
struct Site {
    /// Requests in flight.
    slots: Semaphore,
    /// Whose turn it is to start: held across the wait for the gap, so the
    /// tasks holding a slot start one after another in arrival order instead
    /// of all waking at the same instant.
    turn: tokio::sync::Mutex<()>,
    /// Read and written only under a lock held for no await, so that
    /// [`Politeness::pause_site`] need not wait for a task sleeping its turn.
    clock: Mutex<Clock>,
}

#[derive(Debug, Default)]
struct Clock {
    /// The last start plus the gap.
    next_start: Option<Instant>,
    /// From a `Retry-After`.
    paused_until: Option<Instant>,
}

impl Clock {
    fn due(&self) -> Option<Instant> {
        self.next_start.max(self.paused_until)
    }
}

/// A request slot on one site, given back when dropped.
#[derive(Debug)]
#[must_use = "the slot is given back as soon as the permit is dropped"]
pub struct SitePermit {
    /// `None` for URLs without a host, which are not limited.
    site: Option<Arc<Site>>,
}

impl Drop for SitePermit {
    fn drop(&mut self) {
        if let Some(site) = &self.site {
            site.slots.add_permits(1);
        }
    }
}

impl Politeness {
    /// A limit of 0 requests per site is taken as 1.
    pub fn new(per_site_concurrency: usize, min_gap: Duration) -> Politeness {
        Politeness {
            inner: Arc::new(Shared {
                per_site: per_site_concurrency.clamp(1, Semaphore::MAX_PERMITS),
                min_gap,
                sites: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Waits for a free slot on `url`'s site, then for the gap since the last
    /// start there and any pause to pass, and records this start. Dropping
    /// the returned permit frees the slot; dropping this future while it
    /// waits leaves no trace.
    pub async fn acquire(&self, url: &str) -> SitePermit {
        match self.acquire_or_paused(url, true).await {
            Ok(permit) => permit,
            Err(_) => unreachable!("pauses are waited out"),
        }
    }

    /// As [`acquire`](Self::acquire), except that with `wait_out_pauses`
    /// false a site paused by a `Retry-After` is not waited for: `Err` with
    /// the end of the pause, at once or as soon as the pause is seen (a
    /// one-off fetch reports such a feed deferred rather than sleep for
    /// what may be hours). The gap between starts is waited for either way.
    pub async fn acquire_or_paused(
        &self,
        url: &str,
        wait_out_pauses: bool,
    ) -> Result<SitePermit, Instant> {
        let Some(site) = self.site(url) else {
            return Ok(SitePermit { site: None });
        };
        let paused = |site: &Site| {
            let until = lock(&site.clock).paused_until;
            until.filter(|&u| !wait_out_pauses && u > Instant::now())
        };
        if let Some(until) = paused(&site) {
            return Err(until);
        }
        // The semaphore is never closed.
        let Ok(slot) = site.slots.acquire().await else {
            unreachable!("a site's semaphore is never closed")
        };
        let turn = site.turn.lock().await;
        loop {
            let wait = {
                let mut clock = lock(&site.clock);
                let now = Instant::now();
                if let Some(until) = clock.paused_until.filter(|&u| !wait_out_pauses && u > now) {
                    return Err(until);
                }
                match clock.due() {
                    Some(due) if due > now => Some(due),
                    _ => {
                        clock.next_start = Some(after(now, self.inner.min_gap));
                        None
                    }
                }
            };
            // A pause may come in while we sleep: look again on waking.
            match wait {
                Some(due) => tokio::time::sleep_until(due).await,
                None => break,
            }
        }
        drop(turn);
        slot.forget();
        Ok(SitePermit { site: Some(site) })
    }

    /// Starts no new request on `url`'s site (every host of it) before
    /// `until`. Requests in flight go on; a pause never shortens an earlier
    /// one.
    pub fn pause_site(&self, url: &str, until: Instant) {
        if let Some(site) = self.site(url) {
            let mut clock = lock(&site.clock);
            clock.paused_until = clock.paused_until.max(Some(until));
        }
    }

    /// The state of `url`'s site, made on first use.
    fn site(&self, url: &str) -> Option<Arc<Site>> {
        let host = host_of(url)?;
        let key = site_key(&host);
        let mut sites = lock(&self.inner.sites);
        if let Some(site) = sites.get(key) {
            return Some(site.clone());
        }
        let site = Arc::new(Site {
            slots: Semaphore::new(self.inner.per_site),
            turn: tokio::sync::Mutex::new(()),
            clock: Mutex::new(Clock::default()),
        });
        sites.insert(key.into(), site.clone());
        Some(site)
    }
}

/// `now + gap`, or thirty years on if that overflows.
fn after(now: Instant, gap: Duration) -> Instant {
    now.checked_add(gap)
        .unwrap_or_else(|| now + Duration::from_secs(30 * 365 * 24 * 60 * 60))
}

/// Locks a mutex whose data stays consistent even if a holder panicked (every
/// critical section here is a few assignments).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60;
    const HOUR: u64 = 60 * MIN;
    const DAY: u64 = 24 * HOUR;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn now() -> DateTime<Utc> {
        at("2024-03-01T12:00:00Z")
    }

    /// Publish times `gaps` apart (in seconds), the newest `age` seconds ago.
    fn times(age: u64, gaps: &[u64]) -> Vec<DateTime<Utc>> {
        let mut t = now() - TimeDelta::seconds(age as i64);
        let mut out = vec![t];
        for g in gaps {
            t -= TimeDelta::seconds(*g as i64);
            out.push(t);
        }
        out
    }

    #[test]
    fn sy_update_period_cases() {
        let check = |period: &str, freq: Option<u32>, want: Option<u64>| {
            assert_eq!(
                sy_update_period(period, freq),
                want.map(secs),
                "{period:?} {freq:?}"
            );
        };
        check("hourly", None, Some(HOUR));
        check("daily", None, Some(DAY));
        check("Daily", Some(2), Some(DAY / 2));
        check(" weekly ", Some(1), Some(7 * DAY));
        check("monthly", None, Some(30 * DAY));
        check("yearly", Some(365), Some(DAY));
        check("hourly", Some(0), Some(HOUR));
        check("hourly", Some(4), Some(15 * MIN));
        check("fortnightly", None, None);
        check("", Some(2), None);
    }

    #[test]
    fn cache_control_cases() {
        let check = |header: &str, want: Option<u64>| {
            assert_eq!(
                parse_cache_control_max_age(header),
                want.map(secs),
                "{header:?}"
            );
        };
        check("max-age=300", Some(300));
        check("public, max-age=600", Some(600));
        check("no-cache, MAX-AGE = 60 ", Some(60));
        check("max-age=\"120\"", Some(120));
        check("s-maxage=900", None);
        check("s-maxage=900, max-age=30", Some(30));
        check("max-age=-1", None);
        check("max-age=abc, max-age=45", Some(45));
        check("max-age=", None);
        check("no-store", None);
        check("", None);
        check("max-age=99999999999999999999999", Some(u64::MAX));
    }

    #[test]
    fn http_date_cases() {
        let want = Some(at("1994-11-06T08:49:37Z"));
        let check = |s: &str, want: Option<DateTime<Utc>>| {
            assert_eq!(parse_http_date(s), want, "{s:?}");
        };
        check("Sun, 06 Nov 1994 08:49:37 GMT", want);
        check("Sunday, 06-Nov-94 08:49:37 GMT", want);
        check("Sun Nov  6 08:49:37 1994", want);
        check("  Sun,  06 Nov 1994 08:49:37 GMT ", want);
        // A wrong weekday is a sloppy server, not a different time.
        check("Mon, 06 Nov 1994 08:49:37 GMT", want);
        check("Sun, 06 Nov 1994 09:49:37 +0100", want);
        check("Sun, 06 Nov 1994 08:49:37 UTC", want);
        check(
            "Thursday, 01-Jan-70 00:00:00 GMT",
            Some(at("1970-01-01T00:00:00Z")),
        );
        check("Sun, 32 Nov 1994 08:49:37 GMT", None);
        check("yesterday", None);
        check("", None);
    }

    #[test]
    fn retry_after_cases() {
        let check = |s: &str, want: Option<u64>| {
            assert_eq!(parse_retry_after(s, now()), want.map(secs), "{s:?}");
        };
        check("120", Some(120));
        check(" 0 ", Some(0));
        check("Fri, 01 Mar 2024 12:05:00 GMT", Some(5 * MIN));
        // A date in the past: no wait, not an error.
        check("Fri, 01 Mar 2024 11:00:00 GMT", Some(0));
        check("-5", None);
        check("1.5", None);
        check("soon", None);
        check("", None);
    }

    #[test]
    fn hints_floor_cases() {
        let check = |hints: Hints, want: Option<u64>| {
            assert_eq!(hints.floor(now()), want.map(secs), "{hints:?}");
        };
        let expires_in = |s: i64| Some(now() + TimeDelta::seconds(s));
        check(Hints::default(), None);
        check(
            Hints {
                ttl: Some(secs(HOUR)),
                ..Hints::default()
            },
            Some(HOUR),
        );
        // The largest floor wins.
        check(
            Hints {
                ttl: Some(secs(30 * MIN)),
                update_period: Some(secs(2 * HOUR)),
                max_age: Some(secs(MIN)),
                expires: None,
            },
            Some(2 * HOUR),
        );
        check(
            Hints {
                expires: expires_in(600),
                ..Hints::default()
            },
            Some(600),
        );
        // max-age overrides Expires, as in HTTP.
        check(
            Hints {
                max_age: Some(secs(60)),
                expires: expires_in(DAY as i64),
                ..Hints::default()
            },
            Some(60),
        );
        // An Expires in the past asks for nothing.
        check(
            Hints {
                expires: expires_in(-600),
                ..Hints::default()
            },
            None,
        );
    }

    #[test]
    fn adaptive_interval_cases() {
        let policy = Policy::default();
        let check = |times: Vec<DateTime<Utc>>, want: u64, why: &str| {
            assert_eq!(adaptive_interval(&times, &policy), secs(want), "{why}");
        };
        check(vec![], HOUR, "no data: the middle default");
        check(times(0, &[10 * MIN]), HOUR, "one gap is not enough");
        check(
            times(0, &[0, 0, 0, 0]),
            HOUR,
            "one build time stamped on every item",
        );
        check(times(0, &[30 * MIN; 10]), 30 * MIN, "steady half-hourly");
        check(
            times(0, &[2 * HOUR, 3 * HOUR, 4 * HOUR]),
            3 * HOUR,
            "median, odd",
        );
        check(
            times(0, &[HOUR, 2 * HOUR, 3 * HOUR, 4 * HOUR]),
            150 * MIN,
            "median, even",
        );
        check(
            times(0, &[20 * MIN, 20 * MIN, 20 * MIN, 3 * DAY, 20 * MIN]),
            20 * MIN,
            "one long silence does not swing it",
        );
        check(times(0, &[MIN; 10]), 5 * MIN, "clamped to min_interval");
        check(times(0, &[7 * DAY; 4]), DAY, "clamped to max_interval");
        // Only the newest 20 gaps count: 20 hourly gaps after 30 daily ones.
        let mut gaps = vec![HOUR; 20];
        gaps.extend([DAY; 30]);
        check(times(0, &gaps), HOUR, "only the recent gaps");
        // Order does not matter.
        let mut shuffled = times(0, &[HOUR, 2 * HOUR, 3 * HOUR]);
        shuffled.reverse();
        check(shuffled, 2 * HOUR, "unsorted input");
    }

    #[test]
    fn backoff_cases() {
        let policy = Policy::default();
        // rand 0.5 is the middle of the window; at the bounds the window is
        // cut, so the middle moves.
        let check = |failures: u32, rand: f64, want: u64| {
            assert_eq!(
                backoff(failures, &policy, rand).as_secs(),
                want,
                "{failures} failures, rand {rand}"
            );
        };
        check(1, 0.0, 5 * MIN);
        check(1, 0.5, 5 * MIN + 15);
        check(1, 1.0, 5 * MIN + 30);
        check(2, 0.5, 10 * MIN);
        check(3, 0.5, 20 * MIN);
        check(3, 0.0, 18 * MIN);
        check(3, 1.0, 22 * MIN);
        check(9, 0.5, 5 * MIN * 256);
        check(10, 0.5, DAY - DAY / 20);
        check(10, 1.0, DAY);
        check(10, 0.0, DAY - DAY / 10);
        check(u32::MAX, 1.0, DAY);
        check(0, 0.0, 5 * MIN);
        // Nonsense randomness stays in the window.
        check(3, f64::NAN, 20 * MIN);
        check(3, 7.0, 22 * MIN);
    }

    #[test]
    fn backoff_never_leaves_the_bounds() {
        let policy = Policy::default();
        for failures in 0..100 {
            for i in 0..=10 {
                let d = backoff(failures, &policy, f64::from(i) / 10.0);
                assert!(
                    d >= policy.min_interval && d <= policy.max_interval,
                    "{d:?}"
                );
            }
        }
    }

    /// A `next_fetch` case, with `rand` at the middle of the window unless set.
    struct Case {
        why: &'static str,
        configured: Option<u64>,
        times: Vec<DateTime<Utc>>,
        hints: Hints,
        failures: u32,
        last: LastOutcome,
        rand: f64,
        /// Seconds after `now`; `None` for disabled.
        want: Option<u64>,
    }

    impl Default for Case {
        fn default() -> Self {
            Case {
                why: "",
                configured: None,
                times: vec![],
                hints: Hints::default(),
                failures: 0,
                last: LastOutcome::Success,
                rand: 0.5,
                want: None,
            }
        }
    }

    fn check(case: Case) {
        let policy = Policy::default();
        let got = next_fetch(
            now(),
            case.configured.map(secs),
            &case.times,
            &case.hints,
            case.failures,
            &case.last,
            &policy,
            case.rand,
        );
        let got = got.map(|t| (t - now()).num_seconds() as u64);
        assert_eq!(got, case.want, "{}", case.why);
    }

    fn failure(retry_after: Option<u64>) -> LastOutcome {
        LastOutcome::Failure {
            retry_after: retry_after.map(secs),
        }
    }

    fn ttl(s: u64) -> Hints {
        Hints {
            ttl: Some(secs(s)),
            ..Hints::default()
        }
    }

    #[test]
    fn next_fetch_cases() {
        for case in [
            Case {
                why: "410 disables the feed",
                last: LastOutcome::Gone,
                want: None,
                ..Case::default()
            },
            Case {
                why: "no data: an hour",
                want: Some(HOUR),
                ..Case::default()
            },
            Case {
                why: "not modified is a success",
                last: LastOutcome::NotModified,
                want: Some(HOUR),
                ..Case::default()
            },
            Case {
                why: "jitter: bottom of the window",
                rand: 0.0,
                want: Some(54 * MIN),
                ..Case::default()
            },
            Case {
                why: "jitter: top of the window",
                rand: 1.0,
                want: Some(66 * MIN),
                ..Case::default()
            },
            Case {
                why: "configured interval wins over the adaptive one",
                configured: Some(15 * MIN),
                times: times(0, &[DAY; 5]),
                want: Some(15 * MIN),
                ..Case::default()
            },
            Case {
                why: "configured interval below min_interval is kept",
                configured: Some(MIN),
                want: Some(MIN),
                ..Case::default()
            },
            Case {
                why: "configured interval above max_interval is kept",
                configured: Some(7 * DAY),
                rand: 0.0,
                want: Some(7 * DAY - 7 * DAY / 10),
                ..Case::default()
            },
            Case {
                why: "adaptive from publish gaps",
                times: times(0, &[20 * MIN; 10]),
                want: Some(20 * MIN),
                ..Case::default()
            },
            Case {
                why: "a quiet feed slows down: 16 h quiet → 2 h",
                times: times(16 * HOUR, &[20 * MIN; 10]),
                want: Some(2 * HOUR),
                ..Case::default()
            },
            Case {
                why: "a dead feed drifts to max_interval",
                times: times(90 * DAY, &[MIN; 10]),
                rand: 1.0,
                want: Some(DAY),
                ..Case::default()
            },
            Case {
                why: "ttl floor over the adaptive interval",
                times: times(0, &[20 * MIN; 10]),
                hints: ttl(HOUR),
                rand: 0.0,
                want: Some(HOUR),
                ..Case::default()
            },
            Case {
                why: "ttl floor: jitter only upward from it",
                hints: ttl(2 * HOUR),
                rand: 1.0,
                want: Some(2 * HOUR + 12 * MIN),
                ..Case::default()
            },
            Case {
                why: "ttl floor over a configured interval",
                configured: Some(10 * MIN),
                hints: ttl(HOUR),
                rand: 0.0,
                want: Some(HOUR),
                ..Case::default()
            },
            Case {
                why: "a floor below the interval changes nothing",
                hints: ttl(10 * MIN),
                want: Some(HOUR),
                ..Case::default()
            },
            Case {
                why: "a floor is capped at max_interval",
                hints: Hints {
                    max_age: Some(secs(365 * DAY)),
                    ..Hints::default()
                },
                rand: 1.0,
                want: Some(DAY),
                ..Case::default()
            },
            Case {
                why: "sy:updatePeriod floor",
                hints: Hints {
                    update_period: sy_update_period("daily", Some(4)),
                    ..Hints::default()
                },
                rand: 0.0,
                want: Some(6 * HOUR),
                ..Case::default()
            },
            Case {
                why: "Expires floor",
                hints: Hints {
                    expires: Some(now() + TimeDelta::hours(3)),
                    ..Hints::default()
                },
                rand: 0.0,
                want: Some(3 * HOUR),
                ..Case::default()
            },
            Case {
                why: "first failure: min_interval",
                failures: 1,
                last: failure(None),
                rand: 0.0,
                want: Some(5 * MIN),
                ..Case::default()
            },
            Case {
                why: "failures double",
                failures: 4,
                last: failure(None),
                want: Some(40 * MIN),
                ..Case::default()
            },
            Case {
                why: "failure count 0 with a failure is taken as 1",
                failures: 0,
                last: failure(None),
                rand: 0.0,
                want: Some(5 * MIN),
                ..Case::default()
            },
            Case {
                why: "failing for ever: tried at max_interval, never dropped",
                failures: 10_000,
                last: failure(None),
                rand: 1.0,
                want: Some(DAY),
                ..Case::default()
            },
            Case {
                why: "a failing configured 7-day feed backs off up to 7 days",
                configured: Some(7 * DAY),
                failures: 30,
                last: failure(None),
                rand: 1.0,
                want: Some(7 * DAY),
                ..Case::default()
            },
            Case {
                why: "failures reset on success",
                failures: 8,
                last: LastOutcome::Success,
                want: Some(HOUR),
                ..Case::default()
            },
            Case {
                why: "Retry-After longer than the backoff is waited",
                failures: 1,
                last: failure(Some(2 * HOUR)),
                rand: 0.0,
                want: Some(2 * HOUR),
                ..Case::default()
            },
            Case {
                why: "Retry-After shorter than the backoff changes nothing",
                failures: 4,
                last: failure(Some(60)),
                want: Some(40 * MIN),
                ..Case::default()
            },
            Case {
                why: "Retry-After capped at max_interval",
                failures: 1,
                last: failure(Some(30 * DAY)),
                rand: 1.0,
                want: Some(DAY),
                ..Case::default()
            },
            Case {
                why: "the feed's floor holds after a failure too",
                failures: 1,
                last: failure(None),
                hints: ttl(HOUR),
                rand: 0.0,
                want: Some(HOUR),
                ..Case::default()
            },
        ] {
            check(case);
        }
    }

    #[test]
    fn huge_configured_interval_saturates() {
        let got = next_fetch(
            now(),
            Some(Duration::MAX),
            &[],
            &Hints::default(),
            0,
            &LastOutcome::Success,
            &Policy::default(),
            1.0,
        );
        assert!(got.is_some_and(|t| t > now()));
    }

    /// Counts how many of `values` (in `[lo, lo + width)`) fall in each of
    /// `n` equal buckets.
    fn buckets(
        values: impl Iterator<Item = Duration>,
        lo: Duration,
        width: Duration,
        n: usize,
    ) -> Vec<usize> {
        let mut counts = vec![0; n];
        for v in values {
            let i = ((v - lo).as_secs_f64() / width.as_secs_f64() * n as f64) as usize;
            counts[i.min(n - 1)] += 1;
        }
        counts
    }

    #[test]
    fn jitter_spreads_feeds_added_together() {
        // A thousand feeds with the same interval, fetched at the same moment:
        // their next fetches cover the whole ±10 % window evenly.
        let policy = Policy::default();
        let waits: Vec<Duration> = (1..=1000)
            .map(|id| {
                let t = next_fetch(
                    now(),
                    None,
                    &[],
                    &Hints::default(),
                    0,
                    &LastOutcome::Success,
                    &policy,
                    random_fraction(id, now()),
                )
                .unwrap();
                (t - now()).to_std().unwrap()
            })
            .collect();
        let (lo, hi) = (secs(54 * MIN), secs(66 * MIN));
        assert!(waits.iter().all(|w| *w >= lo && *w <= hi));
        // 12 one-minute buckets, about 83 feeds each.
        let counts = buckets(waits.iter().copied(), lo, hi - lo, 12);
        assert!(
            counts.iter().all(|&c| (50..=120).contains(&c)),
            "{counts:?}"
        );
        // And not a handful of distinct values.
        let mut distinct: Vec<u64> = waits.iter().map(Duration::as_secs).collect();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() > 500, "{} distinct seconds", distinct.len());
    }

    #[test]
    fn random_fraction_differs_per_fetch() {
        let a = random_fraction(7, now());
        let b = random_fraction(7, now() + TimeDelta::hours(1));
        assert_ne!(a, b);
        assert_eq!(a, random_fraction(7, now()));
        assert!((0.0..1.0).contains(&a) && (0.0..1.0).contains(&b));
    }

    #[test]
    fn first_fetch_delay_spreads_new_feeds() {
        let spread = secs(10 * MIN);
        let delays: Vec<Duration> = (1..=1000).map(|id| first_fetch_delay(id, spread)).collect();
        assert!(delays.iter().all(|d| *d < spread));
        let counts = buckets(delays.iter().copied(), Duration::ZERO, spread, 10);
        assert!(
            counts.iter().all(|&c| (60..=140).contains(&c)),
            "{counts:?}"
        );
        assert_eq!(first_fetch_delay(42, spread), first_fetch_delay(42, spread));
        assert_eq!(first_fetch_delay(42, Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn site_of_cases() {
        let check = |host: &str, want: &str| assert_eq!(site_of(host), want, "{host:?}");
        check("a.example.co.uk", "example.co.uk");
        check("b.example.co.uk", "example.co.uk");
        check("example.co.uk", "example.co.uk");
        check("feeds.bbci.co.uk", "bbci.co.uk");
        check("www.example.com", "example.com");
        check("WWW.Example.COM.", "example.com");
        check("deep.a.b.example.org", "example.org");
        check("co.uk", "co.uk");
        check("alice.github.io", "alice.github.io");
        check("127.0.0.1", "127.0.0.1");
        check("10.0.0.2", "10.0.0.2");
        check("::1", "::1");
        check("[::1]", "[::1]");
        check("localhost", "localhost");
        check("intranet", "intranet");
    }

    #[test]
    fn host_of_cases() {
        let check = |url: &str, want: Option<&str>| {
            let site = host_of(url).map(|h| site_key(&h).to_owned());
            assert_eq!(site.as_deref(), want, "{url:?}");
        };
        check("https://a.example.co.uk/feed.xml", Some("example.co.uk"));
        check("http://b.example.co.uk:8080/rss?x=1", Some("example.co.uk"));
        check("https://A.Example.CO.UK/feed", Some("example.co.uk"));
        check("https://user:pw@a.example.co.uk/", Some("example.co.uk"));
        check("https://example.com.", Some("example.com"));
        check("http://127.0.0.1:39217/feed", Some("127.0.0.1"));
        check("http://0x7f.1/feed", Some("127.0.0.1"));
        check("http://[::1]:8080/feed", Some("[::1]"));
        check("http://localhost:8080/", Some("localhost"));
        check("https://bücher.example/feed", Some("xn--bcher-kva.example"));
        check("file:///var/feeds/a.xml", None);
        check("not a url", None);
    }

    #[test]
    fn plain_urls_are_read_without_allocating() {
        for url in [
            "https://a.example.co.uk/feed.xml",
            "http://127.0.0.1:8080/",
            "https://example.com",
            "https://example.com?x",
        ] {
            assert!(matches!(host_of(url), Some(Cow::Borrowed(_))), "{url}");
        }
    }

    /// Seconds since `t0`, as a whole number for exact comparisons.
    fn since(t0: Instant) -> u64 {
        (Instant::now() - t0).as_secs()
    }

    #[tokio::test(start_paused = true)]
    async fn gap_between_starts_on_one_site() {
        let p = Politeness::new(10, secs(2));
        let t0 = Instant::now();
        let mut starts = vec![];
        let mut held = vec![];
        for host in ["a", "b", "a", "c"] {
            held.push(p.acquire(&format!("https://{host}.example.co.uk/")).await);
            starts.push(since(t0));
        }
        assert_eq!(starts, [0, 2, 4, 6]);
    }

    #[tokio::test(start_paused = true)]
    async fn sites_proceed_independently() {
        let p = Politeness::new(1, secs(10));
        let t0 = Instant::now();
        let a = p.acquire("https://a.example.com/").await;
        let _b = p.acquire("https://b.example.org/").await;
        let _c = p.acquire("http://127.0.0.1:8080/").await;
        let _d = p.acquire("file:///x.xml").await;
        assert_eq!(since(t0), 0);
        // A busy site holds up only its own requests.
        let slow = {
            let p = p.clone();
            tokio::spawn(async move {
                let _again = p.acquire("https://www.example.com/").await;
                since(t0)
            })
        };
        tokio::time::sleep(secs(1)).await;
        let _e = p.acquire("https://other.net/").await;
        assert_eq!(since(t0), 1);
        assert!(!slow.is_finished());
        drop(a);
        assert_eq!(slow.await.unwrap(), 10);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_per_site_is_capped() {
        let p = Politeness::new(2, Duration::ZERO);
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..5)
            .map(|i| {
                let p = p.clone();
                tokio::spawn(async move {
                    let _permit = p.acquire(&format!("https://h{i}.example.com/")).await;
                    let started = since(t0);
                    tokio::time::sleep(secs(10)).await;
                    started
                })
            })
            .collect();
        let mut starts = vec![];
        for t in tasks {
            starts.push(t.await.unwrap());
        }
        starts.sort_unstable();
        assert_eq!(starts, [0, 0, 10, 10, 20]);
    }

    #[tokio::test(start_paused = true)]
    async fn pause_site_delays_the_whole_site_only() {
        let p = Politeness::new(4, Duration::ZERO);
        let t0 = Instant::now();
        p.pause_site("https://a.example.co.uk/feed", t0 + secs(30));
        // A pause never shortens an earlier one.
        p.pause_site("https://a.example.co.uk/feed", t0 + secs(5));
        let paused = {
            let p = p.clone();
            tokio::spawn(async move {
                let _permit = p.acquire("https://b.example.co.uk/other").await;
                since(t0)
            })
        };
        let _other = p.acquire("https://example.org/").await;
        assert_eq!(since(t0), 0);
        assert_eq!(paused.await.unwrap(), 30);
    }

    #[tokio::test(start_paused = true)]
    async fn a_one_off_fetch_is_told_of_a_pause_instead_of_waiting() {
        let p = Politeness::new(1, secs(10));
        let t0 = Instant::now();
        let first = p.acquire_or_paused("https://www.example.com/", false).await;
        assert!(first.is_ok());
        // Waiting for the slot, then for the gap, when the pause comes.
        let waiting = {
            let p = p.clone();
            tokio::spawn(async move {
                let r = p
                    .acquire_or_paused("https://feeds.example.com/", false)
                    .await;
                (r.err(), since(t0))
            })
        };
        tokio::time::sleep(secs(3)).await;
        p.pause_site("https://example.com/", t0 + secs(3600));
        drop(first);
        assert_eq!(waiting.await.unwrap(), (Some(t0 + secs(3600)), 3));
        // Later ones are told at once; other sites go on.
        let later = p.acquire_or_paused("https://example.com/x", false).await;
        assert_eq!(later.err(), Some(t0 + secs(3600)));
        assert!(
            p.acquire_or_paused("https://example.org/", false)
                .await
                .is_ok()
        );
        assert_eq!(since(t0), 3);
    }

    #[tokio::test]
    async fn pause_while_waiting_for_the_gap_extends_the_wait() {
        // The same as `start_paused`, said the other way.
        tokio::time::pause();
        let p = Politeness::new(4, secs(10));
        let t0 = Instant::now();
        let _first = p.acquire("https://www.example.com/").await;
        let waiting = {
            let p = p.clone();
            tokio::spawn(async move {
                let _permit = p.acquire("https://feeds.example.com/").await;
                since(t0)
            })
        };
        tokio::time::sleep(secs(3)).await;
        p.pause_site("https://example.com/", t0 + secs(60));
        assert_eq!(waiting.await.unwrap(), 60);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_acquire_leaves_no_trace() {
        let p = Politeness::new(1, Duration::ZERO);
        let held = p.acquire("https://example.com/").await;
        let gave_up = tokio::time::timeout(secs(5), p.acquire("https://example.com/")).await;
        assert!(gave_up.is_err());
        drop(held);
        let t0 = Instant::now();
        let _again = p.acquire("https://example.com/").await;
        assert_eq!(since(t0), 0);
    }
}
