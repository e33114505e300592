//! Partition counts are not load-bearing: the input topics grow from 4 to 8 partitions between
//! two runs and under a running service, corrections are published after the growth (so a
//! ticker's versions sit in two partitions), and both marts equal the mart of the same input
//! through single-partition topics.

use pricestream_tests::faults::Running;
use pricestream_tests::{
    Namespace, analytics_to_end, cassandra, generate_lake, kafka_brokers, run_ok, snapshot, wait_for,
};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewPartitions};
use rdkafka::client::DefaultClientContext;
use std::path::Path;
use std::time::{Duration, Instant};

const TICKERS: usize = 6;
const DAYS: usize = 200;

/// Copies the generated files into `dir` with the close of days 50, 120 and the last raised by
/// 5 % (high raised with it where needed): corrections of bars already published.
fn corrected(generated: &Path, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    for entry in std::fs::read_dir(generated)? {
        let path = entry?.path();
        let text = std::fs::read_to_string(&path)?;
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        for day in [50, 120, DAYS] {
            let fields: Vec<f64> =
                lines[day].split(',').skip(1).map(|f| f.parse().unwrap_or(f64::NAN)).collect();
            let (open, high, low, close, volume) =
                (fields[0], fields[1], fields[2], fields[3] * 1.05, fields[5]);
            let date = lines[day].split(',').next().unwrap_or_default().to_owned();
            lines[day] = format!("{date},{open},{},{low},{close},{close},{volume}", high.max(close));
        }
        std::fs::write(dir.join(path.file_name().unwrap_or_default()), lines.join("\n") + "\n")?;
    }
    Ok(())
}

async fn grow(topics: &[String], partitions: usize) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", kafka_brokers()).create()?;
    let growth: Vec<NewPartitions<'_>> = topics.iter().map(|t| NewPartitions::new(t, partitions)).collect();
    for result in admin.create_partitions(&growth, &AdminOptions::new()).await? {
        result.map_err(|(topic, code)| anyhow::anyhow!("cannot grow {topic}: {code}"))?;
    }
    Ok(())
}

#[tokio::test]
async fn growing_partitions_between_runs_and_while_running_keeps_the_mart_exact() -> anyhow::Result<()> {
    let (ns, single) = (Namespace::unique(), Namespace::unique());
    let dir = tempfile::tempdir()?;
    let (generated, fixes) = (dir.path().join("generated"), dir.path().join("corrections"));
    let (generated_arg, fixes_arg) =
        (generated.to_str().unwrap_or_default(), fixes.to_str().unwrap_or_default());
    generate_lake(generated_arg, TICKERS, DAYS, None, &ns)?;
    corrected(&generated, &fixes)?;

    // The reference: the same input and corrections through one-partition topics.
    let one_partition = dir.path().join("one-partition.toml");
    std::fs::write(&one_partition, "[kafka]\ntopic_partitions = 1\n")?;
    let one_arg = one_partition.to_str().unwrap_or_default();
    for input in [generated_arg, fixes_arg] {
        run_ok("pricestream-extractor", &["--config", one_arg, "backfill", "--input", input], &single)?;
    }
    analytics_to_end(2, &single)?;

    // Four partitions, a first run, and a service that keeps running through the growth.
    run_ok("pricestream-extractor", &["backfill", "--input", generated_arg], &ns)?;
    analytics_to_end(2, &ns)?;
    let live = ns.own_mart("live");
    let fast_checks = dir.path().join("partition-checks.toml");
    std::fs::write(&fast_checks, "[consumer]\npartition_check_ms = 500\n")?;
    let checks_arg = fast_checks.to_str().unwrap_or_default();
    let mut service = Running::analytics(
        "analytics-live",
        &["--config", checks_arg, "run", "--workers", "2"],
        &live,
        dir.path(),
    )?;
    wait_for("the live service to read the four partitions", Duration::from_secs(120), || {
        service.status_of("/readyz") == Some(200)
    })?;
    grow(&[ns.bars_topic(), ns.indicators_topic()], 8).await?;
    run_ok("pricestream-extractor", &["backfill", "--input", fixes_arg], &ns)?;
    // The corrections really went to partitions the first run never read.
    let partitions: std::collections::BTreeSet<i32> =
        pricestream_tests::kafka::read_topic(&ns.bars_topic())?.iter().map(|m| m.partition).collect();
    assert!(partitions.iter().any(|p| *p >= 4), "no bar landed in a new partition: {partitions:?}");

    let session = cassandra::session().await?;
    let want = snapshot::mart(&session, &single.mart_keyspace).await?;
    assert_eq!(want.len(), TICKERS * DAYS);
    analytics_to_end(2, &ns)?;
    for keyspace in [&ns.mart_keyspace, &live.mart_keyspace] {
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut got = snapshot::mart(&session, keyspace).await?;
        while got != want && Instant::now() < deadline {
            service.assert_running()?;
            tokio::time::sleep(Duration::from_millis(500)).await;
            got = snapshot::mart(&session, keyspace).await?;
        }
        let differences = snapshot::differences(&got, &want, 5);
        assert!(differences.is_empty(), "{keyspace}: {}", differences.join("\n"));
    }
    assert!(service.log_text().contains("The input topics grew"), "the running service never saw the growth");
    let status = service.stop()?;
    assert!(status.success(), "{status}:\n{}", service.log_tail(20));
    cassandra::drop_keyspaces(
        &session,
        &[
            &ns.dwh_keyspace,
            &ns.mart_keyspace,
            &live.mart_keyspace,
            &single.dwh_keyspace,
            &single.mart_keyspace,
        ],
    )
    .await;
    Ok(())
}
