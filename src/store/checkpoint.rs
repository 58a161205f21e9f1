//! Checkpoints off the writer's thread.
//!
//! In WAL mode every commit appends pages to the log, and a checkpoint
//! copies them into the database file and syncs it. SQLite runs that
//! checkpoint inside the commit that fills the log past 1,000 pages, so
//! the writer waited for it: in a 10,000-feed first pass the writer thread
//! was never idle, and 30 % of its time was spent blocked in the block
//! layer's writeback (`rq_qos_wait`, `folio_wait_bit`), mostly inside those
//! checkpoints' writes and `fsync` (benches/ingest.sh, perf and thread
//! states; BENCHMARKS.md).
//!
//! Here the writer's connection only signals a thread of its own, which
//! runs a PASSIVE checkpoint from a second connection: one that never
//! takes the write lock and copies only frames no reader still needs, so
//! the writer goes on committing meanwhile. SQLite starts the log over at
//! the next commit once everything in it is copied.
//!
//! A writer that keeps the log from ever being copied in full (it commits
//! faster than the thread copies, as when the disk is the bottleneck) would
//! grow it without bound: past [`INLINE_AT`] pages the writer waits for the
//! thread's checkpoint to end and copies the rest itself (a FULL
//! checkpoint), so the log starts over at its next commit. Should the
//! thread or its connection fail to start, the writer checkpoints inline
//! at [`SIGNAL_AT`] pages, as SQLite itself would (at its own 1,000).

use std::ffi::c_int;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, OpenFlags};

/// Log pages at which a commit asks for a checkpoint (128 MiB of 4 KiB
/// pages). Every checkpoint ends in an `fsync` of the database file, and
/// copies again every index leaf rewritten since the last one, so the
/// fewer there are, the fewer bytes a busy pass writes. SQLite's default is
/// 1,000 pages. 10,000-feed first pass (BENCHMARKS.md, seventh session,
/// alternated): 1,000 -> 8,000 pages took 84.3 -> 69.4 s (median pair);
/// 8,000 -> 32,000 took 69.3 / 70.3 -> 65.4 / 63.2 s and wrote 9 % fewer
/// blocks; 64,000 wrote 2 % fewer again and was no faster. Peak RSS is the
/// same: the log's pages are read back through the page cache, not held.
/// The log file keeps the size it reached (~128 MiB) until the database is
/// closed.
pub(super) const SIGNAL_AT: c_int = 32_000;

/// Log pages past which the writer checkpoints itself (256 MiB of 4 KiB
/// pages), however far the thread has got.
pub(super) const INLINE_AT: c_int = 2 * SIGNAL_AT;

/// How often at most a failing background checkpoint is logged.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// The writer connection's side: installed as its WAL hook by
/// [`install`]. The thread starts with the first commit that needs it, so
/// a `Store` opened only to read never has one.
struct Hook {
    path: PathBuf,
    by: By,
}

/// Who checkpoints.
enum By {
    /// No commit has needed a checkpoint yet.
    NotYet,
    Thread(Checkpointer),
    /// The thread could not be started: the writer, inline.
    Writer,
}

/// Makes the writer connection `conn` (of the database file at `path`)
/// leave its checkpoints to a thread of its own.
pub(super) fn install(conn: &mut Connection, path: &Path) -> rusqlite::Result<()> {
    let mut hook = Hook {
        path: path.to_path_buf(),
        by: By::NotYet,
    };
    conn.wal_hook(Some(move |wal: &mut Wal, pages: c_int| {
        hook.committed(wal, pages);
        // The commit has happened whatever is returned here; an error would
        // only make its statement report one.
        Ok(())
    }))
}

impl Hook {
    fn committed(&mut self, wal: &mut Wal, pages: c_int) {
        if pages < SIGNAL_AT {
            return;
        }
        if let By::NotYet = self.by {
            self.by = match Checkpointer::spawn(&self.path) {
                Ok(thread) => By::Thread(thread),
                Err(e) => {
                    tracing::debug!(error = %e, "database: checkpoints stay on the writer's thread");
                    By::Writer
                }
            };
        }
        // A checkpoint that fails is tried again after the next commit, and
        // a failing write shows in the commits too.
        match &self.by {
            By::Thread(thread) if pages < INLINE_AT => thread.signal(),
            // The thread copies too slowly: wait for it (the busy timeout),
            // then copy what is left.
            By::Thread(_) => {
                let _ = wal.checkpoint_v2(CheckpointMode::FULL);
            }
            By::NotYet | By::Writer => {
                let _ = wal.checkpoint();
            }
        }
    }
}

/// The thread and how to wake it; dropping it lets the thread finish its
/// checkpoint and waits for it.
struct Checkpointer {
    wake: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    fn spawn(path: &Path) -> std::io::Result<Checkpointer> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(std::io::Error::other)?;
        // A connection finds the log when it first reads: until then, a
        // checkpoint on it does nothing (and says so with -1 frames).
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(std::io::Error::other)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(std::io::Error::other(format!("journal mode {mode}")));
        }
        // One pending wake-up is enough: a checkpoint copies everything
        // committed before it starts.
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let name = path.display().to_string();
        let thread = std::thread::Builder::new()
            .name("trawl-checkpoint".into())
            .spawn(move || {
                let mut warned: Option<Instant> = None;
                while woken.recv().is_ok() {
                    if let Err(e) = conn.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE)
                        && warned.is_none_or(|at| at.elapsed() >= WARN_EVERY)
                    {
                        tracing::warn!(database = %name, error = %e, "checkpoint failed");
                        warned = Some(Instant::now());
                    }
                }
            })?;
        Ok(Checkpointer {
            wake: Some(wake),
            thread: Some(thread),
        })
    }

    fn signal(&self) {
        // Full: a wake-up is already pending. Disconnected: the thread has
        // ended (it only does when dropped).
        if let Some(wake) = &self.wake {
            let _ = wake.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.wake = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
