//! The mart's history and its query command, through the real services.
//!
//! NVDA arrives in two steps, each followed by the analytics service: first without one bar
//! (it comes late) and without its last days, then with that bar, its last days and one
//! corrected close. Then:
//! * `query features --as-of T`, for instants before, during, between and after the runs,
//!   equals a fold of the changelog topic up to T (each message carries the time it was known);
//! * `query features` without `--as-of` equals the mart;
//! * the Parquet export, read by pyarrow and pandas, has the documented names and types and
//!   every value of the Cassandra row.
//!
//! And a service killed right after writing an epoch, before committing it, restarts without
//! writing any version twice.

use pricestream_records::topics::KNOWN_FROM_HEADER;
use pricestream_records::{FeatureChange, FeatureRow, Prediction};
use pricestream_tests::{
    Namespace, analytics_config, analytics_to_end, binary, cassandra, kafka, read_parquet_with_pandas,
    run_ok, shared_market_data, snapshot,
};
use std::collections::BTreeMap;
use std::path::Path;

/// Bars of NVDA used: enough for every indicator's lookback and a few hundred rows.
const BARS: usize = 400;
/// The bar that arrives late, the one corrected, and the days held back in the first step.
const LATE: usize = 250;
const CORRECTED: usize = 300;
const HELD_BACK: usize = 15;

/// A row as a query or the changelog gives it, with the time it was known.
type Known = BTreeMap<String, (FeatureRow, i64)>;

/// The changelog folded up to `at`: each key's newest change known then; a tombstone deletes.
fn fold(messages: &[(i64, String, Option<FeatureRow>)], at: i64) -> Known {
    let mut table = Known::new();
    for (known_from, key, row) in messages.iter().filter(|(known_from, _, _)| *known_from <= at) {
        match row {
            Some(row) => table.insert(key.clone(), (row.clone(), *known_from)),
            None => table.remove(key),
        };
    }
    table
}

/// `pricestream-analytics query <what> --ticker NVDA … --format json`: each line's record and
/// the time in its `time_column` (0 without `--as-of`).
fn query_lines<T: serde::de::DeserializeOwned>(
    ns: &Namespace,
    what: &str,
    extra: &[&str],
    time_column: &str,
) -> anyhow::Result<Vec<(T, i64)>> {
    let mut args = vec!["query", what, "--ticker", "NVDA", "--format", "json"];
    args.extend_from_slice(extra);
    let output = run_ok("pricestream-analytics", &args, ns)?;
    let mut records = Vec::new();
    for line in String::from_utf8(output.stdout)?.lines() {
        let mut object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line)?;
        let known_from = match object.remove(time_column) {
            Some(serde_json::Value::String(text)) => {
                chrono::DateTime::parse_from_rfc3339(&text)?.timestamp_millis()
            }
            _ => 0,
        };
        records.push((serde_json::from_value(serde_json::Value::Object(object))?, known_from));
    }
    Ok(records)
}

/// `query <what>` of feature rows, keyed like the changelog.
fn query(ns: &Namespace, what: &str, extra: &[&str]) -> anyhow::Result<Known> {
    let rows = query_lines::<FeatureRow>(ns, what, extra, "knownFrom")?;
    Ok(rows
        .into_iter()
        .map(|(row, known_from)| {
            (FeatureChange::Upsert(Box::new(row.clone())).key().message_key(), (row, known_from))
        })
        .collect())
}

/// `query predictions`, keyed by as-of date.
fn query_predictions(ns: &Namespace, extra: &[&str]) -> anyhow::Result<BTreeMap<String, (Prediction, i64)>> {
    let forecasts = query_lines::<Prediction>(ns, "predictions", extra, "known_from")?;
    Ok(forecasts.into_iter().map(|(p, known_from)| (p.as_of.to_string(), (p, known_from))).collect())
}

/// Writes the first `bars` of NVDA's file, without the bar `skip` and with bar `corrected`'s
/// close moved to the middle of its range, into `dir`.
fn nvda(dir: &Path, bars: usize, skip: Option<usize>, corrected: Option<usize>) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(shared_market_data()?.join("nvda-1999-2014.csv"))?;
    let mut lines: Vec<String> = text.lines().take(bars + 1).map(str::to_owned).collect();
    if let Some(index) = corrected {
        let mut fields: Vec<String> = lines[index + 1].split(',').map(str::to_owned).collect();
        let (high, low): (f64, f64) = (fields[2].parse()?, fields[3].parse()?);
        fields[4] = format!("{}", (high + low) / 2.0);
        lines[index + 1] = fields.join(",");
    }
    if let Some(index) = skip {
        lines.remove(index + 1);
    }
    std::fs::write(dir.join("nvda-1999-2014.csv"), lines.join("\n") + "\n")?;
    Ok(())
}

