//! One worker's share of the input topics (bars and indicator values): a statically
//! assigned set of partitions, read from the beginning (the state is rebuilt from them),
//! in phases bounded by offsets, with offsets and epoch intents committed only when asked.

use super::progress::{Offsets, Resume, TopicPartition, intent_metadata, parse_intent};
use chrono::NaiveDate;
use pricestream_dataflow::config::KafkaConfig;
use pricestream_dataflow::kafka::{client_config, retry_transient};
use pricestream_dataflow::records::{Bar, IndicatorRecord};
use pricestream_dataflow::wire::{self, WireError};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{error, info};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// A gap in the input this long ends an epoch that already has records. Longer than the
/// producers' linger (20 ms), so one burst of records is one epoch rather than many.
const IDLE_GAP: Duration = Duration::from_millis(50);
/// How long a lag measurement waits for the end offset of one partition.
const LAG_TIMEOUT: Duration = Duration::from_secs(1);
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

/// One message as read: where it was and what it held.
#[derive(Debug)]
struct Polled {
    partition: TopicPartition,
    offset: i64,
    /// Producer timestamp (ms since the epoch), when the message has one.
    timestamp_ms: Option<i64>,
    /// The record, or why it could not be decoded: its kind (a `REJECTION_KINDS` value) and
    /// the message.
    record: Result<Record, (&'static str, String)>,
}

/// The `kind` label of a message that could not be decoded.
fn rejection_kind(error: &WireError) -> &'static str {
    match error {
        WireError::Malformed(_) => "malformed",
        WireError::UnsupportedVersion { .. } => "unsupported_version",
    }
}

/// Records read for one epoch.
#[derive(Debug, Default)]
pub struct Batch {
    /// Records decoded, in the order read (per partition, the order written).
    pub records: Vec<Record>,
    /// Producer timestamps of the bars in `records` (ms since the epoch).
    pub bar_timestamps_ms: Vec<i64>,
    /// Ticker, date and producer timestamp of the bars that have one, for the
    /// bar → prediction latency.
    pub published_bars: Vec<(String, NaiveDate, i64)>,
    /// Messages skipped because they could not be decoded.
    pub rejected: usize,
    /// `rejected` by kind.
    pub rejected_by_kind: BTreeMap<&'static str, u64>,
    /// Records read per topic.
    pub per_topic: BTreeMap<String, u64>,
}

impl Batch {
    /// Bars in this batch.
    pub fn bars(&self) -> usize {
        self.records.iter().filter(|r| matches!(r, Record::Bar(_))).count()
    }

    /// Whether no message at all was read, decodable or not.
    fn is_empty(&self) -> bool {
        self.records.is_empty() && self.rejected == 0
    }

    fn push(&mut self, polled: Polled) {
        *self.per_topic.entry(polled.partition.0.clone()).or_default() += 1;
        match polled.record {
            Ok(record) => {
                if let (Record::Bar(bar), Some(ts)) = (&record, polled.timestamp_ms) {
                    self.bar_timestamps_ms.push(ts);
                    self.published_bars.push((bar.ticker.to_string(), bar.datetime, ts));
                }
                self.records.push(record);
            }
            Err((kind, reason)) => {
                // Left in the topic at this offset for inspection; never silently dropped.
                let (topic, partition) = &polled.partition;
                error!(
                    topic,
                    partition,
                    offset = polled.offset,
                    kind,
                    "Skipped undecodable message: {reason}"
                );
                self.rejected += 1;
                *self.rejected_by_kind.entry(kind).or_default() += 1;
            }
        }
    }
}

/// A consumer over a fixed set of partitions of the input topics.
pub struct PartitionSource {
    /// Shared with the lag queries, which run on a thread of their own.
    consumer: Arc<BaseConsumer>,
    bars_topic: String,
    /// Next offset to hand out per assigned partition.
    next: Offsets,
    /// Where the previous run stood, per partition.
    resume: BTreeMap<TopicPartition, Resume>,
    /// End offsets at start, when the run stops at the end of the input.
    stop_offsets: Option<Offsets>,
    /// Messages read ahead of the current phase's limit, handed out later.
    stash: VecDeque<Polled>,
    /// Partitions paused because they reached the current phase's limit.
    paused: TopicPartitionList,
}

