//! Waits between attempts (exponential with jitter, capped) and between requests (a
//! fixed interval, so a requests-per-minute limit is never exceeded).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Exponential backoff: attempt `n` (0-based) waits `initial * 2^n` capped at `max`, of
/// which a random half is taken away so that clients retrying together spread out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The wait after failed attempt `attempt`; a server's `Retry-After` is a floor.
    pub(crate) fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exponential = self.initial.saturating_mul(2u32.saturating_pow(attempt.min(30))).min(self.max);
        let jittered = exponential / 2 + exponential.mul_f64(random_unit() / 2.0);
        jittered.max(retry_after.unwrap_or_default()).min(self.max)
    }
}

/// A random number in `[0, 1)`, from the standard library's randomly keyed hasher.
fn random_unit() -> f64 {
    let bits = RandomState::new().build_hasher().finish() >> 11;
    bits as f64 / (1u64 << 53) as f64
}

/// Spaces request starts at least `interval` apart, across every caller sharing it.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// At most `per_minute` starts per minute (at least 1).
    pub(crate) fn per_minute(per_minute: u32) -> Self {
        RateLimiter { interval: Duration::from_secs(60) / per_minute.max(1), next: Mutex::new(None) }
    }

    /// Waits for this caller's turn.
    pub(crate) async fn wait(&self) {
        let turn = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let turn = next.map_or(now, |at| at.max(now));
            *next = Some(turn + self.interval);
            turn
        };
        tokio::time::sleep_until(turn).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_jitter_and_stay_capped() {
        let backoff = Backoff { initial: Duration::from_millis(100), max: Duration::from_secs(1) };
        for _ in 0..50 {
            let first = backoff.delay(0, None);
            assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&first), "{first:?}");
            let third = backoff.delay(2, None);
            assert!((Duration::from_millis(200)..=Duration::from_millis(400)).contains(&third), "{third:?}");
            assert!(backoff.delay(40, None) <= Duration::from_secs(1));
        }
        assert_eq!(backoff.delay(0, Some(Duration::from_millis(700))), Duration::from_millis(700));
        assert_eq!(backoff.delay(0, Some(Duration::from_secs(30))), Duration::from_secs(1));
    }

    #[tokio::test]
    async fn the_limiter_spaces_starts() {
        let limiter = RateLimiter::per_minute(1_200); // one per 50 ms
        let started = Instant::now();
        for _ in 0..4 {
            limiter.wait().await;
        }
        assert!(started.elapsed() >= Duration::from_millis(150), "{:?}", started.elapsed());
    }
}
