use std::hash::BuildHasher;
use std::time::Duration;

/// Capped exponential backoff with full jitter: the `n`-th pause is drawn uniformly from
/// `[0, min(max, initial * 2^n)]`, so clients that lost the same server do not all come
/// back at the same instant.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    /// Pauses from `initial`, doubling up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff { initial, max: max.max(initial), attempt: 0 }
    }

    /// The default for requests to Kafka and Cassandra: from 100 ms up to 5 s.
    pub fn for_services() -> Self {
        Backoff::new(Duration::from_millis(100), Duration::from_secs(5))
    }

    /// The ceiling of the next pause (before jitter).
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(20)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The next pause: uniformly random up to the ceiling, never below a tenth of it.
    pub fn next_pause(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        // A randomly keyed hasher is random enough for jitter and needs no RNG crate.
        let draw = std::collections::hash_map::RandomState::new().hash_one(self.attempt);
        let fraction = 0.1 + 0.9 * (draw as f64 / u64::MAX as f64);
        ceiling.mul_f64(fraction)
    }

    /// Back to the initial pause, after a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_to_the_cap_and_stay_below_it() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let ceilings: Vec<u128> = (0..7)
            .map(|_| {
                let ceiling = backoff.ceiling();
                let pause = backoff.next_pause();
                assert!(pause <= ceiling && pause >= ceiling / 10, "{pause:?} outside (0, {ceiling:?}]");
                ceiling.as_millis()
            })
            .collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1600, 2000, 2000]);
        backoff.reset();
        assert_eq!(backoff.ceiling(), Duration::from_millis(100));
    }

    #[test]
    fn pauses_are_jittered() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(1));
        let pauses: std::collections::BTreeSet<Duration> = (0..20).map(|_| backoff.next_pause()).collect();
        assert!(pauses.len() > 10, "20 pauses, only {} distinct", pauses.len());
    }
}
