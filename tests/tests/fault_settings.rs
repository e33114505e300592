//! What a commit records beyond the offset: the row-shaping settings (a start with another
//! `features.horizon_bars` rewrites every label and deletes rows that no longer exist), the
//! fencing generation (an older incarnation stops once a newer one started), and its age (an
//! idle service commits again, so Kafka never expires its offsets).

use chrono::NaiveDate;
use pricestream_tests::faults::Running;
use pricestream_tests::{
    Lake, Namespace, analytics_to_end, cassandra, generate_lake, kafka, read_csv_naively, run_ok, wait_for,
};
use std::path::Path;
use std::time::{Duration, Instant};

const DAYS: usize = 150;

/// Checks every label of the mart against the input: the close `horizon` bars later.
async fn labels_follow(ns: &Namespace, generated: &Path, horizon: usize) -> anyhow::Result<()> {
    let session = cassandra::session().await?;
    for entry in std::fs::read_dir(generated)? {
        let path = entry?.path();
        let ticker = path.file_stem().unwrap_or_default().to_string_lossy().to_ascii_uppercase();
        let closes: Vec<(String, f64)> =
            read_csv_naively(&path)?.into_iter().map(|(date, bar)| (date, bar.ohlc[3])).collect();
        let rows = cassandra::features(&session, &ns.mart_keyspace, &ticker).await?;
        assert_eq!(rows.len(), closes.len(), "{ticker}");
        for ((date, _), (row_date, ..)) in closes.iter().zip(&rows) {
            assert_eq!(date.parse::<NaiveDate>()?, *row_date);
        }
        for (i, (_, _, _, _, _, label)) in rows.iter().enumerate() {
            let want = closes.get(i + horizon).map(|(_, close)| *close);
            assert_eq!(*label, want, "{ticker} {}: label with horizon {horizon}", rows[i].0);
        }
    }
    Ok(())
}

#[tokio::test]
async fn another_horizon_rewrites_every_label_and_deletes_vanished_rows() -> anyhow::Result<()> {
    let lake = Lake::generate(3, DAYS, None)?;
    lake.backfill()?;
    let Lake { ns, dir, data: generated } = lake;
    analytics_to_end(2, &ns)?;
    labels_follow(&ns, &generated, 2).await?;

    // A row no bar makes (left by an older release), in a series the service owns and in one it
    // never saw.
    let session = cassandra::session().await?;
    for (ticker, date) in [("GEN000", "2099-01-04"), ("GONE", "2020-01-02")] {
        let cql = format!(
            "INSERT INTO {}.features (ticker, timeframe, datetime, close) VALUES (?, '1day', ?, 1.0)",
            ns.mart_keyspace
        );
        session.query_unpaged(cql, (ticker, date.parse::<NaiveDate>()?)).await?;
    }
    let five = dir.path().join("horizon-5.toml");
    // The test model settings (pricestream_tests::TEST_MODEL_SETTINGS) at horizon 5.
    std::fs::write(
        &five,
        "[features]\nhorizon_bars = 5\n\n[model]\nhorizon_bars = 5\nn_estimators = 10\nmax_depth = 3\nthreads = 1\n\n\
         [serving]\nretrain_every_rows = 100\n",
    )?;
    let five_arg = five.to_str().unwrap_or_default();
    let rewrite = run_ok(
        "pricestream-analytics",
        &["--config", five_arg, "run", "--workers", "2", "--exit-at-end"],
        &ns,
    )?;
    let log = String::from_utf8_lossy(&rewrite.stderr);
    assert!(log.contains("rewriting every row"), "the settings change was not noticed:\n{log}");
    labels_follow(&ns, &generated, 5).await?;
    let keys = cassandra::mart_keys(&session, &ns.mart_keyspace).await?;
    assert_eq!(keys.len(), 3 * DAYS, "the rows no bar makes must be deleted");
    assert!(keys.iter().all(|(ticker, _)| ticker != "GONE"));
    // The deletions reach the changelog as tombstones (the key with a null value): compaction
    // drops those keys, and a reader of the topic as a table (Kafka Connect sinks, Flink's
    // upsert-kafka, ksqlDB tables) drops them too.
    let changelog = format!("{}features", ns.topic_prefix);
    let messages = kafka::read_topic(&changelog)?;
    for key in ["GEN000|1day|2099-01-04", "GONE|1day|2020-01-02"] {
        let last = messages.iter().rev().find(|m| m.key == key);
        assert!(last.is_some_and(|m| m.tombstone && m.payload.is_empty()), "{key}: {last:?}");
    }
    let table = kafka::changelog_table(&changelog)?;
    let table_keys: std::collections::BTreeSet<String> = table.keys().cloned().collect();
    let mart_keys: std::collections::BTreeSet<String> =
        keys.iter().map(|(ticker, date)| format!("{ticker}|1day|{date}")).collect();
    assert_eq!(table_keys, mart_keys, "the changelog read as a table is the mart");
    // The Python example reads the same table into pandas, tombstones dropped.
    let closes: std::collections::BTreeMap<String, f64> =
        table.iter().map(|(key, row)| (key.clone(), row.close)).collect();
    assert_eq!(
        python_table(&changelog)?,
        closes,
        "examples/python/features_table.py disagrees with the mart"
    );

    // The same settings again: nothing to rewrite.
    let again = run_ok(
        "pricestream-analytics",
        &["--config", five_arg, "run", "--workers", "2", "--exit-at-end"],
        &ns,
    )?;
    assert!(!String::from_utf8_lossy(&again.stderr).contains("rewriting every row"));
    labels_follow(&ns, &generated, 5).await?;
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace, &ns.mart_keyspace]).await;
    Ok(())
}

