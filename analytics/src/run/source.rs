//! One worker's share of the input topics (bars and indicator values): a
//! statically assigned set of partitions, read in batches, with offsets
//! committed only when asked.

use pricestream_dataflow::config::KafkaConfig;
use pricestream_dataflow::kafka::{client_config, retry_transient};
use pricestream_dataflow::records::{Bar, IndicatorRecord};
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

/// One decoded input record.
#[derive(Debug, Clone)]
pub enum Record {
    /// From the bars topic.
    Bar(Bar),
    /// From the indicators topic.
    Indicator(IndicatorRecord),
}

/// A partition of one topic.
type TopicPartition = (String, i32);

/// Records read for one epoch.
#[derive(Debug, Default)]
pub struct Batch {
    /// Records decoded, in the order read (per partition, the order written).
    pub records: Vec<Record>,
    /// Messages skipped because they could not be decoded.
    pub rejected: usize,
    /// Next offset to read, per partition, once this batch is processed.
    pub next_offsets: BTreeMap<TopicPartition, i64>,
}

impl Batch {
    /// Bars in this batch.
    pub fn bars(&self) -> usize {
        self.records.iter().filter(|r| matches!(r, Record::Bar(_))).count()
    }
}

/// A consumer over a fixed set of partitions of the input topics.
pub struct PartitionSource {
    consumer: BaseConsumer,
    bars_topic: String,
    /// Next offset to read per assigned partition.
    next_offsets: BTreeMap<TopicPartition, i64>,
    /// End offsets at start, when the run stops at the end of the input.
    stop_offsets: Option<BTreeMap<TopicPartition, i64>>,
}

impl PartitionSource {
    /// Assigns `partitions` of each topic, resuming from the group's committed
    /// offsets (or the earliest offset where none is committed). Messages of
    /// `bars_topic` are bars, all others indicator values.
    pub fn assign(
        kafka: &KafkaConfig,
        group_id: &str,
        bars_topic: &str,
        partitions: &[(String, Vec<i32>)],
        stop_at_end: bool,
    ) -> anyhow::Result<Self> {
        let consumer: BaseConsumer = client_config(kafka)
            .set("group.id", group_id)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create()?;
        let mut wanted = TopicPartitionList::new();
        for (topic, numbers) in partitions {
            for &partition in numbers {
                wanted.add_partition(topic, partition);
            }
        }
        let committed = retry_transient("committed offsets", SETTLE_TIMEOUT, || {
            consumer.committed_offsets(wanted.clone(), REQUEST_TIMEOUT)
        })?;
        let mut assignment = TopicPartitionList::new();
        let mut next_offsets = BTreeMap::new();
        let mut stop_offsets = BTreeMap::new();
        for element in committed.elements() {
            let (topic, partition) = (element.topic().to_owned(), element.partition());
            let (low, high) = retry_transient("watermarks", SETTLE_TIMEOUT, || {
                consumer.fetch_watermarks(&topic, partition, REQUEST_TIMEOUT)
            })?;
            let start = match element.offset() {
                Offset::Offset(offset) if offset >= low => offset,
                _ => low,
            };
            assignment.add_partition_offset(&topic, partition, Offset::Offset(start))?;
            next_offsets.insert((topic.clone(), partition), start);
            stop_offsets.insert((topic, partition), high);
        }
        consumer.assign(&assignment)?;
        info!(?partitions, ?next_offsets, "Assigned partitions.");
        Ok(PartitionSource {
            consumer,
            bars_topic: bars_topic.to_owned(),
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
        while batch.records.len() + batch.rejected < max_records && !self.reached_end() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let Some(message) = self.consumer.poll(left) else { break };
            let message = message?;
            let (topic, partition, offset) = (message.topic(), message.partition(), message.offset());
            let payload = message.payload().unwrap_or_default();
            let decoded = if topic == self.bars_topic {
                wire::decode::<Bar>(payload).map(Record::Bar)
            } else {
                wire::decode::<IndicatorRecord>(payload).map(Record::Indicator)
            };
            match decoded {
                Ok(record) => batch.records.push(record),
                Err(e) => {
                    // Left in the topic at this offset for inspection; never silently dropped.
                    error!(topic, partition, offset, "Skipped undecodable message: {e}");
                    batch.rejected += 1;
                }
            }
            let key = (topic.to_owned(), partition);
            self.next_offsets.insert(key.clone(), offset + 1);
            batch.next_offsets.insert(key, offset + 1);
        }
        Ok(batch)
    }

    /// Commits `next_offsets` for the group, synchronously.
    pub fn commit(&self, next_offsets: &BTreeMap<TopicPartition, i64>) -> anyhow::Result<()> {
        if next_offsets.is_empty() {
            return Ok(());
        }
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), &next) in next_offsets {
            offsets.add_partition_offset(topic, *partition, Offset::Offset(next))?;
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
