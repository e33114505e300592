//! The analytics service as a long-running process: health, readiness and
//! metrics over HTTP, new input picked up while it runs, clean stop on SIGTERM.

use pricestream_tests::{
    Namespace, binary, cassandra, free_port, generate_lake, http_get, metric, run_ok, stop_gracefully,
    wait_for, wait_for_ok,
};
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test]
async fn serves_health_and_metrics_follows_new_bars_and_stops_on_sigterm() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    let out = dir.path().to_str().unwrap_or_default();
    generate_lake(out, 2, 30, None, &ns)?;
    run_ok("pricestream-extractor", &["backfill", "--input", out], &ns)?;

    let port = free_port()?;
    let log = tempfile::NamedTempFile::new()?;
    let mut service = Command::new(binary("pricestream-analytics")?)
        .args(["run", "--workers", "2"])
        .envs(ns.env())
        .env("PRICESTREAM_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(log.reopen()?)
        .spawn()?;

    let result = async {
        wait_for_ok(port, "/healthz", Duration::from_secs(30))?;
        wait_for_ok(port, "/readyz", Duration::from_secs(30))?;
        let rows_written = || metric(port, "pricestream_analytics_feature_rows_written_total");
        wait_for("60 rows written", Duration::from_secs(30), || rows_written().is_some_and(|n| n >= 60.0))?;

        // New bars published while the service runs reach the mart too.
        let more = tempfile::tempdir()?;
        let more_dir = more.path().to_str().unwrap_or_default();
        run_ok(
            "pricestream-extractor",
            &[
                "generate",
                "--tickers",
                "1",
                "--days",
                "40",
                "--seed",
                "5",
                "--start",
                "2016-01-04",
                "--out",
                more_dir,
            ],
            &ns,
        )?;
        run_ok("pricestream-extractor", &["backfill", "--input", more_dir], &ns)?;
        let session = cassandra::session().await?;
        let mut counts = (0, 0);
        for _ in 0..150 {
            counts = (
                cassandra::features(&session, &ns.mart_keyspace, "GEN000").await?.len(),
                cassandra::features(&session, &ns.mart_keyspace, "GEN001").await?.len(),
            );
            if counts == (70, 30) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(counts, (70, 30), "rows in the mart per ticker");
        // Rows are visible in Cassandra before the whole epoch (changelog, predictions) is
        // acknowledged and counted.
        wait_for("100 rows counted", Duration::from_secs(30), || rows_written().is_some_and(|n| n >= 100.0))?;

        // Records in by topic, latencies and lag: present, labelled, and counting this run.
        let (_, body) = http_get(port, "/metrics").unwrap_or_default();
        let value = |series: &str| -> f64 {
            body.lines()
                .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
                .unwrap_or(-1.0)
        };
        let bars_in =
            format!("pricestream_analytics_records_consumed_total{{topic=\"{}\"}}", ns.bars_topic());
        assert_eq!(value(&bars_in), 100.0, "{body}");
        let indicators_in =
            format!("pricestream_analytics_records_consumed_total{{topic=\"{}\"}}", ns.indicators_topic());
        assert!(value(&indicators_in) > 100.0, "{body}");
        for histogram in ["cassandra_write_seconds", "changelog_publish_seconds", "end_to_end_seconds"] {
            assert!(value(&format!("pricestream_analytics_{histogram}_count")) > 0.0, "{histogram}: {body}");
        }
        // The lag is measured off the workers' threads, every 5 s: the first answer may be late.
        wait_for("the consumer lag of partition 0", Duration::from_secs(30), || {
            http_get(port, "/metrics")
                .is_some_and(|(_, body)| body.contains("pricestream_analytics_consumer_lag{partition=\"0\""))
        })?;
        cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace, &ns.mart_keyspace]).await;
        anyhow::Ok(())
    }
    .await;

    let status = stop_gracefully(&mut service);
    let stderr = std::fs::read_to_string(log.path()).unwrap_or_default();
    result.map_err(|e| e.context(format!("service stderr:\n{stderr}")))?;
    let status = status?;
    assert!(status.success(), "service exited with {status}:\n{stderr}");
    Ok(())
}
