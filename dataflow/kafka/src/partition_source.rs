//! One worker's share of the input topics (bars and indicator values): a set of partitions,
//! read from the beginning (the state is rebuilt from them), in phases bounded by offsets, with
//! offsets and commit notes committed only when asked. Every message is checked
//! ([`wire::decode_bar`]); a refused one becomes a dead letter and everything else flows.
//! Kafka outages are waited out: polls that fail are reported as an outage and polled again;
//! fetchers that stop for good after one are restarted ([`crate::stall`]).

use crate::commit_note::{CommitNote, Offsets, Resume, TopicPartition};
use crate::committer::Committer;
use crate::stall::{STALL_AFTER, StallWatch};
use crate::{QuietContext, client_config, kafka_fault};
use chrono::NaiveDate;
use pricestream_records::wire::{self, Refusal, RefusalReason};
use pricestream_records::{Bar, DeadLetter, IndicatorRecord};
use pricestream_runtime::config::KafkaConfig;
use pricestream_runtime::fault::{Dependency, Fault, Outages, Patience, wait_out_blocking};
use prometheus::IntCounter;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};
use tracing::{info, warn};
use uuid::Uuid;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// A gap in the input this long ends an epoch that already has records. Longer than the
/// producers' linger (20 ms), so one burst of records is one epoch rather than many.
const IDLE_GAP: Duration = Duration::from_millis(50);
/// How long a lag measurement waits for the end offset of one partition.
const LAG_TIMEOUT: Duration = Duration::from_secs(1);
/// How often the brokers are asked whether they are back, during an outage.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// The partitions of a `partition_count`-partition topic that worker `index`
/// of `peers` reads: every `peers`-th one, so the split needs no coordination
/// and works the same across processes. Which worker reads a partition does not matter
/// for the result: records are routed to their series' worker inside the dataflow.
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
    /// The record, or the dead letter of a refused message.
    record: Result<Record, (RefusalReason, DeadLetter)>,
}

/// Where a record was: its producer timestamp (`i64::MIN` when it has none) and its offset,
/// which together order the deliveries of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Producer timestamp, ms since the epoch.
    pub timestamp_ms: i64,
    /// Offset in its partition.
    pub offset: i64,
}

/// Records read for one epoch.
#[derive(Debug, Default)]
pub struct Batch {
    /// Records accepted, in the order read (per partition, the order written), each with
    /// where it was.
    pub records: Vec<(Record, Stamp)>,
    /// Producer timestamps of the bars in `records` (ms since the epoch).
    pub bar_timestamps_ms: Vec<i64>,
    /// Ticker, date and producer timestamp of the bars that have one, for the
    /// bar → prediction latency.
    pub published_bars: Vec<(String, NaiveDate, i64)>,
    /// Messages refused, as dead letters.
    pub refused: Vec<DeadLetter>,
    /// Refused messages by reason.
    pub refused_by_reason: BTreeMap<&'static str, u64>,
    /// Records read per topic.
    pub per_topic: BTreeMap<String, u64>,
}

impl Batch {
    /// Bars in this batch.
    pub fn bars(&self) -> usize {
        self.records.iter().filter(|(r, _)| matches!(r, Record::Bar(_))).count()
    }

    /// Messages read, accepted or refused.
    pub fn messages(&self) -> usize {
        self.records.len() + self.refused.len()
    }

    fn push(&mut self, polled: Polled) {
        *self.per_topic.entry(polled.partition.0.clone()).or_default() += 1;
        let version = Stamp { timestamp_ms: polled.timestamp_ms.unwrap_or(i64::MIN), offset: polled.offset };
        match polled.record {
            Ok(record) => {
                if let (Record::Bar(bar), Some(ts)) = (&record, polled.timestamp_ms) {
                    self.bar_timestamps_ms.push(ts);
                    self.published_bars.push((bar.ticker.to_string(), bar.datetime, ts));
                }
                self.records.push((record, version));
            }
            Err((reason, letter)) => {
                let (topic, partition) = &polled.partition;
                warn!(
                    topic,
                    partition,
                    offset = polled.offset,
                    reason = reason.as_str(),
                    "Refused a message (sent to the dead-letter topic): {}",
                    letter.message
                );
                *self.refused_by_reason.entry(reason.as_str()).or_default() += 1;
                self.refused.push(letter);
            }
        }
    }
}

