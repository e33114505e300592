//! One worker's share of the bars topic: a statically assigned set of
//! partitions, read in batches, with offsets committed only when asked.

use pricestream_dataflow::config::KafkaConfig;
use pricestream_dataflow::kafka::{client_config, retry_transient};
use pricestream_dataflow::records::Bar;
use pricestream_dataflow::wire;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tracing::{error, info};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long start-up waits for a cluster that is still settling (e.g. a new broker).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);

/// The partitions of a `partition_count`-partition topic that worker `index`
/// of `peers` reads: every `peers`-th one, so the split needs no coordination
/// and works the same across processes.
pub fn partitions_for(index: usize, peers: usize, partition_count: usize) -> Vec<i32> {
    (0..partition_count).filter(|p| p % peers == index).filter_map(|p| i32::try_from(p).ok()).collect()
}

/// Records read for one epoch.
#[derive(Debug, Default)]
pub struct Batch {
    /// Bars decoded.
    pub bars: Vec<Bar>,
    /// Messages skipped because they could not be decoded.
    pub rejected: usize,
    /// Next offset to read, per partition, once this batch is processed.
    pub next_offsets: BTreeMap<i32, i64>,
}

/// A consumer over a fixed set of partitions of one topic.
pub struct PartitionSource {
    consumer: BaseConsumer,
    topic: String,
    /// Next offset to read per assigned partition.
    next_offsets: BTreeMap<i32, i64>,
    /// End offsets at start, when the run stops at the end of the input.
    stop_offsets: Option<BTreeMap<i32, i64>>,
}

impl PartitionSource {
    /// Assigns `partitions`, resuming from the group's committed offsets (or
    /// the earliest offset where none is committed).
    pub fn assign(
        kafka: &KafkaConfig,
        group_id: &str,
        topic: &str,
        partitions: &[i32],
        stop_at_end: bool,
    ) -> anyhow::Result<Self> {
        let consumer: BaseConsumer = client_config(kafka)
            .set("group.id", group_id)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create()?;
        let mut wanted = TopicPartitionList::new();
        for &partition in partitions {
            wanted.add_partition(topic, partition);
        }
        let committed = retry_transient("committed offsets", SETTLE_TIMEOUT, || {
            consumer.committed_offsets(wanted.clone(), REQUEST_TIMEOUT)
        })?;
        let mut assignment = TopicPartitionList::new();
        let mut next_offsets = BTreeMap::new();
        let mut stop_offsets = BTreeMap::new();
        for element in committed.elements() {
            let partition = element.partition();
            let (low, high) = retry_transient("watermarks", SETTLE_TIMEOUT, || {
                consumer.fetch_watermarks(topic, partition, REQUEST_TIMEOUT)
            })?;
            let start = match element.offset() {
                Offset::Offset(offset) if offset >= low => offset,
                _ => low,
            };
            assignment.add_partition_offset(topic, partition, Offset::Offset(start))?;
            next_offsets.insert(partition, start);
            stop_offsets.insert(partition, high);
        }
        consumer.assign(&assignment)?;
        info!(topic, ?partitions, ?next_offsets, "Assigned partitions.");
        Ok(PartitionSource {
            consumer,
            topic: topic.to_owned(),
            next_offsets,
            stop_offsets: stop_at_end.then_some(stop_offsets),
        })
    }

    /// True when stopping at the end and every partition has been read to its end offset.
    pub fn reached_end(&self) -> bool {
        self.stop_offsets.as_ref().is_some_and(|stops| {
            stops.iter().all(|(p, stop)| self.next_offsets.get(p).is_some_and(|next| next >= stop))
        })
    }

    /// Reads up to `max_records` or until `max_wait` passes, whichever is first.
    pub fn poll_batch(&mut self, max_records: usize, max_wait: Duration) -> anyhow::Result<Batch> {
        let deadline = Instant::now() + max_wait;
        let mut batch = Batch::default();
        while batch.bars.len() + batch.rejected < max_records && !self.reached_end() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let Some(message) = self.consumer.poll(left) else { break };
            let message = message?;
            let (partition, offset) = (message.partition(), message.offset());
            match wire::decode::<Bar>(message.payload().unwrap_or_default()) {
                Ok(bar) => batch.bars.push(bar),
                Err(e) => {
                    // Left in the topic at this offset for inspection; never silently dropped.
                    error!(topic = %self.topic, partition, offset, "Skipped undecodable message: {e}");
                    batch.rejected += 1;
                }
            }
            self.next_offsets.insert(partition, offset + 1);
            batch.next_offsets.insert(partition, offset + 1);
        }
        Ok(batch)
    }

    /// Commits `next_offsets` for the group, synchronously.
    pub fn commit(&self, next_offsets: &BTreeMap<i32, i64>) -> anyhow::Result<()> {
        if next_offsets.is_empty() {
            return Ok(());
        }
        let mut offsets = TopicPartitionList::new();
        for (&partition, &next) in next_offsets {
            offsets.add_partition_offset(&self.topic, partition, Offset::Offset(next))?;
        }
        retry_transient("commit", SETTLE_TIMEOUT, || self.consumer.commit(&offsets, CommitMode::Sync))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::partitions_for;

    #[test]
    fn every_partition_has_exactly_one_worker() {
        for peers in 1..6 {
            let mut seen: Vec<i32> = (0..peers).flat_map(|w| partitions_for(w, peers, 7)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..7).collect::<Vec<_>>());
        }
        assert_eq!(partitions_for(1, 2, 4), vec![1, 3]);
    }
}
