//! The model stage of `pricestream-analytics run` against the real Kafka and Cassandra:
//! NVDA's history trains and stores version 1, which scores every row from the day its last
//! training label became known; a new day's bar
//! gets its prediction at once, on the topic and in the table, equal to what the stored
//! version serves from the stored mart row (its model's forecast through its serving gate,
//! the gate's decision on the record); after a restart the stored version is loaded, not
//! retrained, and scores the next day.

use anyhow::Context;
use chrono::NaiveDate;
use pricestream_cassandra::{MartReader, ModelScope, ModelTable};
use pricestream_model::{model_inputs, predicted_close};
use pricestream_records::{Forecaster, Prediction, Timeframe};
use pricestream_tests::kafka::read_topic;
use pricestream_tests::{
    Namespace, binary, cassandra, free_port, metric, run_ok, shared_market_data, stop_gracefully, wait_for,
    wait_for_ok,
};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

const FILE: &str = "nvda-1999-2014.csv";
const HISTORY_BARS: usize = 600;
/// Small trees, one thread: the debug build trains in a moment. No retraining once a model
/// exists, so the restart has nothing to retrain.
const CONFIG: &str = "[model]\nn_estimators = 20\nmax_depth = 3\nthreads = 1\n\n\
    [serving]\nmin_training_rows = 200\nretrain_every_rows = 0\nretrain_on_degradation = 0.0\n";

/// The first `bars` bars of the team's NVDA file (in date order), as a file of the same name.
fn first_bars(dir: &Path, bars: usize) -> anyhow::Result<(PathBuf, Vec<NaiveDate>)> {
    let text = std::fs::read_to_string(shared_market_data()?.join(FILE))?;
    let mut lines = text.lines();
    let header = lines.next().context("empty file")?;
    let mut rows: Vec<&str> = lines.filter(|line| !line.trim().is_empty()).collect();
    // ISO dates sort as text.
    rows.sort_by_key(|line| line.split(',').next().unwrap_or_default().to_owned());
    rows.truncate(bars);
    let dates = rows
        .iter()
        .map(|line| NaiveDate::parse_from_str(line.split(',').next().unwrap_or_default(), "%Y-%m-%d"))
        .collect::<Result<Vec<_>, _>>()?;
    let folder = dir.join(format!("first-{bars}"));
    std::fs::create_dir_all(&folder)?;
    let path = folder.join(FILE);
    std::fs::write(&path, format!("{header}\n{}\n", rows.join("\n")))?;
    Ok((path, dates))
}

