//! The heap of pricestream's processes: mimalloc, backed by transparent huge pages.
//!
//! A backfill arranges gigabytes of short-lived batches. With 4 KiB pages the kernel takes a
//! page fault for every page a new batch touches, and zeroes each one: on the 2-core dev machine
//! that was a third of the feature backfill's CPU time (1.5 M faults). Most Linux distributions
//! (and container hosts) set transparent huge pages to `madvise`, so a heap only gets 2 MiB
//! pages if its allocator asks for them; glibc's malloc asks only when told to through
//! `GLIBC_TUNABLES`, mimalloc when its `allow_large_os_pages` option is on, which
//! [`use_huge_pages`] sets. Where THP is `never`, nothing changes; where it is `always`, it was
//! already so.
//!
//! Each binary declares the allocator (`#[global_allocator] static HEAP: Heap = Heap;`) and
//! calls [`use_huge_pages`] first thing in `main`.

/// The allocator every pricestream binary declares as its global allocator.
pub use mimalloc::MiMalloc as Heap;

/// mimalloc's `MIMALLOC_ALLOW_LARGE_OS_PAGES` option (`mi_option_allow_large_os_pages`, number 6
/// in both mimalloc 2 and 3; the `-sys` crate names it by its older name).
const ALLOW_LARGE_OS_PAGES: libmimalloc_sys::mi_option_t = libmimalloc_sys::mi_option_large_os_pages;

/// Backs the heap with huge pages from now on, unless the environment already says
/// (`MIMALLOC_ALLOW_LARGE_OS_PAGES=0` turns it off). Call it before starting threads.
pub fn use_huge_pages() {
    let set_by_environment = ["MIMALLOC_ALLOW_LARGE_OS_PAGES", "MIMALLOC_LARGE_OS_PAGES"]
        .iter()
        .any(|name| std::env::var_os(name).is_some());
    if set_by_environment {
        return;
    }
    // SAFETY: `mi_option_set` writes one option slot; the caller calls this before other threads
    // exist (the function is not thread safe), and the option is read on each later OS
    // allocation, so setting it after mimalloc's start-up is supported.
    #[allow(unsafe_code, reason = "the one call into mimalloc's C option API")]
    unsafe {
        libmimalloc_sys::mi_option_set(ALLOW_LARGE_OS_PAGES, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_is_on_after_the_call() {
        use_huge_pages();
        if std::env::var_os("MIMALLOC_ALLOW_LARGE_OS_PAGES").is_none() {
            // SAFETY: reads one option slot.
            #[allow(unsafe_code, reason = "reads back the option just set")]
            let enabled = unsafe { libmimalloc_sys::mi_option_is_enabled(ALLOW_LARGE_OS_PAGES) };
            assert!(enabled);
        }
    }
}
