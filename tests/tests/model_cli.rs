//! `pricestream-analytics backtest` and `train` as a user runs them: over the team's NVDA CSV
//! with no service for the backtest (its persistence baseline checked against numbers computed
//! here from the raw file, its chart decoded by an independent PNG decoder), and into the real
//! Cassandra for training (versions 1 and 2, read back with plain CQL, and the stored model
//! predicting exactly like one trained here on the same rows).

use anyhow::Context;
use pricestream_cassandra::{FeatureTable, ModelScope, ModelTable, Replaces};
use pricestream_indicators::IndicatorParams;
use pricestream_model::{Booster, BoosterParams, Dataset, FEATURE_NAMES, feature_rows};
use pricestream_records::{Bar, FeatureRow, Timeframe};
use pricestream_tests::{
    Namespace, backtest_report::table_row, cassandra, read_csv_naively, run_binary, run_ok,
    shared_market_data,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const FILE: &str = "nvda-1999-2014.csv";
/// Small and single-threaded, so the debug build trains quickly and any machine gets the same model.
const CONFIG: &str =
    "[model]\nn_estimators = 20\nmax_depth = 3\nlearning_rate = 0.1\nmin_child_weight = 5.0\nthreads = 1\n";
/// The same settings, in-process.
fn params() -> BoosterParams {
    BoosterParams {
        n_estimators: 20,
        max_depth: 3,
        learning_rate: 0.1,
        min_child_weight: 5.0,
        threads: 1,
        ..BoosterParams::default()
    }
}
/// The documented defaults of `[model]`: walk-forward split and horizon.
const WARMUP_BARS: usize = 500;
const HORIZON_BARS: usize = 2;
/// The chart's documented size (`backtest --help`).
const CHART_SIZE: (u32, u32) = (1200, 600);

fn config_file(dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join("analytics.toml");
    std::fs::write(&path, CONFIG)?;
    Ok(path)
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

/// The closes of the file in date order, read without any of our code.
fn closes(csv: &Path) -> anyhow::Result<Vec<f64>> {
    Ok(read_csv_naively(csv)?.values().map(|bar| bar.ohlc[3]).collect())
}

#[test]
fn backtest_over_a_csv_file_prints_model_and_baseline_and_draws_a_png() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    let csv = shared_market_data()?.join(FILE);
    let chart = dir.path().join("nvda.png");
    let config = config_file(dir.path())?;
    let output = run_ok(
        "pricestream-analytics",
        &["--config", text(&config), "backtest", "--input", text(&csv), "--chart", text(&chart)],
        &ns,
    )?;
    let stdout = String::from_utf8(output.stdout)?;

    // The baseline, computed here from the raw closes: rows whose close two bars later is known,
    // from the first date after the warm-up on, forecast = today's close.
    let closes = closes(&csv)?;
    let labelled = closes.len() - HORIZON_BARS;
    let rows: Vec<(f64, f64)> =
        (WARMUP_BARS..labelled).map(|i| (closes[i], closes[i + HORIZON_BARS])).collect();
    let n = rows.len() as f64;
    let rmse = (rows.iter().map(|(today, later)| (later - today).powi(2)).sum::<f64>() / n).sqrt();
    let mae = rows.iter().map(|(today, later)| (later - today).abs()).sum::<f64>() / n;
    let mape = 100.0 * rows.iter().map(|(today, later)| ((today - later) / later).abs()).sum::<f64>() / n;
    let ups = 100.0 * rows.iter().filter(|(today, later)| later > today).count() as f64 / n;
    assert!(stdout.contains(&format!("{} rows predicted", rows.len())), "{stdout}");

    let baseline = table_row(&stdout, "persistence")?;
    assert_eq!(baseline.len(), 4, "{stdout}");
    let close_to = |got: Option<f64>, want: f64, decimals: i32| {
        got.is_some_and(|got| (got - want).abs() <= 0.51 * 10f64.powi(-decimals))
    };
    assert!(close_to(baseline[0], rmse, 4), "baseline RMSE {:?}, computed {rmse:.6}\n{stdout}", baseline[0]);
    assert!(close_to(baseline[1], mae, 4), "baseline MAE {:?}, computed {mae:.6}\n{stdout}", baseline[1]);
    assert!(close_to(baseline[2], mape, 2), "baseline MAPE {:?}, computed {mape:.4}\n{stdout}", baseline[2]);
    assert_eq!(baseline[3], None, "persistence never predicts a move: n/a\n{stdout}");
    assert!(stdout.contains(&format!("scores {ups:.1} %")), "up moves {ups:.1} % not printed:\n{stdout}");

    let model = table_row(&stdout, "model")?;
    assert_eq!(model.len(), 4, "{stdout}");
    let [Some(model_rmse), Some(model_mae), Some(model_mape), Some(direction)] = model[..] else {
        anyhow::bail!("model row has a missing number:\n{stdout}");
    };
    assert!(model_rmse > 0.0 && model_mae > 0.0 && model_mape > 0.0, "{stdout}");
    assert!((0.0..=100.0).contains(&direction), "{stdout}");
    // The served forecast, through the gate, is never worse than persistence here; a block
    // whose gate weight is 0 serves the close itself.
    let gated = table_row(&stdout, "gated (served)")?;
    assert!(gated[0].is_some_and(|gated| gated <= baseline[0].unwrap_or(f64::NAN)), "{stdout}");
    let weights = stdout
        .lines()
        .find_map(|line| line.strip_prefix("gate weight per block (0 = persistence served): "))
        .with_context(|| format!("no gate weights in:\n{stdout}"))?;
    let weights: Vec<f64> = weights.split_whitespace().map(str::parse).collect::<Result<_, _>>()?;
    assert!(!weights.is_empty() && weights.iter().all(|w| (0.0..=1.0).contains(w)), "{stdout}");
    if weights.iter().all(|w| *w == 0.0) {
        assert_eq!(gated, baseline, "only persistence served:\n{stdout}");
    }
    // The importance of the last block's model, one input per line.
    let importance = stdout.split_once("Feature importance").map(|(_, rest)| rest).unwrap_or_default();
    assert!(FEATURE_NAMES.iter().any(|name| importance.contains(&format!("| {name} "))), "{stdout}");
    // The verdict agrees with the printed numbers, and says it plainly when the model loses.
    if model_rmse >= rmse {
        assert!(stdout.contains("does NOT beat the persistence baseline"), "{stdout}");
    } else {
        assert!(stdout.contains("The model beats the persistence baseline"), "{stdout}");
    }

    // The chart: a PNG by its signature, decoded by the png crate, of the documented size, with
    // the forecast line (red) and the actual line (dark grey) drawn on a white background.
    let bytes = std::fs::read(&chart)?;
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG signature");
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info()?;
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels)?;
    assert_eq!((frame.width, frame.height), CHART_SIZE);
    assert_eq!(frame.color_type, png::ColorType::Rgb);
    let rgb: Vec<&[u8]> = pixels[..frame.buffer_size()].chunks(3).collect();
    let count = |want: [u8; 3]| rgb.iter().filter(|px| **px == want).count();
    assert!(count([255, 255, 255]) > rgb.len() / 2, "mostly white background expected");
    assert!(count([214, 39, 40]) > 1_000, "the predicted-close line is missing");
    assert!(count([40, 40, 40]) > 1_000, "the actual-close line is missing");
    Ok(())
}

