//! Faults inside the analytics cluster: a worker whose write fails (injected), consumers whose
//! fetchers stop (injected), a process killed with SIGKILL, a process frozen with SIGSTOP. No
//! offset is committed past what every worker wrote, the survivors stop promptly (or say they
//! are stuck), stopped fetchers are restarted, and every run ends in the mart of an undisturbed
//! run.

use pricestream_records::wire;
use pricestream_records::{Bar, IndicatorRecord};
use pricestream_tests::faults::Running;
use pricestream_tests::{
    Lake, Namespace, analytics_to_end, cassandra, free_port, kafka, kafka_brokers, snapshot, wait_for,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Generates `tickers` × `days` bars, backfills them, and builds the reference mart of an
/// undisturbed run; returns the lake, the reference's namespace and its rows.
async fn prepared(
    tickers: usize,
    days: usize,
) -> anyhow::Result<(Lake, Namespace, BTreeMap<String, String>)> {
    let lake = Lake::generate(tickers, days, None)?;
    lake.backfill()?;
    let reference = lake.ns.own_mart("ref");
    analytics_to_end(1, &reference)?;
    let session = cassandra::session().await?;
    let want = snapshot::mart(&session, &reference.mart_keyspace).await?;
    assert_eq!(want.len(), tickers * days, "the reference holds one row per bar");
    Ok((lake, reference, want))
}

/// The offsets committed by `group` for every partition of `topic`.
fn committed(group: &str, topic: &str) -> anyhow::Result<BTreeMap<i32, i64>> {
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", kafka_brokers()).set("group.id", group).create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut partitions = TopicPartitionList::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        partitions.add_partition(topic, partition.id());
    }
    let offsets = consumer.committed_offsets(partitions, Duration::from_secs(10))?;
    Ok(offsets
        .elements()
        .into_iter()
        .map(|e| (e.partition(), if let Offset::Offset(o) = e.offset() { o } else { 0 }))
        .collect())
}

async fn mart_equals(keyspace: &str, want: &BTreeMap<String, String>) -> anyhow::Result<()> {
    let session = cassandra::session().await?;
    let got = snapshot::mart(&session, keyspace).await?;
    let differences = snapshot::differences(&got, want, 5);
    assert!(differences.is_empty(), "{} rows, want {}:\n{}", got.len(), want.len(), differences.join("\n"));
    Ok(())
}

#[tokio::test]
async fn a_failed_write_commits_nothing_past_the_last_epoch_every_worker_wrote() -> anyhow::Result<()> {
    let (Lake { ns, dir, .. }, reference, want) = prepared(10, 300).await?;
    let config = dir.path().join("small-epochs.toml");
    std::fs::write(&config, "[consumer]\nepoch_max_records = 200\n")?;
    let config_arg = config.to_str().unwrap_or_default();
    // Worker 1's write of epoch 12 (a live epoch: 0-2 are the start) fails.
    let inject = [("PRICESTREAM_FAIL_WRITE", "worker=1,epoch=12".to_owned())];
    let mut service = Running::start(
        "analytics",
        "pricestream-analytics",
        &["--config", config_arg, "run", "--workers", "2"],
        &ns,
        &inject,
        dir.path(),
    )?;
    let status = service.wait_exit(Duration::from_secs(120))?;
    let log = service.log_text();
    assert!(
        log.contains("injected failure: worker 1's write of epoch 12"),
        "the failure was not injected:\n{log}"
    );
    assert!(
        status.is_some_and(|s| !s.success()),
        "a failed worker must stop the service with an error: {status:?}"
    );

    // Every bar below a committed offset has its row in the mart; and the failure did cost rows.
    let session = cassandra::session().await?;
    let mart = cassandra::mart_keys(&session, &ns.mart_keyspace).await?;
    let committed_bars = committed(&ns.group_id, &ns.bars_topic())?;
    let mut below = 0;
    let mut committed_bars_keys = std::collections::BTreeSet::new();
    for message in kafka::read_topic(&ns.bars_topic())? {
        let (partition, offset) = (message.partition, message.offset);
        if offset < committed_bars.get(&partition).copied().unwrap_or(0) {
            let bar: Bar = wire::decode(&message.payload)?;
            assert!(
                mart.contains(&(bar.ticker.to_string(), bar.datetime)),
                "bar {} {} (partition {partition}, offset {offset}) is below the committed offset {} but has no row",
                bar.ticker,
                bar.datetime,
                committed_bars[&partition]
            );
            committed_bars_keys.insert((bar.ticker.to_string(), bar.datetime));
            below += 1;
        }
    }
    // The same for every indicator value whose bar is committed too (a value without its bar
    // makes no row yet): its cell is filled.
    let cells = cassandra::mart_indicators(&session, &ns.mart_keyspace).await?;
    let committed_values = committed(&ns.group_id, &ns.indicators_topic())?;
    for message in kafka::read_topic(&ns.indicators_topic())? {
        let (partition, offset) = (message.partition, message.offset);
        if offset < committed_values.get(&partition).copied().unwrap_or(0) {
            let value: IndicatorRecord = wire::decode(&message.payload)?;
            let key = (value.ticker.to_string(), value.datetime);
            if !committed_bars_keys.contains(&key) {
                continue;
            }
            let kind = value.value.kind().as_str();
            let filled = cells.get(&key).is_some_and(|kinds| kinds.contains(&kind));
            assert!(
                filled,
                "{} {} {kind} (partition {partition}, offset {offset}) is below the committed offset {} but not in the mart",
                value.ticker, value.datetime, committed_values[&partition]
            );
            below += 1;
        }
    }
    assert!(below > 0, "nothing was committed before the failure");
    let at_failure = snapshot::mart(&session, &ns.mart_keyspace).await?;
    assert_ne!(
        at_failure, want,
        "the mart is complete: the failure cost nothing, so the fault did not happen"
    );
    eprintln!(
        "{below} messages committed before the injected failure, each in the mart; the mart was incomplete"
    );

    analytics_to_end(2, &ns)?;
    mart_equals(&ns.mart_keyspace, &want).await?;
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace, &ns.mart_keyspace, &reference.mart_keyspace])
        .await;
    Ok(())
}

