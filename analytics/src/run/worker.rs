//! One timely worker: rebuilds the dataflow state from its partitions, then feeds
//! them into the feature graph epoch by epoch, writes each epoch's changed rows,
//! and commits offsets once every worker of the cluster has written them.
//!
//! Epochs: 0 replays everything below the committed offsets (its outputs are already in
//! the mart and are not written again); 1 replays the epoch the previous run was in the
//! middle of (see `progress`); 2 and later are live. Before epoch `t` is fed, every
//! worker has written epoch `t - 1` (a barrier on the `written` input's frontier) and
//! committed the end of `t - 1` with the end of `t` as its intent.

use super::Shared;
use super::changes::RowChanges;
use super::progress::Offsets;
use super::serving;
use super::source::{Batch, PartitionSource, Record, partitions_for};
use crate::predict::ModelStage;
use pricestream_dataflow::features::{FeatureInputs, FeatureRecord, feature_graph};
use std::cell::{Cell, RefCell};
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::vec::input::Input;
use timely::dataflow::operators::{Exchange, Inspect, Probe};
use timely::dataflow::{InputHandle, ProbeHandle};
use timely::worker::Worker;
use tracing::{debug, info};

/// How often the consumer lag is measured (one request per partition).
const LAG_REPORT_INTERVAL: Duration = Duration::from_secs(5);
/// Records fed between two steps of the worker while replaying, to bound buffered input.
const REPLAY_CHUNK: usize = 20_000;
/// Longest a worker waiting for its peers sleeps before looking again; their messages wake it
/// sooner. Sleeping rather than spinning: on a node shared with Cassandra and Kafka, a worker
/// spinning while its peer wrote an epoch took a core from the very writes it waited for.
const PARK: Option<Duration> = Some(Duration::from_millis(1));

/// An input that carries no data, only progress: its frontier is the barrier.
type Barrier = InputHandle<u64, CapacityContainerBuilder<Vec<()>>>;

/// What one worker did, reported when it stops.
#[derive(Debug, Default, Clone, Copy)]
pub struct WorkerStats {
    /// Bars consumed after the start-up replay.
    pub bars: u64,
    /// Bars replayed at start-up to rebuild the state (below the committed offsets).
    pub replayed_bars: u64,
    /// Feature rows written (upserted).
    pub rows: u64,
    /// Feature rows deleted.
    pub deleted: u64,
    /// Messages rejected.
    pub rejected: u64,
}

/// A hash of the row's key that every process computes the same way.
fn key_hash(record: &FeatureRecord) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    record.key.hash(&mut hasher);
    hasher.finish()
}

/// Runs one worker until the process is asked to stop or, with `exit_at_end`, until
/// every worker has read its partitions to their end. A worker that fails stops the
/// others in its process too, so the process exits instead of running with input unread.
pub fn run_worker(worker: &mut Worker, shared: &Arc<Shared>) -> anyhow::Result<WorkerStats> {
    let result = consume(worker, shared);
    if let Err(error) = &result {
        tracing::error!(worker = worker.index(), "Worker failed: {error:#}");
        shared.stop.store(true, Ordering::Relaxed);
    }
    result
}

/// The worker's dataflows and their handles.
struct Graph {
    inputs: FeatureInputs<u64>,
    /// Passes `t` once every feature row change of epochs `< t` reached its writer.
    probe: ProbeHandle<u64>,
    /// Advanced to `t + 1` once this worker wrote epoch `t`.
    written: Barrier,
    /// Passes `t` once every worker wrote epoch `t - 1`.
    written_probe: ProbeHandle<u64>,
    /// Held while this worker still has input to read (`--exit-at-end`).
    running: Option<Barrier>,
    /// Done once every worker has read all its input.
    running_probe: ProbeHandle<u64>,
    /// A stop request, sent to every worker of the cluster.
    stop_requests: Barrier,
    /// Set once any worker of the cluster asked to stop.
    stop_requested: Rc<Cell<bool>>,
    /// Feature row changes that reached this worker, epoch 0 excluded.
    output: Rc<RefCell<Vec<(FeatureRecord, isize)>>>,
    /// Feature row changes of the model scopes routed to this worker, epoch 0 included.
    model_rows: Rc<RefCell<Vec<(FeatureRecord, isize)>>>,
}

