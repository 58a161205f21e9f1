//! Crashes and faults: `trawl run` killed with SIGKILL at random moments,
//! over and over, loses nothing and stores nothing twice; a full disk is a
//! clear error the daemon survives and recovers from; a database it cannot
//! write is refused at start with a message; an older database is migrated
//! after a backup.
//!
//! Every server is a [`Server`] on 127.0.0.1 that the test starts.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Route, Server, Trawl, eventually, feed, item, rss, terminate};

const TEXT: &str = "<p>Officials said the bridge would stay closed for repairs until the end \
    of the month, after inspectors found cracks in two of its supporting piers during a \
    routine survey last week.</p>";

/// A small deterministic generator (xorshift64*): the seed is printed, so a
/// failing sequence of kills can be replayed with `TRAWL_CRASH_SEED`.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("TRAWL_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("TRAWL_CRASH_SEED={seed}");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// `trawl run` on a test installation, its log in a file.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(t: &Trawl, db: &Path, log_name: &str) -> Daemon {
        let log = t.dir.path().join(log_name);
        let child = Command::new(env!("CARGO_BIN_EXE_trawl"))
            .args(["run", "--config"])
            .arg(t.config())
            .arg("--db")
            .arg(db)
            .env("RUST_LOG", "info")
            .env_remove("TRAWL_CONFIG")
            .env_remove("NOTIFY_SOCKET")
            .current_dir(t.dir.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Daemon { child, log }
    }

    /// Waits until it is up: database open, signal handlers in place.
    fn wait_running(&self) {
        eventually(Duration::from_secs(20), "the daemon running", || {
            self.log().contains("trawl running")
        });
    }

    fn kill9(mut self) {
        // SAFETY: signalling our own child, which has not been reaped yet.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGKILL) };
        let _ = self.child.wait();
    }

    fn stop(mut self) -> std::process::ExitStatus {
        let log = self.log.clone();
        terminate(&mut self.child, Duration::from_secs(20), || {
            std::fs::read_to_string(&log).unwrap_or_default()
        })
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
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

fn open(db: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn
}

fn integrity(db: &Path) -> String {
    open(db)
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

/// What must be equal between a killed run and a clean one: every article
/// by (url, title, content hash), and every source by (feed, guid). (An
/// article's own guid is its first source's, which depends on which feed
/// came first, killed or not.)
#[derive(Debug, PartialEq)]
struct Contents {
    articles: BTreeSet<(Option<String>, String, String)>,
    sources: BTreeSet<(String, String)>,
}

fn contents(db: &Path) -> Contents {
    let conn = open(db);
    let mut stmt = conn
        .prepare("SELECT url, title, content_hash FROM articles")
        .unwrap();
    let articles = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut stmt = conn
        .prepare("SELECT f.name, s.guid FROM article_sources s JOIN feeds f ON f.id = s.feed_id")
        .unwrap();
    let sources = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    Contents { articles, sources }
}

/// The feeds of the crash test: `n` items each, five of them shared by
/// every feed (one article, many sources); validators of three kinds; two
/// gzipped; and a big one whose commit takes a while. Returns the feed
/// bodies and how many sources each should end with.
fn crash_feeds(server: &Server) -> (Vec<String>, Vec<(String, i64)>) {
    let mut feeds = Vec::new();
    let mut expected = Vec::new();
    for f in 0..12 {
        let name = format!("feed-{f}");
        let mut items: Vec<String> = (0..25)
            .map(|j| {
                item(
                    &format!("{name}-{j}"),
                    &format!("Story {j} of {name}"),
                    &format!("https://news.example/{name}/{j}"),
                    &format!("<p>Item {j} of {name}.</p>{TEXT}"),
                )
            })
            .collect();
        items.extend((0..5).map(|j| {
            item(
                &format!("{name}-wire-{j}"),
                &format!("Wire story {j}"),
                &format!("https://wire.example/story/{j}?utm_source={name}"),
                &format!("<p>Wire copy {j}.</p>{TEXT}"),
            )
        }));
        let mut route = Route::rss(rss(&format!("Outlet {f}"), &items));
        route = match f % 3 {
            0 => route.with_etag(&format!("\"{name}-v1\"")),
            1 => route.with_last_modified("Wed, 17 Apr 2024 02:03:49 GMT"),
            _ => route,
        };
        if f < 2 {
            route = route.gzip();
        }
        let path = format!("/{name}");
        server.route(&path, route);
        feeds.push(feed(&name, &server.url(&path), "interval = \"1s\""));
        expected.push((name, 30));
    }
    let big: Vec<String> = (0..1500)
        .map(|j| {
            item(
                &format!("big-{j}"),
                &format!("Big story {j}"),
                &format!("https://big.example/{j}"),
                TEXT,
            )
        })
        .collect();
    server.route("/big", Route::rss(rss("Big", &big)).with_etag("\"big\""));
    feeds.push(feed("big", &server.url("/big"), "interval = \"1s\""));
    // max_items (1000 by default) of the 1500.
    expected.push(("big".to_string(), 1000));
    (feeds, expected)
}

const CRASH_DAEMON: &str = "min_interval = \"1s\"\nper_host_gap = 0\nper_host_concurrency = 16\n\
    shutdown_timeout = \"5s\"";

/// A killed process's leases would keep its feeds from the next one for
/// `timeout` + 60 s. The tests stand for that time passing. (A process
/// killed before it created the schema left no table to update.)
fn expire_leases(db: &Path) {
    let conn = open(db);
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'feeds'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    if tables == 1 {
        conn.execute(
            "UPDATE feeds SET lease_until = '1970-01-01T00:00:00Z' WHERE lease_owner IS NOT NULL",
            [],
        )
        .unwrap();
    }
}

/// Every feed has been fetched successfully at least once.
fn all_fetched(db: &Path, n: usize) -> bool {
    let conn = open(db);
    let done: i64 = conn
        .query_row(
            "SELECT count(*) FROM feeds WHERE last_status IN (200, 304) \
             AND body_hash IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap_or(0);
    done as usize == n
}

/// Runs the daemon until every feed was fetched once, then stops it.
fn settle(t: &Trawl, db: &Path, n: usize, log: &str) {
    let d = Daemon::start(t, db, log);
    d.wait_running();
    eventually(Duration::from_secs(30), "every feed fetched", || {
        all_fetched(db, n)
    });
    let status = d.stop();
    assert!(status.success(), "{status:?}");
}

#[test]
fn kill_9_at_random_moments_loses_nothing_and_stores_nothing_twice() {
    let server = Server::start();
    let (feeds, expected) = crash_feeds(&server);
    let n = feeds.len();

    // The clean run: never killed.
    let clean = Trawl::new(CRASH_DAEMON, &feeds);
    settle(&clean, &clean.db(), n, "clean.log");
    let want = contents(&clean.db());
    assert_eq!(want.articles.len(), 12 * 25 + 5 + 1000);

    // The killed runs.
    let t = Trawl::new(CRASH_DAEMON, &feeds);
    let db = t.db();
    let mut rng = Rng::new();
    let started = Instant::now();
    let mut kills = 0;
    while started.elapsed() < Duration::from_secs(30) && kills < 60 {
        let d = Daemon::start(&t, &db, "killed.log");
        std::thread::sleep(Duration::from_millis(20 + rng.below(600)));
        d.kill9();
        kills += 1;

        assert_eq!(integrity(&db), "ok", "after kill {kills}");
        // Validators never run ahead of articles: a feed with an ETag or a
        // Last-Modified stored has every one of its articles stored.
        let conn = open(&db);
        for (name, count) in &expected {
            let (validators, stored): (bool, i64) = conn
                .query_row(
                    "SELECT f.etag IS NOT NULL OR f.last_modified IS NOT NULL, \
                     (SELECT count(*) FROM article_sources s WHERE s.feed_id = f.id) \
                     FROM feeds f WHERE f.name = ?",
                    [name],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap_or((false, 0));
            if validators {
                assert_eq!(stored, *count, "{name} after kill {kills}");
            }
        }
        drop(conn);
        expire_leases(&db);
    }
    eprintln!("{kills} kills in {:?}", started.elapsed());
    assert!(kills >= 20, "only {kills} kills");

    // Restarted and left to finish, the database is the clean run's.
    settle(&t, &db, n, "final.log");
    assert_eq!(integrity(&db), "ok");
    let fk: i64 = open(&db)
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(fk, 0, "foreign keys broken");
    let got = contents(&db);
    let missing: Vec<_> = want.articles.difference(&got.articles).take(3).collect();
    let extra: Vec<_> = got.articles.difference(&want.articles).take(3).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    assert_eq!(got.sources, want.sources);
}

/// A tmpfs the test mounts (and unmounts, whatever happens).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system holding `dir` with a file of its own; returns it.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = vec![0u8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    // The last partial block.
    while f.write_all(&block[..512]).is_ok() {}
    let _ = f.sync_all();
    path
}

fn big_items(prefix: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|j| {
            item(
                &format!("{prefix}-{j}"),
                &format!("{prefix} story {j}"),
                &format!("https://disk.example/{prefix}/{j}"),
                &format!("<p>{}</p>", format!("{prefix} {j} {TEXT}").repeat(40)),
            )
        })
        .collect()
}

/// The disk fills up under the running daemon: the commit fails with a
/// clear error recorded on the feed, nothing is corrupted, the daemon keeps
/// running, and once space returns the articles are stored.
///
/// Needs root to mount a small tmpfs; says so and passes without it.
#[test]
fn a_full_disk_is_a_clear_error_and_the_daemon_recovers() {
    let server = Server::start();
    server.route("/grow", Route::rss(rss("Grow", &big_items("first", 2))));
    server.route(
        "/steady",
        Route::rss(rss(
            "Steady",
            &[item("s1", "Steady story", "https://steady.example/1", TEXT)],
        )),
    );
    let t = Trawl::new(
        "min_interval = \"1s\"\nper_host_gap = 0",
        &[
            feed("grow", &server.url("/grow"), "interval = \"1s\""),
            feed("steady", &server.url("/steady"), "interval = \"1s\""),
        ],
    );
    let Some(disk) = Tmpfs::mount(&t.dir.path().join("disk"), "3m") else {
        eprintln!("skipped: cannot mount a tmpfs here (not root?)");
        return;
    };
    let db = disk.0.join("trawl.db");
    let count = |sql: &str| -> i64 { open(&db).query_row(sql, [], |r| r.get(0)).unwrap() };
    let mut d = Daemon::start(&t, &db, "disk.log");
    d.wait_running();
    eventually(Duration::from_secs(20), "the first articles", || {
        db.exists() && count("SELECT count(*) FROM articles") == 3
    });

    let filler = fill(&disk.0);
    // New items, far more than the space left.
    server.route("/grow", Route::rss(rss("Grow", &big_items("second", 40))));
    eventually(Duration::from_secs(20), "the full disk reported", || {
        d.log().contains("database or disk is full")
    });
    assert!(d.alive(), "the daemon died:\n{}", d.log());
    assert_eq!(
        count("SELECT count(*) FROM articles WHERE guid LIKE 'second-%'"),
        0
    );
    assert_eq!(integrity(&db), "ok");

    std::fs::remove_file(&filler).unwrap();
    eventually(
        Duration::from_secs(30),
        "the articles stored once space returned",
        || count("SELECT count(*) FROM articles WHERE guid LIKE 'second-%'") == 40,
    );
    assert!(d.alive(), "{}", d.log());
    assert_eq!(integrity(&db), "ok");
    let error: Option<String> = open(&db)
        .query_row(
            "SELECT error FROM fetch_log l JOIN feeds f ON f.id = l.feed_id \
             WHERE f.name = 'grow' AND error IS NOT NULL ORDER BY l.id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .ok();
    if let Some(error) = error {
        assert!(error.contains("storing failed"), "{error}");
    }
    let log = d.log();
    let status = d.stop();
    assert!(status.success(), "{status:?}\n{log}");
}

/// A database file trawl may not write: refused at start with a message
/// naming it, and left as it was.
#[test]
fn a_read_only_database_is_refused_at_start_with_a_message() {
    let server = Server::start();
    server.route(
        "/f",
        Route::rss(rss(
            "F",
            &[item("r1", "Story", "https://ro.example/1", TEXT)],
        )),
    );
    let t = Trawl::new("", &[feed("f", &server.url("/f"), "")]);
    let run = t.run(&["fetch"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // A read-only bind mount of the folder: read-only even for root.
    let ro = t.dir.path().join("ro");
    std::fs::create_dir_all(&ro).unwrap();
    let bound = Command::new("mount")
        .args(["--bind", "-o", "ro"])
        .arg(t.dir.path())
        .arg(&ro)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let remounted = bound
        && Command::new("mount")
            .args(["-o", "remount,ro,bind"])
            .arg(&ro)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    let _unmount = bound.then(|| Tmpfs(ro.clone()));
    if bound && !remounted {
        eprintln!("skipped: a bind mount, but no read-only one");
        return;
    }
    let _modes = if remounted {
        None
    } else {
        // Without privileges: a copy in a folder and a file without write
        // permission, which holds for anyone but root.
        use std::os::unix::fs::PermissionsExt;
        std::fs::copy(t.db(), ro.join("trawl.db")).unwrap();
        let mode = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };
        mode(&ro.join("trawl.db"), 0o444);
        mode(&ro, 0o555);
        if std::fs::File::create(ro.join("probe")).is_ok() {
            eprintln!("skipped: neither a read-only bind mount nor file modes hold here");
            return;
        }
        /// Gives the folder its write permission back, for its removal.
        struct Writable(PathBuf);
        impl Drop for Writable {
            fn drop(&mut self) {
                let _ = std::fs::set_permissions(
                    &self.0,
                    std::os::unix::fs::PermissionsExt::from_mode(0o755),
                );
            }
        }
        Some(Writable(ro.clone()))
    };
    let db = ro.join("trawl.db");
    let run = common::trawl(
        &[
            "fetch",
            "--config",
            t.config().to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ],
        None,
        t.dir.path(),
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    // SQLite says "unable to open database file" when it cannot create
    // the WAL index beside a read-only database, "readonly" otherwise.
    let refused = |s: &str| s.contains("readonly") || s.contains("unable to open database file");
    assert!(
        run.stderr.contains("trawl.db") && refused(&run.stderr),
        "{}",
        run.stderr
    );
    let mut d = Daemon::start(&t, &db, "ro.log");
    eventually(Duration::from_secs(10), "the daemon to exit", || !d.alive());
    assert!(refused(&d.log()), "{}", d.log());
    assert_eq!(integrity(&t.db()), "ok");
    assert_eq!(t.count("SELECT count(*) FROM articles"), 1);
}

/// A database an older trawl wrote (schema version 2) is backed up as it
/// was, then migrated; one a newer trawl wrote is refused, untouched.
#[test]
fn an_older_database_is_backed_up_then_migrated_and_a_newer_one_refused() {
    let t = Trawl::new("", &[]);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/trawl-v2.sql");
    open(&t.db())
        .execute_batch(&std::fs::read_to_string(fixture).unwrap())
        .unwrap();
    let run = t.run(&["feeds", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("\"old\""), "{}", run.stdout);

    let version = |db: &Path| -> i64 {
        open(db)
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    };
    let backup = t.dir.path().join("trawl.db.bak-v2");
    assert!(backup.exists(), "no backup beside the database");
    assert_eq!(version(&backup), 2);
    assert_eq!(integrity(&backup), "ok");
    let title: String = open(&backup)
        .query_row("SELECT title FROM articles", [], |r| r.get(0))
        .unwrap();
    assert_eq!(title, "Kept across the migration");
    assert_eq!(version(&t.db()), trawl::store::SCHEMA_VERSION);
    assert_eq!(integrity(&t.db()), "ok");
    assert_eq!(t.articles()[0]["title"], "Kept across the migration");
    let leftovers: Vec<_> = std::fs::read_dir(t.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Opening it again: current, nothing more to back up.
    std::fs::remove_file(&backup).unwrap();
    assert_eq!(t.run(&["feeds"]).code, 0);
    assert!(!backup.exists());

    // From a newer trawl: refused with a message, not touched.
    let newer = trawl::store::SCHEMA_VERSION + 1;
    open(&t.db())
        .pragma_update(None, "user_version", newer)
        .unwrap();
    let run = t.run(&["feeds"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(&format!(
            "schema version {newer}, newer than this trawl knows"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(version(&t.db()), newer);
    assert!(!t.dir.path().join(format!("trawl.db.bak-v{newer}")).exists());
}
