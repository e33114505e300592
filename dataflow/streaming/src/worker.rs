//! One timely worker: rebuilds the dataflow state from its partitions, then feeds them into
//! the feature graph epoch by epoch, writes the changed rows routed to it, and commits offsets
//! once every worker of the cluster has written them.
//!
//! Epochs: 0 agrees on the fencing generation and on whether the mart was written with other
//! row-shaping settings (no input); 1 replays everything below the committed offsets (its
//! outputs are already in the mart and are not written again, unless the settings changed:
//! then every row is rewritten and rows that no longer exist are deleted); 2 replays the epoch
//! the previous run was in the middle of (see `commit_note`) and writes it; 3 and later are live.
//! Epochs 0 to 2 are crash recovery, in [`crate::recovery`].
//! Before epoch `t` is fed, every worker has written epoch `t - 1` (the barrier of
//! [`crate::signals`]) and committed the end of `t - 1` with the end of `t` as its intent. A
//! worker that fails tells every other one, and nobody commits past the last epoch all wrote.

use crate::Shared;
use crate::changes::RowChanges;
use crate::liveness::{Heartbeat, Stage};
use crate::serving;
use crate::signals::{Signal, Signals};
use pricestream_features::{Delivery, FeatureRecord, UpsertInput, Version, feature_graph, series_hash};
use pricestream_kafka::commit_note::{CommitNote, Offsets};
use pricestream_kafka::{Batch, PartitionSource, Record, SourceSettings, Stamp, partitions_for};
use pricestream_serving::ModelStage;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use timely::dataflow::ProbeHandle;
use timely::dataflow::operators::{Exchange, Inspect, Probe};
use timely::worker::Worker;
use tracing::{debug, info};

use crate::recovery::{AGREE, RECOVERY, REPLAY};
use crate::trading_days::DayWatch;

/// How often the consumer lag is measured (one request per partition).
const LAG_REPORT_INTERVAL: Duration = Duration::from_secs(5);
/// Longest a worker waiting for its peers sleeps before looking again; their messages wake it
/// sooner. Sleeping rather than spinning: on a node shared with Cassandra and Kafka, a worker
/// spinning while its peer wrote an epoch took a core from the very writes it waited for.
const PARK: Option<Duration> = Some(Duration::from_millis(1));
/// How long a worker waiting for a write sleeps between looks at its peers' messages.
const WRITE_PARK: Option<Duration> = Some(Duration::from_millis(10));

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
    /// Messages refused (dead-lettered).
    pub rejected: u64,
}

/// Runs one worker until the cluster stops (a stop request, or with `exit_at_end` every
/// worker at the end of its input). A worker that fails tells the whole cluster, which stops
/// without committing anything more, so the process exits instead of running with input unread.
pub fn run_worker(worker: &mut Worker, shared: &Arc<Shared>) -> anyhow::Result<WorkerStats> {
    let mut graph = build(worker, shared);
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| run_epochs(worker, shared, &mut graph)));
    let error = match outcome {
        Ok(Ok(stats)) => return Ok(stats),
        Ok(Err(error)) => error,
        Err(panic) => anyhow::anyhow!("worker panicked: {}", panic_text(panic.as_ref())),
    };
    tracing::error!(worker = worker.index(), "Worker failed: {error:#}");
    shared.stop.store(true, Ordering::Relaxed);
    // Tell every worker before the dataflows close: none may commit past this epoch.
    graph.signals.send(Signal::Failed(format!("{error:#}")));
    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| {
        for _ in 0..50 {
            worker.step_or_park(PARK);
        }
    }));
    Err(error)
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic without a message".into())
}

/// The worker's dataflows and their handles.
pub(crate) struct Graph {
    pub(crate) input: UpsertInput<u64>,
    /// Passes `t` once every feature row change of epochs `< t` reached its writer.
    pub(crate) probe: ProbeHandle<u64>,
    pub(crate) signals: Signals,
    pub(crate) heartbeat: Heartbeat,
    /// Whether the replay's rows are kept (to rewrite the mart).
    pub(crate) keep_replay: Rc<Cell<bool>>,
    /// Feature row changes that reached this worker (the replay's only when kept).
    pub(crate) output: Rc<RefCell<Vec<(FeatureRecord, isize)>>>,
    /// Feature row changes of the model scopes routed to this worker, the replay included.
    pub(crate) model_rows: Rc<RefCell<Vec<(FeatureRecord, isize)>>>,
}

