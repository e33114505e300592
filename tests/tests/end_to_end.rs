//! Generated bars → extractor → Kafka + Cassandra → analytics → mart, against
//! the real local services (`scripts/services up`).

use pricestream_records::wire;
use pricestream_records::{Bar, DeadLetter};
use pricestream_tests::{
    Namespace, analytics_to_end, cassandra, generate_lake, kafka, read_csv_naively, run_binary, run_ok,
};
use std::collections::{BTreeMap, BTreeSet};

const TICKERS: usize = 3;
const DAYS: usize = 60;

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The number after `label` on the summary line that starts with it.
fn count(summary: &str, label: &str) -> Option<usize> {
    let line = summary.lines().find(|line| line.trim_start().starts_with(label))?;
    line.trim_start()[label.len()..].split_whitespace().next()?.parse().ok()
}

#[tokio::test]
async fn generated_bars_flow_through_kafka_and_cassandra_into_the_mart() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    let out = dir.path().to_str().unwrap_or_default();
    generate_lake(out, 3, 60, Some(11), &ns)?;

    // What the files say, read without the extractor's code.
    let mut expected = BTreeMap::new();
    for index in 0..TICKERS {
        let ticker = format!("GEN{index:03}");
        let path = dir.path().join(format!("{}.csv", ticker.to_ascii_lowercase()));
        let rows = read_csv_naively(&path)?;
        assert_eq!(rows.len(), DAYS, "{}", path.display());
        expected.insert(ticker, rows);
    }

    // Three lanes: the tickers are computed and sent in parallel, each by one lane.
    let backfill = run_ok("pricestream-extractor", &["backfill", "--lanes", "3", "--input", out], &ns)?;
    let summary = stdout(&backfill);
    assert_eq!(count(&summary, "bars read"), Some(TICKERS * DAYS), "{summary}");
    assert_eq!(count(&summary, "bars written"), Some(TICKERS * DAYS), "{summary}");
    assert_eq!(count(&summary, "lines rejected"), Some(0), "{summary}");

    // Cassandra: every bar, exactly, all from one extraction run.
    let session = cassandra::session().await?;
    let mut task_numbers = BTreeSet::new();
    for (ticker, rows) in &expected {
        let stored = cassandra::bars(&session, &ns.dwh_keyspace, ticker).await?;
        assert_eq!(stored.len(), DAYS, "{ticker}");
        for (date, want) in rows {
            let (got, task) =
                stored.get(&date.parse()?).copied().unwrap_or_else(|| panic!("{ticker} {date} missing"));
            assert_eq!(got, *want, "{ticker} {date}");
            task_numbers.insert(task);
        }
    }
    assert_eq!(task_numbers.len(), 1);
    let task_number = task_numbers.first().copied().unwrap_or_default();
    assert!(!task_number.is_nil());

    // Indicators: one table per indicator, rows from the end of each lookback on (TA-Lib's
    // lookbacks with default periods); the SMA checked against a naive mean of the CSV closes.
    let lookbacks =
        [("sma", 19), ("ema", 19), ("rsi", 14), ("macd", 33), ("stoch", 8), ("bbands", 19), ("willr", 13)];
    let mut indicator_rows = 0;
    for (ticker, rows) in &expected {
        for (table, lookback) in lookbacks {
            let stored = cassandra::count_rows(&session, &ns.dwh_keyspace, table, ticker).await?;
            assert_eq!(stored, (DAYS - lookback) as i64, "{ticker} {table}");
            indicator_rows += DAYS - lookback;
        }
        let closes: Vec<f64> = rows.values().map(|bar| bar.ohlc[3]).collect();
        let dates: Vec<&String> = rows.keys().collect();
        let sma = cassandra::sma(&session, &ns.dwh_keyspace, ticker).await?;
        for end in 20..=DAYS {
            let naive = closes[end - 20..end].iter().sum::<f64>() / 20.0;
            let (period, stored) = sma[&dates[end - 1].parse()?];
            assert_eq!(period, 20);
            assert!(
                (stored - naive).abs() <= 1e-9 * naive.abs(),
                "{ticker} {}: {stored} vs {naive}",
                dates[end - 1]
            );
        }
    }
    assert_eq!(kafka::read_topic(&ns.indicators_topic())?.len(), indicator_rows);

    // Kafka: one message per bar, keyed by ticker, tagged with the run.
    let messages = kafka::read_topic(&ns.bars_topic())?;
    assert_eq!(messages.len(), TICKERS * DAYS);
    let mut partitions_of = BTreeMap::<String, BTreeSet<i32>>::new();
    for message in &messages {
        let bar: Bar = wire::decode(&message.payload)?;
        assert_eq!(message.key, bar.ticker);
        assert_eq!(bar.task_number, task_number);
        let want = expected[bar.ticker.as_str()][&bar.datetime.to_string()];
        assert_eq!(([bar.open, bar.high, bar.low, bar.close], bar.volume), (want.ohlc, want.volume));
        assert!(message.headers.contains(&("task_number".into(), task_number.to_string())));
        assert!(message.headers.contains(&("schema_version".into(), "1".into())));
        partitions_of.entry(message.key.clone()).or_default().insert(message.partition);
    }
    assert!(partitions_of.values().all(|p| p.len() == 1), "a ticker spans partitions: {partitions_of:?}");

    // A second backfill of the same files finds everything stored and sends nothing again.
    let again = stdout(&run_ok("pricestream-extractor", &["backfill", "--input", out], &ns)?);
    assert_eq!(count(&again, "bars unchanged"), Some(TICKERS * DAYS), "{again}");
    assert_eq!(count(&again, "bars written"), Some(0), "{again}");
    assert_eq!(count(&again, "indicator values"), Some(0), "{again}");
    assert_eq!(kafka::read_topic(&ns.bars_topic())?.len(), TICKERS * DAYS);

    // Analytics: Kafka → timely/differential → one mart row per bar, with two workers: the bar
    // joined with its indicators, its row number and the close two bars later.
    analytics_to_end(2, &ns)?;
    for (ticker, rows) in &expected {
        let mart = cassandra::features(&session, &ns.mart_keyspace, ticker).await?;
        let dates: Vec<String> = mart.iter().map(|row| row.0.to_string()).collect();
        assert_eq!(dates, rows.keys().cloned().collect::<Vec<_>>(), "{ticker}");
        let closes: Vec<f64> = rows.values().map(|bar| bar.ohlc[3]).collect();
        let sma = cassandra::sma(&session, &ns.dwh_keyspace, ticker).await?;
        for (index, (date, id, close, ema, mart_sma, label)) in mart.into_iter().enumerate() {
            assert_eq!(close, closes[index], "{ticker} {date}");
            assert_eq!(id, Some(index as i64 + 1), "{ticker} {date}: row number");
            assert_eq!(label, closes.get(index + 2).copied(), "{ticker} {date}: label = close 2 bars later");
            assert_eq!(mart_sma, sma.get(&date).map(|(_, value)| *value), "{ticker} {date}: sma joined");
            assert_eq!(ema.is_some(), index >= 19, "{ticker} {date}: ema only after its lookback");
        }
    }

    // Offsets were committed: a second run rebuilds its state from them and has nothing to write.
    let again = analytics_to_end(1, &ns)?;
    assert!(
        stdout(&again)
            .contains("state from 180 stored bar(s), processed 0 new bar(s) into 0 feature row update(s)"),
        "{}",
        stdout(&again)
    );

    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace, &ns.mart_keyspace]).await;
    Ok(())
}