impl PartitionSource {
    /// Assigns `partitions` of each topic from their first offset. Messages of
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
        let (mut next, mut resume, mut stop_offsets) = (Offsets::new(), BTreeMap::new(), Offsets::new());
        for element in committed.elements() {
            let (topic, partition) = (element.topic().to_owned(), element.partition());
            let (low, high) = retry_transient("watermarks", SETTLE_TIMEOUT, || {
                consumer.fetch_watermarks(&topic, partition, REQUEST_TIMEOUT)
            })?;
            let committed = match element.offset() {
                Offset::Offset(offset) => offset.clamp(low, high),
                _ => low,
            };
            let intent = parse_intent(element.metadata(), committed).unwrap_or(committed).min(high);
            assignment.add_partition_offset(&topic, partition, Offset::Offset(low))?;
            let key = (topic, partition);
            next.insert(key.clone(), low);
            resume.insert(key.clone(), Resume { committed, intent });
            stop_offsets.insert(key, high);
        }
        consumer.assign(&assignment)?;
        info!(?partitions, ?resume, "Assigned partitions.");
        Ok(PartitionSource {
            consumer: Arc::new(consumer),
            bars_topic: bars_topic.to_owned(),
            next,
            resume,
            stop_offsets: stop_at_end.then_some(stop_offsets),
            stash: VecDeque::new(),
            paused: TopicPartitionList::new(),
        })
    }

    /// Where the previous run stood: the committed offsets.
    pub fn committed(&self) -> Offsets {
        self.resume.iter().map(|(p, r)| (p.clone(), r.committed)).collect()
    }

    /// The end of the epoch the previous run was processing when it stopped.
    pub fn intents(&self) -> Offsets {
        self.resume.iter().map(|(p, r)| (p.clone(), r.intent)).collect()
    }

    /// Next offset to read, per partition: the end of everything handed out so far.
    pub fn positions(&self) -> &Offsets {
        &self.next
    }

    /// True when stopping at the end and every partition has been read to its end offset.
    pub fn reached_end(&self) -> bool {
        self.stop_offsets.as_ref().is_some_and(|stops| {
            stops.iter().all(|(p, stop)| self.next.get(p).is_some_and(|next| next >= stop))
        })
    }

    /// A query of the messages still to read per partition, as of now: it asks the brokers
    /// for the end offsets, one round trip per partition, so run it off the worker thread
    /// (a loaded broker made the worker, and with it the whole cluster, wait seconds).
    pub fn lag_query(&self) -> impl FnOnce() -> Vec<(TopicPartition, i64)> + Send + 'static {
        let (consumer, next) = (Arc::clone(&self.consumer), self.next.clone());
        move || {
            next.into_iter()
                .filter_map(|(key, next)| {
                    let (_, high) = consumer.fetch_watermarks(&key.0, key.1, LAG_TIMEOUT).ok()?;
                    Some((key, (high - next).max(0)))
                })
                .collect()
        }
    }

    /// Reads every message below `limits` (per partition) into batches of up to
    /// `chunk` records, handing each to `consume`. Messages past a partition's limit
    /// are kept for the next phase.
    pub fn read_until(
        &mut self,
        limits: &Offsets,
        chunk: usize,
        mut consume: impl FnMut(Batch) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        // A partition is done once it is handed out up to its limit, or once a message at or
        // past the limit shows up (offsets can have gaps, e.g. after compaction).
        let mut passed = BTreeSet::new();
        let mut batch = Batch::default();
        let mut kept = VecDeque::new();
        while let Some(polled) = self.stash.pop_front() {
            if limits.get(&polled.partition).is_some_and(|limit| polled.offset < *limit) {
                self.hand_out(&mut batch, polled);
            } else {
                passed.insert(polled.partition.clone());
                kept.push_back(polled);
            }
        }
        self.stash = kept;
        let behind = |next: &Offsets, passed: &BTreeSet<TopicPartition>| {
            limits.iter().any(|(p, limit)| !passed.contains(p) && next.get(p).is_some_and(|n| n < limit))
        };
        while behind(&self.next, &passed) {
            if batch.records.len() + batch.rejected >= chunk {
                consume(std::mem::take(&mut batch))?;
            }
            let Some(polled) = self.poll(Duration::from_millis(500))? else {
                self.mark_fetched_past(limits, &mut passed)?;
                continue;
            };
            if limits.get(&polled.partition).is_some_and(|limit| polled.offset < *limit) {
                self.hand_out(&mut batch, polled);
            } else {
                self.pause(&polled.partition)?;
                passed.insert(polled.partition.clone());
                self.stash.push_back(polled);
            }
        }
        consume(batch)?;
        self.resume_all()
    }

    /// Waits up to `max_wait` for a first message, then reads until `max_records`, or until
    /// no message has arrived for a moment, or until `max_wait` has passed since the first.
    /// Timing the limit from the first message keeps a burst (a trading day's records) that
    /// starts late in an idle wait in one epoch instead of cutting it in two.
    pub fn poll_batch(&mut self, max_records: usize, max_wait: Duration) -> anyhow::Result<Batch> {
        self.resume_all()?;
        let mut deadline = Instant::now() + max_wait;
        let mut batch = Batch::default();
        while batch.records.len() + batch.rejected < max_records && !self.reached_end() {
            let polled = match self.stash.pop_front() {
                Some(polled) => polled,
                None => {
                    let mut left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    if !batch.is_empty() {
                        // Close the epoch as soon as the input pauses: latency over batch size.
                        left = left.min(IDLE_GAP);
                    }
                    match self.poll(left)? {
                        Some(polled) => polled,
                        None => break,
                    }
                }
            };
            if batch.is_empty() {
                deadline = Instant::now() + max_wait;
            }
            self.hand_out(&mut batch, polled);
        }
        Ok(batch)
    }

    /// Marks partitions whose fetch position is at or past their limit with nothing left
    /// to hand out: the offsets before the limit that were never returned do not exist.
    fn mark_fetched_past(
        &self,
        limits: &Offsets,
        passed: &mut BTreeSet<TopicPartition>,
    ) -> anyhow::Result<()> {
        for element in self.consumer.position()?.elements() {
            let key = (element.topic().to_owned(), element.partition());
            if let (Offset::Offset(position), Some(limit)) = (element.offset(), limits.get(&key))
                && position >= *limit
            {
                passed.insert(key);
            }
        }
        Ok(())
    }

    fn hand_out(&mut self, batch: &mut Batch, polled: Polled) {
        self.next.insert(polled.partition.clone(), polled.offset + 1);
        batch.push(polled);
    }

    fn poll(&self, wait: Duration) -> anyhow::Result<Option<Polled>> {
        let Some(message) = self.consumer.poll(wait) else { return Ok(None) };
        let message = message?;
        let topic = message.topic();
        let payload = message.payload().unwrap_or_default();
        let record = if topic == self.bars_topic {
            wire::decode::<Bar>(payload).map(Record::Bar)
        } else {
            wire::decode::<IndicatorRecord>(payload).map(Record::Indicator)
        };
        Ok(Some(Polled {
            partition: (topic.to_owned(), message.partition()),
            offset: message.offset(),
            timestamp_ms: message.timestamp().to_millis(),
            record: record.map_err(|e| (rejection_kind(&e), e.to_string())),
        }))
    }

    fn pause(&mut self, (topic, partition): &TopicPartition) -> anyhow::Result<()> {
        if self.paused.find_partition(topic, *partition).is_none() {
            let mut one = TopicPartitionList::new();
            one.add_partition(topic, *partition);
            self.consumer.pause(&one)?;
            self.paused.add_partition(topic, *partition);
        }
        Ok(())
    }

    fn resume_all(&mut self) -> anyhow::Result<()> {
        if self.paused.count() > 0 {
            self.consumer.resume(&self.paused)?;
            self.paused = TopicPartitionList::new();
        }
        Ok(())
    }

    /// Commits `done` (every output below these offsets is acknowledged) and records
    /// `intent` (the end of the epoch now being processed) in the commit metadata.
    pub fn commit(&self, done: &Offsets, intent: &Offsets) -> anyhow::Result<()> {
        if done.is_empty() {
            return Ok(());
        }
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), &offset) in done {
            let end = intent.get(&(topic.clone(), *partition)).copied().unwrap_or(offset);
            let mut element = offsets.add_partition(topic, *partition);
            element.set_offset(Offset::Offset(offset))?;
            element.set_metadata(intent_metadata(end));
        }
        retry_transient("commit", SETTLE_TIMEOUT, || self.consumer.commit(&offsets, CommitMode::Sync))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Batch, Polled, Record, partitions_for, rejection_kind};
    use crate::metrics::REJECTION_KINDS;
    use chrono::NaiveDate;
    use pricestream_dataflow::records::{Bar, Timeframe};
    use pricestream_dataflow::wire;

    fn polled(offset: i64, timestamp_ms: Option<i64>, payload: &[u8]) -> Polled {
        Polled {
            partition: ("pricestream.bars".into(), 0),
            offset,
            timestamp_ms,
            record: wire::decode::<Bar>(payload)
                .map(Record::Bar)
                .map_err(|e| (rejection_kind(&e), e.to_string())),
        }
    }

    #[test]
    fn rejected_messages_are_counted_by_kind_and_bars_keep_their_publish_time() {
        let bar = Bar {
            ticker: "NVDA".into(),
            timeframe: Timeframe::Day,
            datetime: NaiveDate::from_ymd_opt(2024, 1, 2).expect("a date"),
            open: 1.0,
            high: 2.0,
            low: 0.5,
            close: 1.5,
            volume: 100,
            task_number: uuid::Uuid::nil(),
        };
        let mut batch = Batch::default();
        batch.push(polled(0, Some(1_700_000_000_000), &wire::encode(&bar)));
        batch.push(polled(1, Some(1), b"not json"));
        batch.push(polled(2, Some(2), br#"{"schema_version":99,"ticker":"NVDA"}"#));
        batch.push(polled(3, None, b"{}"));
        assert_eq!(batch.records.len(), 1);
        assert_eq!(batch.rejected, 3);
        let kinds: Vec<(&str, u64)> = batch.rejected_by_kind.iter().map(|(k, n)| (*k, *n)).collect();
        assert_eq!(kinds, vec![("malformed", 2), ("unsupported_version", 1)]);
        assert!(kinds.iter().all(|(kind, _)| REJECTION_KINDS.contains(kind)));
        assert_eq!(batch.published_bars, vec![("NVDA".to_owned(), bar.datetime, 1_700_000_000_000)]);
    }

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
