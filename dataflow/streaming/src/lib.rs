//! The analytics service's streaming job: timely workers read the input partitions in
//! epochs, run the feature graph and the model stage, write each epoch to Cassandra and Kafka
//! before committing its offsets, and rebuild their state after a crash.
//!
//! Where things happen:
//! - [`worker`]: one worker's epochs, from the partitions to the commit;
//! - [`recovery`]: the start-up epochs that rebuild the state and write again what a crashed
//!   run may have left unwritten;
//! - [`signals`]: the commit barrier, failures and stops every worker agrees on;
//! - [`sink`]: writing mart rows, predictions and dead letters (outages waited out);
//!   [`history`]: every version of them, with the time it was known;
//! - [`serving`]: the model stage of a worker, loading and storing versions;
//! - [`fence`]: older incarnations cannot commit or write; [`liveness`]: heartbeats, `/healthz`;
//! - [`settings`]: the row-shaping settings every commit records; [`metrics`]: what is exported;
//! - [`trading_days`]: the trading-day frontier, declared by worker 0 on its own topic.
//!
//! The service (`pricestream-analytics run`) connects, builds a [`Shared`] and calls
//! [`execute`]:
//!
//! ```no_run
//! # fn run(shared: std::sync::Arc<pricestream_streaming::Shared>) -> anyhow::Result<()> {
//! let ready = std::sync::atomic::AtomicBool::new(false);
//! // One process of two worker threads; every worker's totals when the job stops.
//! let communication = timely::CommunicationConfig::Process(2);
//! let stats = pricestream_streaming::execute(shared, communication, 2, &ready)?;
//! println!("{} bar(s) became {} row update(s)", stats.bars, stats.rows);
//! # Ok(()) }
//! ```

pub mod changes;
pub mod config;
#[cfg(feature = "fault-injection")]
mod failure_injection;
pub mod fence;
pub mod history;
pub mod latency;
pub mod liveness;
pub mod metrics;
pub mod recovery;
pub mod serving;
pub mod settings;
pub mod signals;
pub mod sink;
pub mod trading_days;
pub mod worker;

use chrono::NaiveDate;
use config::JobConfig;
use fence::Fence;
use latency::PublishTimes;
use liveness::Liveness;
use metrics::Metrics;
use pricestream_cassandra::{MartReader, ModelTable};
use pricestream_kafka::TopicMetadata;
use pricestream_records::Timeframe;
use pricestream_runtime::fault::{Outages, Patience, wait_out_for};
use sink::MartSink;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
pub use worker::WorkerStats;

/// What every worker thread shares.
pub struct Shared {
    /// The job's sections of the service's config.
    pub config: JobConfig,
    /// Input topics with their partition counts at start.
    pub topics: Vec<(String, usize)>,
    /// The bars topic (the other input carries indicator values).
    pub bars_topic: String,
    /// Stop once every worker has read its partitions to their end offsets at start.
    pub exit_at_end: bool,
    /// Where mart rows, predictions and dead letters are written.
    pub sink: MartSink,
    /// Reads the mart back (the rows a rewrite deletes).
    pub mart: MartReader,
    /// The `models` table, when the model stage is on.
    pub models: Option<Arc<ModelTable>>,
    /// The runtime the workers' writes and reads run on.
    pub runtime: tokio::runtime::Handle,
    /// What `/metrics` exports.
    pub metrics: Arc<Metrics>,
    /// Set to stop the job at the end of the current epoch.
    pub stop: Arc<AtomicBool>,
    /// The Kafka and Cassandra outages seen, for health and retries.
    pub outages: Arc<Outages>,
    /// The workers' heartbeats, for `/healthz`.
    pub liveness: Arc<Liveness>,
    /// Keeps older incarnations of the cluster from committing or writing.
    pub fence: Fence,
    /// Who this process is, for the fencing table (host and process).
    pub incarnation: String,
    /// The fingerprint of the row-shaping settings ([`settings::RowShape`]).
    pub settings_fingerprint: String,
    /// The same settings, readable, for the log.
    pub settings_description: String,
    /// Asks the brokers for the input topics' partition counts.
    pub metadata: TopicMetadata,
    /// Worker threads of this process that have rebuilt their state and are consuming.
    pub ready_workers: AtomicUsize,
    /// Publish times of the bars of the epochs being written, for the prediction latency.
    pub published: PublishTimes,
    /// The device trainings run on, `auto` resolved once at start.
    pub model_device: pricestream_model::Device,
}

impl Shared {
    /// The input topics' partition counts now, or `None` when the brokers do not answer.
    pub(crate) fn partition_counts(&self) -> Option<Vec<(String, usize)>> {
        self.topics
            .iter()
            .map(|(topic, _)| {
                let count = self.metadata.partition_count(topic, Duration::from_secs(2));
                count.ok().map(|count| (topic.clone(), count))
            })
            .collect()
    }

    /// The keys of mart rows of the series `mine` selects that are not in `produced`: rows a
    /// rewrite must delete (their bar no longer exists, or no longer makes a row).
    pub(crate) async fn vanished_rows(
        &self,
        produced: &BTreeSet<(String, Timeframe, NaiveDate)>,
        mine: impl Fn(&str, Timeframe) -> bool,
    ) -> anyhow::Result<Vec<(String, Timeframe, NaiveDate)>> {
        let patience = Patience::Forever { stop: Some(&self.stop) };
        let series = wait_out_for(&self.outages, "read mart keys", patience, || self.mart.series()).await?;
        let mut vanished = Vec::new();
        for (ticker, timeframe) in series.into_iter().filter(|(ticker, timeframe)| mine(ticker, *timeframe)) {
            let dates = wait_out_for(&self.outages, "read mart dates", patience, || {
                self.mart.dates(&ticker, timeframe)
            })
            .await?;
            for date in dates {
                if !produced.contains(&(ticker.clone(), timeframe, date)) {
                    vanished.push((ticker.clone(), timeframe, date));
                }
            }
        }
        Ok(vanished)
    }
}

/// Runs the workers of this process until the job stops (a stop request, a failure, or with
/// `exit_at_end` the end of the input), setting `ready` once they have rebuilt their state
/// and are consuming. Returns the workers' totals, or the first failure.
pub fn execute(
    shared: Arc<Shared>,
    communication: timely::CommunicationConfig,
    workers: usize,
    ready: &AtomicBool,
) -> anyhow::Result<WorkerStats> {
    let worker_shared = Arc::clone(&shared);
    let timely_config = timely::Config { communication, worker: timely::WorkerConfig::default() };
    // With a cluster this waits until every process is connected.
    let guards = timely::execute(timely_config, move |worker| worker::run_worker(worker, &worker_shared))
        .map_err(|e| anyhow::anyhow!("cannot start timely workers: {e}"))?;
    while shared.ready_workers.load(Ordering::SeqCst) < workers && !shared.stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
        if guards.guards().iter().all(|g| g.is_finished()) {
            break;
        }
    }
    ready.store(true, Ordering::Relaxed);

    let mut total = WorkerStats::default();
    let mut failure = None;
    for result in guards.join() {
        match result.map_err(|e| anyhow::anyhow!("worker panicked: {e}")).and_then(|stats| stats) {
            Ok(stats) => {
                total.bars += stats.bars;
                total.replayed_bars += stats.replayed_bars;
                total.rows += stats.rows;
                total.deleted += stats.deleted;
                total.rejected += stats.rejected;
            }
            Err(error) => failure = failure.or(Some(error)),
        }
    }
    match failure {
        Some(error) => Err(error),
        None => Ok(total),
    }
}
