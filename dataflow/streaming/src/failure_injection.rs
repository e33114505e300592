//! Failure injection for the fault tests, compiled only with the `fault-injection` feature:
//! `PRICESTREAM_FAIL_WRITE=worker=W,epoch=E` makes worker `W`'s write of epoch `E` fail, as a
//! write that Cassandra refuses would. The feature also turns on the Kafka consumer's injected
//! stop (`PRICESTREAM_FAIL_FETCH_AFTER`, in `pricestream-kafka`).

use std::sync::OnceLock;

/// The injected failure, read once from the environment.
fn target() -> Option<(usize, u64)> {
    static TARGET: OnceLock<Option<(usize, u64)>> = OnceLock::new();
    *TARGET.get_or_init(|| {
        let text = std::env::var("PRICESTREAM_FAIL_WRITE").ok()?;
        let mut worker = None;
        let mut epoch = None;
        for part in text.split(',') {
            match part.trim().split_once('=') {
                Some(("worker", value)) => worker = value.parse().ok(),
                Some(("epoch", value)) => epoch = value.parse().ok(),
                _ => {}
            }
        }
        let target = worker.zip(epoch);
        if target.is_none() {
            tracing::error!(text, "PRICESTREAM_FAIL_WRITE is not worker=W,epoch=E; nothing is injected.");
        }
        target
    })
}

/// Fails when `worker` is about to write the injected epoch.
pub fn before_write(worker: usize, epoch: u64) -> anyhow::Result<()> {
    match target() {
        Some((w, e)) if w == worker && e == epoch => {
            anyhow::bail!(
                "injected failure: worker {worker}'s write of epoch {epoch} (PRICESTREAM_FAIL_WRITE)"
            )
        }
        _ => Ok(()),
    }
}
