//! `run`: wires Kafka, Cassandra, the cluster and the HTTP endpoint to the streaming job
//! (`pricestream_streaming`, where the workers, crash recovery and fault handling are).

mod cluster;

use crate::cli::RunArgs;
use crate::config::AnalyticsConfig;
use crate::discovery::{PodIdentity, await_peers, membership, resolves, watch_replicas};
use anyhow::{Context, bail};
use pricestream_cassandra::{
    CassandraError, FeatureHistoryTable, FeatureTable, GenerationTable, MartReader, ModelTable,
    PredictionHistoryTable, PredictionTable, connect, create_mart_schema,
};
use pricestream_kafka::{KafkaError, Publisher, Retention, TopicMetadata, ensure_topics};
use pricestream_records::topics::{PREDICTIONS_RETENTION, Topics};
use pricestream_runtime::config::ProcessEnv;
use pricestream_runtime::fault::{Dependency, Outages, Patience, wait_out, wait_out_for};
use pricestream_runtime::telemetry::{Probes, serve};
use pricestream_streaming::fence::Fence;
use pricestream_streaming::history::HistorySink;
use pricestream_streaming::latency::PublishTimes;
use pricestream_streaming::liveness::Liveness;
use pricestream_streaming::metrics::Metrics;
use pricestream_streaming::settings::RowShape;
use pricestream_streaming::sink::MartSink;
use pricestream_streaming::{Shared, execute};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// Runs the service until stopped (or, with `--exit-at-end`, until the input is read).
pub fn run(config: AnalyticsConfig, args: &RunArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let metrics = Arc::new(Metrics::new()?);
    let stop = Arc::new(AtomicBool::new(false));
    let outages = Arc::new(Outages::new(metrics.outages.clone()));
    // Served first: live while waiting for peers or Kafka, ready only once consuming.
    let ready = Arc::new(AtomicBool::new(false));
    let (communication, kube_cluster, processes) = communication(args, &runtime, &stop)?;
    let peers = args.workers * processes;
    let liveness = Arc::new(Liveness::new(
        Duration::from_millis(config.cluster.liveness_timeout_ms),
        peers,
        args.workers,
    ));

    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(&config.http.listen_addr))
        .with_context(|| format!("cannot listen on http.listen_addr {}", config.http.listen_addr))?;
    info!(addr = %config.http.listen_addr, "Serving /metrics, /healthz and /readyz.");
    let health = {
        let (liveness, outages) = (Arc::clone(&liveness), Arc::clone(&outages));
        Arc::new(move || liveness.check(&outages)) as pricestream_runtime::telemetry::HealthCheck
    };
    runtime.spawn(serve(
        listener,
        Probes {
            registry: metrics.registry.clone(),
            ready: Arc::clone(&ready),
            outages: Arc::clone(&outages),
            health: Some(health),
        },
    ));
    runtime.spawn(stop_on_signal(Arc::clone(&stop)));
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
    let patience = Patience::Forever { stop: Some(&stop) };
    let (table, predictions, models, mart, generations, history) = runtime.block_on(async {
        // Waited out: a service started while Cassandra restarts begins when it is back.
        let cassandra = || async {
            let session = Arc::new(connect(&config.cassandra).await?);
            create_mart_schema(&session, &config.cassandra).await?;
            let (keyspace, in_flight) =
                (&config.cassandra.mart_keyspace, config.cassandra.max_in_flight_requests);
            let table = FeatureTable::prepare(Arc::clone(&session), keyspace, in_flight).await?;
            let predictions = PredictionTable::prepare(Arc::clone(&session), keyspace, in_flight).await?;
            let models = ModelTable::prepare(Arc::clone(&session), keyspace).await?;
            let mart = MartReader::prepare(Arc::clone(&session), keyspace).await?;
            let generations = GenerationTable::prepare(Arc::clone(&session), keyspace).await?;
            let history = match config.history.enabled {
                true => Some(HistorySink::new(
                    FeatureHistoryTable::prepare(Arc::clone(&session), keyspace, in_flight).await?,
                    PredictionHistoryTable::prepare(session, keyspace, in_flight).await?,
                )),
                false => None,
            };
            Ok::<_, CassandraError>((table, predictions, models, mart, generations, history))
        };
        wait_out_for(&outages, "connect", patience, cassandra).await
    })?;
    let topics_created = [
        (names.features.as_str(), Retention::Compacted),
        (names.predictions.as_str(), PREDICTIONS_RETENTION),
        (names.dead_letter.as_str(), Retention::Forever),
        // Every day declared, in order: the frontier reads it back at start.
        (names.trading_days.as_str(), Retention::Forever),
    ];
    runtime.block_on(wait_out(
        &outages,
        Dependency::Kafka,
        "create topics",
        patience,
        KafkaError::fault,
        || ensure_topics(&config.kafka, &topics_created),
    ))?;
    let run_id = uuid::Uuid::new_v4();
    let sink = MartSink {
        table,
        publisher: Publisher::reporting(&config.kafka, Arc::clone(&outages))?,
        changelog_topic: names.features.clone(),
        predictions,
        predictions_topic: names.predictions.clone(),
        dead_letter_topic: names.dead_letter.clone(),
        trading_days_topic: names.trading_days.clone(),
        outages: Arc::clone(&outages),
        stop: Arc::clone(&stop),
        run_id,
        history,
    };
    let models = config.serving.enabled.then(|| Arc::new(models));
    // What `auto` comes to here, for the device metric (a GPU opened and closed again).
    let model_device =
        if config.serving.enabled { config.model.params.device.in_use() } else { config.model.params.device };

    let metadata = TopicMetadata::new(&config.kafka)?;
    let mut topics = Vec::new();
    for topic in [&names.bars, &names.indicators] {
        topics.push((topic.clone(), wait_for_topic(&metadata, topic, args.exit_at_end, &stop, &outages)?));
    }
    let shape = RowShape::of(&config.job());
    let fence = Fence::new(generations, &config.consumer.group_id);
    let incarnation = format!(
        "{}/process-{}/{run_id}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into()),
        args.process.unwrap_or(0)
    );
    let mart_keyspace = config.cassandra.mart_keyspace.clone();
    let shared = Arc::new(Shared {
        config: config.job(),
        topics,
        bars_topic: names.bars,
        exit_at_end: args.exit_at_end,
        sink,
        mart,
        models,
        runtime: runtime.handle().clone(),
        metrics,
        stop,
        outages,
        liveness,
        fence,
        incarnation,
        settings_fingerprint: shape.fingerprint(),
        settings_description: shape.describe(),
        metadata,
        ready_workers: AtomicUsize::new(0),
        published: PublishTimes::default(),
        model_device,
    });
    // Ready once the workers have rebuilt their state and are consuming.
    let total = execute(Arc::clone(&shared), communication, args.workers, &ready)?;
    info!(bars = total.bars, rows = total.rows, rejected = total.rejected, "Analytics stopped.");
    println!(
        "Analytics rebuilt its state from {} stored bar(s), processed {} new bar(s) into {} feature row update(s) and {} deletion(s) in {:.1?} ({} message(s) refused, see {}) -> Cassandra {}.features, Kafka {}",
        total.replayed_bars,
        total.bars,
        total.rows,
        total.deleted,
        started.elapsed(),
        total.rejected,
        shared.sink.dead_letter_topic,
        mart_keyspace,
        shared.sink.changelog_topic
    );
    match rescaled.load(Ordering::SeqCst) {
        0 => Ok(()),
        now => bail!(
            "the StatefulSet now has {now} replica(s); exiting so the timely cluster re-forms with them"
        ),
    }
}