fn build(worker: &mut Worker, shared: &Arc<Shared>) -> Graph {
    let mut inputs = FeatureInputs::<u64>::new();
    let output: Rc<RefCell<Vec<(FeatureRecord, isize)>>> = Rc::default();
    let model_rows: Rc<RefCell<Vec<(FeatureRecord, isize)>>> = Rc::default();
    let (sink, model_sink) = (Rc::clone(&output), Rc::clone(&model_rows));
    let probe = ProbeHandle::new();
    let serving = shared.models.is_some();
    let routing = Arc::clone(shared);
    worker.dataflow(|scope| {
        let entries = inputs.to_collection(scope);
        let rows = feature_graph(entries, shared.config.features.horizon_bars).inner;
        if serving {
            rows.clone()
                .exchange(move |(record, _time, _diff): &(FeatureRecord, u64, isize)| {
                    serving::scope_hash(record, &routing)
                })
                .inspect(move |(record, _time, diff)| model_sink.borrow_mut().push((record.clone(), *diff)))
                .probe_with(&probe);
        }
        // Every update of one key goes to one worker, which nets a row's retraction
        // against its new version before writing.
        rows.exchange(|(record, _time, _diff): &(FeatureRecord, u64, isize)| key_hash(record))
            .inspect(move |(record, time, diff)| {
                // Epoch 0 rebuilds state whose rows the mart already holds.
                if *time > 0 {
                    sink.borrow_mut().push((record.clone(), *diff));
                }
            })
            .probe_with(&probe);
    });
    let stop_requested: Rc<Cell<bool>> = Rc::default();
    let heard = Rc::clone(&stop_requested);
    let (written, written_probe, running, running_probe, stop_requests) = worker.dataflow(|scope| {
        let (written, written_stream) = scope.new_input::<()>();
        let (running, running_stream) = scope.new_input::<()>();
        let (stop_requests, stop_stream) = scope.new_input::<()>();
        let (written_probe, _) = written_stream.probe();
        let (running_probe, _) = running_stream.probe();
        // A SIGTERM reaches one process; every process of the cluster stops with it.
        stop_stream.broadcast().inspect(move |_| heard.set(true));
        (written, written_probe, running, running_probe, stop_requests)
    });
    Graph {
        inputs,
        probe,
        written,
        written_probe,
        running: Some(running),
        running_probe,
        stop_requests,
        stop_requested,
        output,
        model_rows,
    }
}

impl Graph {
    fn feed(&mut self, batch: &Batch) {
        for record in &batch.records {
            match record {
                Record::Bar(bar) => self.inputs.upsert_bar(bar),
                Record::Indicator(value) => self.inputs.upsert_indicator(value),
            }
        }
    }

    /// Closes epoch `t` of the feature input and steps until all its outputs arrived.
    fn finish_epoch(&mut self, worker: &mut Worker, epoch: u64) {
        self.inputs.advance_to(epoch + 1);
        self.inputs.flush();
        worker.step_or_park_while(PARK, || self.probe.less_than(&(epoch + 1)));
    }

    /// Steps until every worker has written every epoch before `epoch`.
    fn await_written(&self, worker: &mut Worker, epoch: u64) {
        worker.step_or_park_while(PARK, || self.written_probe.less_than(&epoch));
    }
}

