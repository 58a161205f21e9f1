//! No feed can hurt trawl: hostile servers and hostile documents, each a
//! recorded error on its own feed (or a stored, defused article) while the
//! good feeds of the same run are stored; all of it in bounded time and,
//! run together, in bounded memory. The address rule (public → internal is
//! refused) is shown end to end with a resolver the test controls.
//!
//! Every server is a [`Server`] on 127.0.0.1 that the test starts.

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Behavior, Route, Run, Server, Trawl, feed, item, rss};
use trawl::fetch::{FetchError, Fetcher, Limits, Network, Request, Response};

const TEXT: &str = "<p>The harbour authority said on Monday that the new container terminal \
    would open in the spring, after two years of construction and a long dispute with the \
    unions over staffing of the cranes.</p>";

/// The `[daemon]` of these tests: short timeouts, small bodies, and no
/// politeness delays (every server here is one host).
const DAEMON: &str = "timeout = \"3s\"\nconnect_timeout = \"2s\"\nmax_feed_bytes = \"1MiB\"\n\
    concurrency = 64\nper_host_concurrency = 64\nper_host_gap = 0";

/// A good feed: one article per name.
fn good_feed(name: &str) -> String {
    rss(
        &format!("Good {name}"),
        &[item(
            &format!("{name}-1"),
            &format!("Story of {name}"),
            &format!("https://news.example/{name}"),
            TEXT,
        )],
    )
}

/// A gzip stream that never ends: a fixed-Huffman deflate block of
/// 258-byte back-references, 159 bytes out for every byte in. Returns the
/// gzip header with the first bits (byte-aligned) and the 13-byte period to
/// repeat forever.
fn gzip_bomb() -> (Vec<u8>, Vec<u8>) {
    #[derive(Default)]
    struct Bits {
        out: Vec<u8>,
        n: usize,
    }
    impl Bits {
        /// A Huffman code, most significant bit first.
        fn code(&mut self, code: u32, len: usize) {
            for i in (0..len).rev() {
                self.bit((code >> i) & 1);
            }
        }
        fn bit(&mut self, b: u32) {
            if self.n.is_multiple_of(8) {
                self.out.push(0);
            }
            *self.out.last_mut().unwrap() |= (b as u8) << (self.n % 8);
            self.n += 1;
        }
        /// Length 258 (code 285), distance 1 (code 0): 13 bits.
        fn repeat_last(&mut self) {
            self.code(0b1100_0101, 8);
            self.code(0, 5);
        }
    }
    let mut head = Bits::default();
    head.bit(0); // not the last block
    head.bit(1); // fixed Huffman codes: BTYPE = 01, low bit first
    head.bit(0);
    head.code(0b0011_0000, 8); // the literal byte 0
    head.repeat_last(); // 3 + 8 + 13 = 24 bits: byte-aligned from here
    assert_eq!(head.n, 24);
    let mut prefix = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    prefix.extend_from_slice(&head.out);
    let mut period = Bits::default();
    for _ in 0..8 {
        period.repeat_last();
    }
    assert_eq!(period.out.len(), 13);
    (prefix, period.out)
}

/// Runs `trawl ARGS` like [`Trawl::run`], and returns the child's peak
/// resident memory in KiB as the kernel counted it (`wait4`'s rusage).
// The child is reaped by `wait4`, which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn run_measured(t: &Trawl, args: &[&str]) -> (Run, u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trawl"))
        .args(args)
        .arg("--config")
        .arg(t.config())
        .arg("--db")
        .arg(t.db())
        .env_remove("TRAWL_CONFIG")
        .env("RUST_LOG", "warn")
        .current_dir(t.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).unwrap();
        s
    });
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).unwrap();
        s
    });
    let mut status = 0;
    // SAFETY: rusage is plain data, zeroed is a valid value; the pid is our child's.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "wait4 failed");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let run = Run {
        code,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    (run, usage.ru_maxrss as u64)
}

