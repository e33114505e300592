//! The extractor killed with SIGKILL in the middle of a backfill, then the same backfill run
//! again: Cassandra holds every bar and indicator value of the input exactly once, and Kafka
//! every one of them at least once, with no gap.

use pricestream_records::wire;
use pricestream_records::{Bar, IndicatorRecord};
use pricestream_tests::faults::Running;
use pricestream_tests::talib::DEFAULT_LOOKBACKS;
use pricestream_tests::{Lake, cassandra, kafka, run_ok};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const TICKERS: usize = 30;
const DAYS: usize = 600;

async fn stored_bars(session: &scylla::client::session::Session, keyspace: &str) -> i64 {
    let cql = format!("SELECT COUNT(*) FROM {keyspace}.time_series_history");
    let Ok(result) = session.query_unpaged(cql, ()).await else { return 0 };
    result.into_rows_result().ok().and_then(|rows| rows.single_row::<(i64,)>().ok()).map_or(0, |(n,)| n)
}

#[tokio::test]
async fn a_backfill_killed_mid_way_and_run_again_leaves_everything_exactly_once() -> anyhow::Result<()> {
    let lake = Lake::generate(TICKERS, DAYS, None)?;
    let (ns, dir, data_arg) = (&lake.ns, &lake.dir, lake.data_arg());
    // Small batches: the kill lands between many acknowledged batches.
    let config = dir.path().join("small-batches.toml");
    std::fs::write(&config, "[extract]\nbatch_max_rows = 200\n")?;
    let config_arg = config.to_str().unwrap_or_default();
    let backfill = ["--config", config_arg, "backfill", "--input", data_arg, "--no-progress", "--lanes", "1"];
    let mut first = Running::start("backfill", "pricestream-extractor", &backfill, ns, &[], dir.path())?;

    let session = cassandra::session().await?;
    let total = (TICKERS * DAYS) as i64;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut at_kill = 0;
    while Instant::now() < deadline {
        at_kill = stored_bars(&session, &ns.dwh_keyspace).await;
        if at_kill >= total / 5 {
            break;
        }
        first.assert_running()?;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.child.kill()?;
    first.child.wait()?;
    let after_kill = stored_bars(&session, &ns.dwh_keyspace).await;
    assert!(
        at_kill >= total / 5 && after_kill < total,
        "the kill must land mid-way: {after_kill} of {total} bars stored"
    );
    eprintln!("killed with {after_kill} of {total} bars stored");

    let rerun = run_ok("pricestream-extractor", &backfill[..backfill.len() - 2], ns)?;
    eprintln!("{}", String::from_utf8_lossy(&rerun.stdout));

    // Cassandra: every bar as in the input, every indicator value, nothing more.
    let expected_bars =
        cassandra::assert_warehouse_holds_lake(&session, &ns.dwh_keyspace, &lake.data, DAYS).await?;
    assert_eq!(stored_bars(&session, &ns.dwh_keyspace).await, total);

    // Kafka: every bar and every indicator value at least once, none missing.
    let bars: BTreeSet<(String, String)> = kafka::read_topic(&ns.bars_topic())?
        .iter()
        .map(|m| wire::decode::<Bar>(&m.payload).map(|b| (b.ticker.to_string(), b.datetime.to_string())))
        .collect::<Result<_, _>>()?;
    assert_eq!(bars, expected_bars, "bars on Kafka");
    let values: BTreeSet<(String, String, &'static str)> = kafka::read_topic(&ns.indicators_topic())?
        .iter()
        .map(|m| {
            wire::decode::<IndicatorRecord>(&m.payload)
                .map(|v| (v.ticker.to_string(), v.datetime.to_string(), v.value.kind().as_str()))
        })
        .collect::<Result<_, _>>()?;
    let lookback_total: usize = DEFAULT_LOOKBACKS.iter().map(|(_, lookback)| DAYS - lookback).sum();
    assert_eq!(values.len(), TICKERS * lookback_total, "indicator values on Kafka");
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace]).await;
    Ok(())
}
