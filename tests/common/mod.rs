//! Shared test harness: a scriptable HTTP/1.1 server on 127.0.0.1 and a
//! runner for the real `trawl` binary against a temporary config and database.
//!
//! The server is written on bare tokio sockets rather than a framework so a
//! route can misbehave exactly as a hostile server would (stall, drip, lie).

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How a route misbehaves.
#[derive(Clone, Debug, Default)]
pub enum Behavior {
    #[default]
    Normal,
    /// Accepts the request and never answers.
    StallBeforeHeaders,
    /// Sends the headers, then never sends the body.
    StallAfterHeaders,
    /// Sends the body one byte per interval.
    Drip(Duration),
    /// Sends the whole answer, status line and headers included, one byte
    /// per interval.
    DripHead(Duration),
    /// Sends the headers (no Content-Length), the body, then `period` over
    /// and over until the client goes away, pausing `every` between
    /// repeats when set.
    Endless {
        period: Vec<u8>,
        every: Option<Duration>,
    },
    /// Sends the headers and half the body, then resets the connection.
    ResetMidBody,
    /// Sends the status line, then headers until the client goes away.
    EndlessHeaders,
}

/// A canned answer.
#[derive(Clone, Debug)]
pub struct Route {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub behavior: Behavior,
    /// When set, a request whose If-None-Match equals it gets a bare 304.
    pub etag: Option<String>,
    /// When set, a request whose If-Modified-Since equals it gets a bare 304.
    pub last_modified: Option<String>,
}

impl Route {
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Route {
        Route {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
            behavior: Behavior::Normal,
            etag: None,
            last_modified: None,
        }
    }

    pub fn rss(body: impl Into<Vec<u8>>) -> Route {
        Route::ok("application/rss+xml; charset=utf-8", body)
    }

    pub fn status(status: u16) -> Route {
        Route {
            status,
            ..Route::ok("text/plain", format!("status {status}"))
        }
    }

    pub fn redirect(status: u16, location: &str) -> Route {
        Route::status(status).header("Location", location)
    }

    pub fn header(mut self, name: &str, value: &str) -> Route {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn with_etag(mut self, etag: &str) -> Route {
        self.etag = Some(etag.into());
        self.header("ETag", etag)
    }

    pub fn with_last_modified(mut self, lm: &str) -> Route {
        self.last_modified = Some(lm.into());
        self.header("Last-Modified", lm)
    }

    /// Serves the body gzip-compressed with `Content-Encoding: gzip`.
    pub fn gzip(mut self) -> Route {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&self.body).unwrap();
        self.body = enc.finish().unwrap();
        self.header("Content-Encoding", "gzip")
    }

    pub fn behave(mut self, b: Behavior) -> Route {
        self.behavior = b;
        self
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    /// Header names lowercased.
    pub headers: HashMap<String, String>,
    /// When the request's head was read.
    pub at: std::time::Instant,
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Route>,
    seen: Vec<Seen>,
}

/// A loopback HTTP server that lives as long as the test.
pub struct Server {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Server {
    pub fn start() -> Server {
        let state = Arc::new(Mutex::new(State::default()));
        let (tx, rx) = std::sync::mpsc::channel();
        let st = state.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                loop {
                    let Ok((sock, _)) = listener.accept().await else {
                        continue;
                    };
                    tokio::spawn(serve(sock, st.clone()));
                }
            });
        });
        let addr = rx.recv().unwrap();
        Server { addr, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn route(&self, path: &str, route: Route) {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.to_string(), route);
    }

    /// The requests made to `path`, in order.
    pub fn seen(&self, path: &str) -> Vec<Seen> {
        let st = self.state.lock().unwrap();
        st.seen.iter().filter(|s| s.path == path).cloned().collect()
    }
}

