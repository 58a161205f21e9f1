//! `trawl run` as a process: readiness over a real NOTIFY_SOCKET, signals,
//! reloads, a concurrent one-off fetch, the admin listener and the unit file.

mod common;

use std::collections::HashMap;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use common::{Behavior, Route, Server, Trawl, eventually, eventually_with, feed, item, rss};

const TEXT: &str = "<p>Ministers met on Tuesday to agree the budget for the coming year, \
    after weeks of talks between the coalition partners about spending on schools, \
    hospitals and the armed forces.</p>";

/// A running `trawl run` with a notify socket the test listens on.
struct Daemon {
    child: Child,
    notify: Notify,
    log: std::path::PathBuf,
}

/// The test's end of NOTIFY_SOCKET, read all the time by a thread as
/// systemd reads it. Unread, the socket's queue fills after about ten
/// messages (five seconds of watchdog pings), and the daemon's next
/// notification then blocks its main loop until the test reads again: a
/// test that slept meanwhile saw fetching stop for no fault of the daemon.
struct Notify {
    inbox: Arc<(Mutex<Inbox>, Condvar)>,
    stop: Arc<AtomicBool>,
}

#[derive(Default)]
struct Inbox {
    /// Every message received, in order.
    messages: Vec<String>,
    /// How many of them `wait_notify` has gone past.
    read: usize,
}

impl Notify {
    fn bind(socket: &Path) -> Notify {
        let sock = UnixDatagram::bind(socket).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let inbox = Arc::new((Mutex::new(Inbox::default()), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, stopping) = (inbox.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !stopping.load(Ordering::Relaxed) {
                if let Ok(n) = sock.recv(&mut buf) {
                    let msg = String::from_utf8_lossy(&buf[..n]).to_string();
                    shared.0.lock().unwrap().messages.push(msg);
                    shared.1.notify_all();
                }
            }
        });
        Notify { inbox, stop }
    }
}