/// How a source reads and where it reports.
pub struct SourceSettings<'a> {
    /// The brokers.
    pub kafka: &'a KafkaConfig,
    /// The consumer group whose offsets are committed.
    pub group_id: &'a str,
    /// Messages of this topic are bars, all others indicator values.
    pub bars_topic: &'a str,
    /// Larger messages are refused.
    pub max_message_bytes: usize,
    /// Stop at the end offsets the partitions have at start.
    pub stop_at_end: bool,
    /// Outages are reported here.
    pub outages: Arc<Outages>,
    /// Set when the process is asked to stop: waits end.
    pub stop: Arc<AtomicBool>,
    /// The run that refuses messages (the dead letters' `task_number`).
    pub run_id: Uuid,
    /// Counts the restarts of stalled fetchers.
    pub fetcher_restarts: IntCounter,
    /// Counts the offset commits given up as stuck and sent again ([`crate::committer`]).
    pub commit_restarts: IntCounter,
}

/// A consumer over a set of partitions of the input topics.
pub struct PartitionSource {
    /// Shared with the lag queries, which run on a thread of their own.
    consumer: Arc<BaseConsumer<QuietContext>>,
    /// Asks for the partitions' end offsets (the lag, and whether the fetchers stalled) on a
    /// client of its own: when the consumer's broker connections are the ones stuck, its own
    /// queries fail too, and the stall watch would never see messages waiting.
    watermarks: Arc<BaseConsumer<QuietContext>>,
    /// Commits the offsets, on a client of its own.
    committer: Committer,
    bars_topic: String,
    max_message_bytes: usize,
    outages: Arc<Outages>,
    stop: Arc<AtomicBool>,
    run_id: Uuid,
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
    /// When the brokers were last asked whether they are back.
    last_probe: Option<Instant>,
    /// Whether the fetchers stopped.
    stall: StallWatch,
    /// The positions at the last restart of the fetchers: stalled again at the same positions,
    /// re-assigning did not help, and the consumer is replaced by a new client.
    restarted_at: Option<Offsets>,
    /// The settings the consumer was made with, for a new one.
    consumer_config: ClientConfig,
    fetcher_restarts: IntCounter,
    /// Messages received, for the injected fetch failure.
    #[cfg(feature = "fault-injection")]
    received: u64,
    /// The injected failure that only a new consumer cures is in effect.
    #[cfg(feature = "fault-injection")]
    stuck_client: bool,
}

impl PartitionSource {
    /// Assigns `partitions` of each topic from their first offset, waiting out Kafka outages.
    pub fn assign(settings: SourceSettings<'_>, partitions: &[(String, Vec<i32>)]) -> anyhow::Result<Self> {
        let mut consumer_config = client_config(settings.kafka);
        consumer_config
            .set("group.id", settings.group_id)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest");
        let consumer: BaseConsumer<QuietContext> =
            consumer_config.create_with_context(QuietContext::default())?;
        let watermarks: BaseConsumer<QuietContext> =
            client_config(settings.kafka).create_with_context(QuietContext::default())?;
        let committer = Committer::new(settings.kafka, settings.group_id, settings.commit_restarts)?;
        let mut source = PartitionSource {
            consumer: Arc::new(consumer),
            watermarks: Arc::new(watermarks),
            committer,
            bars_topic: settings.bars_topic.to_owned(),
            max_message_bytes: settings.max_message_bytes,
            outages: settings.outages,
            stop: settings.stop,
            run_id: settings.run_id,
            next: Offsets::new(),
            resume: BTreeMap::new(),
            stop_offsets: settings.stop_at_end.then(Offsets::new),
            stash: VecDeque::new(),
            paused: TopicPartitionList::new(),
            last_probe: None,
            stall: StallWatch::default(),
            restarted_at: None,
            consumer_config,
            fetcher_restarts: settings.fetcher_restarts,
            #[cfg(feature = "fault-injection")]
            received: 0,
            #[cfg(feature = "fault-injection")]
            stuck_client: false,
        };
        source.add(partitions)?;
        info!(?partitions, resume = ?source.resume, "Assigned partitions.");
        Ok(source)
    }