async fn serve(mut sock: TcpStream, state: Arc<Mutex<State>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let path = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("/")
        .to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let route = {
        let mut st = state.lock().unwrap();
        st.seen.push(Seen {
            path: path.clone(),
            headers: headers.clone(),
            at: std::time::Instant::now(),
        });
        st.routes.get(&path).cloned()
    };
    let route = route.unwrap_or_else(|| Route::status(404));

    let not_modified = route
        .etag
        .as_ref()
        .is_some_and(|e| headers.get("if-none-match") == Some(e))
        || route
            .last_modified
            .as_ref()
            .is_some_and(|lm| headers.get("if-modified-since") == Some(lm));
    if not_modified {
        let mut resp = "HTTP/1.1 304 Not Modified\r\nConnection: close\r\n".to_string();
        for (k, v) in &route.headers {
            if k.eq_ignore_ascii_case("etag") || k.eq_ignore_ascii_case("last-modified") {
                resp.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        resp.push_str("\r\n");
        let _ = sock.write_all(resp.as_bytes()).await;
        return;
    }

    if let Behavior::StallBeforeHeaders = route.behavior {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        return;
    }
    if misbehave(&mut sock, &route).await {
        return;
    }
    let mut resp = format!(
        "HTTP/1.1 {} Whatever\r\nConnection: close\r\n",
        route.status
    );
    for (k, v) in &route.headers {
        resp.push_str(&format!("{k}: {v}\r\n"));
    }
    resp.push_str(&format!("Content-Length: {}\r\n\r\n", route.body.len()));
    if sock.write_all(resp.as_bytes()).await.is_err() {
        return;
    }
    match route.behavior {
        Behavior::StallAfterHeaders => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Behavior::Drip(every) => {
            for b in &route.body {
                if sock.write_all(&[*b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(every).await;
            }
        }
        _ => {
            let _ = sock.write_all(&route.body).await;
        }
    }
    let _ = sock.shutdown().await;
}

/// The behaviors that need their own way of answering; false for the rest.
async fn misbehave(sock: &mut TcpStream, route: &Route) -> bool {
    let head = |content_length: bool| {
        let mut resp = format!(
            "HTTP/1.1 {} Whatever\r\nConnection: close\r\n",
            route.status
        );
        for (k, v) in &route.headers {
            resp.push_str(&format!("{k}: {v}\r\n"));
        }
        if content_length {
            resp.push_str(&format!("Content-Length: {}\r\n", route.body.len()));
        }
        resp.push_str("\r\n");
        resp.into_bytes()
    };
    match &route.behavior {
        Behavior::DripHead(every) => {
            let mut all = head(true);
            all.extend_from_slice(&route.body);
            for b in all {
                if sock.write_all(&[b]).await.is_err() {
                    break;
                }
                tokio::time::sleep(*every).await;
            }
        }
        Behavior::Endless { period, every } => {
            if sock.write_all(&head(false)).await.is_ok()
                && sock.write_all(&route.body).await.is_ok()
            {
                while sock.write_all(period).await.is_ok() {
                    if let Some(every) = every {
                        tokio::time::sleep(*every).await;
                    }
                }
            }
        }
        Behavior::ResetMidBody => {
            let half = &route.body[..route.body.len() / 2];
            if sock.write_all(&head(true)).await.is_ok() && sock.write_all(half).await.is_ok() {
                let _ = sock.flush().await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                reset(sock);
            }
        }
        Behavior::EndlessHeaders => {
            let mut line = format!("HTTP/1.1 {} Whatever\r\n", route.status).into_bytes();
            let mut n = 0u64;
            while sock.write_all(&line).await.is_ok() {
                n += 1;
                line = format!("X-Filler-{n}: {}\r\n", "a".repeat(100)).into_bytes();
            }
        }
        _ => return false,
    }
    true
}

/// Makes the socket's close a reset (RST) rather than an orderly FIN.
fn reset(sock: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket descriptor and a correctly sized option value.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// A temporary trawl installation: a config file and a database in a temp dir.
pub struct Trawl {
    pub dir: tempfile::TempDir,
}

/// The result of one run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// The line of `fetch`'s output about feed `name`.
    pub fn line(&self, name: &str) -> &str {
        let prefix = format!("{name}: ");
        self.stdout
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no line for {name} in:\n{}{}", self.stdout, self.stderr))
    }
}

impl Trawl {
    /// A config with `[daemon]` settings fit for tests and the given feeds
    /// (each a TOML `[[feed]]` body).
    pub fn new(daemon: &str, feeds: &[String]) -> Trawl {
        let dir = tempfile::tempdir().unwrap();
        // Short timeouts for tests, unless the test sets its own.
        let mut text = String::from("[daemon]\n");
        for default in ["connect_timeout = \"2s\"", "timeout = \"5s\""] {
            let key = default.split(' ').next().unwrap_or_default();
            if !daemon
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{key} ")))
            {
                text.push_str(default);
                text.push('\n');
            }
        }
        text.push_str(daemon);
        text.push('\n');
        for f in feeds {
            text.push_str("\n[[feed]]\n");
            text.push_str(f);
            text.push('\n');
        }
        std::fs::write(dir.path().join("trawl.toml"), text).unwrap();
        Trawl { dir }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("trawl.toml")
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("trawl.db")
    }

    /// Runs `trawl ARGS --config ... --db ...`.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(
            Command::new(env!("CARGO_BIN_EXE_trawl"))
                .args(args)
                .arg("--config")
                .arg(self.config())
                .arg("--db")
                .arg(self.db())
                .env_remove("TRAWL_CONFIG")
                .env_remove("RUST_LOG")
                .current_dir(self.dir.path())
                .output()
                .unwrap(),
        )
    }

    pub fn sql(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.db()).unwrap()
    }

    /// `SELECT` returning one integer.
    pub fn count(&self, sql: &str) -> i64 {
        self.sql().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// The stored articles as `trawl articles --json` prints them.
    pub fn articles(&self) -> Vec<serde_json::Value> {
        let run = self.run(&["articles", "--json", "--limit", "0"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Runs the binary with a plain argument list (no config or db added).
pub fn trawl(args: &[&str], stdin: Option<&[u8]>, cwd: &Path) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trawl"));
    cmd.args(args)
        .env_remove("TRAWL_CONFIG")
        .env_remove("RUST_LOG")
        .current_dir(cwd)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    drop(child.stdin.take());
    Run::from(child.wait_with_output().unwrap())
}

/// A `[[feed]]` body.
pub fn feed(name: &str, url: &str, extra: &str) -> String {
    format!("name = {name:?}\nurl = {url:?}\n{extra}")
}

/// An RSS 2.0 document with the given `<item>` bodies.
pub fn rss(title: &str, items: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>{title}</title><link>https://example.org/</link>\n{}\n</channel></rss>",
        items.join("\n")
    )
}

/// An RSS `<item>`.
pub fn item(guid: &str, title: &str, link: &str, body: &str) -> String {
    format!(
        "<item><guid isPermaLink=\"false\">{guid}</guid><title>{title}</title><link>{link}</link><description><![CDATA[{body}]]></description></item>"
    )
}

/// Polls `cond` every 50 ms until it holds; panics naming `what` after
/// `within`.
pub fn eventually(within: Duration, what: &str, cond: impl FnMut() -> bool) {
    eventually_with(within, what, String::new, cond);
}

/// [`eventually`], with `context()` (a daemon's log, say) in the panic.
pub fn eventually_with(
    within: Duration,
    what: &str,
    context: impl Fn() -> String,
    mut cond: impl FnMut() -> bool,
) {
    let until = std::time::Instant::now() + within;
    while !cond() {
        assert!(
            std::time::Instant::now() < until,
            "timed out waiting for {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends SIGTERM to `child` (not reaped yet) and waits up to `within` for
/// it to exit; panics with `log()` if it does not.
pub fn terminate(
    child: &mut std::process::Child,
    within: Duration,
    log: impl Fn() -> String,
) -> std::process::ExitStatus {
    // SAFETY: signalling our own child, which has not been reaped yet.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    wait_exit(child, within, log)
}

/// Waits up to `within` for `child` to exit; panics with `log()` if it
/// does not.
pub fn wait_exit(
    child: &mut std::process::Child,
    within: Duration,
    log: impl Fn() -> String,
) -> std::process::ExitStatus {
    let mut status = None;
    eventually_with(within, "the process to exit", log, || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    status.expect("exited")
}
