//! Routine faults, injected for real: while the extractor follows a growing input and the
//! analytics service runs as one process of two workers and as a cluster of two processes of
//! two workers, Kafka is restarted three times and then Cassandra three times. No service may
//! exit; afterwards both marts, their predictions and their stored model versions equal, cell
//! for cell, those of an undisturbed run over the same topics, the changelog folds into that
//! mart, and Cassandra holds every bar and indicator value of the input exactly once.

use pricestream_records::Bar;
use pricestream_records::wire;
use pricestream_tests::faults::{Running, median_and_max, require_local, start_service, stop_service};
use pricestream_tests::{
    Namespace, analytics_config, analytics_to_end, cassandra, free_port, generate_lake, kafka, snapshot,
    wait_for,
};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

const TICKERS: usize = 6;
const DAYS: usize = 360;
/// Days in the input at start, then after each fault.
const STAGES: [usize; 7] = [120, 160, 200, 240, 280, 320, 360];

/// Writes the header and the first `days` data lines of each generated file into `lake`,
/// replacing the file at once (as a data-lake writer does).
fn write_days(generated: &Path, lake: &Path, days: usize) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(generated)? {
        let path = entry?.path();
        let text = std::fs::read_to_string(&path)?;
        let part: Vec<&str> = text.lines().take(days + 1).collect();
        let name = path.file_name().unwrap_or_default();
        let staged = lake.join(format!(".{}", name.to_string_lossy()));
        std::fs::write(&staged, part.join("\n") + "\n")?;
        std::fs::rename(&staged, lake.join(name))?;
    }
    Ok(())
}

fn outages(services: &[&Running], dependency: &str) -> f64 {
    let name = format!("outages_total{{dependency=\"{dependency}\"}}");
    services
        .iter()
        .filter_map(|s| {
            let component = if s.name.starts_with("extractor") { "extractor" } else { "analytics" };
            s.metric(&format!("pricestream_{component}_{name}"))
        })
        .sum()
}