fn consume(worker: &mut Worker, shared: &Arc<Shared>) -> anyhow::Result<WorkerStats> {
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
    let mut graph = build(worker, shared);
    let mut stage = serving::stage(shared, index)?;
    let mut stats = WorkerStats::default();

    // Epoch 0: the state as of the committed offsets, not written.
    let started = Instant::now();
    let committed = source.committed();
    source.read_until(&committed, REPLAY_CHUNK, |batch| {
        count(shared, &mut stats, &batch, true);
        graph.feed(&batch);
        graph.inputs.flush();
        worker.step();
        Ok(())
    })?;
    graph.finish_epoch(worker, 0);
    if let Some(stage) = &mut stage {
        // Stored, not scored: their forecasts were published by the run that read them.
        serving::feed(stage, graph.model_rows.take(), false, &shared.metrics);
    }
    graph.written.advance_to(1);
    info!(worker = index, bars = stats.bars, elapsed = ?started.elapsed(), "Rebuilt the state from the input topics.");

    // Epoch 1: the epoch the previous run may have been writing, replayed exactly.
    let intents = source.intents();
    let mut recovery = Batch::default();
    source.read_until(&intents, usize::MAX, |batch| {
        recovery = batch;
        Ok(())
    })?;
    let mut epoch = 1;
    process(worker, shared, &mut graph, &mut stage, &mut stats, epoch, &recovery)?;
    let mut done = source.positions().clone();
    shared.ready_workers.fetch_add(1, Ordering::SeqCst);
    shared.metrics.workers_running.inc();

    let settings = &shared.config.consumer;
    let max_wait = Duration::from_millis(settings.epoch_max_wait_ms);
    let mut last_commit: Option<(Offsets, Offsets)> = None;
    let mut last_lag_report = Instant::now() - LAG_REPORT_INTERVAL;
    let mut lag_report: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        epoch += 1;
        if shared.stop.load(Ordering::Relaxed) && !graph.stop_requested.get() {
            graph.stop_requests.send(());
            graph.stop_requests.flush();
        }
        let stopping = graph.stop_requested.get() || graph.running_probe.done();
        if shared.exit_at_end && source.reached_end() {
            graph.running = None;
        }
        let poll_started = Instant::now();
        let batch = if stopping {
            Batch::default()
        } else if source.reached_end() {
            std::thread::sleep(Duration::from_millis(5));
            Batch::default()
        } else {
            source.poll_batch(settings.epoch_max_records, max_wait)?
        };
        let polled = poll_started.elapsed();
        // Every worker wrote the previous epoch: commit it, with this epoch's end as the intent.
        graph.await_written(worker, epoch);
        let intent = source.positions().clone();
        let commit_started = Instant::now();
        if last_commit.as_ref() != Some(&(done.clone(), intent.clone())) {
            source.commit(&done, &intent)?;
            last_commit = Some((done.clone(), intent.clone()));
        }
        if !batch.records.is_empty() {
            debug!(worker = index, epoch, ?polled, committed = ?commit_started.elapsed(), "Epoch read.");
        }
        if stopping {
            break;
        }
        process(worker, shared, &mut graph, &mut stage, &mut stats, epoch, &batch)?;
        done = intent;
        // One query at a time, on a blocking thread: the brokers' answers never hold up an epoch.
        if last_lag_report.elapsed() >= LAG_REPORT_INTERVAL
            && lag_report.as_ref().is_none_or(|q| q.is_finished())
        {
            lag_report = Some(report_lag(shared, &source));
            last_lag_report = Instant::now();
        }
    }
    shared.metrics.workers_running.dec();
    info!(worker = index, bars = stats.bars, rows = stats.rows, rejected = stats.rejected, "Worker stopped.");
    Ok(stats)
}

