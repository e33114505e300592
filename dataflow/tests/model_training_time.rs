//! Training time of our model against XGBoost 3.2 with 2 threads each, same rows, same settings
//! (XGBoost's defaults: 100 trees of depth 6), printed side by side with the holdout RMSE of
//! both. A timing, not a check, so it is ignored by default; run it in release:
//!
//! ```sh
//! cargo test --release -p pricestream-dataflow --test model_training_time -- --ignored --nocapture
//! ```
//!
//! The global set is `PRICESTREAM_MODEL_TICKERS` generated tickers (default 50) of
//! `PRICESTREAM_MODEL_DAYS` trading days (default 5040, 20 years). Each side trains
//! `PRICESTREAM_MODEL_REPEATS` times (default 3) and the fastest run counts. Our time covers
//! `Booster::fit` (cut points, binning, trees); XGBoost's covers `xgb.train` (its sketch,
//! binning, trees), with building its DMatrix from the array reported apart.

mod model_support;

use pricestream_dataflow::model::{Booster, BoosterParams, Dataset, Fold};
use std::time::Instant;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Trains both on the first 80 % of the rows, predicts the rest, prints one table row.
fn side_by_side(name: &str, dataset: &Dataset, params: &BoosterParams, repeats: usize) {
    let split = dataset.len() * 4 / 5;
    let train = dataset.matrix.slice_rows(0..split);
    let mut fastest = f64::INFINITY;
    let mut model = None;
    for _ in 0..repeats {
        let started = Instant::now();
        let fitted = Booster::fit(&train, &dataset.targets[..split], params).expect("trains");
        fastest = fastest.min(started.elapsed().as_secs_f64());
        model = Some(fitted);
    }
    let model = model.expect("at least one run");
    let ours = model.predict(&dataset.matrix.slice_rows(split..dataset.len())).expect("predicts");
    let fold = Fold { train: 0..split, test: split..dataset.len() };
    let theirs = model_support::xgboost(dataset, &[fold], params, repeats);
    let their_time = theirs.train_seconds.first().copied().unwrap_or(f64::NAN);
    let dmatrix = theirs.dmatrix_seconds.first().copied().unwrap_or(f64::NAN);
    let same = ours.iter().zip(&theirs.predicted_changes).filter(|(a, b)| (*a - *b).abs() <= 1e-6).count();
    println!(
        "| {name} | {split} | {fastest:.3} s | {their_time:.3} s (+ {dmatrix:.3} s DMatrix) | {:.2} | {:.4} | {:.4} | {:.1} % |",
        fastest / their_time,
        model_support::price_rmse(dataset, split, &ours),
        model_support::price_rmse(dataset, split, &theirs.predicted_changes),
        100.0 * same as f64 / ours.len().max(1) as f64,
    );
}

#[test]
#[ignore = "a timing: run in release with --ignored --nocapture"]
fn training_time_against_xgboost_with_two_threads() {
    let params = BoosterParams { threads: 2, ..BoosterParams::default() };
    let repeats = env_usize("PRICESTREAM_MODEL_REPEATS", 3);
    let tickers = env_usize("PRICESTREAM_MODEL_TICKERS", 50);
    let days = env_usize("PRICESTREAM_MODEL_DAYS", 5_040);
    println!(
        "| data | training rows | ours (threads=2) | XGBoost (nthread=2) | ours / XGBoost | holdout RMSE ours | \
         holdout RMSE XGBoost | identical predictions |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let nvda = Dataset::from_rows(&model_support::market_rows("nvda-1999-2014.csv", "NVDA"));
    side_by_side("NVDA", &nvda, &params, repeats);
    let global = Dataset::from_rows(&model_support::generated_rows(tickers, days));
    side_by_side(&format!("{tickers} generated tickers × {days} days, global"), &global, &params, repeats);
}