fn build(worker: &mut Worker, shared: &Arc<Shared>) -> Graph {
    let mut input = UpsertInput::<u64>::default();
    let output: Rc<RefCell<Vec<(FeatureRecord, isize)>>> = Rc::default();
    let model_rows: Rc<RefCell<Vec<(FeatureRecord, isize)>>> = Rc::default();
    let keep_replay: Rc<Cell<bool>> = Rc::default();
    let (sink, model_sink, keep) = (Rc::clone(&output), Rc::clone(&model_rows), Rc::clone(&keep_replay));
    let probe = ProbeHandle::new();
    let serving = shared.models.is_some();
    let routing = Arc::clone(shared);
    worker.dataflow(|scope| {
        let rows = feature_graph(input.to_collection(scope), shared.config.features.horizon_bars).inner;
        if serving {
            rows.clone()
                .exchange(move |(record, _time, _diff): &(FeatureRecord, u64, isize)| {
                    serving::scope_hash(record, &routing)
                })
                .inspect(move |(record, _time, diff)| model_sink.borrow_mut().push((record.clone(), *diff)))
                .probe_with(&probe);
        }
        // A series' rows are written by one worker, the one that keeps its upsert state: it
        // nets a row's retraction against its new version, and knows the series' every row.
        rows.exchange(|(record, _time, _diff): &(FeatureRecord, u64, isize)| {
            series_hash(&record.key.0.ticker, record.key.0.timeframe)
        })
        .inspect(move |(record, time, diff)| {
            if *time != REPLAY || keep.get() {
                sink.borrow_mut().push((record.clone(), *diff));
            }
        })
        .probe_with(&probe);
    });
    let signals = Signals::build(worker);
    let heartbeat = Heartbeat::build(worker, &shared.liveness);
    Graph { input, probe, signals, heartbeat, keep_replay, output, model_rows }
}

impl Graph {
    pub(crate) fn feed(&mut self, batch: &Batch) {
        let version_of = |stamp: &Stamp| Version { timestamp_ms: stamp.timestamp_ms, offset: stamp.offset };
        for (record, stamp) in &batch.records {
            self.input.send(match record {
                Record::Bar(bar) => Delivery::of_bar(bar, version_of(stamp)),
                Record::Indicator(value) => Delivery::of_indicator(value, version_of(stamp)),
            });
        }
    }

    /// Closes epoch `epoch` of the feature input and steps until all its outputs arrived.
    pub(crate) fn finish_epoch(&mut self, worker: &mut Worker, shared: &Shared, epoch: u64) {
        self.input.advance_to(epoch + 1);
        self.input.flush();
        while self.probe.less_than(&(epoch + 1)) {
            // Stepping is progress: a long epoch (a whole replay) computes for minutes.
            shared.liveness.progressed(worker.index(), epoch, Stage::Computing);
            self.heartbeat.beat(epoch, Stage::Computing);
            worker.step_or_park(PARK);
        }
    }

    /// Marks `epoch` written by this worker and waits until every worker has; fails if one
    /// of them failed instead.
    pub(crate) fn written(&mut self, worker: &mut Worker, shared: &Shared, epoch: u64) -> anyhow::Result<()> {
        self.signals.advance_to(epoch + 1);
        self.await_peers(worker, shared, epoch + 1)
    }

    /// Waits until every worker has written every epoch before `epoch`.
    pub(crate) fn await_peers(
        &mut self,
        worker: &mut Worker,
        shared: &Shared,
        epoch: u64,
    ) -> anyhow::Result<()> {
        shared.liveness.at(worker.index(), epoch, Stage::WaitingForPeers);
        while self.signals.waiting_for(epoch) {
            self.heartbeat.beat(epoch, Stage::WaitingForPeers);
            worker.step_or_park(PARK);
        }
        if let Some((failed, reason)) = self.signals.log().failure_before(epoch) {
            anyhow::bail!("worker {failed} failed ({reason}); stopping without committing");
        }
        Ok(())
    }

