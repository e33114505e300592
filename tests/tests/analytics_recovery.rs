//! Crash and restart: the analytics service killed with SIGKILL, then stopped with SIGTERM,
//! each in the middle of a backfill, then restarted, ends in exactly the mart, the predictions
//! and the stored model versions (every cell, bit for bit) of a run that was never
//! interrupted, its changelog folds to the same mart, and its history holds each version once.

use pricestream_tests::{
    Lake, Namespace, analytics_config, analytics_to_end, binary, cassandra, free_port, kafka, metric,
    snapshot, stop_gracefully, wait_for,
};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

const TICKERS: usize = 20;
const DAYS: usize = 500;

/// Starts the service on a free port with small epochs, so that a kill lands mid-backfill.
fn start_small_epochs(
    ns: &Namespace,
    config: &std::path::Path,
) -> anyhow::Result<(std::process::Child, u16)> {
    let port = free_port()?;
    let child = Command::new(binary("pricestream-analytics")?)
        .args(["--config", config.to_str().unwrap_or_default(), "run", "--workers", "2"])
        .envs(ns.env())
        .env("PRICESTREAM_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok((child, port))
}

#[tokio::test]
async fn a_killed_service_restarts_into_the_uninterrupted_mart() -> anyhow::Result<()> {
    let lake = Lake::generate(TICKERS, DAYS, None)?;
    lake.backfill()?;
    let (ns, dir) = (&lake.ns, &lake.dir);

    // The reference: the same input, one uninterrupted run, into its own keyspace.
    let reference = ns.own_mart("ref");
    analytics_to_end(2, &reference)?;

    // The model settings of the reference run (analytics_to_end), with small epochs.
    let config = analytics_config(dir.path(), "small-epochs.toml", "[consumer]\nepoch_max_records = 300\n")?;
    let total = (TICKERS * DAYS) as f64;
    // First a SIGKILL (no chance to finish anything), then a SIGTERM (must finish the epoch,
    // commit and exit 0 promptly), each in the middle of the backfill.
    for (round, fraction, graceful) in [(1, 0.2, false), (2, 0.5, true)] {
        let (mut service, port) = start_small_epochs(ns, &config)?;
        let rows = || metric(port, "pricestream_analytics_feature_rows_written_total");
        let reached = wait_for("rows to be written", Duration::from_secs(120), || {
            rows().is_some_and(|n| n >= fraction * total)
        });
        let written_at_stop = rows();
        if graceful {
            let status = stop_gracefully(&mut service)?;
            assert!(status.success(), "SIGTERM must end the service cleanly, got {status}");
        } else {
            service.kill()?;
            service.wait()?;
        }
        reached?;
        eprintln!("round {round}: stopped (graceful: {graceful}) after {written_at_stop:?} row writes");
    }
    let restarted = analytics_to_end(2, ns)?;
    eprintln!("{}", String::from_utf8_lossy(&restarted.stdout));

    let session = cassandra::session().await?;
    let got = snapshot::mart(&session, &ns.mart_keyspace).await?;
    let want = snapshot::mart(&session, &reference.mart_keyspace).await?;
    assert_eq!(want.len(), TICKERS * DAYS, "the reference run must hold one row per bar");
    let differences = snapshot::differences(&got, &want, 5);
    assert!(differences.is_empty(), "{} rows, want {}:\n{}", got.len(), want.len(), differences.join("\n"));
    // The same versions trained on the same rows, and every forecast made by the same one.
    let (differences, models, predictions) =
        snapshot::model_differences(&session, &ns.mart_keyspace, &reference.mart_keyspace).await?;
    assert!(
        models >= TICKERS && predictions >= TICKERS,
        "the reference: {models} models, {predictions} predictions"
    );
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    eprintln!("{models} model versions and {predictions} predictions equal to the uninterrupted run's");

    // The history: every row's newest version is its mart row, and no version follows one of
    // the same content (the crashed epochs' versions written again by the recovery).
    let history = snapshot::history(&session, &ns.mart_keyspace).await?;
    let newest: BTreeMap<String, String> = history
        .iter()
        .filter_map(|(key, versions)| Some((key.clone(), versions.last()?.1.clone()?)))
        .collect();
    let mart = snapshot::mart_values(&session, &ns.mart_keyspace).await?;
    let differences = snapshot::differences(&newest, &mart, 5);
    assert!(differences.is_empty(), "newest history versions vs the mart:\n{}", differences.join("\n"));
    for (key, versions) in &history {
        for pair in versions.windows(2) {
            assert_ne!(
                pair[0].1, pair[1].1,
                "{key}: the same version twice, at {} and {}",
                pair[0].0, pair[1].0
            );
        }
    }
    let versions: usize = history.values().map(Vec::len).sum();
    eprintln!("{versions} history versions of {} rows, none repeated", history.len());

    // The changelog (both runs write it) read as a table gives the same rows.
    let folded = kafka::changelog_table(&format!("{}features", ns.topic_prefix))?;
    assert_eq!(folded.len(), TICKERS * DAYS);
    let closes: BTreeMap<String, (Option<i64>, f64, Option<f64>)> =
        folded.into_iter().map(|(key, row)| (key, (row.id, row.close, row.label))).collect();
    let mut from_mart = BTreeMap::new();
    for ticker in closes.keys().filter_map(|k| k.split('|').next()).collect::<std::collections::BTreeSet<_>>()
    {
        for (date, id, close, _, _, label) in cassandra::features(&session, &ns.mart_keyspace, ticker).await?
        {
            from_mart.insert(format!("{ticker}|1day|{date}"), (id, close, label));
        }
    }
    assert!(closes == from_mart, "the folded changelog differs from the mart");

    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace, &ns.mart_keyspace, &reference.mart_keyspace])
        .await;
    Ok(())
}