/// The state `trawl feeds --json` shows for every feed, by name.
fn feeds_json(t: &Trawl) -> HashMap<String, serde_json::Value> {
    let run = t.run(&["feeds", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|v| (v["name"].as_str().unwrap().to_string(), v))
        .collect()
}

/// Routes every hostile server of the issue, and three good feeds, on
/// `server`; returns their `[[feed]]` bodies.
fn hostile_servers(server: &Server) -> Vec<String> {
    let mut feeds = Vec::new();
    let mut add = |name: &str, path: &str, route: Route| {
        server.route(path, route);
        feeds.push(feed(name, &server.url(path), ""));
    };
    for name in ["good-a", "good-b"] {
        add(name, &format!("/{name}"), Route::rss(good_feed(name)));
    }
    add(
        "good-gzip",
        "/good-gzip",
        Route::rss(good_feed("good-gzip")).gzip(),
    );

    let slow = Duration::from_secs(1);
    add(
        "drip-body",
        "/drip",
        Route::rss(good_feed("drip")).behave(Behavior::Drip(slow)),
    );
    add(
        "drip-head",
        "/drip-head",
        Route::rss(good_feed("drip-head")).behave(Behavior::DripHead(slow)),
    );
    add(
        "hang-before-headers",
        "/hang-1",
        Route::rss(good_feed("x")).behave(Behavior::StallBeforeHeaders),
    );
    add(
        "hang-after-headers",
        "/hang-2",
        Route::rss(good_feed("x")).behave(Behavior::StallAfterHeaders),
    );
    let (prefix, period) = gzip_bomb();
    add(
        "gzip-bomb",
        "/bomb",
        Route::rss(prefix)
            .header("Content-Encoding", "gzip")
            .behave(Behavior::Endless {
                period,
                every: None,
            }),
    );
    add(
        "endless",
        "/endless",
        Route::rss("<rss version=\"2.0\"><channel><title>t</title>").behave(Behavior::Endless {
            period: b"<item><title>again</title></item>\n".repeat(100),
            every: None,
        }),
    );
    add(
        "endless-slow",
        "/endless-slow",
        Route::rss("<rss version=\"2.0\"><channel>").behave(Behavior::Endless {
            period: b"<!-- still here -->".to_vec(),
            every: Some(Duration::from_millis(100)),
        }),
    );
    server.route("/loop-a", Route::redirect(302, "/loop-b"));
    add("redirect-loop", "/loop-b", Route::redirect(302, "/loop-a"));
    for i in 2..15 {
        server.route(
            &format!("/hop-{i}"),
            Route::redirect(301, &format!("/hop-{}", i + 1)),
        );
    }
    server.route("/hop-15", Route::rss(good_feed("hop")));
    add("redirect-chain", "/hop-1", Route::redirect(301, "/hop-2"));
    for scheme in [
        "file:///etc/passwd",
        "ftp://127.0.0.1/feed",
        "gopher://127.0.0.1/1",
    ] {
        let name = format!("to-{}", &scheme[..scheme.find(':').unwrap()]);
        add(&name, &format!("/{name}"), Route::redirect(302, scheme));
    }
    for status in [404, 410, 500, 503] {
        add(
            &format!("status-{status}"),
            &format!("/s{status}"),
            Route::status(status),
        );
    }
    // Reached as `localhost`, a site of its own: its `Retry-After` pauses
    // that site, and a feed of 127.0.0.1 whose turn came after the 429
    // would be deferred instead of failing with its own error (seen once in
    // CI: `endless` was deferred). The pause itself has tests below.
    server.route("/s429", Route::status(429).header("Retry-After", "1"));
    let own_site = feed(
        "status-429",
        &server.url("/s429").replace("127.0.0.1", "localhost"),
        "",
    );
    add(
        "reset",
        "/reset",
        Route::rss(format!("{}{}", good_feed("reset"), " ".repeat(50_000)))
            .behave(Behavior::ResetMidBody),
    );
    let mut truncated = Route::rss(good_feed("truncated")).gzip();
    truncated.body.truncate(truncated.body.len() / 2);
    add("truncated-gzip", "/truncated", truncated);
    add(
        "html-page",
        "/page",
        Route::ok(
            "text/html; charset=utf-8",
            "<!DOCTYPE html><html><head><title>Home</title></head><body><p>Welcome</p></body></html>",
        ),
    );
    add(
        "big-headers",
        "/big-headers",
        Route::rss(good_feed("x")).header("X-Padding", &"p".repeat(100_000)),
    );
    add(
        "endless-headers",
        "/endless-headers",
        Route::rss(good_feed("x")).behave(Behavior::EndlessHeaders),
    );
    feeds.push(own_site);
    feeds
}

/// The error each hostile server's feed must record, for a body limit of
/// `limit` bytes and a 3 s timeout.
fn server_errors(limit: u64) -> Vec<(&'static str, String)> {
    let body_limit = format!("body exceeds the limit of {limit} bytes");
    [
        ("drip-body", "timed out after 3s"),
        ("drip-head", "timed out after 3s"),
        ("hang-before-headers", "timed out after 3s"),
        ("hang-after-headers", "timed out after 3s"),
        ("endless-slow", "timed out after 3s"),
        ("gzip-bomb", body_limit.as_str()),
        ("endless", body_limit.as_str()),
        ("redirect-loop", "redirect loop"),
        ("redirect-chain", "more than 10 redirects"),
        (
            "to-file",
            "redirect to \"file:///etc/passwd\" refused: only http and https are followed",
        ),
        ("to-ftp", "redirect to \"ftp://127.0.0.1/feed\" refused"),
        ("to-gopher", "redirect to \"gopher://127.0.0.1/1\" refused"),
        ("status-404", "HTTP 404 Not Found"),
        ("status-410", "HTTP 410 Gone"),
        ("status-500", "HTTP 500 Internal Server Error"),
        ("status-503", "HTTP 503 Service Unavailable"),
        ("status-429", "HTTP 429 Too Many Requests"),
        ("reset", "reading the body failed"),
        ("truncated-gzip", "reading the body failed"),
        ("html-page", "not a feed: an HTML page"),
        (
            "big-headers",
            "response headers exceed the limit of 65536 bytes",
        ),
        (
            "endless-headers",
            "response headers exceed the limit of 65536 bytes",
        ),
    ]
    .into_iter()
    .map(|(name, error)| (name, error.to_string()))
    .collect()
}

/// Each hostile feed's recorded error, one failure counted.
fn check_errors(state: &HashMap<String, serde_json::Value>, errors: &[(&str, String)]) {
    for (name, expected) in errors {
        let error = state[*name]["last_error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error recorded for {name}: {}", state[*name]));
        assert!(
            error.contains(expected.as_str()),
            "{name}: {error:?}, expected {expected:?}"
        );
        assert_eq!(state[*name]["consecutive_failures"], 1, "{name}");
    }
}