    /// Runs `future` to its end on this thread, stepping the worker meanwhile: its peers' messages
    /// and heartbeats keep flowing while it waits for Kafka or Cassandra.
    pub(crate) fn drive<F: Future>(
        &mut self,
        worker: &mut Worker,
        shared: &Shared,
        epoch: u64,
        stage: Stage,
        future: F,
    ) -> F::Output {
        let _runtime = shared.runtime.enter();
        let unpark = Arc::new(Unpark { thread: std::thread::current(), wakes: AtomicU64::new(0) });
        let waker = Waker::from(Arc::clone(&unpark));
        let mut context = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        shared.liveness.at(worker.index(), epoch, stage);
        let mut wakes = 0;
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
                return output;
            }
            // A wake is an answer from Kafka or Cassandra: progress, even in a write of minutes.
            let now = unpark.wakes.load(Ordering::Relaxed);
            if now != wakes {
                wakes = now;
                shared.liveness.progressed(worker.index(), epoch, stage);
            }
            self.heartbeat.beat(epoch, stage);
            worker.step_or_park(WRITE_PARK);
        }
    }
}

/// Wakes a worker parked in [`Graph::drive`] when its future can go on, counting the wakes.
struct Unpark {
    thread: std::thread::Thread,
    wakes: AtomicU64,
}

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::Relaxed);
        self.thread.unpark();
    }
}

fn run_epochs(worker: &mut Worker, shared: &Arc<Shared>, graph: &mut Graph) -> anyhow::Result<WorkerStats> {
    let (index, peers) = (worker.index(), worker.peers());
    shared.liveness.at(index, AGREE, Stage::Starting);
    let assignment: Vec<(String, Vec<i32>)> = shared
        .topics
        .iter()
        .map(|(topic, count)| (topic.clone(), partitions_for(index, peers, *count)))
        .collect();
    let config = &shared.config;
    let source = PartitionSource::assign(
        SourceSettings {
            kafka: &config.kafka,
            group_id: &config.consumer.group_id,
            bars_topic: &shared.bars_topic,
            max_message_bytes: config.consumer.max_message_bytes,
            stop_at_end: shared.exit_at_end,
            outages: Arc::clone(&shared.outages),
            stop: Arc::clone(&shared.stop),
            run_id: shared.sink.run_id,
            fetcher_restarts: shared.metrics.fetcher_restarts.clone(),
            commit_restarts: shared.metrics.commit_restarts.clone(),
        },
        &assignment,
    )?;
    let stage = serving::stage(shared, index)?;
    let days = DayWatch::new(shared, index)?;
    let mut epochs = Epochs { worker, shared, graph, source, stage, days, stats: WorkerStats::default() };

    epochs.recover()?;
    shared.ready_workers.fetch_add(1, Ordering::SeqCst);
    shared.metrics.workers_running.inc();
    epochs.live()?;
    shared.metrics.workers_running.dec();
    let stats = epochs.stats;
    info!(worker = index, bars = stats.bars, rows = stats.rows, rejected = stats.rejected, "Worker stopped.");
    Ok(stats)
}

/// What one worker carries from epoch to epoch.
pub(crate) struct Epochs<'a> {
    pub(crate) worker: &'a mut Worker,
    pub(crate) shared: &'a Arc<Shared>,
    pub(crate) graph: &'a mut Graph,
    /// The worker's partitions of the input topics.
    pub(crate) source: PartitionSource,
    /// The model stage of the scopes routed to this worker, when serving.
    pub(crate) stage: Option<ModelStage>,
    /// This worker's part in the trading-day frontier.
    pub(crate) days: DayWatch,
    pub(crate) stats: WorkerStats,
}

/// The offsets committed last, and when.
struct Commits {
    note: CommitNote,
    /// (done, intent, when) of the last commit.
    last: Option<(Offsets, Offsets, Instant)>,
    /// Commit again after this long even when nothing moved.
    refresh: Duration,
}

