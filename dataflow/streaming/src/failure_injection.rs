//! Failure injection for the fault tests, compiled only with the `fault-injection` feature:
//! `PRICESTREAM_FAIL_WRITE=worker=W,epoch=E` makes worker `W`'s write of epoch `E` fail, as a
//! write that Cassandra refuses would; `PRICESTREAM_KILL_AFTER_WRITE=worker=W,writes=N` ends the
//! process at once (an abort, as abrupt as SIGKILL) when worker `W` has written outputs in `N`
//! live epochs, before the last of them is committed. The feature also turns on the Kafka consumer's injected
//! stop (`PRICESTREAM_FAIL_FETCH_AFTER`, in `pricestream-kafka`).

use std::sync::OnceLock;

/// The `worker=W,<what>=N` of `variable`, read once from the environment.
fn target(
    variable: &'static str,
    what: &'static str,
    cell: &'static OnceLock<Option<(usize, u64)>>,
) -> Option<(usize, u64)> {
    *cell.get_or_init(|| {
        let text = std::env::var(variable).ok()?;
        let mut worker = None;
        let mut count = None;
        for part in text.split(',') {
            match part.trim().split_once('=') {
                Some(("worker", value)) => worker = value.parse().ok(),
                Some((key, value)) if key == what => count = value.parse().ok(),
                _ => {}
            }
        }
        let target = worker.zip(count);
        if target.is_none() {
            tracing::error!(text, variable, "Not worker=W,{what}=N; nothing is injected.");
        }
        target
    })
}

/// Fails when `worker` is about to write the injected epoch.
pub fn before_write(worker: usize, epoch: u64) -> anyhow::Result<()> {
    static TARGET: OnceLock<Option<(usize, u64)>> = OnceLock::new();
    match target("PRICESTREAM_FAIL_WRITE", "epoch", &TARGET) {
        Some((w, e)) if w == worker && e == epoch => {
            anyhow::bail!(
                "injected failure: worker {worker}'s write of epoch {epoch} (PRICESTREAM_FAIL_WRITE)"
            )
        }
        _ => Ok(()),
    }
}

/// Ends the process when `worker` has written outputs in as many live epochs as injected;
/// `wrote` says whether this epoch wrote any.
pub fn after_write(worker: usize, epoch: u64, wrote: bool) {
    static TARGET: OnceLock<Option<(usize, u64)>> = OnceLock::new();
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let Some((target, writes)) = target("PRICESTREAM_KILL_AFTER_WRITE", "writes", &TARGET) else { return };
    if target != worker || !wrote || epoch <= crate::recovery::RECOVERY {
        return;
    }
    if WRITES.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == writes {
        tracing::error!(
            worker,
            epoch,
            "Injected kill after worker {worker}'s write of epoch {epoch} (PRICESTREAM_KILL_AFTER_WRITE)."
        );
        std::process::abort();
    }
}
