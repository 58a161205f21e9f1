use std::ffi::c_char;
use std::process::ExitCode;

/// jemalloc for every allocation of the binary's own (SQLite keeps its
/// own allocator): glibc's malloc cost a 10,000-feed first pass a fifth
/// more CPU and held a tenth more memory (BENCHMARKS.md, eleventh session).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read once before `main`; `_RJEM_MALLOC_CONF` in
/// the environment still overrides them. Two arenas instead of four per
/// core, and freed pages handed back to the system after half a second
/// by a background thread instead of after ten seconds by whichever
/// thread allocates next: a first pass's bursts then leave less memory
/// behind, and the idle daemon gives back what a burst took.
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: Option<&'static c_char> = Some(unsafe {
    &*c"narenas:2,background_thread:true,dirty_decay_ms:500,muzzy_decay_ms:0".as_ptr()
});

fn main() -> ExitCode {
    trawl::cli::main()
}