#[tokio::test]
async fn kafka_and_cassandra_restarts_are_ridden_out_without_losing_a_row() -> anyhow::Result<()> {
    require_local("kafka")?;
    require_local("cassandra")?;
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    let (generated, lake) = (dir.path().join("generated"), dir.path().join("lake"));
    std::fs::create_dir_all(&lake)?;
    let out = generated.to_str().unwrap_or_default();
    generate_lake(out, TICKERS, DAYS, Some(11), &ns)?;
    write_days(&generated, &lake, STAGES[0])?;
    let follow_config = dir.path().join("follow.toml");
    std::fs::write(&follow_config, "[follow]\nfile_poll_interval_ms = 200\nfile_settle_ms = 200\n")?;
    let config = |path: &Path| path.to_str().unwrap_or_default().to_owned();
    let lake_arg = config(&lake);
    let mut extractor = Running::start(
        "extractor",
        "pricestream-extractor",
        &["--config", &config(&follow_config), "follow", "--input", &lake_arg],
        &ns,
        &[],
        dir.path(),
    )?;

    let (single, pair) = (ns.own_mart("single"), ns.own_mart("pair"));
    // The model settings of the reference run (analytics_to_end).
    let analytics = config(&analytics_config(dir.path(), "analytics.toml", "")?);
    let mut single_service = Running::analytics(
        "analytics-1x2",
        &["--config", &analytics, "run", "--workers", "2"],
        &single,
        dir.path(),
    )?;
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port()?, free_port()?))?;
    let hosts_arg = config(&hosts);
    let mut cluster = Vec::new();
    for process in ["0", "1"] {
        let args =
            ["--config", &analytics, "run", "--workers", "2", "--process", process, "--hosts", &hosts_arg];
        cluster.push(Running::analytics(&format!("analytics-2x2-{process}"), &args, &pair, dir.path())?);
    }
    let rows =
        |service: &Running| service.metric("pricestream_analytics_feature_rows_written_total").unwrap_or(0.0);
    wait_for("the first days to reach both marts", Duration::from_secs(120), || {
        rows(&single_service) >= (TICKERS * STAGES[0]) as f64
            && rows(&cluster[0]) + rows(&cluster[1]) >= (TICKERS * STAGES[0]) as f64
    })?;

    // The faults: each time the input grows while the service is down.
    let mut back_to_first_row = Vec::new();
    let faults = ["kafka", "kafka", "kafka", "cassandra", "cassandra", "cassandra"];
    for (fault, days) in faults.iter().zip(&STAGES[1..]) {
        stop_service(fault)?;
        write_days(&generated, &lake, *days)?;
        std::thread::sleep(Duration::from_secs(2));
        let before = rows(&single_service);
        start_service(fault)?;
        let back = Instant::now();
        wait_for(&format!("new rows after the {fault} restart"), Duration::from_secs(180), || {
            rows(&single_service) > before
        })
        .map_err(|error| {
            // What each side last said: the one that did not recover shows it.
            anyhow::anyhow!(
                "{error}\nextractor:\n{}\nanalytics:\n{}\nanalytics threads:\n{}",
                extractor.log_tail(40),
                single_service.log_tail(40),
                single_service.thread_stacks()
            )
        })?;
        back_to_first_row.push(back.elapsed().as_secs_f64());
        for service in [&mut extractor, &mut single_service].into_iter().chain(cluster.iter_mut()) {
            service.assert_running()?;
        }
        eprintln!(
            "{fault} restarted: first new mart row {:.1} s after it was back",
            back.elapsed().as_secs_f64()
        );
    }
    let everyone: Vec<&Running> = [&extractor, &single_service].into_iter().chain(cluster.iter()).collect();
    let (kafka_outages, cassandra_outages) = (outages(&everyone, "kafka"), outages(&everyone, "cassandra"));
    let fetcher_restarts: f64 =
        everyone.iter().filter_map(|s| s.metric("pricestream_analytics_fetcher_restarts_total")).sum();
    let commit_restarts: f64 =
        everyone.iter().filter_map(|s| s.metric("pricestream_analytics_commit_restarts_total")).sum();
    // The faults really happened (scripts/services stopped and started each), and the services
    // saw them: every one reads Kafka all the time; Cassandra only those writing meanwhile.
    for service in &everyone {
        assert!(outages(&[service], "kafka") >= 1.0, "{} saw no Kafka outage", service.name);
    }
    assert!(cassandra_outages >= 1.0, "the services saw no Cassandra outage in 3 restarts");

    // Everything reaches Cassandra; then the reference reads the same topics undisturbed.
    let expected_bars = (TICKERS * DAYS) as f64;
    wait_for("the extractor to store every bar", Duration::from_secs(120), || {
        extractor.metric("pricestream_extractor_bars_written_total") == Some(expected_bars)
    })?;
    let status = extractor.stop()?;
    assert!(status.success(), "the extractor exited {status}:\n{}", extractor.log_tail(30));
    let reference = ns.own_mart("reference");
    analytics_to_end(1, &reference)?;
    let session = cassandra::session().await?;
    let want = snapshot::mart(&session, &reference.mart_keyspace).await?;
    assert_eq!(want.len(), TICKERS * DAYS, "the reference holds one row per bar");
    for keyspace in [&single.mart_keyspace, &pair.mart_keyspace] {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut got = snapshot::mart(&session, keyspace).await?;
        while got != want && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(1)).await;
            got = snapshot::mart(&session, keyspace).await?;
        }
        let differences = snapshot::differences(&got, &want, 5);
        assert!(
            differences.is_empty(),
            "{keyspace}: {} rows, want {}:\n{}\n{}",
            got.len(),
            want.len(),
            differences.join("\n"),
            where_they_wait([&single_service].into_iter().chain(cluster.iter()))
        );
    }
    // No forecast lost or changed either: the same versions, trained on the same rows, made
    // every forecast (the services may still be training the last ones: wait for them).
    for keyspace in [&single.mart_keyspace, &pair.mart_keyspace] {
        let deadline = Instant::now() + Duration::from_secs(180);
        let (mut differences, models, predictions) =
            snapshot::model_differences(&session, keyspace, &reference.mart_keyspace).await?;
        while !differences.is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(1)).await;
            differences = snapshot::model_differences(&session, keyspace, &reference.mart_keyspace).await?.0;
        }
        assert!(
            models >= TICKERS && predictions >= TICKERS,
            "the reference: {models} models, {predictions} predictions"
        );
        assert!(differences.is_empty(), "{keyspace}:\n{}", differences.join("\n"));
        eprintln!(
            "{keyspace}: {models} model versions and {predictions} predictions equal to the reference's"
        );
    }
    for service in [&mut single_service].into_iter().chain(cluster.iter_mut()) {
        let status = service.stop()?;
        assert!(status.success(), "{} exited {status}:\n{}", service.name, service.log_tail(30));
    }

    // The changelog (every deployment writes it) read as a table holds every row.
    let folded = kafka::changelog_table(&format!("{}features", ns.topic_prefix))?;
    assert_eq!(folded.len(), TICKERS * DAYS);

    // Cassandra: every bar as in the input, every indicator value, each exactly once.
    cassandra::assert_warehouse_holds_lake(&session, &ns.dwh_keyspace, &generated, DAYS).await?;
    // Kafka: every bar at least once (a batch retried after an outage may be there twice).
    let published: BTreeSet<(String, String)> = kafka::read_topic(&ns.bars_topic())?
        .iter()
        .map(|m| wire::decode::<Bar>(&m.payload).map(|b| (b.ticker.to_string(), b.datetime.to_string())))
        .collect::<Result<_, _>>()?;
    assert_eq!(published.len(), TICKERS * DAYS);

    let (median, max) = median_and_max(&back_to_first_row);
    eprintln!(
        "faults injected: 3 Kafka restarts, 3 Cassandra restarts; outages seen: {kafka_outages} Kafka, {cassandra_outages} Cassandra; \
         stalled consumers restarted: {fetcher_restarts}; stuck commits sent again: {commit_restarts}; rows lost: 0; first new mart row after a service was back: median {median:.1} s, max {max:.1} s"
    );
    cassandra::drop_keyspaces(
        &session,
        &[&ns.dwh_keyspace, &single.mart_keyspace, &pair.mart_keyspace, &reference.mart_keyspace],
    )
    .await;
    Ok(())
}

/// Each service's last log lines and thread stacks: a service that stopped short shows where.
fn where_they_wait<'a>(services: impl Iterator<Item = &'a Running>) -> String {
    let each = |s: &Running| format!("{}:\n{}\nthreads:\n{}", s.name, s.log_tail(25), s.thread_stacks());
    services.map(each).collect::<Vec<_>>().join("\n")
}