fn start_pair(ns: &Namespace, dir: &Path, config: &Path, tag: &str) -> anyhow::Result<Vec<Running>> {
    let hosts = dir.join(format!("hosts-{tag}"));
    std::fs::write(&hosts, format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port()?, free_port()?))?;
    let (hosts_arg, config_arg) = (hosts.to_str().unwrap_or_default(), config.to_str().unwrap_or_default());
    ["0", "1"]
        .into_iter()
        .map(|process| {
            let args =
                ["--config", config_arg, "run", "--workers", "2", "--process", process, "--hosts", hosts_arg];
            Running::analytics(&format!("{tag}-{process}"), &args, ns, dir)
        })
        .collect()
}

fn signal(process: &Running, signal: &str) -> anyhow::Result<()> {
    let status =
        std::process::Command::new("kill").args([signal, &process.child.id().to_string()]).status()?;
    anyhow::ensure!(status.success(), "kill {signal} failed");
    Ok(())
}

#[tokio::test]
async fn a_killed_peer_stops_the_cluster_and_a_frozen_one_fails_its_liveness() -> anyhow::Result<()> {
    let (Lake { ns, dir, .. }, reference, want) = prepared(16, 400).await?;
    let config = dir.path().join("cluster.toml");
    std::fs::write(
        &config,
        "[consumer]\nepoch_max_records = 300\n\n[cluster]\nliveness_timeout_ms = 5000\n",
    )?;

    // SIGKILL of process 1 mid-backfill: process 0 exits non-zero within seconds.
    let mut pair = start_pair(&ns, dir.path(), &config, "kill")?;
    let rows = |p: &Running| p.metric("pricestream_analytics_feature_rows_written_total").unwrap_or(0.0);
    wait_for("a fifth of the rows", Duration::from_secs(120), || {
        rows(&pair[0]) + rows(&pair[1]) >= 0.2 * want.len() as f64
    })?;
    signal(&pair[1], "-KILL")?;
    let killed = Instant::now();
    let status = pair[0].wait_exit(Duration::from_secs(30))?;
    let took = killed.elapsed();
    assert!(
        status.is_some_and(|s| !s.success()),
        "the survivor must exit non-zero, got {status:?}:\n{}",
        pair[0].log_tail(20)
    );
    assert!(
        pair[0].log_text().contains("Lost the connection to timely process 1"),
        "{}",
        pair[0].log_tail(20)
    );
    eprintln!("the survivor exited {:.1} s after its peer was killed", took.as_secs_f64());
    drop(pair);
    // Both restarted: they finish the backfill into the undisturbed run's mart.
    let finish = dir.path().join("finish.toml");
    std::fs::write(&finish, "[consumer]\nepoch_max_records = 300\n")?;
    let mut pair = start_pair(&ns, dir.path(), &finish, "restart")?;
    let session = cassandra::session().await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while snapshot::mart(&session, &ns.mart_keyspace).await? != want && Instant::now() < deadline {
        for process in &mut pair {
            process.assert_running()?;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for process in &mut pair {
        let status = process.stop()?;
        assert!(status.success(), "{} exited {status}:\n{}", process.name, process.log_tail(20));
    }
    mart_equals(&ns.mart_keyspace, &want).await?;

    // SIGSTOP of process 1: past the liveness timeout, process 0 says it is stuck and on whom.
    let mut pair = start_pair(&ns, dir.path(), &config, "stop")?;
    for process in &pair {
        wait_for("the cluster to be ready", Duration::from_secs(120), || {
            process.status_of("/readyz") == Some(200)
        })?;
    }
    assert_eq!(pair[0].status_of("/healthz"), Some(200));
    signal(&pair[1], "-STOP")?;
    let stopped = Instant::now();
    wait_for("process 0 to fail its liveness", Duration::from_secs(30), || {
        pair[0].status_of("/healthz") == Some(503)
    })?;
    let body =
        pricestream_tests::http_get(pair[0].port, "/healthz").map(|(_, body)| body).unwrap_or_default();
    assert!(body.contains("(process 1)"), "{body}");
    eprintln!(
        "/healthz of process 0 failed {:.1} s after process 1 froze: {}",
        stopped.elapsed().as_secs_f64(),
        body.trim()
    );
    signal(&pair[1], "-CONT")?;
    wait_for("process 0 to recover", Duration::from_secs(30), || pair[0].status_of("/healthz") == Some(200))?;
    for process in &mut pair {
        let status = process.stop()?;
        assert!(status.success(), "{} exited {status}:\n{}", process.name, process.log_tail(20));
    }
    mart_equals(&ns.mart_keyspace, &want).await?;
    let session = cassandra::session().await?;
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace, &ns.mart_keyspace, &reference.mart_keyspace])
        .await;
    Ok(())
}

