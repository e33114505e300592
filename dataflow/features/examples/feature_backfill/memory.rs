//! The process's resident memory and CPU time, from `/proc/self` (Linux; zero elsewhere).

/// Resident set size now, in bytes (`VmRSS`).
pub fn resident() -> u64 {
    status_kib("VmRSS:") * 1024
}

/// Peak resident set size so far, in bytes (`VmHWM`).
pub fn peak() -> u64 {
    status_kib("VmHWM:") * 1024
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// `bytes` in MiB, for printing.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// CPU time the calling thread has used so far (`/proc/thread-self/schedstat`, nanoseconds).
pub fn thread_cpu() -> std::time::Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let nanos = stat.split_whitespace().next().and_then(|field| field.parse().ok()).unwrap_or(0);
    std::time::Duration::from_nanos(nanos)
}

/// The services' allocator ([`pricestream_runtime::allocator::Heap`]), counting per thread
/// the bytes allocated minus the bytes freed on that thread, so a worker can tell how much
/// memory dropping its dataflow gives back.
pub struct Counting;

thread_local! {
    // Const-initialised and without a destructor: usable from inside the allocator.
    static NET: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

fn count(bytes: i64) {
    NET.with(|net| net.set(net.get() + bytes));
}

// SAFETY: every call goes to `Heap` with the caller's arguments unchanged; the counting
// touches only a thread-local integer and never allocates.
#[allow(
    unsafe_code,
    reason = "a global allocator can only be written with unsafe; this one forwards to the services' allocator"
)]
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        count(layout.size() as i64);
        // SAFETY: the caller's contract for `alloc` is `Heap.alloc`'s.
        unsafe { pricestream_runtime::allocator::Heap.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        count(layout.size() as i64);
        // SAFETY: as for `alloc`.
        unsafe { pricestream_runtime::allocator::Heap.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        count(-(layout.size() as i64));
        // SAFETY: `ptr` came from this allocator, i.e. from `Heap`, with `layout`.
        unsafe { pricestream_runtime::allocator::Heap.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        count(new_size as i64 - layout.size() as i64);
        // SAFETY: as for `dealloc`; `new_size` is the caller's.
        unsafe { pricestream_runtime::allocator::Heap.realloc(ptr, layout, new_size) }
    }
}

/// Bytes allocated minus bytes freed on the calling thread so far (see [`Counting`]).
pub fn thread_heap() -> i64 {
    NET.with(std::cell::Cell::get)
}