/// The mart as `examples/python/features_table.py` reads it from `topic` (its CSV output):
/// the close of every row by its Kafka key.
fn python_table(topic: &str) -> anyhow::Result<std::collections::BTreeMap<String, f64>> {
    let dir = tempfile::tempdir()?;
    let csv = dir.path().join("mart.csv");
    let python = std::env::var("PRICESTREAM_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = std::process::Command::new(python)
        .arg(pricestream_tests::repo_paths::repo_root().join("examples/python/features_table.py"))
        .args(["--brokers", &pricestream_tests::kafka_brokers(), "--topic", topic, "--csv"])
        .arg(&csv)
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "features_table.py failed ({}): {}",
        pricestream_tests::repo_paths::INSTALL_HINT,
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&csv)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let column = |name: &str| {
        header.iter().position(|c| *c == name).ok_or_else(|| anyhow::anyhow!("no {name} column"))
    };
    let (ticker, timeframe, date, close) =
        (column("ticker")?, column("timeframe")?, column("dateTime")?, column("close")?);
    let mut table = std::collections::BTreeMap::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let key = format!("{}|{}|{}", cells[ticker], cells[timeframe], cells[date]);
        table.insert(key, cells[close].parse::<f64>()?);
    }
    Ok(table)
}

#[tokio::test]
async fn an_older_incarnation_is_fenced_and_an_idle_one_keeps_its_offsets_fresh() -> anyhow::Result<()> {
    // 100 days first, then the same series grown to 120.
    let lake = Lake::generate(2, 100, Some(5))?;
    lake.backfill()?;
    let Lake { ns, dir, .. } = lake;
    let more = dir.path().join("more");
    let more_arg = more.to_str().unwrap_or_default();
    generate_lake(more_arg, 2, 120, Some(5), &ns)?;
    let config = dir.path().join("refresh.toml");
    std::fs::write(&config, "[consumer]\ncommit_refresh_ms = 1000\n")?;
    let config_arg = config.to_str().unwrap_or_default();
    let args = ["--config", config_arg, "run", "--workers", "2"];

    // Idle, it commits again every second.
    let mut old = Running::analytics("analytics-old", &args, &ns, dir.path())?;
    wait_for("the first incarnation", Duration::from_secs(120), || old.status_of("/readyz") == Some(200))?;
    let commits = |s: &Running| s.metric("pricestream_analytics_offset_commits_total").unwrap_or(0.0);
    let idle_from = commits(&old);
    std::thread::sleep(Duration::from_millis(3500));
    let idle_commits = commits(&old) - idle_from;
    assert!(idle_commits >= 4.0, "two workers idle for 3.5 s committed {idle_commits} time(s)");
    let old_generation = old.metric("pricestream_analytics_generation").unwrap_or(0.0);

    // A second incarnation of the same consumer group takes over; new input reaches both, and
    // the old one stops before it commits or writes it.
    let mut new = Running::analytics("analytics-new", &args, &ns, dir.path())?;
    wait_for("the second incarnation", Duration::from_secs(120), || new.status_of("/readyz") == Some(200))?;
    assert_eq!(new.metric("pricestream_analytics_generation"), Some(old_generation + 1.0));
    run_ok("pricestream-extractor", &["backfill", "--input", more_arg], &ns)?;
    let fenced = Instant::now();
    let status = old.wait_exit(Duration::from_secs(60))?;
    assert!(status.is_some_and(|s| !s.success()), "the old incarnation must stop with an error: {status:?}");
    assert!(old.log_text().contains("fenced: a newer incarnation"), "{}", old.log_tail(20));
    eprintln!("the old incarnation stopped {:.1} s after the new input", fenced.elapsed().as_secs_f64());
    let session = cassandra::session().await?;
    // It replayed 2 x 100 bars and reads the 2 x 20 new ones.
    wait_for("the new incarnation to read the new days", Duration::from_secs(60), || {
        new.metric("pricestream_analytics_bars_consumed_total").unwrap_or(0.0) >= 240.0
    })?;
    new.assert_running()?;
    let status = new.stop()?;
    assert!(status.success(), "{status}:\n{}", new.log_tail(20));
    assert_eq!(cassandra::mart_keys(&session, &ns.mart_keyspace).await?.len(), 2 * 120);
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace, &ns.mart_keyspace]).await;
    Ok(())
}

