//! Shared by the model tests: market data, generated tickers, and the XGBoost oracle.
//!
//! The oracle is `tests/oracle/xgboost_reference.py` run with `python3` (override with
//! `PRICESTREAM_PYTHON`) and the `xgboost-cpu` wheel (`pip install -r
//! tests/oracle/requirements.txt`); without them the tests that use it FAIL, never skip. Market
//! data is read from `../shared/data/market/` beside the repository (override with
//! `PRICESTREAM_MARKET_DATA_DIR`).

#![allow(dead_code)] // Each test file uses a different part.

use chrono::NaiveDate;
use pricestream_indicators::IndicatorParams;
use pricestream_model::{
    BoosterParams, Dataset, FEATURE_NAMES, Fold, WalkForward, WalkForwardRun, feature_rows, predicted_close,
};
use pricestream_records::{Bar, FeatureRow, Timeframe};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Write;

/// The label lies this many bars ahead (the mart's default).
pub const HORIZON_BARS: usize = 2;

#[path = "../../../../tests/src/repo_paths.rs"]
pub mod repo_paths;
use repo_paths::{oracle_command, oracle_output, read_market_file};

/// The settings `docs/model.md` reports: shallow trees, slow learning, heavy leaves, 2 threads.
pub fn regularised() -> BoosterParams {
    BoosterParams {
        n_estimators: 150,
        max_depth: 4,
        learning_rate: 0.05,
        lambda: 5.0,
        min_child_weight: 20.0,
        threads: 2,
        ..BoosterParams::default()
    }
}

/// The bars of a Yahoo CSV (Date,Open,High,Low,Close,Adj Close,Volume), in date order.
pub fn yahoo_bars(file: &str, ticker: &str) -> Vec<Bar> {
    let (_, text) = read_market_file(file);
    let mut bars: Vec<Bar> = text
        .lines()
        .enumerate()
        .skip(1)
        .map(|(n, line)| {
            let fields: Vec<&str> = line.split(',').collect();
            let number = |i: usize| -> f64 {
                let value = fields.get(i).and_then(|f| f.parse().ok());
                value.unwrap_or_else(|| panic!("{file}:{}: bad field {i}", n + 1))
            };
            let date = fields.first().and_then(|d| d.parse().ok());
            Bar {
                ticker: ticker.into(),
                timeframe: Timeframe::Day,
                datetime: date.unwrap_or_else(|| panic!("{file}:{}: bad date", n + 1)),
                open: number(1),
                high: number(2),
                low: number(3),
                close: number(4),
                volume: number(6) as i64,
                task_number: uuid::Uuid::nil(),
                adjustment_factor: 1.0,
                source: None,
            }
        })
        .collect();
    bars.sort_by_key(|bar| bar.datetime);
    bars.dedup_by_key(|bar| bar.datetime);
    assert!(bars.len() > 1000, "{file}: only {} bars", bars.len());
    bars
}

/// The mart rows of one market-data file.
pub fn market_rows(file: &str, ticker: &str) -> Vec<FeatureRow> {
    feature_rows(&yahoo_bars(file, ticker), &IndicatorParams::default(), HORIZON_BARS)
}

/// Weekdays from 2000-01-03 on.
fn trading_days(n: usize) -> Vec<NaiveDate> {
    let start = NaiveDate::from_ymd_opt(2000, 1, 3).expect("valid date");
    start.iter_days().filter(|d| chrono::Datelike::weekday(d).num_days_from_monday() < 5).take(n).collect()
}

/// A generated daily bar: `high` rounded up and `low` down to the cent, volume 1,000.
fn daily_bar(ticker: &str, datetime: NaiveDate, open: f64, close: f64, (high, low): (f64, f64)) -> Bar {
    Bar {
        ticker: ticker.into(),
        timeframe: Timeframe::Day,
        datetime,
        open,
        high: (high * 100.0).ceil() / 100.0,
        low: (low * 100.0).floor() / 100.0,
        close,
        volume: 1_000,
        task_number: uuid::Uuid::nil(),
        adjustment_factor: 1.0,
        source: None,
    }
}

