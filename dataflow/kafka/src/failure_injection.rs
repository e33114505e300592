//! Failure injection for the fault tests, compiled only with the `fault-injection` feature:
//! `PRICESTREAM_FAIL_FETCH_AFTER=N` makes each [`crate::PartitionSource`] stop fetching after
//! its `N`th message, as librdkafka's consumer sometimes does after a broker restart.

use std::sync::OnceLock;

/// After how many messages a consumer stops fetching.
pub fn stop_fetching_after() -> Option<u64> {
    static AFTER: OnceLock<Option<u64>> = OnceLock::new();
    *AFTER.get_or_init(|| std::env::var("PRICESTREAM_FAIL_FETCH_AFTER").ok()?.trim().parse().ok())
}