#[tokio::test]
async fn consumers_whose_fetchers_stop_are_restarted_and_the_mart_completes() -> anyhow::Result<()> {
    // Each worker's consumer stops fetching after its 300th message, with most still to read.
    fetchers_stop_and_the_mart_completes(&[("PRICESTREAM_FAIL_FETCH_AFTER", "300".to_owned())], false).await
}

#[tokio::test]
async fn a_consumer_that_restarting_does_not_cure_is_replaced_and_the_mart_completes() -> anyhow::Result<()> {
    // As above, and re-assigning its partitions does not bring the fetchers back: only a new
    // client does.
    let inject = [
        ("PRICESTREAM_FAIL_FETCH_AFTER", "300".to_owned()),
        ("PRICESTREAM_FAIL_FETCH_STUCK_CLIENT", "1".to_owned()),
    ];
    fetchers_stop_and_the_mart_completes(&inject, true).await
}

async fn fetchers_stop_and_the_mart_completes(
    inject: &[(&str, String)],
    replaced: bool,
) -> anyhow::Result<()> {
    let (Lake { ns, dir, .. }, reference, want) = prepared(8, 200).await?;
    let args = ["run", "--workers", "2"];
    let mut service = Running::start("analytics", "pricestream-analytics", &args, &ns, inject, dir.path())?;
    wait_for("the service", Duration::from_secs(120), || service.status_of("/readyz") == Some(200))?;
    let session = cassandra::session().await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while snapshot::mart(&session, &ns.mart_keyspace).await? != want && Instant::now() < deadline {
        service.assert_running()?;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let restarts = service.metric("pricestream_analytics_fetcher_restarts_total").unwrap_or(0.0);
    let log = service.log_text();
    let status = service.stop()?;
    assert!(status.success(), "the service exited {status}:\n{log}");
    let stops = log.matches("Injected: the fetchers stop").count();
    assert!(stops >= 1, "no consumer stopped fetching:\n{log}");
    assert!(restarts >= stops as f64, "{restarts} fetcher restarts for {stops} stopped consumers:\n{log}");
    let new_clients = log.matches("replacing the consumer with a new client").count();
    if replaced {
        assert!(new_clients >= stops, "{new_clients} new clients for {stops} stuck consumers:\n{log}");
    } else {
        assert_eq!(new_clients, 0, "a re-assign cured these consumers, yet a client was replaced:\n{log}");
    }
    mart_equals(&ns.mart_keyspace, &want).await?;
    eprintln!("{stops} consumers stopped fetching, {restarts} restarts; the mart is the undisturbed run's");
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace, &ns.mart_keyspace, &reference.mart_keyspace])
        .await;
    Ok(())
}