/// A seeded ticker: returns with a little momentum and mean reversion (some signal for the
/// model), its own volatility, and cent-rounded prices.
pub fn generated_bars(ticker: &str, days: usize, seed: u64) -> Vec<Bar> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let volatility: f64 = rng.random_range(0.01..0.03);
    let mut close: f64 = rng.random_range(20.0..200.0);
    let (mut last_return, mut trend) = (0.0_f64, close);
    trading_days(days)
        .into_iter()
        .map(|datetime| {
            let shock: f64 = rng.random_range(-1.0..1.0) * volatility * 1.7;
            let pull = -0.05 * (close / trend - 1.0);
            let daily = (0.0003 + 0.1 * last_return + pull + shock).clamp(-0.3, 0.3);
            let open = close;
            close = ((close * (1.0 + daily)).max(1.0) * 100.0).round() / 100.0;
            trend = 0.95 * trend + 0.05 * close;
            last_return = daily;
            let high = close.max(open) * (1.0 + rng.random_range(0.0..volatility));
            let low = close.min(open) * (1.0 - rng.random_range(0.0..volatility));
            daily_bar(ticker, datetime, open, close, (high, low))
        })
        .collect()
}

/// A seeded ticker with a planted, learnable signal: the log distance of the close from 100
/// keeps 70 % of itself each day (strong mean reversion) plus a 1 % shock, so today's distance
/// from the moving averages and bands tells much of the next two days' move.
pub fn planted_signal_bars(days: usize, seed: u64) -> Vec<Bar> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut distance = 0.0_f64;
    let mut close = 100.0_f64;
    trading_days(days)
        .into_iter()
        .map(|datetime| {
            let open = close;
            distance = 0.7 * distance + rng.random_range(-1.0..1.0) * 0.017;
            close = (100.0 * distance.exp() * 100.0).round() / 100.0;
            let high = close.max(open) * (1.0 + rng.random_range(0.0..0.005));
            let low = close.min(open) * (1.0 - rng.random_range(0.0..0.005));
            daily_bar("PLANTED", datetime, open, close, (high, low))
        })
        .collect()
}

/// The mart rows of `tickers` generated tickers of `days` trading days each.
pub fn generated_rows(tickers: usize, days: usize) -> Vec<FeatureRow> {
    (0..tickers)
        .flat_map(|t| {
            let bars = generated_bars(&format!("GEN{t:03}"), days, 1_000 + t as u64);
            feature_rows(&bars, &IndicatorParams::default(), HORIZON_BARS)
        })
        .collect()
}

/// The XGBoost oracle's answer for a walk-forward split.
pub struct OracleRun {
    /// Predicted relative change of every test row, from the first fold's test start on.
    pub predicted_changes: Vec<f32>,
    /// Seconds of `xgb.train` per fold (fastest of the repeats).
    pub train_seconds: Vec<f64>,
    /// Seconds to build the DMatrix per fold.
    pub dmatrix_seconds: Vec<f64>,
    /// The XGBoost version that ran.
    pub version: String,
    /// The last fold's model's `get_score` per importance type (`weight`, `gain`, `total_gain`,
    /// `cover`, `total_cover`), inputs named `f0`, `f1`, … by column.
    pub importance: serde_json::Value,
}

/// Writes `dataset` and `folds` to a temporary folder and runs the XGBoost oracle on them with
/// `params` (`threads` as XGBoost's `nthread`); panics with the install command if it cannot.
pub fn xgboost(dataset: &Dataset, folds: &[Fold], params: &BoosterParams, repeat: usize) -> OracleRun {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("table.csv");
    let folds_file = dir.path().join("folds.csv");
    let output = dir.path().join("predictions.csv");
    write_table(dataset, &data);
    let mut f = std::fs::File::create(&folds_file).expect("folds file");
    writeln!(f, "train_end,test_start,test_end").expect("write");
    for fold in folds {
        assert_eq!(fold.train.start, 0, "expanding window");
        writeln!(f, "{},{},{}", fold.train.end, fold.test.start, fold.test.end).expect("write");
    }
    drop(f);
    let settings = serde_json::json!({
        "n_estimators": params.n_estimators,
        "max_depth": params.max_depth,
        "learning_rate": params.learning_rate,
        "lambda": params.lambda,
        "gamma": params.gamma,
        "min_child_weight": params.min_child_weight,
        "max_bin": params.max_bin,
        "subsample": params.subsample,
        "colsample_bytree": params.colsample_bytree,
        "seed": params.seed,
        "base_score": params.base_score,
    });
    let mut oracle = oracle_command("xgboost_reference.py");
    oracle
        .arg("--data")
        .arg(&data)
        .arg("--folds")
        .arg(&folds_file)
        .arg("--output")
        .arg(&output)
        .args(["--params", &settings.to_string()])
        .args(["--nthread", &params.threads.to_string(), "--repeat", &repeat.to_string()]);
    let summary: serde_json::Value = serde_json::from_slice(&oracle_output("XGBoost", &mut oracle))
        .expect("the oracle prints one JSON line");
    let seconds = |key: &str| -> Vec<f64> {
        summary[key].as_array().expect("a list of seconds").iter().filter_map(|v| v.as_f64()).collect()
    };
    let text = std::fs::read_to_string(&output).expect("oracle predictions");
    let mut expected_row = folds.first().map_or(0, |fold| fold.test.start);
    let predicted_changes = text
        .lines()
        .skip(1)
        .map(|line| {
            let (row, value) = line.split_once(',').expect("row,prediction");
            assert_eq!(row.parse::<usize>().expect("row number"), expected_row, "oracle rows in order");
            expected_row += 1;
            value.parse::<f32>().expect("a prediction")
        })
        .collect();
    OracleRun {
        predicted_changes,
        train_seconds: seconds("train_seconds"),
        dmatrix_seconds: seconds("dmatrix_seconds"),
        version: summary["xgboost"].as_str().unwrap_or("?").to_owned(),
        importance: summary["importance"].clone(),
    }
}