/// Every hostile server of the issue and the good feeds, in one run of
/// `trawl fetch`: each hostile feed fails with its own error, recorded on
/// its row; the good ones are stored; the run ends in bounded time and
/// small memory (the 256 MiB bound over every hostile feed, documents
/// included, is checked in the next test but one).
#[test]
fn every_hostile_server_is_a_recorded_error_and_the_good_feeds_are_stored() {
    let server = Server::start();
    let feeds = hostile_servers(&server);
    let t = Trawl::new(DAEMON, &feeds);
    let started = Instant::now();
    let (run, peak_kib) = run_measured(&t, &["fetch"]);
    let elapsed = started.elapsed();
    assert_eq!(
        run.code, 2,
        "some feeds failed: {}{}",
        run.stdout, run.stderr
    );
    // Everything runs at once; the slowest are the 3 s timeouts.
    assert!(
        elapsed < Duration::from_secs(15),
        "the run took {elapsed:?}\n{}",
        run.stdout
    );
    assert!(
        peak_kib < 256 * 1024,
        "peak RSS {} MiB over 256 MiB",
        peak_kib / 1024
    );
    eprintln!(
        "peak RSS of the hostile-server run: {} MiB",
        peak_kib / 1024
    );

    let state = feeds_json(&t);
    check_errors(&state, &server_errors(1 << 20));
    assert!(
        server.seen("/hop-12").is_empty(),
        "the chain stops after 10 redirects"
    );
    // Each good feed stored its article, once.
    let stored: Vec<String> = t
        .articles()
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_string())
        .collect();
    let mut want = vec!["Story of good-a", "Story of good-b", "Story of good-gzip"];
    want.sort();
    let mut got = stored.clone();
    got.sort();
    assert_eq!(got, want, "{}", run.stdout);
    for name in ["good-a", "good-b", "good-gzip"] {
        assert!(run.line(name).contains("1 new"), "{}", run.stdout);
        assert_eq!(state[name]["last_error"], serde_json::Value::Null);
    }
}

