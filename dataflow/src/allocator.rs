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
//! Each binary declares the allocator (`#[global_allocator] static HEAP: Heap = Heap;`) and
//! calls [`configure`] first thing in `main`.

/// The allocator every pricestream binary declares as its global allocator.
pub use mimalloc::MiMalloc as Heap;

/// mimalloc's options set here, by their number (the same in mimalloc 2 and 3), environment
/// variable and value. The `-sys` crate names only some of them.
const OPTIONS: [(libmimalloc_sys::mi_option_t, &str, std::ffi::c_long); 2] = [
    // `mi_option_allow_large_os_pages`: back the heap with 2 MiB pages (`madvise`).
    (6, "MIMALLOC_ALLOW_LARGE_OS_PAGES", 1),
    // `mi_option_purge_delay`: never hand freed memory back to the OS. A backfill frees and
    // allocates batches of hundreds of megabytes all the time; handed back, each reuse faulted
    // and zeroed them again (a third of the CPU time even with huge pages). Resident memory
    // stays at its peak instead, which is what a pod's memory limit is sized for anyway.
    (15, "MIMALLOC_PURGE_DELAY", -1),
];

/// Sets the heap up as described in the module docs, except for what the environment already
/// says (`MIMALLOC_ALLOW_LARGE_OS_PAGES=0`, `MIMALLOC_PURGE_DELAY=10`: mimalloc's defaults).
/// Call it first thing in `main`, before starting threads.
pub fn configure() {
    for (option, variable, value) in OPTIONS {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_options_hold_their_values_after_the_call() {
        configure();
        for (option, variable, value) in OPTIONS {
            if std::env::var_os(variable).is_none() {
                // SAFETY: reads one option slot.
                #[allow(unsafe_code, reason = "reads back the option just set")]
                let set = unsafe { libmimalloc_sys::mi_option_get(option) };
                assert_eq!(set, value, "{variable}");
            }
        }
    }
}