fn start_service(ns: &Namespace, config: &Path, port: u16, log: &Path) -> anyhow::Result<Child> {
    Ok(Command::new(binary("pricestream-analytics")?)
        .args(["--config", config.to_str().unwrap_or_default(), "run", "--workers", "2"])
        .envs(ns.env())
        .env("PRICESTREAM_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .spawn()?)
}

fn labelled(port: u16, name: &str, label: &str) -> Option<f64> {
    metric(port, &format!("{name}{{{label}}}"))
}

/// The prediction published for `as_of`.
fn published(ns: &Namespace, as_of: NaiveDate) -> anyhow::Result<Vec<(String, Prediction)>> {
    let topic = format!("{}predictions", ns.topic_prefix);
    let mut found = Vec::new();
    for message in read_topic(&topic)? {
        let prediction: Prediction = serde_json::from_slice(&message.payload).with_context(|| {
            format!("undecodable prediction {}", String::from_utf8_lossy(&message.payload))
        })?;
        if prediction.as_of == as_of {
            found.push((message.key, prediction));
        }
    }
    Ok(found)
}

/// What version `version` of the stored NVDA model serves from the stored mart row of `date`:
/// the served close, the row's id and close, and the version's gate weight as plain CQL reads it.
async fn recomputed(ns: &Namespace, version: i32, date: NaiveDate) -> anyhow::Result<(f64, i64, f64, f64)> {
    let session = Arc::new(cassandra::session().await?);
    let models = ModelTable::prepare(Arc::clone(&session), &ns.mart_keyspace).await?;
    let stored =
        models.load(&ModelScope::Ticker("NVDA".into()), version).await?.context("no stored model")?;
    let mart = MartReader::prepare(session, &ns.mart_keyspace).await?;
    let rows = mart.read_series("NVDA", Timeframe::Day).await?;
    let row = rows.iter().find(|row| row.date_time == date).context("no mart row")?;
    let change = stored.record.booster.predict_row(&model_inputs(row))?;
    let served = stored.record.gate.forecast(row.close, predicted_close(row.close, change));
    let reader = cassandra::session().await?;
    let cql =
        format!("SELECT gate_weight FROM {}.models WHERE scope = 'NVDA' AND version = ?", ns.mart_keyspace);
    let (weight,) =
        reader.query_unpaged(cql, (version,)).await?.into_rows_result()?.single_row::<(f64,)>()?;
    assert_eq!(weight, stored.record.gate.weight);
    Ok((served, row.id.unwrap_or_default(), row.close, weight))
}

/// The record says what produced it: the version's gate weight, and persistence (today's close)
/// when that weight is 0.
fn assert_gate_on_record(prediction: &Prediction, close: f64, weight: f64) {
    assert_eq!(prediction.gate_weight, weight, "{prediction:?}");
    if weight == 0.0 {
        assert_eq!(prediction.forecaster, Forecaster::Persistence, "{prediction:?}");
        assert_eq!(prediction.predicted_close, close, "persistence serves today's close");
    } else {
        assert_eq!(prediction.forecaster, Forecaster::Model, "{prediction:?}");
    }
}

/// Rows of `instrument_mart.models` for NVDA, by plain CQL.
async fn stored_versions(ns: &Namespace) -> anyhow::Result<i64> {
    let session = cassandra::session().await?;
    let cql = format!("SELECT COUNT(*) FROM {}.models WHERE scope = 'NVDA'", ns.mart_keyspace);
    let result = session.query_unpaged(cql, ()).await?.into_rows_result()?;
    Ok(result.single_row::<(i64,)>()?.0)
}

#[tokio::test]
async fn new_bars_are_scored_by_the_stored_model_and_a_restart_loads_it() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("analytics.toml");
    std::fs::write(&config, CONFIG)?;
    let (history, _) = first_bars(dir.path(), HISTORY_BARS)?;
    run_ok("pricestream-extractor", &["backfill", "--input", history.to_str().unwrap_or_default()], &ns)?;

    let port = free_port()?;
    let log = dir.path().join("analytics-1.log");
    let mut service = start_service(&ns, &config, port, &log)?;
    let first_run = async {
        wait_for_ok(port, "/readyz", Duration::from_secs(60))?;
        // Version 1 is trained off the scoring path, then scores the two unlabelled rows.
        let stored = "pricestream_analytics_model_trainings_total";
        wait_for("version 1 trained", Duration::from_secs(120), || {
            labelled(port, stored, "outcome=\"stored\"").is_some_and(|n| n >= 1.0)
        })?;
        // Version 1 serves from the day its 200th label became known: every row from then on.
        let (_, dates) = first_bars(dir.path(), HISTORY_BARS)?;
        let newest = dates[HISTORY_BARS - 1];
        wait_for("the newest row's prediction", Duration::from_secs(60), || {
            published(&ns, newest).is_ok_and(|found| !found.is_empty())
        })?;

        // A new day: its row is scored at once by version 1.
        let (next, dates) = first_bars(dir.path(), HISTORY_BARS + 1)?;
        run_ok("pricestream-extractor", &["backfill", "--input", next.to_str().unwrap_or_default()], &ns)?;
        wait_for("the new day's prediction", Duration::from_secs(60), || {
            published(&ns, dates[HISTORY_BARS]).is_ok_and(|found| !found.is_empty())
        })?;
        anyhow::Ok(dates)
    }
    .await;
    let stopped = stop_gracefully(&mut service)?;
    let dates = first_run.map_err(|e| e.context(std::fs::read_to_string(&log).unwrap_or_default()))?;
    anyhow::ensure!(stopped.success(), "first run exited with {stopped}");

    let new_day = dates[HISTORY_BARS];
    let found = published(&ns, new_day)?;
    // A row is scored again when it changes: when some of the day's indicator values reach the
    // service an epoch after its bar (the extractor publishes them together, but a loaded machine
    // can deliver them apart), the row is scored before and after. The topic keeps every
    // forecast; the last one is of the complete row, the one the table keeps.
    let (key, prediction) = found.last().with_context(|| format!("no prediction for {new_day}"))?;
    assert!(found.len() <= 8, "at most one forecast per record of the day for {new_day}: {found:?}");
    assert!(found.iter().all(|(_, p)| p.feature_row_id == prediction.feature_row_id && p.model_version == 1));
    let (expected_close, row_id, close, weight) = recomputed(&ns, 1, new_day).await?;
    assert_gate_on_record(prediction, close, weight);
    assert_eq!(key, "NVDA");
    assert_eq!(
        (prediction.model_scope.as_str(), prediction.model_version, prediction.horizon_bars),
        ("NVDA", 1, 2)
    );
    assert_eq!(prediction.feature_row_id, row_id);
    assert_eq!(row_id, HISTORY_BARS as i64 + 1, "the new day is row {}", HISTORY_BARS + 1);
    assert_eq!(prediction.predicted_close, expected_close, "the stored version on the stored row");
    assert_eq!(prediction.target_date, Prediction::weekdays_after(new_day, 2));
    // The table holds the same forecast.
    let session = cassandra::session().await?;
    let cql = format!(
        "SELECT predicted_close, forecaster, gate_weight FROM {}.predictions \
         WHERE ticker = 'NVDA' AND timeframe = '1day' AND as_of = ?",
        ns.mart_keyspace
    );
    let row = session.query_unpaged(cql, (new_day,)).await?.into_rows_result()?;
    let row = row.single_row::<(f64, String, f64)>()?;
    assert_eq!(row, (expected_close, prediction.forecaster.as_str().to_owned(), weight));

    // Restart: the stored version is loaded, not retrained, and scores the next day.
    let log = dir.path().join("analytics-2.log");
    let mut service = start_service(&ns, &config, port, &log)?;
    let second_run = async {
        wait_for_ok(port, "/readyz", Duration::from_secs(60))?;
        let (next, dates) = first_bars(dir.path(), HISTORY_BARS + 2)?;
        run_ok("pricestream-extractor", &["backfill", "--input", next.to_str().unwrap_or_default()], &ns)?;
        wait_for("the next day's prediction", Duration::from_secs(60), || {
            published(&ns, dates[HISTORY_BARS + 1]).is_ok_and(|found| !found.is_empty())
        })?;
        let loaded = metric(port, "pricestream_analytics_models_loaded_total");
        let trained = labelled(port, "pricestream_analytics_model_trainings_total", "outcome=\"stored\"");
        anyhow::Ok((dates, loaded, trained))
    }
    .await;
    let stopped = stop_gracefully(&mut service)?;
    let (dates, loaded, trained) =
        second_run.map_err(|e| e.context(std::fs::read_to_string(&log).unwrap_or_default()))?;
    anyhow::ensure!(stopped.success(), "second run exited with {stopped}");
    assert_eq!(loaded, Some(1.0), "the stored version was loaded");
    assert!(trained.is_none_or(|n| n == 0.0), "nothing retrained: {trained:?}");
    assert_eq!(stored_versions(&ns).await?, 1);
    let next_day = dates[HISTORY_BARS + 1];
    let found = published(&ns, next_day)?;
    assert!(found.len() <= 8, "at most one forecast per record of the day for {next_day}: {found:?}");
    let (_, last) = found.last().with_context(|| format!("no prediction for {next_day}"))?;
    let (expected_close, _, close, weight) = recomputed(&ns, 1, next_day).await?;
    assert_eq!((last.model_version, last.predicted_close), (1, expected_close));
    assert_gate_on_record(last, close, weight);

    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace, &ns.mart_keyspace]).await;
    Ok(())
}
