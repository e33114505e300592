//! One timely worker: feeds its partitions into the dataflow epoch by epoch,
//! writes each epoch's output to Cassandra, then commits the epoch's offsets.

use super::Shared;
use super::source::{PartitionSource, partitions_for};
use pricestream_dataflow::features::features_from_bars;
use pricestream_dataflow::records::FeatureRow;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use timely::dataflow::ProbeHandle;
use timely::dataflow::operators::vec::Input;
use timely::dataflow::operators::{Inspect, Probe};
use timely::worker::Worker;
use tracing::info;

/// What one worker did, reported when it stops.
#[derive(Debug, Default, Clone, Copy)]
pub struct WorkerStats {
    /// Bars consumed.
    pub bars: u64,
    /// Feature rows written.
    pub rows: u64,
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
    let partitions = partitions_for(index, peers, shared.partition_count);
    let mut source = PartitionSource::assign(
        &shared.config.kafka,
        &shared.config.consumer.group_id,
        &shared.topic,
        &partitions,
        shared.exit_at_end,
    )?;

    let output: Rc<RefCell<Vec<FeatureRow>>> = Rc::default();
    let probe = ProbeHandle::new();
    let mut input = worker.dataflow::<u64, _, _>(|scope| {
        let (input, bars) = scope.new_input();
        let sink = Rc::clone(&output);
        features_from_bars(bars).inspect(move |row| sink.borrow_mut().push(row.clone())).probe_with(&probe);
        input
    });

    shared.metrics.workers_running.inc();
    shared.ready_workers.fetch_add(1, Ordering::SeqCst);
    let settings = &shared.config.consumer;
    let max_wait = Duration::from_millis(settings.epoch_max_wait_ms);
    let mut stats = WorkerStats::default();
    while !shared.stop.load(Ordering::Relaxed) && !source.reached_end() {
        let started = Instant::now();
        let batch = source.poll_batch(settings.epoch_max_records, max_wait)?;
        let bars = batch.bars.len() as u64;
        for bar in batch.bars {
            input.send(bar);
        }
        input.advance_to(input.time() + 1);
        while probe.less_than(input.time()) {
            worker.step();
        }
        let rows = std::mem::take(&mut *output.borrow_mut());
        if !rows.is_empty() {
            shared.runtime.block_on(shared.table.upsert_all(&rows))?;
        }
        // Only now is every output of these records acknowledged: commit.
        source.commit(&batch.next_offsets)?;

        stats.bars += bars;
        stats.rows += rows.len() as u64;
        stats.rejected += batch.rejected as u64;
        shared.metrics.bars_consumed.inc_by(bars);
        shared.metrics.messages_rejected.inc_by(batch.rejected as u64);
        shared.metrics.feature_rows_written.inc_by(rows.len() as u64);
        shared.metrics.epochs_completed.inc();
        shared.metrics.epoch_seconds.observe(started.elapsed().as_secs_f64());
    }
    input.close();
    while worker.step() {}
    shared.metrics.workers_running.dec();
    info!(worker = index, bars = stats.bars, rows = stats.rows, rejected = stats.rejected, "Worker stopped.");
    Ok(stats)
}