#[tokio::test]
async fn as_of_reads_fold_the_changelog_and_exports_hold_the_mart() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let (first, second) = (tempfile::tempdir()?, tempfile::tempdir()?);
    nvda(first.path(), BARS - HELD_BACK, Some(LATE), None)?;
    nvda(second.path(), BARS, None, Some(CORRECTED))?;
    // Small epochs: each step is many epochs, each known from its own time.
    let config = analytics_config(first.path(), "small-epochs.toml", "[consumer]\nepoch_max_records = 50\n")?;
    let config = config.to_str().unwrap_or_default();
    for step in [&first, &second] {
        let input = step.path().to_str().unwrap_or_default();
        run_ok("pricestream-extractor", &["backfill", "--input", input], &ns)?;
        run_ok(
            "pricestream-analytics",
            &["--config", config, "run", "--workers", "2", "--exit-at-end"],
            &ns,
        )?;
    }

    // The changelog, each change with the time it was known (its header and its timestamp).
    let mut messages = Vec::new();
    for message in kafka::read_topic(&format!("{}features", ns.topic_prefix))? {
        let header = message.headers.iter().find(|(name, _)| name == KNOWN_FROM_HEADER);
        let known_from: i64 = header.map(|(_, value)| value.parse()).transpose()?.unwrap_or_default();
        anyhow::ensure!(known_from > 0, "a changelog message without {KNOWN_FROM_HEADER}: {}", message.key);
        let payload = (!message.tombstone).then_some(message.payload.as_slice());
        let row = match FeatureChange::from_message(&message.key, payload)? {
            FeatureChange::Upsert(row) => Some(*row),
            FeatureChange::Delete(_) => None,
        };
        messages.push((known_from, message.key, row));
    }
    // One key's changes are in one partition, in order; order them all by the time known.
    messages.sort_by_key(|(known_from, _, _)| *known_from);
    let times: Vec<i64> = messages.iter().map(|(known_from, _, _)| *known_from).collect();
    let (first_time, last_time) = (times[0], times[times.len() - 1]);
    // The second step's changes begin with the late bar's row.
    let late_date = std::fs::read_to_string(shared_market_data()?.join("nvda-1999-2014.csv"))?
        .lines()
        .nth(LATE + 1)
        .and_then(|line| line.split(',').next())
        .map(str::to_owned)
        .unwrap_or_default();
    let late_key = format!("NVDA|1day|{late_date}");
    let late_time = messages
        .iter()
        .find(|(_, key, _)| *key == late_key)
        .map(|(known_from, _, _)| *known_from)
        .ok_or_else(|| anyhow::anyhow!("no row for the late bar of {late_date}"))?;
    // The epoch that brought the late bar may have published other rows first.
    let step_two = times.partition_point(|time| *time < late_time);
    // The distinct times of each step: before, in the middle of and between the steps, after.
    let distinct = |times: &[i64]| {
        let mut times = times.to_vec();
        times.dedup();
        times
    };
    let (one, two) = (distinct(&times[..step_two]), distinct(&times[step_two..]));
    anyhow::ensure!(one.len() >= 3 && two.len() >= 2, "too few epochs: {} and {}", one.len(), two.len());
    let instants = [
        first_time - 1,
        one[one.len() / 2],
        one[one.len() - 1],
        two[0],
        two[two.len() / 2],
        last_time + 1_000,
    ];
    let mut seen = Vec::new();
    for at in instants {
        let instant = chrono::DateTime::from_timestamp_millis(at).map(|t| t.to_rfc3339()).unwrap_or_default();
        let got = query(&ns, "features", &["--as-of", &instant])?;
        let want = fold(&messages, at);
        assert_eq!(got.len(), want.len(), "as of {instant}: rows");
        for (key, (row, known_from)) in &want {
            let (got_row, got_known) =
                got.get(key).ok_or_else(|| anyhow::anyhow!("as of {instant}: {key} missing"))?;
            assert_eq!(got_row, row, "as of {instant}: {key}");
            assert_eq!(got_known, known_from, "as of {instant}: {key}'s knownFrom");
        }
        seen.push(want);
    }
    let counts: Vec<usize> = seen.iter().map(BTreeMap::len).collect();
    eprintln!("rows as of the six instants: {counts:?}");
    assert_eq!(counts[0], 0, "nothing before the first run");
    assert!(counts[1] > 0 && seen[1] != seen[2], "the middle of the first step is a state of its own");
    assert_eq!(counts[2], BARS - HELD_BACK - 1, "the first step's bars");
    assert!(seen[3] != seen[4] && seen[4] != seen[5], "the second step's epochs are states of their own");
    assert_eq!(counts[5], BARS);

    // The training set as of the end of the first step: its bars' rows, each labelled with the
    // close two bars later in the first step's file; no label of a bar that came after (the
    // late bar, the held-back days, the corrected close).
    let end_of_one = chrono::DateTime::from_timestamp_millis(one[one.len() - 1]).map(|t| t.to_rfc3339());
    let training = query(&ns, "training-set", &["--as-of", &end_of_one.unwrap_or_default()])?;
    let file = std::fs::read_to_string(first.path().join("nvda-1999-2014.csv"))?;
    let closes: Vec<(String, f64)> = file
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            Ok((fields[0].to_owned(), fields[4].parse()?))
        })
        .collect::<anyhow::Result<_>>()?;
    assert_eq!(training.len(), closes.len() - 2, "every bar of the first step but its last two");
    for (index, (date, _)) in closes[..closes.len() - 2].iter().enumerate() {
        let (row, _) = &training[&format!("NVDA|1day|{date}")];
        assert_eq!(row.label, Some(closes[index + 2].1), "the label of {date} as of the first step");
    }

    // Now: the current query, the history's last versions and the changelog agree with the mart.
    let now = query(&ns, "features", &[])?;
    let last = fold(&messages, i64::MAX);
    assert_eq!(now.keys().collect::<Vec<_>>(), last.keys().collect::<Vec<_>>());
    for (key, (row, _)) in &last {
        assert_eq!(&now[key].0, row, "{key} now");
    }
    let session = cassandra::session().await?;
    let mart = cassandra::features(&session, &ns.mart_keyspace, "NVDA").await?;
    assert_eq!(mart.len(), BARS);
    for (date, id, close, ema, sma, label) in mart {
        let (row, _) = &now[&format!("NVDA|1day|{date}")];
        assert_eq!((row.id, row.close, row.ema, row.sma, row.label), (id, close, ema, sma, label), "{date}");
    }

    // Forecasts: as of each instant, the predictions topic folded (the newest forecast per as-of
    // date known then); now, the table.
    let mut forecasts = Vec::new();
    for message in kafka::read_topic(&format!("{}predictions", ns.topic_prefix))? {
        let header = message.headers.iter().find(|(name, _)| name == KNOWN_FROM_HEADER);
        let known_from: i64 = header.map(|(_, value)| value.parse()).transpose()?.unwrap_or_default();
        anyhow::ensure!(known_from > 0, "a forecast without {KNOWN_FROM_HEADER}");
        forecasts.push((known_from, serde_json::from_slice::<Prediction>(&message.payload)?));
    }
    forecasts.sort_by_key(|(known_from, _)| *known_from);
    anyhow::ensure!(!forecasts.is_empty(), "the model stage made no forecast");
    for at in instants {
        let mut want: BTreeMap<String, (Prediction, i64)> = BTreeMap::new();
        for (known_from, forecast) in forecasts.iter().filter(|(known_from, _)| *known_from <= at) {
            want.insert(forecast.as_of.to_string(), (forecast.clone(), *known_from));
        }
        let instant = chrono::DateTime::from_timestamp_millis(at).map(|t| t.to_rfc3339()).unwrap_or_default();
        let got = query_predictions(&ns, &["--as-of", &instant])?;
        let differing: Vec<String> = want
            .keys()
            .chain(got.keys())
            .filter(|key| got.get(*key) != want.get(*key))
            .take(3)
            .map(|key| format!("{key}: got {:?}, want {:?}", got.get(key), want.get(key)))
            .collect();
        assert!(
            differing.is_empty(),
            "forecasts as of {instant} ({} vs {}): {differing:#?}",
            got.len(),
            want.len()
        );
    }
    let now = query_predictions(&ns, &[])?;
    let stored = snapshot::predictions(&session, &ns.mart_keyspace).await?;
    assert_eq!(now.len(), stored.len(), "every forecast in the table");
    for (as_of, (forecast, _)) in &now {
        let latest = forecasts.iter().rev().find(|(_, f)| f.as_of.to_string() == *as_of).map(|(_, f)| f);
        assert_eq!(Some(forecast), latest, "the forecast of {as_of} now is the newest published");
    }

    // Parquet: pyarrow's schema, and pandas' rows, against the Cassandra rows.
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("nvda.parquet");
    run_ok(
        "pricestream-analytics",
        &["query", "features", "--ticker", "NVDA", "--out", file.to_str().unwrap_or_default()],
        &ns,
    )?;
    let read = read_parquet_with_pandas(&file)?;
    let types = &read["types"];
    for (column, typ) in [
        ("ticker", "string"),
        ("dateTime", "date32[day]"),
        ("id", "int64"),
        ("emaTimePeriod", "int32"),
        ("ema", "double"),
        ("close", "double"),
        ("label", "double"),
        ("adjustmentFactor", "double"),
    ] {
        assert_eq!(types[column], typ, "{column}: {types}");
    }
    let names: Vec<String> =
        pricestream_cassandra::feature_columns().into_iter().map(|(name, _)| name).collect();
    assert_eq!(read["columns"], serde_json::json!(names), "pandas' columns are the changelog's names");
    // Every cell against the Cassandra row, read with CQL by its (lower-cased) column name.
    let rows = session
        .query_unpaged(
            format!(
                "SELECT JSON * FROM {}.features WHERE ticker = 'NVDA' AND timeframe = '1day'",
                ns.mart_keyspace
            ),
            (),
        )
        .await?
        .into_rows_result()?
        .rows::<(String,)>()?
        .map(|row| Ok(serde_json::from_str::<serde_json::Value>(&row?.0)?))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let exported = read["rows"].as_array().cloned().unwrap_or_default();
    assert_eq!(exported.len(), rows.len());
    for (parquet, stored) in exported.iter().zip(&rows) {
        for name in &names {
            let want = &stored[name.to_ascii_lowercase()];
            let got = &parquet[name];
            let same = match (got.as_f64(), want.as_f64()) {
                (Some(a), Some(b)) => a.to_bits() == b.to_bits(),
                _ => got == want,
            };
            assert!(same, "{name} on {}: Parquet {got}, Cassandra {want}", stored["datetime"]);
        }
    }

    // Pruning at the horizon "now" leaves each row its newest version, and the reads as of now
    // as they were.
    let versions_before: usize =
        snapshot::history(&session, &ns.mart_keyspace).await?.values().map(Vec::len).sum();
    let output = run_ok("pricestream-analytics", &["prune-history", "--older-than-days", "0"], &ns)?;
    let history = snapshot::history(&session, &ns.mart_keyspace).await?;
    assert_eq!(history.len(), BARS);
    assert!(history.values().all(|versions| versions.len() == 1), "one version per row is left");
    eprintln!(
        "prune-history: {versions_before} versions before, {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let now = chrono::Utc::now().to_rfc3339();
    let after = query(&ns, "features", &["--as-of", &now])?;
    assert_eq!(after.len(), last.len());
    for (key, (row, known_from)) in &last {
        assert_eq!(&after[key], &(row.clone(), *known_from), "{key} as of now, after pruning");
    }
    assert_eq!(query_predictions(&ns, &["--as-of", &now])?.len(), stored.len());
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace, &ns.mart_keyspace]).await;
    Ok(())
}