/// The inputs (exact `f32` values, empty when missing) and the target, as CSV.
fn write_table(dataset: &Dataset, path: &std::path::Path) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("table file"));
    writeln!(out, "{},target", FEATURE_NAMES.join(",")).expect("write");
    let mut line = String::new();
    for row in 0..dataset.len() {
        line.clear();
        for &value in dataset.matrix.row(row) {
            // Widening to f64 is exact, so Python parses back the very same f32.
            if value.is_finite() {
                line.push_str(&format!("{:?}", f64::from(value)));
            }
            line.push(',');
        }
        line.push_str(&format!("{:?}", f64::from(dataset.targets[row])));
        writeln!(out, "{line}").expect("write");
    }
    out.flush().expect("flush");
}

/// RMSE in price units of predicted changes for the rows from `first_test` on.
pub fn price_rmse(dataset: &Dataset, first_test: usize, predicted_changes: &[f32]) -> f64 {
    let squares: f64 = predicted_changes
        .iter()
        .enumerate()
        .map(|(i, &change)| {
            let row = first_test + i;
            (predicted_close(dataset.closes[row], change) - dataset.labels[row]).powi(2)
        })
        .sum();
    (squares / predicted_changes.len().max(1) as f64).sqrt()
}

/// Our walk-forward run and XGBoost's on the same folds, compared.
pub struct Comparison {
    pub ours: WalkForwardRun,
    pub theirs: OracleRun,
    pub our_rmse: f64,
    pub their_rmse: f64,
    /// Largest difference between the two predictions of one row (relative change).
    pub max_prediction_gap: f32,
    /// Share of rows where both predict the same value to 1e-6.
    pub same_prediction_share: f64,
}

impl Comparison {
    pub fn run(dataset: &Dataset, plan: &WalkForward, params: &BoosterParams) -> Comparison {
        let ours = pricestream_model::walk_forward(dataset, plan, params).expect("our walk-forward");
        let theirs = xgboost(dataset, &ours.folds, params, 1);
        assert_eq!(ours.predicted_changes.len(), theirs.predicted_changes.len(), "same test rows");
        let pairs = || ours.predicted_changes.iter().zip(&theirs.predicted_changes);
        let max_prediction_gap = pairs().map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        let same = pairs().filter(|(a, b)| (*a - *b).abs() <= 1e-6).count();
        Comparison {
            our_rmse: price_rmse(dataset, ours.first_test, &ours.predicted_changes),
            their_rmse: price_rmse(dataset, ours.first_test, &theirs.predicted_changes),
            max_prediction_gap,
            same_prediction_share: same as f64 / ours.predicted_changes.len().max(1) as f64,
            ours,
            theirs,
        }
    }

    /// Our RMSE relative to XGBoost's, in percent (positive: ours is higher).
    pub fn rmse_gap_percent(&self) -> f64 {
        100.0 * (self.our_rmse - self.their_rmse) / self.their_rmse
    }

    pub fn summary(&self, name: &str) -> String {
        format!(
            "{name}: {} rows in {} folds; RMSE ours {:.6} vs XGBoost {} {:.6} ({:+.3} %); \
             identical predictions on {:.1} % of rows, largest gap {:.2e}",
            self.ours.predicted_changes.len(),
            self.ours.folds.len(),
            self.our_rmse,
            self.theirs.version,
            self.their_rmse,
            self.rmse_gap_percent(),
            100.0 * self.same_prediction_share,
            self.max_prediction_gap
        )
    }
}
