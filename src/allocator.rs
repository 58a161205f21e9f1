//! The allocator of trawl's binaries: jemalloc, with the options that
//! BENCHMARKS.md measured (eleventh session). `trawl::allocator!()` at the
//! top level of a binary installs it. The benches install it too, so that
//! they measure what the binary runs.
//!
//! Against glibc's malloc, jemalloc cut a 10,000-feed first pass by a
//! fifth. Its defaults (four arenas per core, freed pages kept ten
//! seconds) held a tenth more memory than glibc; these options hold a
//! tenth less.

#[doc(hidden)]
pub use tikv_jemallocator::Jemalloc;

/// jemalloc's options, read once before `main`; `_RJEM_MALLOC_CONF` in the
/// environment still overrides them. Two arenas, and freed pages handed
/// back to the system after half a second by a background thread instead
/// of after ten seconds by whichever thread allocates next: a first pass's
/// bursts leave less memory behind, and the idle daemon gives back what a
/// burst took.
pub const OPTIONS: &std::ffi::CStr =
    c"narenas:2,background_thread:true,dirty_decay_ms:500,muzzy_decay_ms:0";

/// Installs jemalloc as the global allocator, with [`OPTIONS`].
#[macro_export]
macro_rules! allocator {
    () => {
        #[global_allocator]
        static ALLOCATOR: $crate::allocator::Jemalloc = $crate::allocator::Jemalloc;

        // jemalloc reads its compiled-in options through this symbol.
        #[unsafe(export_name = "_rjem_malloc_conf")]
        static MALLOC_CONF: Option<&'static ::std::ffi::c_char> =
            Some(unsafe { &*$crate::allocator::OPTIONS.as_ptr() });
    };
}