impl Drop for Notify {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Daemon {
    fn start(t: &Trawl) -> Daemon {
        let socket = t.dir.path().join("notify.sock");
        let notify = Notify::bind(&socket);
        let log = t.dir.path().join("daemon.log");
        let child = Command::new(env!("CARGO_BIN_EXE_trawl"))
            .args(["run", "--config"])
            .arg(t.config())
            .arg("--db")
            .arg(t.db())
            .env("NOTIFY_SOCKET", &socket)
            // A watchdog of 1 s: trawl pings every 0.5 s.
            .env("WATCHDOG_USEC", "1000000")
            .env("RUST_LOG", "info")
            .env_remove("TRAWL_CONFIG")
            .current_dir(t.dir.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Daemon { child, notify, log }
    }

    /// Waits for a notify message containing `needle` among those not yet
    /// gone past; returns them up to and including it.
    fn wait_notify(&self, needle: &str, within: Duration) -> Vec<String> {
        let until = Instant::now() + within;
        let (lock, wake) = &*self.notify.inbox;
        let mut inbox = lock.lock().unwrap();
        loop {
            let unread = &inbox.messages[inbox.read..];
            if let Some(i) = unread.iter().position(|m| m.lines().any(|l| l == needle)) {
                let found = unread[..=i].to_vec();
                inbox.read += i + 1;
                return found;
            }
            let now = Instant::now();
            if now >= until {
                let seen = unread.to_vec();
                drop(inbox);
                panic!(
                    "no {needle} within {within:?}; saw {seen:?}\nlog:\n{}",
                    self.log()
                );
            }
            inbox = wake.wait_timeout(inbox, until - now).unwrap().0;
        }
    }

    fn signal(&self, sig: i32) {
        let rc = unsafe { libc::kill(self.child.id() as i32, sig) };
        assert_eq!(rc, 0, "kill failed");
    }

    fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let log = self.log.clone();
        common::wait_exit(&mut self.child, within, || {
            std::fs::read_to_string(&log).unwrap_or_default()
        })
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 GET on 127.0.0.1: (status, body).
fn http_get(port: u16, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        sock,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    sock.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    // The admin answers are small enough to come unchunked, but be safe.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        out
    } else {
        body.to_string()
    };
    (status, body)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn story(guid: &str, title: &str) -> String {
    item(guid, title, &format!("https://news.example/{guid}"), TEXT)
}

fn count(t: &Trawl, sql: &str) -> i64 {
    // The daemon writes in WAL mode; a reader never blocks it.
    t.sql().query_row(sql, [], |r| r.get(0)).unwrap_or(-1)
}

const DAEMON: &str = "per_host_gap = 0\nshutdown_timeout = \"3s\"";

#[test]
fn it_reports_ready_stores_articles_reloads_on_sighup_and_stops_on_sigterm() {
    let server = Server::start();
    server.route(
        "/one",
        Route::rss(rss("One", &[story("a", "Budget agreed")])),
    );
    server.route(
        "/two",
        Route::rss(rss("Two", &[story("b", "Second outlet")])),
    );
    let t = Trawl::new(DAEMON, &[feed("one", &server.url("/one"), "")]);
    let mut d = Daemon::start(&t);

    d.wait_notify("READY=1", Duration::from_secs(10));
    eventually(Duration::from_secs(10), "the first article", || {
        count(&t, "SELECT count(*) FROM articles") == 1
    });
    d.wait_notify("WATCHDOG=1", Duration::from_secs(5));
    let status = d.wait_notify("WATCHDOG=1", Duration::from_secs(5));
    assert!(
        status.iter().any(|m| m.starts_with("STATUS=")) || d.log().contains("trawl running"),
        "{status:?}"
    );

    // A second feed added to the config takes effect on SIGHUP.
    let with_two = std::fs::read_to_string(t.config()).unwrap()
        + &format!("\n[[feed]]\n{}\n", feed("two", &server.url("/two"), ""));
    std::fs::write(t.config(), &with_two).unwrap();
    d.signal(libc::SIGHUP);
    d.wait_notify("RELOADING=1", Duration::from_secs(5));
    eventually(Duration::from_secs(10), "the added feed's article", || {
        count(&t, "SELECT count(*) FROM articles") == 2
    });

    // A broken config is refused; the running one stays.
    std::fs::write(t.config(), format!("{with_two}\nbogus_key = 1\n")).unwrap();
    d.signal(libc::SIGHUP);
    d.wait_notify("READY=1", Duration::from_secs(5));
    eventually(Duration::from_secs(5), "the refusal in the log", || {
        d.log().contains("keeping the running config")
    });
    assert!(d.log().contains("bogus_key"), "{}", d.log());
    assert!(d.child.try_wait().unwrap().is_none(), "still running");

    d.signal(libc::SIGTERM);
    d.wait_notify("STOPPING=1", Duration::from_secs(5));
    let status = d.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status:?}\n{}", d.log());
    let ok: String = t
        .sql()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    assert_eq!(
        count(
            &t,
            "SELECT count(*) FROM feeds WHERE lease_owner IS NOT NULL"
        ),
        0,
        "leases released at exit"
    );
}

#[test]
fn sigterm_mid_fetch_exits_cleanly_within_the_deadline() {
    let server = Server::start();
    server.route(
        "/fast",
        Route::rss(rss("Fast", &[story("f", "Fast story")])),
    );
    // A body that takes far longer than the shutdown deadline.
    server.route(
        "/slow",
        Route::rss(rss("Slow", &[story("s", "Slow story")]))
            .behave(Behavior::Drip(Duration::from_millis(100))),
    );
    let t = Trawl::new(
        &format!("{DAEMON}\ntimeout = \"120s\""),
        &[
            feed("fast", &server.url("/fast"), ""),
            feed("slow", &server.url("/slow"), ""),
        ],
    );
    let mut d = Daemon::start(&t);
    d.wait_notify("READY=1", Duration::from_secs(10));
    eventually(Duration::from_secs(10), "the fast feed", || {
        count(&t, "SELECT count(*) FROM articles") == 1
    });
    eventually(Duration::from_secs(5), "the slow fetch to start", || {
        !server.seen("/slow").is_empty()
    });
    let asked = Instant::now();
    d.signal(libc::SIGTERM);
    let status = d.wait_exit(Duration::from_secs(10));
    let took = asked.elapsed();
    assert!(status.success(), "{status:?}\n{}", d.log());
    assert!(
        took < Duration::from_secs(6),
        "shutdown_timeout is 3 s, took {took:?}"
    );
    assert!(d.log().contains("abandoning"), "{}", d.log());
    let ok: String = t
        .sql()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    // The abandoned fetch stored nothing, not even its validators.
    assert_eq!(count(&t, "SELECT count(*) FROM articles"), 1);
    assert_eq!(
        count(
            &t,
            "SELECT count(*) FROM feeds WHERE name = 'slow' AND last_fetch_at IS NULL"
        ),
        1
    );
}

#[test]
fn a_one_off_fetch_beside_the_daemon_succeeds_without_duplicates() {
    let server = Server::start();
    let items: Vec<String> = (0..30)
        .map(|i| story(&format!("s{i}"), &format!("Story {i}")))
        .collect();
    let names: Vec<String> = (0..6).map(|i| format!("f{i}")).collect();
    for name in &names {
        // Every feed carries the same 30 stories: maximal contention on the
        // same article rows.
        server.route(&format!("/{name}"), Route::rss(rss(name, &items)));
    }
    let feeds: Vec<String> = names
        .iter()
        .map(|n| feed(n, &server.url(&format!("/{n}")), ""))
        .collect();
    let t = Trawl::new(DAEMON, &feeds);
    let d = Daemon::start(&t);
    d.wait_notify("READY=1", Duration::from_secs(10));
    // Run one-off fetches while the daemon's first round is under way.
    for _ in 0..3 {
        let run = t.run(&["fetch"]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert!(!run.stderr.contains("locked"), "{}", run.stderr);
    }
    eventually(
        Duration::from_secs(10),
        "every feed fetched by someone",
        || count(&t, "SELECT count(*) FROM feeds WHERE last_fetch_at IS NULL") == 0,
    );
    assert_eq!(count(&t, "SELECT count(*) FROM articles"), 30);
    assert_eq!(count(&t, "SELECT count(*) FROM article_sources"), 30 * 6);
    assert!(!d.log().contains("locked"), "{}", d.log());
}

/// A feed is fetched no more often than its interval allows, however short:
/// the daemon once fetched a feed set to one second two or three times in a
/// row, 50 ms apart, because its due time was stored rounded down to the
/// second and so had passed before the fetch was even committed.
#[test]
fn a_feed_is_never_fetched_sooner_than_its_interval() {
    let server = Server::start();
    server.route(
        "/fast",
        Route::rss(rss("Fast", &[story("a", "A story")])).with_etag("\"1\""),
    );
    let t = Trawl::new(
        &format!("{DAEMON}\nmin_interval = \"1s\""),
        &[feed("fast", &server.url("/fast"), "interval = \"1s\"")],
    );
    let d = Daemon::start(&t);
    d.wait_notify("READY=1", Duration::from_secs(10));
    // Due times are stored in whole seconds, rounded up, so a one-second
    // interval comes round every one to two seconds (more on a loaded
    // machine): wait for five fetches rather than count them in a window.
    eventually_with(
        Duration::from_secs(30),
        "five fetches",
        || d.log(),
        || server.seen("/fast").len() >= 5,
    );
    let seen = server.seen("/fast");
    // One second, less the 10 % jitter, less 100 ms for a slow request.
    for pair in seen.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= Duration::from_millis(800),
            "fetched again after {gap:?}:\n{}",
            d.log()
        );
    }
}

/// Parses Prometheus text: `name{labels} value` lines, comments skipped.
fn parse_prometheus(text: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let kind = rest.split_whitespace().nth(1).unwrap_or("");
                assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                    "bad TYPE line: {line}"
                );
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line: {line}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in: {line}"));
        if let Some(open) = series.find('{') {
            assert!(series.ends_with('}'), "bad labels: {line}");
            let name = &series[..open];
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            );
        }
        out.insert(series.to_string(), value);
    }
    out
}