/// 429 with `Retry-After`: recorded, and no fetch of the feed (nor of
/// anything else on that site) before the server said to come back.
#[test]
fn retry_after_on_429_is_recorded_and_honoured() {
    let server = Server::start();
    server.route("/busy", Route::status(429).header("Retry-After", "7200"));
    server.route("/good", Route::rss(good_feed("good")));
    // The good feed is reached as `localhost`: another site, which the
    // pause of 127.0.0.1 does not hold up.
    let good = server.url("/good").replace("127.0.0.1", "localhost");
    let t = Trawl::new(
        DAEMON,
        &[
            feed("busy", &server.url("/busy"), ""),
            feed("good", &good, ""),
        ],
    );
    let run = t.run(&["fetch"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.line("good").contains("1 new"), "{}", run.stdout);
    let (error, last, next): (String, String, String) = t
        .sql()
        .query_row(
            "SELECT last_error, last_fetch_at, next_fetch_at FROM feeds WHERE name = 'busy'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(error.contains("HTTP 429"), "{error}");
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
    assert!(
        at(&next) - at(&last) >= chrono::Duration::seconds(7200),
        "next fetch {next} is sooner than Retry-After after {last}"
    );
}

/// Names that resolve as the test says, to play public and internal hosts
/// on 127.0.0.1.
struct FakeDns(HashMap<&'static str, Vec<IpAddr>>);

impl reqwest::dns::Resolve for FakeDns {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let addrs: Vec<SocketAddr> = self
            .0
            .get(name.as_str())
            .map(|ips| ips.iter().map(|ip| SocketAddr::new(*ip, 0)).collect())
            .unwrap_or_default();
        Box::pin(async move {
            if addrs.is_empty() {
                return Err("no such host".into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// In these tests 127.0.0.1, written as IPv4, is "the internet"; the same
/// address written IPv4-mapped (::ffff:127.0.0.1) is "the intranet", which
/// a dual-stack socket still reaches on 127.0.0.1. So a refused hop can be
/// told from a followed one without a packet leaving loopback.
fn test_is_public(ip: IpAddr) -> bool {
    ip == IpAddr::V4(Ipv4Addr::LOCALHOST)
}

fn test_network() -> Network {
    let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
    let dns = FakeDns(HashMap::from([
        ("feeds.public.test", vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]),
        ("intranet.test", vec![mapped]),
        // A public name whose answer mixes both: only the public one is used.
        (
            "mixed.public.test",
            vec![mapped, IpAddr::V4(Ipv4Addr::LOCALHOST)],
        ),
    ]));
    Network {
        resolver: Some(Arc::new(dns)),
        is_public: test_is_public,
    }
}

fn test_fetcher(allow_private_redirects: bool) -> Fetcher {
    let limits = Limits {
        timeout: Duration::from_secs(5),
        allow_private_redirects,
        ..Limits::default()
    };
    Fetcher::with_network(limits, test_network()).unwrap()
}

async fn fetch(f: &Fetcher, url: &str) -> Result<Response, FetchError> {
    f.fetch(&Request {
        url,
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn a_public_server_cannot_redirect_trawl_to_an_internal_address() {
    let server = Server::start();
    let port = server
        .url("/")
        .split(':')
        .nth(2)
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let secret = format!("http://intranet.test:{port}/secret");
    let mapped_literal = format!("http://[::ffff:127.0.0.1]:{port}/secret");
    server.route("/secret", Route::rss(good_feed("secret")));
    server.route("/to-name", Route::redirect(302, &secret));
    server.route("/to-literal", Route::redirect(302, &mapped_literal));
    server.route(
        "/to-public",
        Route::redirect(301, &format!("http://mixed.public.test:{port}/feed")),
    );
    server.route("/feed", Route::rss(good_feed("public")));
    server.route(
        "/to-metadata",
        Route::redirect(302, "http://169.254.169.254/latest/meta-data/"),
    );
    let public = |path: &str| format!("http://feeds.public.test:{port}{path}");
    let f = test_fetcher(false);

    // By name: the guarded resolver drops the internal answer before any connection.
    match fetch(&f, &public("/to-name")).await {
        Err(e @ FetchError::PrivateRedirect { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("intranet.test") && msg.contains("::ffff:127.0.0.1"),
                "{msg}"
            );
            assert!(msg.contains("allow_private_redirects"), "{msg}");
        }
        other => panic!("expected a refused redirect, got {other:?}"),
    }
    // By address: judged before connecting.
    assert!(matches!(
        fetch(&f, &public("/to-literal")).await,
        Err(FetchError::PrivateRedirect { .. })
    ));
    // The cloud metadata address: refused, nothing sent (the production
    // list of internal ranges is unit-tested in limits::tests).
    assert!(matches!(
        fetch(&f, &public("/to-metadata")).await,
        Err(FetchError::PrivateRedirect { addr, .. }) if addr == "169.254.169.254"
    ));
    assert!(
        server.seen("/secret").is_empty(),
        "no request reached the intranet"
    );

    // Public to public is followed, using only the public answer of a mixed name.
    match fetch(&f, &public("/to-public")).await {
        Ok(Response::Document(doc)) => {
            assert!(String::from_utf8_lossy(&doc.body).contains("Story of public"));
        }
        other => panic!("expected the document, got {other:?}"),
    }

    // A configured internal URL is trusted, and so are its redirects within
    // the intranet: the chain never touched a public address.
    server.route("/inside", Route::redirect(302, &secret));
    let inside = format!("http://intranet.test:{port}/inside");
    assert!(matches!(
        fetch(&f, &inside).await,
        Ok(Response::Document(_))
    ));
    assert_eq!(server.seen("/secret").len(), 1);

    // The operator may allow public → internal.
    let allowing = test_fetcher(true);
    assert!(matches!(
        fetch(&allowing, &public("/to-name")).await,
        Ok(Response::Document(_))
    ));
    assert_eq!(server.seen("/secret").len(), 2);
}

/// Documents that attack the parser, each in its own feed of one run with
/// every hostile server above (the memory bound is for all of them): the
/// entity tricks are never expanded or fetched, the deep document is refused
/// with a clear error, the huge feed is cut to its newest `max_items`, the
/// huge title to `max_field_bytes`, control bytes are gone and bad UTF-8 is
/// replaced; the good feed is stored. Bounded in time and memory.
#[test]
fn hostile_documents_are_defused_and_every_hostile_feed_fits_in_256_mib() {
    let server = Server::start();
    let secret_url = server.url("/secret");
    let laughs = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n<!ENTITY lol \"lol\">\n{}]>\n\
         <rss version=\"2.0\"><channel><title>Laughs</title><link>https://laughs.example/</link>\
         <item><guid>l1</guid><title>Laugh &lol9;</title><link>https://laughs.example/1</link>\
         <description>text &lol9; end</description></item></channel></rss>",
        (1..10)
            .map(|i| format!(
                "<!ENTITY lol{i} \"{}\">\n",
                format!(
                    "&lol{};",
                    if i == 1 {
                        String::new()
                    } else {
                        (i - 1).to_string()
                    }
                )
                .repeat(10)
            ))
            .collect::<String>()
    );
    let xxe = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n<!ENTITY file SYSTEM \"file:///etc/passwd\">\n\
         <!ENTITY web SYSTEM \"{secret_url}\">\n<!ENTITY % remote SYSTEM \"{secret_url}-dtd\"> %remote;\n]>\n\
         <rss version=\"2.0\"><channel><title>XXE</title><link>https://xxe.example/</link>\
         <item><guid>x1</guid><title>File &file; web &web;</title><link>https://xxe.example/1</link>\
         <description>&file; and &web;</description></item></channel></rss>"
    );
    let deep = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Deep</title>{}{}</channel></rss>",
        "<x>".repeat(100_000),
        "</x>".repeat(100_000)
    );
    // Newest first, as feeds list them.
    let many_items: String = (0..100_000)
        .rev()
        .map(|i| {
            format!(
                "<item><guid>m{i}</guid><title>Item {i}</title><pubDate>{}</pubDate></item>",
                (chrono::DateTime::from_timestamp(1_700_000_000 + i * 60, 0).unwrap()).to_rfc2822()
            )
        })
        .collect();
    let many = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Many</title>{many_items}</channel></rss>"
    );
    let huge_title = rss(
        "Huge",
        &[item(
            "t1",
            &"Very long title ".repeat(5 * 1024 * 1024 / 16),
            "https://huge.example/1",
            TEXT,
        )],
    );
    let controls = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "Ctl\u0000", "items": [
        {"id": "c1", "title": "Null\u0000byte \u0007bell \u001bescape", "url": "https://ctl.example/1",
         "content_html": "<p>a\u0000b\u0008c</p>", "content_text": "x\u0000y"}]}"#;
    let mut bad_utf8 = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Bytes</title>\
        <item><guid>u1</guid><title>Bad \xff\xfe bytes \xc3</title><link>https://utf.example/1</link>\
        <description>caf\xe9</description></item></channel></rss>"
        .to_vec();
    bad_utf8.extend_from_slice(b"\n");

    // Every hostile server too: memory is measured over all of them at once.
    let mut feeds = hostile_servers(&server);
    let mut add = |name: &str, route: Route| {
        server.route(&format!("/{name}"), route);
        feeds.push(feed(name, &server.url(&format!("/{name}")), ""));
    };
    add("good", Route::rss(good_feed("good")));
    add("laughs", Route::rss(laughs));
    add("xxe", Route::rss(xxe));
    add("deep", Route::rss(deep));
    add("many", Route::rss(many));
    add("huge-title", Route::rss(huge_title));
    add("controls", Route::ok("application/feed+json", controls));
    add(
        "bad-utf8",
        Route::ok("application/rss+xml; charset=utf-8", bad_utf8),
    );
    // The defaults (20 MiB bodies, 1000 items, 1 MiB fields), but for
    // the timeout and politeness, as in the other tests.
    let t = Trawl::new(
        "timeout = \"3s\"\nconcurrency = 64\nper_host_concurrency = 64\nper_host_gap = 0",
        &feeds,
    );
    let started = Instant::now();
    let (run, peak_kib) = run_measured(&t, &["fetch"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    assert!(peak_kib < 256 * 1024, "peak RSS {} MiB", peak_kib / 1024);
    eprintln!(
        "peak RSS with every hostile feed in one run: {} MiB",
        peak_kib / 1024
    );
    for name in ["good", "good-a", "good-b", "good-gzip"] {
        assert!(run.line(name).contains("1 new"), "{}", run.stdout);
    }
    let state = feeds_json(&t);
    check_errors(&state, &server_errors(20 << 20));

    // Entities: never expanded, never fetched.
    assert!(server.seen("/secret").is_empty() && server.seen("/secret-dtd").is_empty());
    let db = t.sql();
    let text_of = |guid: &str| -> String {
        db.query_row(
            "SELECT title || ' ' || coalesce(content_html, '') || ' ' || coalesce(content_text, '') \
             FROM articles WHERE guid = ?",
            [guid],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("{guid}: {e}\n{}{}", run.stdout, run.stderr))
    };
    let laugh = text_of("l1");
    assert!(laugh.len() < 1000 && !laugh.contains("lollol"), "{laugh}");
    let x = text_of("x1");
    assert!(
        !x.contains("root:") && !x.contains("Story of secret"),
        "{x}"
    );

    // Nesting: a clear error on the feed, in bounded time.
    let deep_error = state["deep"]["last_error"].as_str().unwrap_or_default();
    assert!(
        deep_error.contains("nested deeper than 512 levels"),
        "{deep_error}"
    );

    // 100,000 items: the first 10,000 read (limits::MAX_ENTRIES), of those
    // the newest 1000 kept (max_items' default), with a warning and a log line.
    assert_eq!(
        t.count("SELECT count(*) FROM article_sources s JOIN feeds f ON f.id = s.feed_id WHERE f.name = 'many'"),
        1000
    );
    assert_eq!(
        t.count("SELECT count(*) FROM articles WHERE guid = 'm99999'"),
        1
    );
    assert_eq!(
        t.count("SELECT count(*) FROM articles WHERE guid = 'm98999'"),
        0
    );
    assert!(
        run.stderr.contains("kept the newest 1000")
            && run.line("many").contains("more than 10000 entries"),
        "{}",
        run.stderr
    );

    // A 5 MB title: cut to max_field_bytes (1 MiB) on a character boundary.
    let title_len = t.count("SELECT length(CAST(title AS BLOB)) FROM articles WHERE guid = 't1'");
    assert!(title_len <= 1 << 20 && title_len > 1 << 19, "{title_len}");

    // Control bytes gone, bad UTF-8 replaced, and every stored text valid
    // UTF-8 (rusqlite refuses to read anything else into a String).
    let ctl = text_of("c1");
    assert!(ctl.contains("Nullbyte bell escape"), "{ctl:?}");
    assert!(
        !ctl.chars().any(|c| c.is_control() && !c.is_whitespace()),
        "{ctl:?}"
    );
    let utf = text_of("u1");
    assert!(utf.contains('\u{fffd}'), "{utf:?}");
    let mut stmt = db
        .prepare("SELECT guid, title, summary, content_html, content_text FROM articles")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (guid, title, summary, html, text) = row.expect("stored text is valid UTF-8");
        for field in [Some(title), summary, html, text].into_iter().flatten() {
            assert!(!field.contains('\0'), "{guid}");
        }
    }
}

/// An entry whose HTML nests 100,000 `<div>`s: html5ever's tree builder is
/// quadratic in depth (minutes of CPU for this one), so HTML nested deeper
/// than `limits::MAX_DEPTH` is kept as its text instead
/// (`limits::flatten_deep_html`), in linear time.
#[test]
fn deeply_nested_html_in_an_entry_is_kept_as_text_in_bounded_time() {
    let n = 100_000;
    let doc = rss(
        "Deep",
        &[item(
            "d1",
            "Deep",
            "https://deep.example/1",
            &format!("{}deep text{}", "<div>".repeat(n), "</div>".repeat(n)),
        )],
    );
    let (tx, rx) = std::sync::mpsc::channel();
    // On its own thread, so a regression fails the test instead of hanging it.
    std::thread::spawn(move || {
        let parsed = trawl::parse::parse(&trawl::parse::Input {
            bytes: doc.as_bytes(),
            url: Some("https://deep.example/feed"),
            content_type: None,
            content_language: None,
            timezone: chrono_tz::UTC,
            now: chrono::Utc::now(),
        });
        let _ = tx.send(parsed.map(|p| p.articles[0].content_html.clone()));
    });
    let html = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("parsing 100,000 nested <div>s took over 20 s")
        .unwrap();
    assert_eq!(html.as_deref(), Some("<p>deep text</p>"));
}

/// The documents that made feed-rs or quick-xml panic (fuzz/README.md,
/// "Found") are read end to end: `trawl parse` prints their articles, exits
/// 0, and no panic reaches stderr (it was caught before, and the feed lost).
#[test]
fn documents_that_made_the_parser_panic_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let docs = [
        // A feed pasted after another: a second XML declaration.
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>t</title>\
         <item><title>first</title><link>https://a.example/1</link></item>\
         <?xml version=\"1.0\" encoding=\"euc-kr\"?></channel></rss>",
        // Curly quotes around an author's address.
        "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>t</title>\
         <managingEditor>“dave@userland.com”</managingEditor><item><title>first</title>\
         <author>Dave “dave@userland.com”</author><dc:creator>&#8220;x@y.org&#8221;</dc:creator>\
         </item></channel></rss>",
        "{\"version\": \"https://jsonfeed.org/version/1.1\", \"title\": \"t\", \"items\": [{\"id\": \
         \"1\", \"title\": \"first\", \"content_text\": \"x\", \"authors\": [{\"name\": \
         \"Dave “dave@userland.com”\"}]}]}",
    ];
    for doc in docs {
        let path = dir.path().join("doc");
        std::fs::write(&path, doc).unwrap();
        let run = common::trawl(&["parse", path.to_str().unwrap()], None, dir.path());
        assert_eq!(run.code, 0, "{doc}\n{}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        let article: serde_json::Value =
            serde_json::from_str(run.stdout.lines().next().unwrap()).unwrap();
        assert_eq!(article["title"], "first", "{doc}");
        if doc.contains("Dave") {
            assert_eq!(article["authors"], serde_json::json!(["Dave"]), "{doc}");
        }
    }
}

/// A one-off `trawl fetch` does not sleep through a site's pause: once a
/// feed of the site answers 429 with `Retry-After: 3600`, the site's other
/// feed is reported deferred at once, not fetched, and not counted as the
/// feed's failure; the run ends in seconds with the exit status of a failed
/// feed. (Both feeds of the site answer 429, so the test holds whichever is
/// fetched first.)
#[test]
fn a_one_off_fetch_reports_a_paused_site_instead_of_waiting() {
    let server = Server::start();
    for path in ["/one", "/two"] {
        server.route(path, Route::status(429).header("Retry-After", "3600"));
    }
    server.route("/good", Route::rss(good_feed("good")));
    let good = server.url("/good").replace("127.0.0.1", "localhost");
    let t = Trawl::new(
        "timeout = \"5s\"\nper_host_concurrency = 1\nper_host_gap = \"1s\"",
        &[
            feed("one", &server.url("/one"), ""),
            feed("two", &server.url("/two"), ""),
            feed("good", &good, ""),
        ],
    );
    let started = Instant::now();
    let run = t.run(&["fetch"]);
    let took = started.elapsed();
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert!(run.line("good").contains("1 new"), "{}", run.stdout);
    let requests = server.seen("/one").len() + server.seen("/two").len();
    assert_eq!(requests, 1, "{}", run.stdout);
    let (busy, deferred) = if server.seen("/one").is_empty() {
        ("two", "one")
    } else {
        ("one", "two")
    };
    assert!(run.line(busy).contains("HTTP 429"), "{}", run.stdout);
    let line = run.line(deferred);
    assert!(
        line.contains("error: deferred: site paused until 20"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("3 feeds, 1 ok"), "{}", run.stdout);
    let state = feeds_json(&t);
    let row = &state[deferred];
    assert_eq!(row["consecutive_failures"], 0, "{row}");
    let (last, next): (String, String) = t
        .sql()
        .query_row(
            "SELECT last_fetch_at, next_fetch_at FROM feeds WHERE name = ?1",
            [deferred],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
    assert!(
        at(&next) - at(&last) >= chrono::Duration::seconds(3500),
        "next fetch {next} is before the pause ends (last {last})"
    );
}
