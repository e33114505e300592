//! Where each partition stands, as stored in the consumer group's committed offsets.
//!
//! A commit records, per partition, the offset up to which every output has been acknowledged
//! (the committed offset), and in its metadata:
//! * the end of the epoch being processed when it was made (the *intent*): after a crash the
//!   service replays the input up to the committed offset without writing (that state is
//!   already in the mart), then replays exactly the intended epoch again, writing its outputs:
//!   the same input on the same state gives the same changes, so every row the crashed run may
//!   have written is written again;
//! * the fingerprint of the settings that shape a row (`pricestream_streaming::settings`):
//!   a start with other settings rewrites the mart instead of trusting it;
//! * the fencing generation of the cluster that committed (`pricestream_streaming::fence`), for operators.

use std::collections::BTreeMap;

/// A partition of one topic.
pub type TopicPartition = (String, i32);

/// Offsets per partition.
pub type Offsets = BTreeMap<TopicPartition, i64>;

const PREFIX_V1: &str = "pricestream-analytics/1 ";
const PREFIX_V2: &str = "pricestream-analytics/2 ";

/// What a commit's metadata records besides the offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitNote {
    /// The end of the epoch being processed.
    pub epoch_end: i64,
    /// The fingerprint of the row-shaping settings; `None` for commits of older releases.
    pub settings: Option<String>,
    /// The generation of the committing cluster; `None` for commits of older releases.
    pub generation: Option<i64>,
}

impl CommitNote {
    /// The metadata text.
    pub fn to_metadata(&self) -> String {
        let mut text = format!("{PREFIX_V2}epoch_end={}", self.epoch_end);
        if let Some(settings) = &self.settings {
            text.push_str(&format!(" settings={settings}"));
        }
        if let Some(generation) = self.generation {
            text.push_str(&format!(" generation={generation}"));
        }
        text
    }

    /// The note in `metadata`, if it is one of ours and its intent not behind `committed`.
    pub fn parse(metadata: &str, committed: i64) -> Option<CommitNote> {
        let fields = metadata.strip_prefix(PREFIX_V2).or_else(|| metadata.strip_prefix(PREFIX_V1))?;
        let mut note = CommitNote { epoch_end: -1, settings: None, generation: None };
        for field in fields.split_whitespace() {
            match field.split_once('=')? {
                ("epoch_end", value) => note.epoch_end = value.parse().ok()?,
                ("settings", value) => note.settings = Some(value.to_owned()),
                ("generation", value) => note.generation = value.parse().ok(),
                _ => {}
            }
        }
        (note.epoch_end >= committed).then_some(note)
    }
}

/// What a restarted worker must do with one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    /// Replay `[low, committed)` without writing: the mart already holds its outputs.
    pub committed: i64,
    /// Then replay `[committed, intent)` as one epoch, writing its outputs.
    pub intent: i64,
    /// Whether anything was committed for the partition at all.
    pub has_commit: bool,
    /// The settings fingerprint of the last commit (`None`: none, or an older release's).
    pub settings: Option<String>,
}

impl Resume {
    /// Whether the rows this partition's committed input made were shaped by other settings
    /// than `settings`: a partition with a commit but another (or no) fingerprint.
    pub fn is_stale(&self, settings: &str) -> bool {
        self.has_commit && self.committed > 0 && self.settings.as_deref() != Some(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_round_trip_and_foreign_metadata_is_ignored() {
        let note = CommitNote { epoch_end: 42, settings: Some("ab12".into()), generation: Some(3) };
        assert_eq!(CommitNote::parse(&note.to_metadata(), 40), Some(note.clone()));
        assert_eq!(CommitNote::parse(&note.to_metadata(), 50), None, "an intent behind the commit");
        let old = CommitNote::parse("pricestream-analytics/1 epoch_end=42", 40);
        assert_eq!(old, Some(CommitNote { epoch_end: 42, settings: None, generation: None }));
        assert_eq!(CommitNote::parse("", 0), None);
        assert_eq!(CommitNote::parse("someone else's", 0), None);
    }

    #[test]
    fn a_partition_is_stale_when_its_commit_carries_other_settings() {
        let resume = |has_commit, settings: Option<&str>| Resume {
            committed: 10,
            intent: 10,
            has_commit,
            settings: settings.map(str::to_owned),
        };
        assert!(!resume(true, Some("a")).is_stale("a"));
        assert!(resume(true, Some("b")).is_stale("a"));
        assert!(resume(true, None).is_stale("a"), "a commit of an older release");
        assert!(!resume(false, None).is_stale("a"), "nothing committed, nothing written");
    }
}