fn version_of(stdout: &[u8]) -> anyhow::Result<i32> {
    let text = String::from_utf8_lossy(stdout);
    let after = text.split_once(" version ").with_context(|| format!("no version printed:\n{text}"))?.1;
    Ok(after.split_whitespace().next().unwrap_or_default().parse()?)
}

#[tokio::test]
async fn training_twice_stores_versions_1_and_2_and_the_latest_predicts_like_a_model_trained_here()
-> anyhow::Result<()> {
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    let csv = shared_market_data()?.join(FILE);
    let config = config_file(dir.path())?;
    let train = ["--config", text(&config), "train", "--ticker", "NVDA", "--input", text(&csv)];
    let first = run_ok("pricestream-analytics", &train, &ns)?;
    let export = dir.path().join("nvda-xgboost.json");
    let second =
        run_ok("pricestream-analytics", &[&train[..], &["--xgboost-out", text(&export)]].concat(), &ns)?;
    assert_eq!((version_of(&first.stdout)?, version_of(&second.stdout)?), (1, 2));

    // Read back with plain CQL: both versions, newest first, with what they were trained on.
    let session = cassandra::session().await?;
    let cql = format!(
        "SELECT version, training_rows, hyperparameters, baseline_rmse, model_rmse FROM {}.models WHERE scope = 'NVDA'",
        ns.mart_keyspace
    );
    type Row = (i32, i64, String, Option<f64>, Option<f64>);
    let rows: Vec<Row> =
        session.query_unpaged(cql, ()).await?.into_rows_result()?.rows::<Row>()?.collect::<Result<_, _>>()?;
    let closes = closes(&csv)?;
    let labelled = (closes.len() - HORIZON_BARS) as i64;
    assert_eq!(rows.iter().map(|row| (row.0, row.1)).collect::<Vec<_>>(), [(2, labelled), (1, labelled)]);
    let hyperparameters: serde_json::Value = serde_json::from_str(&rows[0].2)?;
    assert_eq!(hyperparameters["n_estimators"], 20);
    assert_eq!(hyperparameters["max_depth"], 3);
    assert!(rows[0].3.is_some() && rows[0].4.is_some(), "backtest metrics missing: {:?}", rows[0]);
    // What the version serves is stored beside it and said by `train`.
    let cql =
        format!("SELECT gate_weight FROM {}.models WHERE scope = 'NVDA' AND version = 2", ns.mart_keyspace);
    let (weight,) = session.query_unpaged(cql, ()).await?.into_rows_result()?.single_row::<(f64,)>()?;
    assert!((0.0..=1.0).contains(&weight), "{weight}");
    let said = String::from_utf8_lossy(&second.stdout);
    let serving = if weight == 0.0 { "It serves persistence" } else { "It serves today's close plus" };
    assert!(said.contains(serving), "gate weight {weight}, but:\n{said}");
    assert!(said.contains("Feature importance"), "{said}");

    // Load the latest through the library and compare with a model trained here on the same rows.
    let table =
        ModelTable::prepare(cassandra::mart_session(&ns.mart_keyspace).await?, &ns.mart_keyspace).await?;
    let scope = ModelScope::Ticker("NVDA".into());
    let latest = table.load_latest(&scope).await?.context("no model stored")?;
    assert_eq!(latest.version, 2);
    assert_eq!(latest.record.scope, scope);
    assert_eq!(latest.record.horizon_bars, HORIZON_BARS as u32);
    assert_eq!(table.load(&scope, 1).await?.map(|model| model.version), Some(1));

    let bars = bars_of(&csv)?;
    let dataset = Dataset::from_rows(&feature_rows(&bars, &IndicatorParams::default(), HORIZON_BARS));
    assert_eq!(dataset.len() as i64, labelled);
    let here = Booster::fit(&dataset.matrix, &dataset.targets, &params())?;
    let stored = latest.record.booster.predict(&dataset.matrix)?;
    let expected = here.predict(&dataset.matrix)?;
    let differing = stored.iter().zip(&expected).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
    assert_eq!(differing, 0, "{differing} of {} predictions differ", expected.len());
    assert_eq!(latest.record.booster.forest(), here.forest());
    // `--xgboost-out` wrote the stored version in XGBoost's format (the model tests check that
    // Python's xgboost predicts the same from such a file).
    let exported: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&export)?)?;
    assert_eq!(exported, latest.record.booster.to_xgboost_json());
    // `export` writes any stored version, and names a missing one.
    let first_file = dir.path().join("nvda-1.json");
    let config_arg = text(&config);
    let export_first =
        ["--config", config_arg, "export", "--ticker", "NVDA", "--version", "1", "--out", text(&first_file)];
    run_ok("pricestream-analytics", &export_first, &ns)?;
    let first_model = table.load(&scope, 1).await?.context("version 1")?;
    let exported: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&first_file)?)?;
    assert_eq!(exported, first_model.record.booster.to_xgboost_json());
    let missing =
        ["--config", config_arg, "export", "--ticker", "NVDA", "--version", "9", "--out", text(&first_file)];
    let refused = run_binary("pricestream-analytics", &missing, &ns)?;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("no model NVDA version 9"), "{stderr}");

    cassandra::drop_keyspaces(&session, &[&ns.mart_keyspace]).await;
    Ok(())
}

