//! Our model against XGBoost 3.2 at scale, 2 threads each, same rows, same settings (XGBoost's
//! defaults: 100 trees of depth 6) and the same expanding-window walk-forward split as the
//! parity tests (`WalkForward::default()`: the first prediction after 500 dates, a retraining
//! every 250 dates, the last `horizon_bars - 1` dates before a block left out of its training).
//! It prints, per data set, the RMSE of both over every test row, the relative gap, and the
//! training seconds of both summed over the folds; it fails when our RMSE is not within 2 % of
//! XGBoost's. Too heavy for CI, so it is ignored by default; run it in release:
//!
//! ```sh
//! PRICESTREAM_MODEL_TICKERS=500 cargo test --release -p pricestream-model \
//!     --test model_training_time -- --ignored --nocapture
//! ```
//!
//! The global set is `PRICESTREAM_MODEL_TICKERS` generated tickers (default 50) of
//! `PRICESTREAM_MODEL_DAYS` trading days (default 5040, 20 years); NVDA comes first. The split
//! is `PRICESTREAM_MODEL_WARMUP_BARS` (default 500) and `PRICESTREAM_MODEL_RETRAIN_EVERY_BARS`
//! (default 250) dates; a global model's folds are on the shared dates, so at 500 × 5040 there are
//! 19 folds of 0.25 M to 2.4 M training rows. Each side trains every fold
//! `PRICESTREAM_MODEL_REPEATS` times (default 1) and the fastest run of each fold counts. Our
//! time covers `Booster::fit` (cut points, binning, trees); XGBoost's covers `xgb.train` (its
//! sketch, binning, trees), with building its DMatrix from the array reported apart.

mod model_support;

use pricestream_model::{Booster, BoosterParams, Dataset, WalkForward};
use std::time::Instant;

/// Our RMSE may be at most this much (percent) above or below XGBoost's, as in `model_parity`.
const RMSE_TOLERANCE_PERCENT: f64 = 2.0;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Walks both forward over `plan`'s folds, prints one table row, and checks the RMSE gap.
fn side_by_side(name: &str, dataset: &Dataset, plan: &WalkForward, params: &BoosterParams, repeats: usize) {
    let folds = plan.folds(&dataset.dates).expect("enough dates for the walk-forward split");
    let first_test = folds.first().map_or(dataset.len(), |fold| fold.test.start);
    let mut ours = Vec::with_capacity(dataset.len() - first_test);
    let mut our_time = 0.0;
    for fold in &folds {
        let train = dataset.matrix.slice_rows(fold.train.clone());
        let mut fastest = f64::INFINITY;
        let mut model = None;
        for _ in 0..repeats.max(1) {
            let started = Instant::now();
            let fitted = Booster::fit(&train, &dataset.targets[fold.train.clone()], params).expect("trains");
            fastest = fastest.min(started.elapsed().as_secs_f64());
            model = Some(fitted);
        }
        our_time += fastest;
        let model = model.expect("at least one run");
        ours.extend(model.predict(&dataset.matrix.slice_rows(fold.test.clone())).expect("predicts"));
    }
    let theirs = model_support::xgboost(dataset, &folds, params, repeats.max(1));
    assert_eq!(ours.len(), theirs.predicted_changes.len(), "same test rows");
    let their_time: f64 = theirs.train_seconds.iter().sum();
    let dmatrix: f64 = theirs.dmatrix_seconds.iter().sum();
    let same = ours.iter().zip(&theirs.predicted_changes).filter(|(a, b)| (*a - *b).abs() <= 1e-6).count();
    let our_rmse = model_support::price_rmse(dataset, first_test, &ours);
    let their_rmse = model_support::price_rmse(dataset, first_test, &theirs.predicted_changes);
    let gap = 100.0 * (our_rmse - their_rmse) / their_rmse;
    let training_rows: usize = folds.iter().map(|fold| fold.train.len()).sum();
    println!(
        "| {name} | {} | {training_rows} | {} | {our_time:.3} s | {their_time:.3} s (+ {dmatrix:.3} s DMatrix) | \
         {:.2} | {our_rmse:.4} | {their_rmse:.4} | {gap:+.3} % | {:.1} % |",
        folds.len(),
        ours.len(),
        our_time / their_time,
        100.0 * same as f64 / ours.len().max(1) as f64,
    );
    assert!(
        gap.abs() <= RMSE_TOLERANCE_PERCENT,
        "{name}: RMSE ours {our_rmse:.6} vs XGBoost {} {their_rmse:.6} ({gap:+.3} %), more than \
         {RMSE_TOLERANCE_PERCENT} % apart",
        theirs.version
    );
}

#[test]
#[ignore = "a bench: run in release with --ignored --nocapture"]
fn walk_forward_at_scale_against_xgboost_with_two_threads() {
    let params = BoosterParams { threads: 2, ..BoosterParams::default() };
    let repeats = env_usize("PRICESTREAM_MODEL_REPEATS", 1);
    let tickers = env_usize("PRICESTREAM_MODEL_TICKERS", 50);
    let days = env_usize("PRICESTREAM_MODEL_DAYS", 5_040);
    let defaults = WalkForward::default();
    let plan = WalkForward {
        warmup_bars: env_usize("PRICESTREAM_MODEL_WARMUP_BARS", defaults.warmup_bars),
        retrain_every_bars: env_usize("PRICESTREAM_MODEL_RETRAIN_EVERY_BARS", defaults.retrain_every_bars),
        ..defaults
    };
    println!(
        "walk-forward: first prediction after {} dates, retrained every {} dates, horizon {} bars",
        plan.warmup_bars, plan.retrain_every_bars, plan.horizon_bars
    );
    println!(
        "| data | folds | training rows (all folds) | test rows | ours (threads=2) | XGBoost (nthread=2) | \
         ours / XGBoost | RMSE ours | RMSE XGBoost | RMSE gap | identical predictions |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let nvda = Dataset::from_rows(&model_support::market_rows("nvda-1999-2014.csv", "NVDA"));
    side_by_side("NVDA", &nvda, &plan, &params, repeats);
    let global = Dataset::from_rows(&model_support::generated_rows(tickers, days));
    side_by_side(
        &format!("{tickers} generated tickers × {days} days, global"),
        &global,
        &plan,
        &params,
        repeats,
    );
}
