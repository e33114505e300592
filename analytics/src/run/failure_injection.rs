//! Failure injection for the fault tests, compiled only with the `fault-injection` feature:
//! `PRICESTREAM_FAIL_WRITE=worker=W,epoch=E` makes worker `W`'s write of epoch `E` fail, as a
//! write that Cassandra refuses would; `PRICESTREAM_FAIL_FETCH_AFTER=N` makes each worker's
//! consumer stop fetching after its `N`th message, as librdkafka's sometimes does after a
//! broker restart.

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

/// After how many messages a consumer stops fetching.
pub fn stop_fetching_after() -> Option<u64> {
    static AFTER: OnceLock<Option<u64>> = OnceLock::new();
    *AFTER.get_or_init(|| std::env::var("PRICESTREAM_FAIL_FETCH_AFTER").ok()?.trim().parse().ok())
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
