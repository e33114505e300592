//! Crash recovery: the start-up epochs every worker runs before reading live input.
//!
//! * Epoch 0 ([`AGREE`]): worker 0 takes the fencing generation; every worker says whether its
//!   partitions were committed under other row-shaping settings; all agree on both.
//! * Epoch 1 ([`REPLAY`]): the input below the committed offsets is replayed into the feature
//!   graph. Its rows are already in the mart and are not written again, unless the settings
//!   changed: then every row is rewritten and rows that no longer exist are deleted.
//! * Epoch 2 ([`RECOVERY`]): the epoch the crashed run was in the middle of (its intent, kept in
//!   the commit note, see [`crate::commit_note`]) is replayed exactly and written: the same input
//!   on the same state gives the same changes, so every row the crashed run may have written is
//!   written again.

use crate::changes::RowChanges;
use crate::liveness::Stage;
use crate::serving;
use crate::signals::Signal;
use crate::worker::{Epochs, count};
use anyhow::Context as _;
use pricestream_features::series_hash;
use pricestream_kafka::Batch;
use std::sync::Arc;
use std::time::Instant;
use tracing::{info, warn};

/// The epoch of the agreement at start (no input).
pub(crate) const AGREE: u64 = 0;
/// The epoch that replays the input below the committed offsets.
pub(crate) const REPLAY: u64 = 1;
/// The epoch that replays the epoch the previous run was writing.
pub(crate) const RECOVERY: u64 = 2;

/// Records fed between two steps of the worker while replaying, to bound buffered input.
const REPLAY_CHUNK: usize = 20_000;

impl Epochs<'_> {
    /// Runs epochs 0 to 2: afterwards the worker's state is as of its partitions' positions and
    /// every output of the crashed run is written again.
    pub(crate) fn recover(&mut self) -> anyhow::Result<()> {
        let shared = Arc::clone(self.shared);
        let index = self.worker.index();
        // Epoch 0: the generation and the settings, agreed on by every worker.
        if index == 0 {
            let claim = shared.fence.claim(&shared.incarnation, &shared.outages, &shared.stop);
            let generation = self.graph.drive(self.worker, &shared, AGREE, Stage::Starting, claim)?;
            info!(generation, incarnation = %shared.incarnation, "Took the fencing generation.");
            self.graph.signals.send(Signal::Generation(generation));
            self.resume_days(AGREE)?;
        }
        let stale = self.source.stale_partitions(&shared.settings_fingerprint);
        if !stale.is_empty() {
            info!(worker = index, partitions = ?stale, "Committed progress was made with other row-shaping settings.");
            self.graph.signals.send(Signal::Stale);
        }
        self.graph.written(self.worker, &shared, AGREE)?;
        self.declare_days(AGREE, Instant::now())?;
        let (generation, rewrite) = {
            let log = self.graph.signals.log();
            (log.generation_before(REPLAY), !log.stale_before(REPLAY).is_empty())
        };
        let generation = generation.context("worker 0 announced no fencing generation")?;
        shared.fence.adopt(generation);
        shared.metrics.generation.set(generation);
        if rewrite {
            self.graph.keep_replay.set(true);
            if index == 0 {
                warn!(
                    settings = %shared.settings_description,
                    "The mart was written with other row-shaping settings: rewriting every row and deleting rows that no longer exist."
                );
                shared.metrics.settings_rewrites.inc();
            }
        }

        // Epoch 1: the state as of the committed offsets.
        let started = Instant::now();
        let committed = self.source.committed();
        let (worker, graph, stats, days) =
            (&mut *self.worker, &mut *self.graph, &mut self.stats, &mut self.days);
        self.source.read_until(&committed, REPLAY_CHUNK, |step| {
            match step {
                Some(batch) => {
                    count(&shared, stats, &batch, true);
                    days.note(&batch);
                    graph.feed(&batch);
                    graph.input.flush();
                    worker.step();
                    shared.liveness.progressed(index, REPLAY, Stage::Replaying);
                }
                None => graph.heartbeat.beat(REPLAY, Stage::Replaying),
            }
            Ok(())
        })?;
        self.graph.finish_epoch(self.worker, &shared, REPLAY);
        let rows = RowChanges::from_updates(self.graph.output.take());
        // Stored, not scored, unless rewriting: their forecasts were published by the run that read them.
        let (predictions, _) = match &mut self.stage {
            Some(stage) => serving::feed(stage, self.graph.model_rows.take(), rewrite, &shared.metrics),
            None => Default::default(),
        };
        if rewrite {
            // The table may hold rows of the old settings: every missing value is cleared.
            self.rewrite_mart(rows.replacing_anything(), &predictions)?;
        }
        if let Some(bars) = self.days.signal(false) {
            self.graph.signals.send(bars);
        }
        self.graph.written(self.worker, &shared, REPLAY)?;
        self.declare_days(REPLAY, Instant::now())?;
        info!(worker = index, bars = self.stats.replayed_bars, elapsed = ?started.elapsed(), "Rebuilt the state from the input topics.");

        // Epoch 2: the epoch the previous run may have been writing, replayed exactly.
        let intents = self.source.intents();
        let mut recovery = Batch::default();
        let graph = &mut *self.graph;
        self.source.read_until(&intents, usize::MAX, |step| {
            match step {
                Some(batch) => recovery = batch,
                None => graph.heartbeat.beat(RECOVERY, Stage::Replaying),
            }
            Ok(())
        })?;
        self.process(RECOVERY, &recovery)
    }

    /// Writes every row of the replay (the mart was written with other settings) and deletes the
    /// rows of this worker's series that no longer exist.
    fn rewrite_mart(
        &mut self,
        mut rows: RowChanges,
        predictions: &[pricestream_records::Prediction],
    ) -> anyhow::Result<()> {
        let (worker, shared, graph) = (&mut *self.worker, self.shared, &mut *self.graph);
        let (index, peers) = (worker.index() as u64, worker.peers() as u64);
        let check = shared.fence.check(REPLAY, &shared.outages, &shared.stop);
        graph.drive(worker, shared, REPLAY, Stage::Writing, check)?;
        let produced: std::collections::BTreeSet<_> =
            rows.rows().map(|row| (row.ticker.clone(), row.timeframe, row.date_time)).collect();
        let mine = |ticker: &str, timeframe| series_hash(ticker, timeframe) % peers == index;
        let vanished =
            graph.drive(worker, shared, REPLAY, Stage::Writing, shared.vanished_rows(&produced, mine))?;
        rows.deletes.extend(vanished);
        let write = shared.sink.write(&rows, predictions, &[], &shared.published, &shared.metrics, true);
        graph.drive(worker, shared, REPLAY, Stage::Writing, write)?;
        self.stats.rows += rows.upserts.len() as u64;
        self.stats.deleted += rows.deletes.len() as u64;
        shared.metrics.feature_rows_written.inc_by(rows.upserts.len() as u64);
        shared.metrics.feature_rows_deleted.inc_by(rows.deletes.len() as u64);
        info!(
            worker = worker.index(),
            rows = rows.upserts.len(),
            deleted = rows.deletes.len(),
            "Rewrote the mart rows of this worker's series."
        );
        Ok(())
    }
}