#[test]
fn the_admin_listener_serves_health_metrics_and_fetches_on_request() {
    let server = Server::start();
    server.route(
        "/a",
        Route::rss(rss("A", &[story("x", "Admin story")])).with_etag("\"1\""),
    );
    let port = free_port();
    let t = Trawl::new(
        &format!("{DAEMON}\nlisten = \"127.0.0.1:{port}\""),
        &[feed("a", &server.url("/a"), "interval = \"6h\"")],
    );
    let d = Daemon::start(&t);
    d.wait_notify("READY=1", Duration::from_secs(10));
    eventually(Duration::from_secs(10), "the first fetch", || {
        count(&t, "SELECT count(*) FROM articles") == 1
    });
    let base = format!("http://127.0.0.1:{port}");
    let (status, body) = http_get(port, "/healthz");
    assert_eq!((status, body.as_str()), (200, "ok\n"));

    let before = parse_prometheus(&http_get(port, "/metrics").1);
    assert_eq!(before["trawl_fetches_total{outcome=\"stored\"}"], 1.0);
    assert_eq!(before["trawl_articles_total{kind=\"new\"}"], 1.0);

    // `trawl fetch --via` asks the daemon, which answers 304 this time.
    let run = t.run(&["fetch", "--via", &base, "a"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.line("a").contains("not modified"), "{}", run.stdout);
    let unknown = t.run(&["fetch", "--via", &base, "nope"]);
    assert_eq!(unknown.code, 2);
    assert!(unknown.stdout.contains("404"), "{}", unknown.stdout);

    let after = parse_prometheus(&http_get(port, "/metrics").1);
    assert_eq!(after["trawl_fetches_total{outcome=\"not_modified\"}"], 1.0);
    assert!(after["trawl_fetch_duration_seconds_count"] >= 2.0);
    assert_eq!(server.seen("/a").len(), 2, "the trigger fetched once more");
}

#[test]
fn a_public_admin_address_needs_a_token() {
    let t = Trawl::new(
        &format!("{DAEMON}\nlisten = \"0.0.0.0:{}\"", free_port()),
        &[],
    );
    let mut d = Daemon::start(&t);
    let status = d.wait_exit(Duration::from_secs(10));
    assert!(!status.success());
    assert!(d.log().contains("admin_token"), "{}", d.log());
}

#[test]
fn the_unit_file_passes_systemd_analyze() {
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/trawl.service");
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: systemd-analyze is not installed");
        return;
    }
    // `verify` checks that ExecStart exists: point it at the binary under test.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&unit).unwrap();
    assert!(text.contains("Type=notify"));
    assert!(text.contains("ExecReload=/bin/kill -HUP $MAINPID"));
    let local = text.replace("/usr/local/bin/trawl", env!("CARGO_BIN_EXE_trawl"));
    let copy = dir.path().join("trawl.service");
    std::fs::write(&copy, local).unwrap();
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );

    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=true"])
        .arg(&unit)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&security.stdout);
    let level: f64 = out
        .lines()
        .find_map(|l| l.split("exposure level for trawl.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{out}"));
    assert!(level <= 2.0, "exposure {level} > 2.0:\n{out}");
}