#[tokio::test]
async fn a_malformed_line_is_reported_by_file_and_line_and_the_rest_is_stored() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("bad-sample.csv"),
        "Date,Open,High,Low,Close,Adj Close,Volume\n\
         2024-01-02,10,11,9,10.5,10.5,100\n\
         2024-01-03,10,11,9,10.7,10.7,200\n\
         2024-01-04,10,eleven,9,10.5,10.5,300\n\
         2024-01-05,10,11,9,10.1,10.1,400\n",
    )?;
    let out = dir.path().to_str().unwrap_or_default();
    let backfill = run_ok("pricestream-extractor", &["backfill", "--input", out], &ns)?;
    let stderr = String::from_utf8_lossy(&backfill.stderr);
    assert!(stderr.contains("bad-sample.csv:4: High `eleven` is not a number"), "{stderr}");
    assert_eq!(count(&stdout(&backfill), "lines rejected"), Some(1), "{}", stdout(&backfill));

    let session = cassandra::session().await?;
    let stored = cassandra::bars(&session, &ns.dwh_keyspace, "BAD").await?;
    let dates: Vec<String> = stored.keys().map(ToString::to_string).collect();
    assert_eq!(dates, ["2024-01-02", "2024-01-03", "2024-01-05"]);
    assert_eq!(kafka::read_topic(&ns.bars_topic())?.len(), 3);

    // The refused line is kept whole on the dead-letter topic.
    let letters = kafka::read_topic(&ns.dead_letter_topic())?;
    assert_eq!(letters.len(), 1);
    let letter: DeadLetter = wire::decode(&letters[0].payload)?;
    assert!(letter.source.ends_with("bad-sample.csv"), "{letter:?}");
    assert_eq!(letter.line, Some(4));
    assert_eq!(letter.reason, "bad_number");
    assert_eq!(letter.raw, "2024-01-04,10,eleven,9,10.5,10.5,300");
    assert!(!letter.task_number.is_nil());
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace]).await;
    Ok(())
}

#[test]
fn an_invalid_config_lists_every_problem_and_starts_nothing() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[kafka]\ntopic_partitions = 0\n[cassandra]\nmax_in_flight_requests = 0\n")?;
    let config = config.to_str().unwrap_or_default();
    for binary in ["pricestream-extractor", "pricestream-analytics"] {
        let args: &[&str] = if binary == "pricestream-extractor" {
            &["--config", config, "backfill", "--input", "."]
        } else {
            &["--config", config, "run"]
        };
        let output = run_binary(binary, args, &ns)?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{binary}");
        assert!(stderr.contains("2 problem(s)"), "{binary}: {stderr}");
        assert!(stderr.contains("`kafka.topic_partitions` must be >= 1, got 0"), "{binary}: {stderr}");
        assert!(stderr.contains("`cassandra.max_in_flight_requests` must be >= 1"), "{binary}: {stderr}");
    }
    Ok(())
}

#[test]
fn every_command_has_help() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    for (binary, command, mentions) in [
        ("pricestream-extractor", "backfill", "--input"),
        ("pricestream-extractor", "generate", "--seed"),
        ("pricestream-analytics", "run", "--exit-at-end"),
    ] {
        let output = run_ok(binary, &[command, "--help"], &ns)?;
        assert!(stdout(&output).contains(mentions), "{binary} {command}");
    }
    Ok(())
}