impl Epochs<'_> {
    /// The live epochs, until the cluster stops.
    fn live(&mut self) -> anyhow::Result<()> {
        let (index, peers) = (self.worker.index(), self.worker.peers());
        let shared = Arc::clone(self.shared);
        let settings = &shared.config.consumer;
        let max_wait = Duration::from_millis(settings.epoch_max_wait_ms);
        let partition_check = Duration::from_millis(settings.partition_check_ms);
        let mut commits = Commits {
            note: CommitNote {
                epoch_end: 0,
                settings: Some(shared.settings_fingerprint.clone()),
                generation: Some(shared.fence.generation()),
            },
            last: None,
            refresh: Duration::from_millis(settings.commit_refresh_ms),
        };
        let mut done = self.source.positions().clone();
        let mut last_lag_report = Instant::now() - LAG_REPORT_INTERVAL;
        let mut lag_report: Option<tokio::task::JoinHandle<()>> = None;
        let mut last_partition_check = Instant::now();
        let (mut stop_sent, mut at_end_sent) = (false, false);
        let mut epoch = RECOVERY;
        loop {
            epoch += 1;
            // Every worker wrote epoch - 1 (the end of `process`): the signals sent before this
            // epoch are the same on every worker, and so is the decision to stop here.
            if shared.stop.load(Ordering::Relaxed) && !stop_sent {
                self.graph.signals.send(Signal::Stop);
                stop_sent = true;
            }
            // At the end only once the model stage settled: every version its schedule decided
            // is trained, stored and has scored its rows, so the run's output is final.
            let settled = self.stage.as_ref().is_none_or(ModelStage::settled);
            if shared.exit_at_end && self.source.reached_end() && settled && !at_end_sent {
                self.graph.signals.send(Signal::AtEnd);
                at_end_sent = true;
            }
            let stopping = {
                let log = self.graph.signals.log();
                log.stop_before(epoch) || log.all_at_end_before(epoch, peers)
            };
            if stopping {
                self.commit(epoch, &done, &done, &mut commits)?;
                break;
            }
            if last_partition_check.elapsed() >= partition_check {
                last_partition_check = Instant::now();
                if let Some(counts) = shared.partition_counts() {
                    self.source.follow_growth(&counts, index, peers)?;
                }
            }
            shared.liveness.at(index, epoch, Stage::Reading);
            self.graph.heartbeat.beat(epoch, Stage::Reading);
            let batch = if self.source.reached_end() {
                std::thread::sleep(Duration::from_millis(5));
                Batch::default()
            } else {
                self.source.poll_batch(settings.epoch_max_records, max_wait)?
            };
            let intent = self.source.positions().clone();
            self.commit(epoch, &done, &intent, &mut commits)?;
            self.process(epoch, &batch)?;
            done = intent;
            // One query at a time, on a blocking thread: the brokers' answers never hold up an epoch.
            if last_lag_report.elapsed() >= LAG_REPORT_INTERVAL
                && lag_report.as_ref().is_none_or(|q| q.is_finished())
            {
                lag_report = Some(report_lag(&shared, &self.source));
                last_lag_report = Instant::now();
            }
        }
        Ok(())
    }

    /// Commits `done` with `intent` as the end of the epoch in progress, when either moved since
    /// the last commit or the last commit is older than `refresh` (so Kafka never expires it);
    /// checks the fence first.
    fn commit(
        &mut self,
        epoch: u64,
        done: &Offsets,
        intent: &Offsets,
        commits: &mut Commits,
    ) -> anyhow::Result<()> {
        let unchanged = commits
            .last
            .as_ref()
            .is_some_and(|(d, i, at)| d == done && i == intent && at.elapsed() < commits.refresh);
        if unchanged {
            return Ok(());
        }
        let shared = self.shared;
        let check = shared.fence.check(epoch, &shared.outages, &shared.stop);
        self.graph.drive(self.worker, shared, epoch, Stage::Writing, check)?;
        self.source.commit(done, intent, &commits.note)?;
        shared.metrics.offset_commits.inc();
        commits.last = Some((done.clone(), intent.clone(), Instant::now()));
        Ok(())
    }

    /// Feeds one epoch, writes the changes that reach this worker, marks the epoch written
    /// and waits until every worker has: only then are the batch's bars visible downstream.
    pub(crate) fn process(&mut self, epoch: u64, batch: &Batch) -> anyhow::Result<()> {
        let (worker, shared, graph) = (&mut *self.worker, self.shared, &mut *self.graph);
        let started = Instant::now();
        // The recovery epoch replays what the crashed run was writing.
        let replayed = epoch == crate::recovery::RECOVERY;
        count(shared, &mut self.stats, batch, false);
        if shared.models.is_some() {
            // Before feeding: the row reaches its scope's worker only after this.
            shared.published.record(epoch, &batch.published_bars);
        }
        graph.feed(batch);
        graph.finish_epoch(worker, shared, epoch);
        let computed = started.elapsed();
        let changes = RowChanges::from_updates(graph.output.take());
        let (predictions, unserved) = match &mut self.stage {
            Some(stage) => serving::feed(stage, graph.model_rows.take(), true, &shared.metrics),
            None => Default::default(),
        };
        let scored = started.elapsed();
        #[cfg(feature = "fault-injection")]
        crate::failure_injection::before_write(worker.index(), epoch)?;
        let outputs = !changes.upserts.is_empty() || !changes.deletes.is_empty() || !predictions.is_empty();
        if outputs || !batch.refused.is_empty() {
            let check = shared.fence.check(epoch, &shared.outages, &shared.stop);
            graph.drive(worker, shared, epoch, Stage::Writing, check)?;
            let write = shared.sink.write(
                &changes,
                &predictions,
                &batch.refused,
                &shared.published,
                &shared.metrics,
                replayed,
            );
            graph.drive(worker, shared, epoch, Stage::Writing, write)?;
        }
        #[cfg(feature = "fault-injection")]
        crate::failure_injection::after_write(worker.index(), epoch, outputs);
        let written = started.elapsed();
        let written_at = Instant::now();
        self.days.note(batch);
        self.days.note_forecasts(&predictions, unserved);
        if !replayed && batch.messages() < shared.config.consumer.epoch_max_records {
            self.days.note_caught_up();
        }
        if let Some(bars) = self.days.signal(!replayed) {
            graph.signals.send(bars);
        }
        let (upserts, deletes) = (changes.upserts.len() as u64, changes.deletes.len() as u64);
        self.stats.rows += upserts;
        self.stats.deleted += deletes;
        shared.metrics.feature_rows_written.inc_by(upserts);
        shared.metrics.feature_rows_deleted.inc_by(deletes);
        // Waiting here rather than before the next epoch keeps the next poll out of the
        // measured latency; the workers meet at the next epoch's frontier anyway.
        graph.written(worker, shared, epoch)?;
        shared.metrics.epochs_completed.inc();
        shared.metrics.epoch_seconds.observe(started.elapsed().as_secs_f64());
        if batch.messages() > 0 || outputs {
            debug!(
                worker = worker.index(),
                epoch,
                records = batch.records.len(),
                refused = batch.refused.len(),
                upserts,
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
        self.declare_days(epoch, written_at)
    }
}

pub(crate) fn count(shared: &Shared, stats: &mut WorkerStats, batch: &Batch, replayed: bool) {
    if !replayed {
        let now_ms = now_ms();
        for published in &batch.bar_timestamps_ms {
            shared.metrics.read_delay_seconds.observe((now_ms - published).max(0) as f64 / 1000.0);
        }
        stats.rejected += batch.refused.len() as u64;
        for (reason, refused) in &batch.refused_by_reason {
            shared.metrics.messages_rejected.with_label_values(&[reason]).inc_by(*refused);
        }
    }
    let bars = batch.bars() as u64;
    if replayed {
        stats.replayed_bars += bars;
    } else {
        stats.bars += bars;
    }
    shared.metrics.bars_consumed.inc_by(bars);
    for (topic, records) in &batch.per_topic {
        shared.metrics.records_consumed.with_label_values(&[topic.as_str()]).inc_by(*records);
        if replayed {
            shared.metrics.records_replayed.with_label_values(&[topic.as_str()]).inc_by(*records);
        }
    }
}

/// Bar published to Kafka → its feature row acknowledged by every writer.
fn observe_end_to_end(shared: &Shared, bar_timestamps_ms: &[i64]) {
    let now_ms = now_ms();
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