#[tokio::test]
async fn a_service_killed_after_writing_an_epoch_writes_no_version_twice() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    nvda(dir.path(), BARS, None, None)?;
    run_ok("pricestream-extractor", &["backfill", "--input", dir.path().to_str().unwrap_or_default()], &ns)?;
    // One worker writes rows in three epochs, then the process dies before the third is
    // committed: the restart replays that epoch.
    let config = analytics_config(dir.path(), "small-epochs.toml", "[consumer]\nepoch_max_records = 300\n")?;
    let status = std::process::Command::new(binary("pricestream-analytics")?)
        .args(["--config", config.to_str().unwrap_or_default(), "run", "--workers", "1", "--exit-at-end"])
        .envs(ns.env())
        .env("PRICESTREAM_KILL_AFTER_WRITE", "worker=0,writes=3")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()?;
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(6), "the injected kill (an abort) ended the run: {status}");
    }
    let session = cassandra::session().await?;
    let written = snapshot::history(&session, &ns.mart_keyspace).await?;
    let before: usize = written.values().map(Vec::len).sum();
    assert!(before > 0, "the killed run wrote versions");
    let restarted = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    analytics_to_end(2, &ns)?;

    let history = snapshot::history(&session, &ns.mart_keyspace).await?;
    let mart = snapshot::mart_values(&session, &ns.mart_keyspace).await?;
    assert_eq!(mart.len(), BARS);
    let mut repeated = Vec::new();
    for (key, versions) in &history {
        for pair in versions.windows(2).filter(|pair| pair[0].1 == pair[1].1) {
            repeated.push(format!("{key} at {} and {}", pair[0].0, pair[1].0));
        }
        let newest = versions.last().and_then(|(_, cells)| cells.as_ref());
        assert_eq!(newest, mart.get(key), "{key}: the newest version is the mart row");
    }
    assert!(
        repeated.is_empty(),
        "{} version(s) written twice, e.g. {:?}",
        repeated.len(),
        &repeated[..repeated.len().min(3)]
    );
    let after: usize = history.values().map(Vec::len).sum();
    let later = history.values().flatten().filter(|(known_from, _)| *known_from >= restarted).count();
    eprintln!("{before} versions by the killed run, {later} by the restart, {after} in all");
    assert_eq!(after, before + later, "the killed run's versions are all kept");
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace, &ns.mart_keyspace]).await;
    Ok(())
}
