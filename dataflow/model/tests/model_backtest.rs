//! Walk-forward backtests on NVDA and ORCL: the model against the persistence baseline, printed
//! as the table `docs/model.md` quotes (run with `--nocapture`).

mod model_support;

use pricestream_model::{BacktestReport, BoosterParams, Dataset, WalkForward, backtest};

use model_support::regularised;

fn run(file: &str, ticker: &str, params: &BoosterParams, label: &str) -> BacktestReport {
    let dataset = Dataset::from_rows(&model_support::market_rows(file, ticker));
    let report = backtest(&dataset, &WalkForward::default(), params).expect("backtest");
    println!("{ticker}, {label}:\n{report}\n");
    // Every labelled row after the warm-up is predicted exactly once.
    assert_eq!(report.model.rows, dataset.len() - (report.first_training_rows + 1));
    assert_eq!(report.baseline.rows, report.model.rows);
    assert!(report.model.rmse.is_finite() && report.baseline.rmse.is_finite());
    // The verdict says plainly which side won.
    let plain = if report.beats_baseline { "The model beats" } else { "The model does NOT beat" };
    assert!(report.verdict.starts_with(plain), "{}", report.verdict);
    assert!(report.to_string().ends_with(&report.verdict));
    report
}

#[test]
fn nvda_walk_forward_against_persistence() {
    run("nvda-1999-2014.csv", "NVDA", &regularised(), "regularised");
    run(
        "nvda-1999-2014.csv",
        "NVDA",
        &BoosterParams { threads: 2, ..BoosterParams::default() },
        "XGBoost defaults",
    );
}

#[test]
fn orcl_walk_forward_against_persistence() {
    run("orcl-1995-2014.csv", "ORCL", &regularised(), "regularised");
}
