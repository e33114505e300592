//! The heap of pricestream's processes: mimalloc, backed by transparent huge pages.
//!
//! A backfill arranges gigabytes of short-lived batches. With 4 KiB pages the kernel takes a
//! page fault for every page a new batch touches, and zeroes each one: on the 2-core dev machine
//! that was a third of the feature backfill's CPU time (1.5 M faults). Most Linux distributions
//! (and container hosts) set transparent huge pages to `madvise`, so a heap only gets 2 MiB
//! pages if its allocator asks for them; glibc's malloc asks only when told to through
//! `GLIBC_TUNABLES`, mimalloc when its `allow_large_os_pages` option is on, which
//! [`configure`] sets. Where THP is `never`, nothing changes; where it is `always`, it was
//! already so. [`configure`] also keeps freed memory in the process (see `OPTIONS`).
//!
//! Huge pages pay where a process touches much memory once, densely (the arranged batches
//! of the analytics dataflow). They cost where it allocates a little here and there: each
//! first touch of a 2 MiB region zeroes all of it. The extractor's backfill keeps small
//! per-ticker state and reuses its buffers; with huge pages its kernel zeroed 1.5 GB for
//! 250 MB of use, 8 % of its CPU time. So each binary picks its [`Pages`].
//!
//! mimalloc is also the C `malloc` of the whole process (libmimalloc-sys's `override` feature):
//! librdkafka allocates and copies every message, its headers and its delivery report with
//! `malloc`, and in glibc's allocator that took 12 % of a real backfill's CPU
//! (`scripts/bench/backfill-real`, figures in `docs/benchmarks.md`).
//!
//! Each binary declares the allocator (`#[global_allocator] static HEAP: Heap = Heap;`) and
//! calls [`configure`] first thing in `main`.

/// The allocator every pricestream binary declares as its global allocator.
pub use mimalloc::MiMalloc as Heap;

/// One of mimalloc's options: its number (mimalloc 3's; the `-sys` crate names only some),
/// environment variable and the value set here.
type Setting = (libmimalloc_sys::mi_option_t, &'static str, std::ffi::c_long);

/// `mi_option_allow_thp`: whether mimalloc may ask for transparent huge pages at all.
const ALLOW_THP: libmimalloc_sys::mi_option_t = 43;

/// The pages a process's heap is backed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pages {
    /// 2 MiB transparent huge pages (`madvise`): for large, densely used heaps.
    Huge,
    /// The kernel's 4 KiB pages: for small or sparse heaps.
    Small,
}

impl Pages {
    fn setting(self) -> Setting {
        match self {
            // `mi_option_allow_large_os_pages`: back the heap with 2 MiB pages (`madvise`).
            Pages::Huge => (6, "MIMALLOC_ALLOW_LARGE_OS_PAGES", 1),
            Pages::Small => (ALLOW_THP, "MIMALLOC_ALLOW_THP", 0),
        }
    }
}

/// The options set whatever the pages.
const OPTIONS: [Setting; 1] = [
    // `mi_option_purge_delay`: never hand freed memory back to the OS. A backfill frees and
    // allocates batches of hundreds of megabytes all the time; handed back, each reuse faulted
    // and zeroed them again (a third of the CPU time even with huge pages). Resident memory
    // stays at its peak instead, which is what a pod's memory limit is sized for anyway.
    (15, "MIMALLOC_PURGE_DELAY", -1),
];

/// Sets the heap up as described in the module docs, except for what the environment already
/// says (`MIMALLOC_ALLOW_LARGE_OS_PAGES`, `MIMALLOC_ALLOW_THP`, `MIMALLOC_PURGE_DELAY`).
/// Call it first thing in `main`, before starting threads.
pub fn configure(pages: Pages) {
    for (option, variable, value) in OPTIONS.into_iter().chain([pages.setting()]) {
        if std::env::var_os(variable).is_none() {
            // SAFETY: `mi_option_set` writes one option slot; the caller calls this before
            // other threads exist (the function is not thread safe), and mimalloc reads these
            // options on each later OS allocation and purge, so setting them after its start-up
            // is supported.
            #[allow(unsafe_code, reason = "the one call into mimalloc's C option API")]
            unsafe {
                libmimalloc_sys::mi_option_set(option, value);
            }
        }
    }
    if pages == Pages::Small && std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        disable_thp();
    }
}

/// mimalloc reserved (and advised for huge pages) its first arena on the first allocation,
/// before `main`: the option only reaches later arenas. The kernel's per-process switch
/// (what mimalloc itself uses when the option is set from the environment) covers them all.
#[cfg(target_os = "linux")]
fn disable_thp() {
    // SAFETY: `prctl(PR_SET_THP_DISABLE, 1)` sets a flag on this process; no memory is passed.
    #[allow(unsafe_code, reason = "one prctl call")]
    let failed = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) } != 0;
    if failed {
        // Harmless: the process keeps huge pages and is only slower.
        eprintln!("note: could not turn transparent huge pages off: {}", std::io::Error::last_os_error());
    }
}

#[cfg(not(target_os = "linux"))]
fn disable_thp() {}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(option: libmimalloc_sys::mi_option_t) -> std::ffi::c_long {
        // SAFETY: reads one option slot.
        #[allow(unsafe_code, reason = "reads an option back")]
        unsafe {
            libmimalloc_sys::mi_option_get(option)
        }
    }

    #[test]
    fn the_c_libraries_allocate_from_mimalloc_too() {
        // SAFETY: one allocation, checked and freed through the same C API.
        #[allow(unsafe_code, reason = "allocates through the C API the override replaces")]
        let owned = unsafe {
            let block = libc::malloc(64);
            assert!(!block.is_null());
            let owned = libmimalloc_sys::mi_is_in_heap_region(block.cast_const());
            libc::free(block);
            owned
        };
        assert!(owned, "libc's malloc did not come from mimalloc's heap");
    }

    #[test]
    fn allow_thp_has_the_number_used_here() {
        // Its neighbours' defaults (`page_cross_thread_max_reclaim` 32, `minimal_purge_size`
        // 0) and its own (1) place it, before anything sets it.
        assert_eq!((get(ALLOW_THP - 1), get(ALLOW_THP + 1)), (32, 0));
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
            assert_eq!(get(ALLOW_THP), 1);
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn small_pages_turn_the_processes_huge_pages_off() {
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
            disable_thp();
            // SAFETY: reads this process's flag.
            #[allow(unsafe_code, reason = "one prctl call")]
            let disabled = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
            assert_eq!(disabled, 1);
        }
    }

    #[test]
    fn the_options_hold_their_values_after_the_call() {
        configure(Pages::Huge);
        for (option, variable, value) in OPTIONS.into_iter().chain([Pages::Huge.setting()]) {
            if std::env::var_os(variable).is_none() {
                assert_eq!(get(option), value, "{variable}");
            }
        }
    }
}