/// The bars of a Yahoo CSV, read without the extractor's reader.
fn bars_of(csv: &Path) -> anyhow::Result<Vec<Bar>> {
    read_csv_naively(csv)?
        .into_iter()
        .map(|(date, bar)| -> anyhow::Result<Bar> {
            Ok(Bar {
                ticker: "NVDA".into(),
                timeframe: Timeframe::Day,
                datetime: date.parse()?,
                open: bar.ohlc[0],
                high: bar.ohlc[1],
                low: bar.ohlc[2],
                close: bar.ohlc[3],
                volume: bar.volume,
                task_number: uuid::Uuid::nil(),
                adjustment_factor: 1.0,
                source: None,
            })
        })
        .collect()
}

/// The printed metrics table (from its header to the verdict).
fn metrics_table(stdout: &[u8]) -> String {
    let text = String::from_utf8_lossy(stdout);
    text.lines().skip_while(|line| !line.starts_with("walk-forward:")).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn without_input_the_commands_read_the_mart_in_cassandra() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    let csv = shared_market_data()?.join(FILE);
    let config = config_file(dir.path())?;

    // The mart as the analytics service keeps it (default periods, label two bars on).
    let session = cassandra::mart_session(&ns.mart_keyspace).await?;
    let rows = feature_rows(&bars_of(&csv)?, &IndicatorParams::default(), HORIZON_BARS);
    let mart = FeatureTable::prepare(Arc::clone(&session), &ns.mart_keyspace, 64).await?;
    let new_rows: Vec<(FeatureRow, Replaces)> =
        rows.iter().map(|row| (row.clone(), Replaces::Nothing)).collect();
    assert_eq!(mart.upsert_all(&new_rows).await?, rows.len());

    let from_mart =
        run_ok("pricestream-analytics", &["--config", text(&config), "backtest", "--ticker", "NVDA"], &ns)?;
    let from_file = run_ok(
        "pricestream-analytics",
        &["--config", text(&config), "backtest", "--ticker", "NVDA", "--input", text(&csv)],
        &ns,
    )?;
    let table = metrics_table(&from_mart.stdout);
    assert!(table.contains("| persistence (close today) |"), "{table}");
    assert_eq!(table, metrics_table(&from_file.stdout), "the mart and the file give other backtests");

    let unknown =
        pricestream_tests::run_binary("pricestream-analytics", &["backtest", "--ticker", "ORCL"], &ns)?;
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("no rows for ORCL") && stderr.contains("tickers with rows: NVDA"), "{stderr}");

    let global = run_ok("pricestream-analytics", &["--config", text(&config), "train", "--global"], &ns)?;
    assert_eq!(version_of(&global.stdout)?, 1);
    let cql = format!("SELECT training_rows FROM {}.models WHERE scope = 'global'", ns.mart_keyspace);
    let reader = cassandra::session().await?;
    let (training_rows,) = reader.query_unpaged(cql, ()).await?.into_rows_result()?.single_row::<(i64,)>()?;
    assert_eq!(training_rows as usize, closes(&csv)?.len() - HORIZON_BARS);

    cassandra::drop_keyspaces(&reader, &[&ns.mart_keyspace]).await;
    Ok(())
}

