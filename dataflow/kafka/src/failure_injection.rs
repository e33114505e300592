//! Failure injection for the fault tests, compiled only with the `fault-injection` feature:
//! `PRICESTREAM_FAIL_FETCH_AFTER=N` makes each [`crate::PartitionSource`] stop fetching after
//! its `N`th message, as librdkafka's consumer sometimes does after a broker restart; with
//! `PRICESTREAM_FAIL_FETCH_STUCK_CLIENT=1` as well, restarting its fetchers does not help, and
//! only a new consumer reads on.

use std::sync::OnceLock;

/// After how many messages a consumer stops fetching.
pub fn stop_fetching_after() -> Option<u64> {
    static AFTER: OnceLock<Option<u64>> = OnceLock::new();
    *AFTER.get_or_init(|| std::env::var("PRICESTREAM_FAIL_FETCH_AFTER").ok()?.trim().parse().ok())
}

/// Whether a consumer that stopped fetching stays stuck until it is replaced.
pub fn stuck_client() -> bool {
    static STUCK: OnceLock<bool> = OnceLock::new();
    *STUCK.get_or_init(|| std::env::var("PRICESTREAM_FAIL_FETCH_STUCK_CLIENT").is_ok_and(|v| v.trim() == "1"))
}