#[tokio::test]
async fn new_indicator_periods_restate_every_stored_value_and_the_mart() -> anyhow::Result<()> {
    const PERIOD: usize = 30;
    let lake = Lake::generate(2, 120, None)?;
    lake.backfill()?;
    let Lake { ns, dir, data: generated } = lake;
    let data_arg = generated.to_str().unwrap_or_default();
    analytics_to_end(2, &ns)?;

    // A longer SMA: days 20 to 29 fall inside the lookback and must lose their SMA(20).
    let longer = dir.path().join("sma-30.toml");
    std::fs::write(&longer, format!("[indicators]\nsma_period = {PERIOD}\n"))?;
    let longer_arg = longer.to_str().unwrap_or_default();
    let again =
        run_ok("pricestream-extractor", &["--config", longer_arg, "backfill", "--input", data_arg], &ns)?;
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(log.contains("computed with other settings"), "the new periods were not noticed:\n{log}");
    analytics_to_end(2, &ns)?;

    let session = cassandra::session().await?;
    for entry in std::fs::read_dir(&generated)? {
        let path = entry?.path();
        let ticker = path.file_stem().unwrap_or_default().to_string_lossy().to_ascii_uppercase();
        let closes: Vec<(NaiveDate, f64)> = read_csv_naively(&path)?
            .into_iter()
            .map(|(date, bar)| Ok((date.parse()?, bar.ohlc[3])))
            .collect::<anyhow::Result<_>>()?;
        // The warehouse: SMA(30) from the 30th day on, the naive mean of 30 closes, nothing before.
        let stored = cassandra::sma(&session, &ns.dwh_keyspace, &ticker).await?;
        assert_eq!(stored.len(), closes.len() - (PERIOD - 1), "{ticker}: SMA rows");
        for end in PERIOD..=closes.len() {
            let naive = closes[end - PERIOD..end].iter().map(|(_, close)| close).sum::<f64>() / PERIOD as f64;
            let (period, sma) = stored[&closes[end - 1].0];
            assert_eq!(period, PERIOD as i32);
            assert!(
                (sma - naive).abs() <= 1e-9 * naive.abs(),
                "{ticker} {}: {sma} vs {naive}",
                closes[end - 1].0
            );
        }
        // The mart: the same values, and no SMA at all inside the new lookback.
        let mart = pricestream_tests::mart::features(&session, &ns.mart_keyspace, &ticker).await?;
        let column = |name: &str| pricestream_tests::mart::FEATURE_COLUMNS.iter().position(|c| *c == name);
        let (period_at, sma_at) = (column("smaTimePeriod").unwrap_or(0), column("sma").unwrap_or(0));
        for (i, (date, _)) in closes.iter().enumerate() {
            let cells = mart.get(date).ok_or_else(|| anyhow::anyhow!("{ticker} {date}: no mart row"))?;
            match stored.get(date) {
                Some((period, sma)) => {
                    assert_eq!(
                        (cells[period_at], cells[sma_at]),
                        (Some(f64::from(*period)), Some(*sma)),
                        "{ticker} {date}"
                    )
                }
                None => assert_eq!(
                    (cells[period_at], cells[sma_at]),
                    (None, None),
                    "{ticker} {date} (day {})",
                    i + 1
                ),
            }
        }
    }
    // The same settings again: nothing is sent again.
    let quiet =
        run_ok("pricestream-extractor", &["--config", longer_arg, "backfill", "--input", data_arg], &ns)?;
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("computed with other settings"));
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace, &ns.mart_keyspace]).await;
    Ok(())
}
