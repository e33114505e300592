//! One timely worker: feeds its partitions into the feature graph epoch by
//! epoch, writes each epoch's changed rows to Cassandra, then commits the
//! epoch's offsets.

use super::Shared;
use super::changes::RowChanges;
use super::source::{Batch, PartitionSource, Record, partitions_for};
use pricestream_dataflow::features::{FeatureInputs, FeatureRecord, feature_graph};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use timely::dataflow::operators::{Exchange, Inspect, Probe};
use timely::worker::Worker;
use tracing::info;

/// Epochs whose rows this worker has written, with the offsets they read, oldest first.
type PendingCommits = VecDeque<(u64, BTreeMap<(String, i32), i64>)>;

/// Writes the rows this worker holds; returns (upserted, deleted).
fn write_rows(shared: &Shared, output: &RefCell<Vec<(FeatureRecord, isize)>>) -> anyhow::Result<(u64, u64)> {
    let changes = RowChanges::from_updates(std::mem::take(&mut *output.borrow_mut()));
    let (upserts, deletes) = (changes.upserts.len() as u64, changes.deletes.len() as u64);
    if upserts + deletes > 0 {
        shared.runtime.block_on(async {
            shared.table.upsert_all(&changes.upserts).await?;
            shared.table.delete_all(&changes.deletes).await
        })?;
    }
    Ok((upserts, deletes))
}

/// Commits the offsets of every pending epoch that all workers have written.
fn commit_written(
    shared: &Shared,
    source: &PartitionSource,
    pending: &mut PendingCommits,
) -> anyhow::Result<()> {
    let written = shared.written_by_all();
    let mut offsets = BTreeMap::new();
    while pending.front().is_some_and(|(epoch, _)| *epoch <= written) {
        if let Some((_, next)) = pending.pop_front() {
            offsets.extend(next);
        }
    }
    source.commit(&offsets)
}

/// A hash of the row's key that every process computes the same way.
fn key_hash(record: &FeatureRecord) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    record.key.hash(&mut hasher);
    hasher.finish()
}

/// What one worker did, reported when it stops.
#[derive(Debug, Default, Clone, Copy)]
pub struct WorkerStats {
    /// Bars consumed.
    pub bars: u64,
    /// Feature rows written (upserted).
    pub rows: u64,
    /// Feature rows deleted.
    pub deleted: u64,
    /// Messages rejected.
    pub rejected: u64,
}

/// Runs one worker until the process is asked to stop or, with
/// `exit_at_end`, until its partitions are read to their end. A worker that
/// fails stops the others too, so the process exits instead of running on
/// with part of its input unread.
pub fn run_worker(worker: &mut Worker, shared: &Shared) -> anyhow::Result<WorkerStats> {
    let result = consume(worker, shared);
    if let Err(error) = &result {
        tracing::error!(worker = worker.index(), "Worker failed: {error:#}");
        shared.stop.store(true, Ordering::Relaxed);
    }
    result
}

fn consume(worker: &mut Worker, shared: &Shared) -> anyhow::Result<WorkerStats> {
    let (index, peers) = (worker.index(), worker.peers());
    let assignment: Vec<(String, Vec<i32>)> = shared
        .topics
        .iter()
        .map(|(topic, count)| (topic.clone(), partitions_for(index, peers, *count)))
        .collect();
    let mut source = PartitionSource::assign(
        &shared.config.kafka,
        &shared.config.consumer.group_id,
        &shared.bars_topic,
        &assignment,
        shared.exit_at_end,
    )?;

    // Each key always arrives on this worker (Kafka key = ticker), so this
    // worker's upsert adapter sees every version of it in order.
    let mut inputs = FeatureInputs::<u64>::new();
    let output: Rc<RefCell<Vec<(FeatureRecord, isize)>>> = Rc::default();
    let horizon = shared.config.features.horizon_bars;
    let sink = Rc::clone(&output);
    let probe = worker.dataflow(|scope| {
        let (bars, indicators) = inputs.to_collections(scope);
        // A row's retraction and its new version can come out on different workers (its
        // row number moved); routing every update of one key to one worker lets that
        // worker net them, so a stale delete never races the new row into Cassandra.
        let (probe, _) = feature_graph(bars, indicators, horizon)
            .inner
            .exchange(|(record, _time, _diff): &(FeatureRecord, u64, isize)| key_hash(record))
            .inspect(move |(record, _time, diff)| sink.borrow_mut().push((record.clone(), *diff)))
            .probe();
        probe
    });

    shared.metrics.workers_running.inc();
    shared.ready_workers.fetch_add(1, Ordering::SeqCst);
    let settings = &shared.config.consumer;
    let max_wait = Duration::from_millis(settings.epoch_max_wait_ms);
    let mut stats = WorkerStats::default();
    // Offsets read per epoch, committed once every worker has written that epoch's rows.
    let mut pending = PendingCommits::new();
    // Every worker keeps stepping, writing and committing until all are done: rows of
    // one worker's records may come out on another.
    while !shared.stop.load(Ordering::Relaxed) && !shared.all_at_end() {
        let started = Instant::now();
        if source.reached_end() {
            shared.at_end[index].store(true, Ordering::SeqCst);
        }
        let batch = if source.reached_end() {
            std::thread::sleep(Duration::from_millis(5));
            Batch::default()
        } else {
            source.poll_batch(settings.epoch_max_records, max_wait)?
        };
        let bars = batch.bars() as u64;
        for record in &batch.records {
            match record {
                Record::Bar(bar) => inputs.upsert_bar(bar),
                Record::Indicator(value) => inputs.upsert_indicator(value),
            }
        }
        let epoch = *inputs.time();
        inputs.advance_to(epoch + 1);
        inputs.flush();
        worker.step_while(|| probe.less_than(inputs.time()));

        let (upserts, deletes) = write_rows(shared, &output)?;
        shared.written_epochs[index].store(epoch + 1, Ordering::SeqCst);
        pending.push_back((epoch + 1, batch.next_offsets));
        commit_written(shared, &source, &mut pending)?;

        stats.bars += bars;
        stats.rows += upserts;
        stats.deleted += deletes;
        stats.rejected += batch.rejected as u64;
        shared.metrics.bars_consumed.inc_by(bars);
        shared.metrics.messages_rejected.inc_by(batch.rejected as u64);
        shared.metrics.feature_rows_written.inc_by(upserts);
        shared.metrics.feature_rows_deleted.inc_by(deletes);
        shared.metrics.epochs_completed.inc();
        shared.metrics.epoch_seconds.observe(started.elapsed().as_secs_f64());
    }
    // Drain: the last epochs' rows and offsets, once every worker has written them.
    drop(inputs);
    while worker.step() {}
    let (upserts, deletes) = write_rows(shared, &output)?;
    stats.rows += upserts;
    stats.deleted += deletes;
    shared.written_epochs[index].store(u64::MAX, Ordering::SeqCst);
    while !pending.is_empty() && !shared.stop.load(Ordering::Relaxed) {
        commit_written(shared, &source, &mut pending)?;
        if !pending.is_empty() {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    shared.metrics.workers_running.dec();
    info!(worker = index, bars = stats.bars, rows = stats.rows, rejected = stats.rejected, "Worker stopped.");
    Ok(stats)
}
