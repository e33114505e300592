//! Where each partition stands, as stored in the consumer group's committed offsets.
//!
//! A commit records two positions per partition: the offset up to which every output has
//! been acknowledged (the committed offset), and in its metadata the end of the epoch being
//! processed when it was made (the *intent*). After a crash the service replays the input up
//! to the committed offset without writing (that state is already in the mart), then replays
//! exactly the intended epoch again, writing its outputs: the same input on the same state
//! gives the same changes, so every row the crashed run may have written is written again.

use std::collections::BTreeMap;

/// A partition of one topic.
pub type TopicPartition = (String, i32);

/// Offsets per partition.
pub type Offsets = BTreeMap<TopicPartition, i64>;

const INTENT_PREFIX: &str = "pricestream-analytics/1 epoch_end=";

/// The commit metadata that records where the current epoch ends.
pub fn intent_metadata(epoch_end: i64) -> String {
    format!("{INTENT_PREFIX}{epoch_end}")
}

/// The epoch end recorded in `metadata`, if it is one of ours and not behind `committed`.
pub fn parse_intent(metadata: &str, committed: i64) -> Option<i64> {
    metadata.strip_prefix(INTENT_PREFIX)?.parse().ok().filter(|end| *end >= committed)
}

/// What a restarted worker must do with one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resume {
    /// Replay `[low, committed)` without writing: the mart already holds its outputs.
    pub committed: i64,
    /// Then replay `[committed, intent)` as one epoch, writing its outputs.
    pub intent: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_round_trip_and_foreign_metadata_is_ignored() {
        assert_eq!(parse_intent(&intent_metadata(42), 40), Some(42));
        assert_eq!(parse_intent(&intent_metadata(42), 50), None);
        assert_eq!(parse_intent("", 0), None);
        assert_eq!(parse_intent("someone else's", 0), None);
    }
}
