//! Faults of the machine under a running `trawl run`: the disk fills up.
//! It is a clear error in the log and on the feed; the daemon keeps running;
//! the database stays intact and never holds a feed's validators without
//! its articles; and once space returns, the articles are stored, none lost
//! and none twice.
//!
//! No privileges needed: a full disk is played by lowering the running
//! daemon's `RLIMIT_FSIZE` (with `prlimit`) just above the size of its
//! files. A write past it fails with `EFBIG` (trawl ignores SIGXFSZ
//! itself: the test leaves the signal's default, which would kill it), which SQLite reports as "disk I/O error", as it does a file
//! system gone read-only (`EROFS`) or a failing disk (`EIO`); raising the
//! limit again is space returning. `crash::a_full_disk_is_a_clear_error_and_
//! the_daemon_recovers` does the same with a real full tmpfs (`ENOSPC`,
//! "database or disk is full") where it may mount one.
//!
//! Every server is a [`Server`] on 127.0.0.1 that the test starts.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Route, Server, Trawl, eventually, eventually_with, feed, item, rss, terminate};

const TEXT: &str = "Officials said the bridge would stay closed for repairs until the end \
    of the month, after inspectors found cracks in two of its supporting piers during a \
    routine survey last week.";

/// `trawl run` with its log read through a pipe (a log file would hit the
/// file size limit too).
struct Daemon {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Daemon {
    fn start(t: &Trawl) -> Daemon {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trawl"));
        cmd.args(["run", "--config"])
            .arg(t.config())
            .arg("--db")
            .arg(t.db())
            .env("RUST_LOG", "info")
            .env_remove("TRAWL_CONFIG")
            .env_remove("NOTIFY_SOCKET")
            .current_dir(t.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let d = Daemon { child, log };
        eventually(Duration::from_secs(20), "the daemon running", || {
            d.log().contains("trawl running")
        });
        d
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Sets the soft limit on the size of any file the daemon writes;
    /// `None` lifts it.
    fn limit_file_size(&self, bytes: Option<u64>) {
        let mut hard = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: plain system calls on valid pointers; the pid is our
        // child's, not yet reaped.
        unsafe {
            assert_eq!(libc::getrlimit(libc::RLIMIT_FSIZE, &mut hard), 0);
            let limit = libc::rlimit {
                rlim_cur: bytes.map_or(hard.rlim_max, |b| b.min(hard.rlim_max)),
                rlim_max: hard.rlim_max,
            };
            let rc = libc::prlimit(
                self.child.id() as libc::pid_t,
                libc::RLIMIT_FSIZE,
                &limit,
                std::ptr::null_mut(),
            );
            assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
        }
    }

    fn stop(mut self) -> std::process::ExitStatus {
        let log = self.log.clone();
        terminate(&mut self.child, Duration::from_secs(30), || {
            log.lock().unwrap().clone()
        })
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// [`eventually`], with the daemon's log when it times out.
    fn eventually(&self, within: Duration, what: &str, cond: impl FnMut() -> bool) {
        eventually_with(within, what, || self.log(), cond);
    }
}

/// A read-only look at the database, beside the daemon's connection (one
/// that writes, or checkpoints on closing, would do the daemon's work).
fn look(db: &Path) -> rusqlite::Connection {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn
}

fn count(db: &Path, sql: &str) -> i64 {
    look(db).query_row(sql, [], |r| r.get(0)).unwrap()
}

fn integrity(db: &Path) -> String {
    look(db)
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

/// The stored ETag of feed `name`.
fn etag(db: &Path, name: &str) -> Option<String> {
    look(db)
        .query_row("SELECT etag FROM feeds WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .unwrap()
}

/// The room left on the nearly full disk of
/// [`a_full_disk_is_an_error_the_daemon_survives_and_recovers_from`]: many
/// seconds of the daemon's small writes, a third of the new articles.
const ROOM: u64 = 1024 * 1024;

/// `n` items of about `size` bytes each.
fn items(prefix: &str, n: usize, size: usize) -> Vec<String> {
    (0..n)
        .map(|j| {
            let body = format!("{prefix} {j} {TEXT} ");
            item(
                &format!("{prefix}-{j}"),
                &format!("{prefix} story {j}"),
                &format!("https://disk.example/{prefix}/{j}"),
                &format!("<p>{}</p>", body.repeat(size / body.len() + 1)),
            )
        })
        .collect()
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The articles, by guid, with how many rows each has.
fn guids(db: &Path) -> Vec<(String, i64)> {
    let conn = look(db);
    let mut stmt = conn
        .prepare("SELECT guid, count(*) FROM articles GROUP BY guid ORDER BY guid")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The disk fills under the running daemon while a feed brings far more
/// than fits: the commit fails and is rolled back whole, the log and the
/// feed say why, the feed's new ETag is not stored without its articles,
/// and the daemon stays up, retrying. Once space returns, the feed's
/// articles are stored, the earlier ones are all still there, and none is
/// stored twice.
#[test]
fn a_full_disk_is_an_error_the_daemon_survives_and_recovers_from() {
    let server = Server::start();
    server.route(
        "/grow",
        Route::rss(rss("Grow", &items("first", 2, 2_000))).with_etag("\"v1\""),
    );
    server.route(
        "/steady",
        Route::rss(rss("Steady", &items("steady", 1, 500))),
    );
    let t = Trawl::new(
        "min_interval = \"1s\"\nper_host_gap = 0",
        &[
            feed("grow", &server.url("/grow"), "interval = \"1s\""),
            feed("steady", &server.url("/steady"), "interval = \"1s\""),
        ],
    );
    let db = t.db();
    let wal = t.dir.path().join("trawl.db-wal");
    let mut d = Daemon::start(&t);
    eventually(Duration::from_secs(20), "the first articles", || {
        db.exists() && count(&db, "SELECT count(*) FROM articles") == 3
    });
    assert_eq!(etag(&db, "grow").as_deref(), Some("\"v1\""));

    // The disk is nearly full: the daemon's small writes (leases, the
    // steady feed's fetches) fit for many seconds, the new articles do not. The room is measured from the end of the
    // log, where the next commit writes: the log only grows in this test
    // (no checkpoint comes near), and the database file may well be the
    // larger of the two, which would add its difference to the room.
    let limit = size(&wal) + ROOM;
    d.limit_file_size(Some(limit));
    // New items, several times what is left of the space.
    let n = (3 * limit as usize / 20_000).max(40);
    server.route(
        "/grow",
        Route::rss(rss("Grow", &items("second", n, 20_000))).with_etag("\"v2\""),
    );
    d.eventually(Duration::from_secs(30), "the failed commit logged", || {
        d.log().contains("storing failed")
    });
    // The daemon keeps running, the feed failing at each try.
    std::thread::sleep(Duration::from_secs(4));
    let log = d.log();
    assert!(d.alive(), "the daemon died:\n{log}");
    assert!(
        log.contains("commit failed") && log.contains("is the disk full"),
        "no clear error in the log:\n{log}"
    );
    assert_eq!(integrity(&db), "ok");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM articles WHERE guid LIKE 'second-%'"
        ),
        0
    );
    // Validators never run ahead of articles.
    assert_eq!(etag(&db, "grow").as_deref(), Some("\"v1\""));

    // Space returns.
    d.limit_file_size(None);
    d.eventually(
        Duration::from_secs(60),
        "the articles stored once space returned",
        || {
            count(
                &db,
                "SELECT count(*) FROM articles WHERE guid LIKE 'second-%'",
            ) == n as i64
        },
    );
    assert!(d.alive(), "{}", d.log());
    assert_eq!(integrity(&db), "ok");
    assert_eq!(etag(&db, "grow").as_deref(), Some("\"v2\""));
    // None lost, none twice.
    let stored = guids(&db);
    assert_eq!(stored.len(), 2 + 1 + n, "{stored:?}");
    assert!(stored.iter().all(|(_, k)| *k == 1), "{stored:?}");
    for guid in ["first-0", "first-1", "steady-0"] {
        assert!(stored.iter().any(|(g, _)| g == guid), "{guid} lost");
    }
    // The failure was recorded on the feed, in the fetch log.
    let recorded = count(
        &db,
        "SELECT count(*) FROM fetch_log l JOIN feeds f ON f.id = l.feed_id \
         WHERE f.name = 'grow' AND l.error LIKE 'storing failed:%'",
    );
    assert!(recorded >= 1, "{}", d.log());
    let log = d.log();
    let status = d.stop();
    assert!(status.success(), "{status:?}\n{log}");
    assert_eq!(integrity(&db), "ok");
}

/// A disk with no room left at all: not even a feed's lease can be written.
/// The daemon says so, waits and retries (it does not spin), stays up, and
/// fetches and stores the feed once space returns.
#[test]
fn a_disk_too_full_for_a_lease_is_waited_out() {
    let server = Server::start();
    server.route("/news", Route::rss(rss("News", &items("first", 2, 1_000))));
    let t = Trawl::new(
        "min_interval = \"1s\"\nper_host_gap = 0",
        &[feed("news", &server.url("/news"), "interval = \"1s\"")],
    );
    let db = t.db();
    let wal = t.dir.path().join("trawl.db-wal");
    let mut d = Daemon::start(&t);
    d.eventually(Duration::from_secs(20), "the first articles", || {
        db.exists() && count(&db, "SELECT count(*) FROM articles") == 2
    });
    // Not one byte more: the next write to the end of the log fails. (The
    // log only grows in this test; the database file may be the larger
    // one, and a limit at its size would leave the log room for a lease.)
    d.limit_file_size(Some(size(&wal)));
    server.route(
        "/news",
        Route::rss(rss("News", &items("second", 30, 5_000))),
    );
    d.eventually(Duration::from_secs(30), "the failed lease logged", || {
        d.log().contains("cannot lease the due feeds")
    });
    std::thread::sleep(Duration::from_secs(5));
    let log = d.log();
    assert!(d.alive(), "the daemon died:\n{log}");
    // Retried every 2 s, not in a tight loop.
    let retries = log.matches("cannot lease the due feeds").count();
    assert!(retries <= 6, "{retries} retries in about 5 s:\n{log}");
    assert!(log.contains("is the disk full"), "{log}");
    assert_eq!(integrity(&db), "ok");

    d.limit_file_size(None);
    d.eventually(Duration::from_secs(60), "the new articles stored", || {
        count(
            &db,
            "SELECT count(*) FROM articles WHERE guid LIKE 'second-%'",
        ) == 30
    });
    assert_eq!(integrity(&db), "ok");
    let stored = guids(&db);
    assert_eq!(stored.len(), 32, "{stored:?}");
    assert!(stored.iter().all(|(_, k)| *k == 1), "{stored:?}");
    let log = d.log();
    let status = d.stop();
    assert!(status.success(), "{status:?}\n{log}");
}