/// `--device`: on a machine without a GPU `cuda` is refused with a message naming CUDA (no
/// panic, no model) and `auto` falls back to the CPU, giving the CPU's numbers; with a GPU both
/// must train.
#[test]
fn the_device_flag_refuses_cuda_without_a_gpu_and_auto_falls_back_to_the_cpu() -> anyhow::Result<()> {
    let has_gpu = std::path::Path::new("/dev/nvidia0").exists();
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    let csv = shared_market_data()?.join(FILE);
    let config = config_file(dir.path())?;
    let backtest = |device: &str| {
        pricestream_tests::run_binary(
            "pricestream-analytics",
            &["--config", text(&config), "backtest", "--device", device, "--input", text(&csv)],
            &ns,
        )
    };
    let cuda = backtest("cuda")?;
    let stderr = String::from_utf8_lossy(&cuda.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    if has_gpu {
        assert!(cuda.status.success(), "{stderr}");
    } else {
        assert!(!cuda.status.success() && stderr.contains("CUDA"), "cuda without a GPU must fail: {stderr}");
    }
    let (auto, cpu) = (backtest("auto")?, backtest("cpu")?);
    assert!(auto.status.success() && cpu.status.success(), "{}", String::from_utf8_lossy(&auto.stderr));
    let model_row =
        |output: &std::process::Output| table_row(&String::from_utf8_lossy(&output.stdout), "model");
    if !has_gpu {
        assert_eq!(model_row(&auto)?, model_row(&cpu)?, "auto trains on the CPU here");
    }
    Ok(())
}
