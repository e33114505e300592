//! `run`: wires Kafka, the timely workers, Cassandra and the HTTP endpoint together.

mod changes;
mod cluster;
mod latency;
mod progress;
mod serving;
mod sink;
mod source;
mod worker;

use crate::cli::RunArgs;
use crate::config::AnalyticsConfig;
use crate::discovery::{PodIdentity, await_peers, membership, resolves, watch_replicas};
use crate::metrics::Metrics;
use anyhow::{Context, bail};
use pricestream_dataflow::cassandra::{
    FeatureTable, ModelTable, PredictionTable, connect, create_mart_schema,
};
use pricestream_dataflow::config::ProcessEnv;
use pricestream_dataflow::kafka::{
    Publisher, Retention, client_config, ensure_topics, fetch_partition_count,
};
use pricestream_dataflow::telemetry::{Probes, serve};
use pricestream_dataflow::topics::{PREDICTIONS_RETENTION, Topics};
use rdkafka::consumer::BaseConsumer;
use sink::MartSink;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tracing::{info, warn};
use worker::{WorkerStats, run_worker};

/// What every worker thread shares.
pub struct Shared {
    config: AnalyticsConfig,
    /// Input topics with their partition counts.
    topics: Vec<(String, usize)>,
    bars_topic: String,
    exit_at_end: bool,
    sink: MartSink,
    /// The `models` table, when the model stage is on.
    models: Option<Arc<ModelTable>>,
    runtime: tokio::runtime::Handle,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
    /// Worker threads of this process that have rebuilt their state and are consuming.
    ready_workers: AtomicUsize,
    /// Publish times of the bars of the epochs being written, for the prediction latency.
    published: latency::PublishTimes,
    /// The device trainings run on, `auto` resolved once at start.
    model_device: pricestream_dataflow::model::Device,
}

/// Runs the service until stopped (or, with `--exit-at-end`, until the input is read).
pub fn run(config: AnalyticsConfig, args: &RunArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let metrics = Arc::new(Metrics::new()?);
    let stop = Arc::new(AtomicBool::new(false));
    // Served first: live while waiting for peers or Kafka, ready only once consuming.
    let ready = Arc::new(AtomicBool::new(false));

    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(&config.http.listen_addr))
        .with_context(|| format!("cannot listen on http.listen_addr {}", config.http.listen_addr))?;
    info!(addr = %config.http.listen_addr, "Serving /metrics, /healthz and /readyz.");
    runtime.spawn(serve(listener, Probes { registry: metrics.registry.clone(), ready: Arc::clone(&ready) }));
    runtime.spawn(stop_on_signal(Arc::clone(&stop)));
    let (communication, kube_cluster) = match (&args.hosts, args.process) {
        (Some(path), Some(process)) => {
            (cluster::communication(args.workers, Some((process, cluster::read_hosts(path)?)))?, None)
        }
        _ => match PodIdentity::from_env(&ProcessEnv)? {
            Some(identity) => {
                let (hosts, client, replicas) = runtime.block_on(async {
                    tokio::select! {
                        found = discover(&identity) => found,
                        () = stopped(&stop) => bail!("stopped while waiting for the timely peers"),
                    }
                })?;
                (
                    cluster::communication(args.workers, Some((identity.ordinal, hosts)))?,
                    Some((client, identity, replicas)),
                )
            }
            None => (cluster::communication(args.workers, None)?, None),
        },
    };
    // A cluster whose size changes must re-form: stop, and exit with an error so the pod restarts.
    let rescaled = Arc::new(AtomicUsize::new(0));
    if let Some((client, identity, replicas)) = kube_cluster {
        let (stop, rescaled) = (Arc::clone(&stop), Arc::clone(&rescaled));
        runtime.spawn(async move {
            let now = watch_replicas(client, identity, replicas, SCALE_POLL).await;
            warn!(
                from = replicas,
                to = now,
                "The StatefulSet was rescaled; stopping so the cluster re-forms."
            );
            rescaled.store(now, Ordering::SeqCst);
            stop.store(true, Ordering::Relaxed);
        });
    }

    let names = Topics::with_prefix(&config.kafka.topic_prefix);
    // Every series exists from the start, so rates and alerts see a 0 rather than nothing.
    for topic in [&names.bars, &names.indicators] {
        metrics.records_consumed.with_label_values(&[topic.as_str()]);
        metrics.records_replayed.with_label_values(&[topic.as_str()]);
    }
    let (table, predictions, models) = runtime.block_on(async {
        let session = Arc::new(connect(&config.cassandra).await?);
        create_mart_schema(&session, &config.cassandra).await?;
        let (keyspace, in_flight) =
            (&config.cassandra.mart_keyspace, config.cassandra.max_in_flight_requests);
        let table = FeatureTable::prepare(Arc::clone(&session), keyspace, in_flight).await?;
        let predictions = PredictionTable::prepare(Arc::clone(&session), keyspace, in_flight).await?;
        let models = ModelTable::prepare(session, keyspace).await?;
        anyhow::Ok((table, predictions, models))
    })?;
    runtime.block_on(ensure_topics(
        &config.kafka,
        &[(&names.features, Retention::Compacted), (&names.predictions, PREDICTIONS_RETENTION)],
    ))?;
    let sink = MartSink {
        table,
        publisher: Publisher::new(&config.kafka)?,
        changelog_topic: names.features.clone(),
        predictions,
        predictions_topic: names.predictions.clone(),
    };
    let models = config.serving.enabled.then(|| Arc::new(models));
    // What `auto` comes to here, for the device metric (a GPU opened and closed again).
    let model_device =
        if config.serving.enabled { config.model.params.device.in_use() } else { config.model.params.device };

    let mut topics = Vec::new();
    for topic in [&names.bars, &names.indicators] {
        topics.push((topic.clone(), wait_for_topic(&config, topic, args.exit_at_end, &stop)?));
    }
    let shared = Arc::new(Shared {
        config,
        topics,
        bars_topic: names.bars,
        exit_at_end: args.exit_at_end,
        sink,
        models,
        runtime: runtime.handle().clone(),
        metrics,
        stop,
        ready_workers: AtomicUsize::new(0),
        published: latency::PublishTimes::default(),
        model_device,
    });

    let workers = args.workers;
    let worker_shared = Arc::clone(&shared);
    let timely_config = timely::Config { communication, worker: timely::WorkerConfig::default() };
    // With a cluster this waits until every process is connected.
    let guards = timely::execute(timely_config, move |worker| run_worker(worker, &worker_shared))
        .map_err(|e| anyhow::anyhow!("cannot start timely workers: {e}"))?;
    // Ready once the workers have rebuilt their state and are consuming.
    while shared.ready_workers.load(Ordering::SeqCst) < workers && !shared.stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
        if guards.guards().iter().all(|g| g.is_finished()) {
            break;
        }
    }
    ready.store(true, Ordering::Relaxed);

    let mut total = WorkerStats::default();
    for result in guards.join() {
        let stats = result.map_err(|e| anyhow::anyhow!("worker panicked: {e}"))??;
        total.bars += stats.bars;
        total.replayed_bars += stats.replayed_bars;
        total.rows += stats.rows;
        total.deleted += stats.deleted;
        total.rejected += stats.rejected;
    }
    info!(bars = total.bars, rows = total.rows, rejected = total.rejected, "Analytics stopped.");
    println!(
        "Analytics rebuilt its state from {} stored bar(s), processed {} new bar(s) into {} feature row update(s) and {} deletion(s) in {:.1?} ({} message(s) rejected) -> Cassandra {}.features, Kafka {}",
        total.replayed_bars,
        total.bars,
        total.rows,
        total.deleted,
        started.elapsed(),
        total.rejected,
        shared.config.cassandra.mart_keyspace,
        shared.sink.changelog_topic
    );
    match rescaled.load(Ordering::SeqCst) {
        0 => Ok(()),
        now => bail!(
            "the StatefulSet now has {now} replica(s); exiting so the timely cluster re-forms with them"
        ),
    }
}