/// The timely configuration of this process: a process of a hosts-file cluster, a pod of a
/// StatefulSet (peers found through the Kubernetes API, with the client and the replica count
/// it started with), or one process; and how many processes the cluster has.
#[allow(clippy::type_complexity)]
fn communication(
    args: &RunArgs,
    runtime: &tokio::runtime::Runtime,
    stop: &Arc<AtomicBool>,
) -> anyhow::Result<(timely::CommunicationConfig, Option<(kube::Client, PodIdentity, usize)>, usize)> {
    if let (Some(path), Some(process)) = (&args.hosts, args.process) {
        let hosts = cluster::read_hosts(path)?;
        let processes = hosts.len();
        return Ok((cluster::communication(args.workers, Some((process, hosts)))?, None, processes));
    }
    match PodIdentity::from_env(&ProcessEnv)? {
        Some(identity) => {
            let (hosts, client, replicas) = runtime.block_on(async {
                tokio::select! {
                    found = discover(&identity) => found,
                    () = stopped(stop) => bail!("stopped while waiting for the timely peers"),
                }
            })?;
            let processes = hosts.len();
            let communication = cluster::communication(args.workers, Some((identity.ordinal, hosts)))?;
            Ok((communication, Some((client, identity, replicas)), processes))
        }
        None => Ok((cluster::communication(args.workers, None)?, None, 1)),
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
    // A cluster of one has no peers to wait for, and runs as a single process (no peer port), so
    // it needs no DNS name of its own.
    if membership.replicas == 1 {
        return Ok((vec![identity.peer_address(0)], client, 1));
    }
    let hosts = await_peers(&client, identity, &membership, (PEER_TIMEOUT, PEER_POLL), resolves).await?;
    Ok((hosts, client, membership.replicas))
}

/// The partition count of `topic`, waiting for the topic to appear (and Kafka to answer)
/// unless the run is a one-shot `--exit-at-end`, where a missing topic is an error.
fn wait_for_topic(
    metadata: &TopicMetadata,
    topic: &str,
    exit_at_end: bool,
    stop: &AtomicBool,
    outages: &Outages,
) -> anyhow::Result<usize> {
    let mut announced = false;
    loop {
        match metadata.partition_count(topic, Duration::from_secs(10)) {
            Ok(count) => {
                outages.succeeded(Dependency::Kafka);
                return Ok(count);
            }
            Err(e) if exit_at_end || stop.load(Ordering::Relaxed) => return Err(e.into()),
            Err(KafkaError::NoSuchTopic(_)) => {
                outages.succeeded(Dependency::Kafka);
                if !announced {
                    warn!(topic, "Waiting for the input topic to be created (by the extractor).");
                    announced = true;
                }
                std::thread::sleep(Duration::from_secs(2));
            }
            Err(e) => {
                outages.failed(Dependency::Kafka, "topic metadata", &e);
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
