//! Walk-forward backtests on NVDA and ORCL: the model and the gated (served) forecaster against
//! the persistence baseline, printed as the table `docs/model.md` quotes (run with
//! `--nocapture`). The gated forecaster must never do worse than persistence on the real series,
//! and must keep real skill: on a generated series with a planted signal it beats persistence
//! clearly.

mod model_support;

use pricestream_indicators::IndicatorParams;
use pricestream_model::{BacktestReport, BoosterParams, Dataset, WalkForward, backtest, feature_rows};

use model_support::regularised;

fn run(file: &str, ticker: &str, params: &BoosterParams, label: &str) -> BacktestReport {
    checked(Dataset::from_rows(&model_support::market_rows(file, ticker)), ticker, params, label)
}

/// The backtest of `dataset` with the default split, printed, with what holds for every report.
fn checked(dataset: Dataset, ticker: &str, params: &BoosterParams, label: &str) -> BacktestReport {
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
    assert_eq!(report.gated.rows, report.model.rows);
    assert_eq!(report.gate_weights.len(), report.folds);
    assert!(report.gate_weights.iter().all(|w| (0.0..=1.0).contains(w)), "{:?}", report.gate_weights);
    assert_eq!(report.gate_weights[0], 0.0, "the first block has no earlier forecasts to trust");
    report
}

/// The gated forecaster never does worse than persistence on a real series.
fn assert_never_worse(report: &BacktestReport) {
    assert!(
        report.gated.rmse <= report.baseline.rmse,
        "served RMSE {} above persistence {}: {report}",
        report.gated.rmse,
        report.baseline.rmse
    );
}

#[test]
fn nvda_walk_forward_against_persistence() {
    assert_never_worse(&run("nvda-1999-2014.csv", "NVDA", &regularised(), "regularised"));
    run(
        "nvda-1999-2014.csv",
        "NVDA",
        &BoosterParams { threads: 2, ..BoosterParams::default() },
        "XGBoost defaults",
    );
}

#[test]
fn orcl_walk_forward_against_persistence() {
    assert_never_worse(&run("orcl-1995-2014.csv", "ORCL", &regularised(), "regularised"));
}

#[test]
fn the_gate_keeps_the_skill_of_a_planted_signal() {
    let bars = model_support::planted_signal_bars(4_000, 7);
    let rows = feature_rows(&bars, &IndicatorParams::default(), model_support::HORIZON_BARS);
    let report = checked(Dataset::from_rows(&rows), "PLANTED", &regularised(), "regularised");
    assert!(report.beats_baseline, "the model finds the planted signal: {report}");
    assert!(report.gated.rmse < 0.95 * report.baseline.rmse, "the gate keeps most of the skill: {report}");
    let trusted = report.gate_weights.iter().skip(1).filter(|w| **w > 0.5).count();
    assert!(trusted + 1 >= report.folds, "every block after the first trusts the model: {report}");
}