    fn patience(&self) -> Patience<'_> {
        Patience::Forever { stop: Some(&self.stop) }
    }

    /// Adds `partitions` to the assignment, read from their first offset.
    fn add(&mut self, partitions: &[(String, Vec<i32>)]) -> anyhow::Result<()> {
        let mut wanted = TopicPartitionList::new();
        for (topic, numbers) in partitions {
            for &partition in numbers {
                wanted.add_partition(topic, partition);
            }
        }
        if wanted.count() == 0 {
            return Ok(());
        }
        let consumer = Arc::clone(&self.consumer);
        let committed = wait_out_blocking(
            &self.outages,
            Dependency::Kafka,
            "committed offsets",
            self.patience(),
            kafka_fault,
            || consumer.committed_offsets(wanted.clone(), REQUEST_TIMEOUT),
        )?;
        // Incremental: partitions read already keep their positions.
        let mut assignment = TopicPartitionList::new();
        for element in committed.elements() {
            let (topic, partition) = (element.topic().to_owned(), element.partition());
            let (low, high) = wait_out_blocking(
                &self.outages,
                Dependency::Kafka,
                "watermarks",
                self.patience(),
                kafka_fault,
                || consumer.fetch_watermarks(&topic, partition, REQUEST_TIMEOUT),
            )?;
            let (has_commit, committed) = match element.offset() {
                Offset::Offset(offset) => (true, offset.clamp(low, high)),
                _ => (false, low),
            };
            let note = CommitNote::parse(element.metadata(), committed);
            let intent = note.as_ref().map_or(committed, |note| note.epoch_end).min(high);
            assignment.add_partition_offset(&topic, partition, Offset::Offset(low))?;
            let key = (topic, partition);
            self.next.insert(key.clone(), low);
            let settings = note.and_then(|note| note.settings);
            self.resume.insert(key.clone(), Resume { committed, intent, has_commit, settings });
            if let Some(stops) = &mut self.stop_offsets {
                stops.insert(key, high);
            }
        }
        self.consumer.incremental_assign(&assignment)?;
        Ok(())
    }

    /// Adds the partitions of worker `index` of `peers` that `counts` (topic, partition count)
    /// has and this source does not read yet: a topic that grew while the service runs.
    pub fn follow_growth(
        &mut self,
        counts: &[(String, usize)],
        index: usize,
        peers: usize,
    ) -> anyhow::Result<()> {
        let new: Vec<(String, Vec<i32>)> = counts
            .iter()
            .map(|(topic, count)| {
                let numbers = partitions_for(index, peers, *count)
                    .into_iter()
                    .filter(|p| !self.next.contains_key(&(topic.clone(), *p)))
                    .collect();
                (topic.clone(), numbers)
            })
            .filter(|(_, numbers): &(String, Vec<i32>)| !numbers.is_empty())
            .collect();
        if new.is_empty() || self.stop_offsets.is_some() {
            return Ok(());
        }
        info!(partitions = ?new, "The input topics grew; reading their new partitions.");
        self.add(&new)
    }

    /// Where the previous run stood: the committed offsets.
    pub fn committed(&self) -> Offsets {
        self.resume.iter().map(|(p, r)| (p.clone(), r.committed)).collect()
    }

    /// The end of the epoch the previous run was processing when it stopped.
    pub fn intents(&self) -> Offsets {
        self.resume.iter().map(|(p, r)| (p.clone(), r.intent)).collect()
    }

    /// The partitions whose committed progress was made with other settings than `settings`.
    pub fn stale_partitions(&self, settings: &str) -> Vec<TopicPartition> {
        self.resume.iter().filter(|(_, r)| r.is_stale(settings)).map(|(p, _)| p.clone()).collect()
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
    /// The end offsets it finds are kept for the stall watch; they come from a client other
    /// than the consumer's.
    pub fn lag_query(&self) -> impl FnOnce() -> Vec<(TopicPartition, i64)> + Send + 'static {
        let (consumer, next) = (Arc::clone(&self.watermarks), self.next.clone());
        let highs_seen = Arc::clone(&self.stall.highs);
        move || {
            let highs: Offsets = next
                .keys()
                .filter_map(|key| {
                    let (_, high) = consumer.fetch_watermarks(&key.0, key.1, LAG_TIMEOUT).ok()?;
                    Some((key.clone(), high))
                })
                .collect();
            let lags = highs.iter().map(|(key, high)| (key.clone(), (high - next[key]).max(0))).collect();
            if let Ok(mut seen) = highs_seen.lock() {
                *seen = Some((Instant::now(), highs));
            }
            lags
        }
    }

    /// Reads every message below `limits` (per partition) into batches of up to
    /// `chunk` messages, handing each to `on`, which is also called with `None` between polls
    /// (the worker beats). Messages past a partition's limit are kept for the next phase.
    pub fn read_until(
        &mut self,
        limits: &Offsets,
        chunk: usize,
        mut on: impl FnMut(Option<Batch>) -> anyhow::Result<()>,
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
            if batch.messages() >= chunk {
                on(Some(std::mem::take(&mut batch)))?;
            }
            on(None)?;
            if self.stop.load(std::sync::atomic::Ordering::Relaxed) {
                anyhow::bail!("stopped while rebuilding the state from the input topics");
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
        on(Some(batch))?;
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
        while batch.messages() < max_records && !self.reached_end() {
            let polled = match self.stash.pop_front() {
                Some(polled) => polled,
                None => {
                    let mut left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    if batch.messages() > 0 {
                        // Close the epoch as soon as the input pauses: latency over batch size.
                        left = left.min(IDLE_GAP);
                    }
                    match self.poll(left)? {
                        Some(polled) => polled,
                        None => break,
                    }
                }
            };
            if batch.messages() == 0 {
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

    /// One message, or `None` when none came within `wait`. A failed poll is an outage (or, for
    /// credentials and permissions, the end): librdkafka reconnects by itself, and the brokers
    /// are asked now and then whether they are back, so the outage also ends with no input.
    fn poll(&mut self, wait: Duration) -> anyhow::Result<Option<Polled>> {
        let message = match self.consumer.poll(wait) {
            None => {
                self.probe_if_down();
                self.restart_if_stalled()?;
                return Ok(None);
            }
            Some(Err(error)) => {
                if kafka_fault(&error) == Fault::Fatal {
                    return Err(anyhow::Error::new(error).context("the Kafka consumer failed"));
                }
                self.outages.failed(Dependency::Kafka, "poll", &error);
                self.probe_if_down();
                return Ok(None);
            }
            Some(Ok(message)) => message,
        };
        self.outages.succeeded(Dependency::Kafka);
        self.stall.progressed();
        #[cfg(feature = "fault-injection")]
        {
            self.received += 1;
            if crate::failure_injection::stop_fetching_after() == Some(self.received) {
                warn!(
                    received = self.received,
                    "Injected: the fetchers stop (PRICESTREAM_FAIL_FETCH_AFTER)."
                );
                self.consumer.incremental_unassign(&self.consumer.assignment()?)?;
                self.stuck_client = crate::failure_injection::stuck_client();
            }
        }
        let topic = message.topic();
        let payload = message.payload().unwrap_or_default();
        let record = if topic == self.bars_topic {
            wire::decode_bar(payload, self.max_message_bytes).map(Record::Bar)
        } else {
            wire::decode_indicator(payload, self.max_message_bytes).map(Record::Indicator)
        };
        let (partition, offset) = (message.partition(), message.offset());
        let record = record.map_err(|refusal: Refusal| {
            let letter =
                DeadLetter::refused_message(topic, partition, offset, payload, &refusal, self.run_id);
            (refusal.reason, letter)
        });
        Ok(Some(Polled {
            partition: (topic.to_owned(), partition),
            offset,
            timestamp_ms: message.timestamp().to_millis(),
            record,
        }))
    }

    /// During a Kafka outage, asks the brokers (at most once a second) whether they answer.
    fn probe_if_down(&mut self) {
        if !self.outages.is_down(Dependency::Kafka)
            || self.last_probe.is_some_and(|at| at.elapsed() < PROBE_INTERVAL)
        {
            return;
        }
        self.last_probe = Some(Instant::now());
        // The watermarks come from the partition's leader: an answer is a broker that is back.
        let Some((topic, partition)) = self.next.keys().next().cloned() else { return };
        if self.consumer.fetch_watermarks(&topic, partition, PROBE_INTERVAL).is_ok() {
            self.outages.succeeded(Dependency::Kafka);
        }
    }

    /// Assigns every partition again at this source's position when the fetchers stalled
    /// (see [`crate::stall`]); only between phases, with nothing paused or read ahead. When the
    /// fetchers stall again at the very positions of the last restart, re-assigning did not
    /// help (the client itself is stuck, as librdkafka's sometimes is after a broker restart):
    /// the consumer is replaced by a new client, assigned at the same positions.
    fn restart_if_stalled(&mut self) -> anyhow::Result<()> {
        if self.paused.count() > 0 || !self.stash.is_empty() || self.outages.is_down(Dependency::Kafka) {
            return Ok(());
        }
        let waiting = self.stall.stalled(&self.next);
        if waiting.is_empty() {
            return Ok(());
        }
        let mut assignment = TopicPartitionList::new();
        for ((topic, partition), next) in &self.next {
            assignment.add_partition_offset(topic, *partition, Offset::Offset(*next))?;
        }
        if self.restarted_at.as_ref() == Some(&self.next) {
            warn!(
                ?waiting,
                "Kafka still holds messages for this consumer after its fetchers were restarted: replacing the consumer with a new client at its own positions."
            );
            let fresh: BaseConsumer<QuietContext> =
                self.consumer_config.create_with_context(QuietContext::default())?;
            fresh.incremental_assign(&assignment)?;
            self.consumer = Arc::new(fresh);
            #[cfg(feature = "fault-injection")]
            {
                self.stuck_client = false;
            }
        } else {
            warn!(
                ?waiting,
                "Kafka has held messages for this consumer for {} s without handing them out: restarting its fetchers at its own positions.",
                STALL_AFTER.as_secs()
            );
            // Incremental, as the partitions were assigned: the two kinds are not to be mixed.
            self.consumer.incremental_unassign(&self.consumer.assignment()?)?;
            self.consumer.incremental_assign(&assignment)?;
            #[cfg(feature = "fault-injection")]
            if self.stuck_client {
                // Injected: this client stays stuck whatever it is assigned.
                self.consumer.incremental_unassign(&self.consumer.assignment()?)?;
            }
        }
        self.restarted_at = Some(self.next.clone());
        self.fetcher_restarts.inc();
        self.stall.progressed();
        Ok(())
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

    /// Commits `done` (every output below these offsets is acknowledged) with `note` (the end
    /// of the epoch now being processed per partition, `intent`), waiting out Kafka outages.
    pub fn commit(&mut self, done: &Offsets, intent: &Offsets, note: &CommitNote) -> anyhow::Result<()> {
        if done.is_empty() {
            return Ok(());
        }
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), &offset) in done {
            let end = intent.get(&(topic.clone(), *partition)).copied().unwrap_or(offset);
            let mut element = offsets.add_partition(topic, *partition);
            element.set_offset(Offset::Offset(offset))?;
            element.set_metadata(CommitNote { epoch_end: end, ..note.clone() }.to_metadata());
        }
        let stop = Arc::clone(&self.stop);
        let (outages, committer) = (&self.outages, &mut self.committer);
        let mut given_up = None;
        let patience = Patience::Forever { stop: Some(&stop) };
        wait_out_blocking(outages, Dependency::Kafka, "commit", patience, kafka_fault, || {
            committer.commit(&offsets, &stop).unwrap_or_else(|error| {
                given_up = Some(error);
                Ok(())
            })
        })?;
        given_up.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::{Batch, Polled, Record, partitions_for};
    use chrono::NaiveDate;
    use pricestream_records::DeadLetter;
    use pricestream_records::wire;
    use pricestream_records::{Bar, Timeframe};

    fn polled(offset: i64, timestamp_ms: Option<i64>, payload: &[u8]) -> Polled {
        Polled {
            partition: ("pricestream.bars".into(), 0),
            offset,
            timestamp_ms,
            record: wire::decode_bar(payload, 4096).map(Record::Bar).map_err(|refusal| {
                let letter = DeadLetter::refused_message(
                    "pricestream.bars",
                    0,
                    offset,
                    payload,
                    &refusal,
                    uuid::Uuid::nil(),
                );
                (refusal.reason, letter)
            }),
        }
    }

    #[test]
    fn refused_messages_become_dead_letters_and_bars_keep_their_publish_time_and_version() {
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
            adjustment_factor: 1.0,
            source: None,
        };
        let mut batch = Batch::default();
        batch.push(polled(0, Some(1_700_000_000_000), &wire::encode(&bar)));
        batch.push(polled(1, Some(1), b"not json"));
        batch.push(polled(2, Some(2), br#"{"schema_version":99,"ticker":"NVDA"}"#));
        batch.push(polled(3, None, b"{}"));
        assert_eq!(batch.records.len(), 1);
        assert_eq!(batch.records[0].1.timestamp_ms, 1_700_000_000_000);
        assert_eq!(batch.refused.len(), 3);
        let reasons: Vec<(&str, u64)> = batch.refused_by_reason.iter().map(|(k, n)| (*k, *n)).collect();
        assert_eq!(reasons, vec![("bad_field", 1), ("not_json", 1), ("unsupported_version", 1)]);
        let offsets: Vec<Option<i64>> = batch.refused.iter().map(|letter| letter.offset).collect();
        assert_eq!(offsets, [Some(1), Some(2), Some(3)]);
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