/// How long a pod waits for every timely peer to exist and resolve.
const PEER_TIMEOUT: Duration = Duration::from_secs(300);
/// How often a waiting pod looks for its peers again.
const PEER_POLL: Duration = Duration::from_secs(2);
/// How often a pod checks whether its StatefulSet was rescaled.
const SCALE_POLL: Duration = Duration::from_secs(15);

/// Finds this pod's timely peers through the Kubernetes API: the addresses of every
/// process, the client, and the replica count the cluster starts with.
async fn discover(identity: &PodIdentity) -> anyhow::Result<(Vec<String>, kube::Client, usize)> {
    let client =
        kube::Client::try_default().await.context("cannot reach the Kubernetes API from this pod")?;
    let membership = membership(&client, identity).await?;
    info!(
        statefulset = %identity.statefulset,
        process = identity.ordinal,
        processes = membership.replicas,
        "Joining the timely cluster of the StatefulSet."
    );
    let hosts = await_peers(&client, identity, &membership, (PEER_TIMEOUT, PEER_POLL), resolves).await?;
    Ok((hosts, client, membership.replicas))
}

/// The partition count of `topic`, waiting for the topic to appear unless the
/// run is a one-shot `--exit-at-end`, where a missing topic is an error.
fn wait_for_topic(
    config: &AnalyticsConfig,
    topic: &str,
    exit_at_end: bool,
    stop: &AtomicBool,
) -> anyhow::Result<usize> {
    let consumer: BaseConsumer = client_config(&config.kafka).create()?;
    loop {
        match fetch_partition_count(&consumer, &config.kafka.brokers, topic, Duration::from_secs(10)) {
            Ok(count) => return Ok(count),
            Err(e) if exit_at_end || stop.load(Ordering::Relaxed) => return Err(e.into()),
            Err(e) => {
                warn!(topic, "Waiting for the input topic: {e}");
                std::thread::sleep(Duration::from_secs(2));
            }
        }
    }
}

/// Returns once a stop was requested.
async fn stopped(stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn stop_on_signal(stop: Arc<AtomicBool>) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return,
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    info!("Stop requested; finishing the current epoch.");
    stop.store(true, Ordering::Relaxed);
}