/// Feeds one epoch, writes the changes that reach this worker, marks the epoch written
/// and waits until every worker has: only then are the batch's bars visible downstream.
fn process(
    worker: &mut Worker,
    shared: &Shared,
    graph: &mut Graph,
    stage: &mut Option<ModelStage>,
    stats: &mut WorkerStats,
    epoch: u64,
    batch: &Batch,
) -> anyhow::Result<()> {
    let started = Instant::now();
    count(shared, stats, batch, false);
    if stage_on(shared) {
        // Before feeding: the row reaches its scope's worker only after this.
        shared.published.record(epoch, &batch.published_bars);
    }
    graph.feed(batch);
    graph.finish_epoch(worker, epoch);
    let computed = started.elapsed();
    let changes = RowChanges::from_updates(std::mem::take(&mut *graph.output.borrow_mut()));
    let predictions = match stage {
        Some(stage) => serving::feed(stage, graph.model_rows.take(), true, &shared.metrics),
        None => Vec::new(),
    };
    let scored = started.elapsed();
    shared.runtime.block_on(shared.sink.write(&changes, &predictions, &shared.published, &shared.metrics))?;
    let written = started.elapsed();
    graph.written.advance_to(epoch + 1);
    if let Some(running) = &mut graph.running {
        running.advance_to(epoch + 1);
    }
    let (upserts, deletes) = (changes.upserts.len() as u64, changes.deletes.len() as u64);
    stats.rows += upserts;
    stats.deleted += deletes;
    shared.metrics.feature_rows_written.inc_by(upserts);
    shared.metrics.feature_rows_deleted.inc_by(deletes);
    shared.metrics.epochs_completed.inc();
    shared.metrics.epoch_seconds.observe(started.elapsed().as_secs_f64());
    // Waiting here rather than before the next epoch keeps the next poll out of the
    // measured latency; the workers meet at the next epoch's frontier anyway.
    graph.await_written(worker, epoch + 1);
    if !batch.records.is_empty() || !changes.upserts.is_empty() {
        debug!(
            worker = worker.index(),
            epoch,
            records = batch.records.len(),
            upserts = changes.upserts.len(),
            predictions = predictions.len(),
            ?computed,
            ?scored,
            ?written,
            all_written = ?started.elapsed(),
            "Epoch done."
        );
    }
    observe_end_to_end(shared, &batch.bar_timestamps_ms);
    // Every worker wrote this epoch's predictions: the bars that got none are done with.
    shared.published.forget_through(epoch);
    Ok(())
}

/// Whether this process scores rows (and so keeps bar publish times for the latency).
fn stage_on(shared: &Shared) -> bool {
    shared.models.is_some()
}

fn count(shared: &Shared, stats: &mut WorkerStats, batch: &Batch, replayed: bool) {
    if !replayed {
        let now_ms = now_ms();
        for published in &batch.bar_timestamps_ms {
            shared.metrics.read_delay_seconds.observe((now_ms - published).max(0) as f64 / 1000.0);
        }
    }
    let bars = batch.bars() as u64;
    if replayed {
        stats.replayed_bars += bars;
    } else {
        stats.bars += bars;
    }
    stats.rejected += batch.rejected as u64;
    shared.metrics.bars_consumed.inc_by(bars);
    for (kind, rejected) in &batch.rejected_by_kind {
        shared.metrics.messages_rejected.with_label_values(&[kind]).inc_by(*rejected);
    }
    for (topic, records) in &batch.per_topic {
        shared.metrics.records_consumed.with_label_values(&[topic.as_str()]).inc_by(*records);
        if replayed {
            shared.metrics.records_replayed.with_label_values(&[topic.as_str()]).inc_by(*records);
        }
    }
}

/// Bar published to Kafka → its feature row acknowledged by every writer.
fn observe_end_to_end(shared: &Shared, bar_timestamps_ms: &[i64]) {
    let now_ms =
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default();
    for published in bar_timestamps_ms {
        shared.metrics.end_to_end_seconds.observe((now_ms - published).max(0) as f64 / 1000.0);
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

fn report_lag(shared: &Shared, source: &PartitionSource) -> tokio::task::JoinHandle<()> {
    let (query, metrics) = (source.lag_query(), Arc::clone(&shared.metrics));
    shared.runtime.spawn_blocking(move || {
        for ((topic, partition), lag) in query() {
            metrics.consumer_lag.with_label_values(&[topic.as_str(), &partition.to_string()]).set(lag);
        }
    })
}
