//! A consumer whose fetchers stopped is restarted at its own positions.
//!
//! After a broker restart, librdkafka sometimes never resumes fetching `assign()`ed
//! partitions: polls return nothing while the brokers hold messages (an open librdkafka issue;
//! restarting the consumer is the only known cure). The source counts as stalled when every
//! lag measurement for [`STALL_AFTER`] found messages on the brokers past its positions and
//! none arrived meanwhile. The measurements come from a client of their own: the stuck
//! consumer's own queries can hang with its fetches, and then nothing would be measured. It then assigns its partitions again at its own positions: the next
//! message it hands out is the one it would have handed out anyway.

use crate::commit_note::{Offsets, TopicPartition};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long messages may wait on the brokers, unreceived, before the fetchers are restarted.
/// Far above a fetch's latency (milliseconds) and above a broker's restart.
pub const STALL_AFTER: Duration = Duration::from_secs(15);

/// End offsets per partition and when they were measured, shared with the lag queries.
pub type Highs = Arc<Mutex<Option<(Instant, Offsets)>>>;

/// Watches one source for a stall.
#[derive(Debug)]
pub struct StallWatch {
    /// The latest end offsets the lag queries measured.
    pub highs: Highs,
    /// When a message last arrived (or the fetchers last started).
    last_progress: Instant,
    /// The first measurement since then that found messages waiting.
    waiting_since: Option<Instant>,
}

impl Default for StallWatch {
    fn default() -> Self {
        StallWatch { highs: Highs::default(), last_progress: Instant::now(), waiting_since: None }
    }
}

impl StallWatch {
    /// A message arrived, or the fetchers (re)started.
    pub fn progressed(&mut self) {
        self.last_progress = Instant::now();
        self.waiting_since = None;
    }

    /// The partitions whose messages wait unreceived, with how many, when the source at
    /// positions `next` is stalled; empty otherwise.
    pub fn stalled(&mut self, next: &Offsets) -> Vec<(TopicPartition, i64)> {
        let latest = self.highs.lock().map(|highs| highs.clone()).unwrap_or_default();
        // Only a measurement taken after the last message says anything about the fetchers.
        let Some((measured, highs)) = latest.filter(|(measured, _)| *measured > self.last_progress) else {
            return Vec::new();
        };
        let waiting: Vec<(TopicPartition, i64)> = highs
            .into_iter()
            .filter_map(|(partition, high)| {
                let waiting = high - next.get(&partition).copied()?;
                (waiting > 0).then_some((partition, waiting))
            })
            .collect();
        if waiting.is_empty() {
            self.waiting_since = None;
            return waiting;
        }
        let since = *self.waiting_since.get_or_insert(measured);
        if since.elapsed() < STALL_AFTER { Vec::new() } else { waiting }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(pairs: &[(i32, i64)]) -> Offsets {
        pairs.iter().map(|&(partition, offset)| (("bars".to_owned(), partition), offset)).collect()
    }

    #[test]
    fn stalled_only_when_messages_stay_unreceived_for_the_whole_window() {
        let mut watch = StallWatch::default();
        let next = offsets(&[(0, 10), (1, 5)]);
        assert!(watch.stalled(&next).is_empty(), "nothing measured yet");
        let measure = |watch: &StallWatch, at: Instant, highs: &[(i32, i64)]| {
            *watch.highs.lock().expect("lock") = Some((at, offsets(highs)));
        };
        let long_ago = Instant::now() - STALL_AFTER - Duration::from_secs(1);
        watch.last_progress = long_ago - Duration::from_secs(1);
        // Everything received: idle, not stalled.
        measure(&watch, long_ago, &[(0, 10), (1, 5)]);
        assert!(watch.stalled(&next).is_empty());
        // Messages waiting: the first such measurement starts the window.
        measure(&watch, Instant::now(), &[(0, 10), (1, 8)]);
        assert!(watch.stalled(&next).is_empty(), "waiting for less than the window");
        // Still waiting, the window long over.
        watch.waiting_since = Some(long_ago);
        measure(&watch, Instant::now(), &[(0, 10), (1, 8)]);
        assert_eq!(watch.stalled(&next), [(("bars".to_owned(), 1), 3)]);
        // A message arrived: the window starts again.
        watch.progressed();
        assert!(watch.stalled(&next).is_empty(), "measured before the message");
        measure(&watch, Instant::now(), &[(1, 9)]);
        assert!(watch.stalled(&next).is_empty(), "waiting for less than the window");
    }
}
