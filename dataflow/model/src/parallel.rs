//! A small scoped-thread helper: run independent work items on a few threads, results in order.
//!
//! Training runs this a few times per tree level. Items are handed out through an atomic
//! counter, so uneven items balance out; each result lands in its item's slot, so what a caller
//! gets never depends on which thread ran what (that is why the model is the same for any
//! `threads`).

use std::sync::atomic::{AtomicUsize, Ordering};

/// Below this much work (in row-inputs touched) spawning threads costs more than it saves.
pub(crate) const MIN_PARALLEL_WORK: usize = 32 * 1024;

/// Threads worth using for `work` units spread over `items` items.
pub(crate) fn threads_for(threads: usize, items: usize, work: usize) -> usize {
    if work < MIN_PARALLEL_WORK { 1 } else { threads.min(items).max(1) }
}

/// `run(i)` for every `i` in `0..n`, on up to `threads` threads (the caller's thread is one of
/// them); results in index order. A panic in an item is re-raised here.
pub(crate) fn map_indexed<T, F>(threads: usize, n: usize, run: F) -> Vec<T>
where
    T: Send,
    F: Fn(usize) -> T + Sync,
{
    let threads = threads.min(n).max(1);
    if threads == 1 {
        return (0..n).map(run).collect();
    }
    let next = AtomicUsize::new(0);
    let drain = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                return done;
            }
            done.push((i, run(i)));
        }
    };
    let mut finished: Vec<(usize, T)> = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(drain)).collect();
        let mut all = drain();
        for helper in helpers {
            match helper.join() {
                Ok(done) => all.extend(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    });
    finished.sort_unstable_by_key(|(i, _)| *i);
    finished.into_iter().map(|(_, value)| value).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_index_order_for_any_thread_count() {
        for threads in [1, 2, 3, 8] {
            let squares = map_indexed(threads, 100, |i| i * i);
            assert_eq!(squares, (0..100).map(|i| i * i).collect::<Vec<_>>());
        }
        assert!(map_indexed(4, 0, |i| i).is_empty());
    }
}
