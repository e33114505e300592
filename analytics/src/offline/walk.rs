//! The walk-forward backtest, fold by fold with a progress bar, and the forecasts it made.

use super::progress;
use chrono::NaiveDate;
use pricestream_model::{
    BacktestReport, BoosterParams, Dataset, FEATURE_NAMES, Gate, Importances, ModelError, WalkForward,
    predicted_close, walk_forward_with_progress,
};

/// A backtest's verdict and every forecast behind it.
pub struct Backtest {
    /// Model and persistence baseline side by side.
    pub report: BacktestReport,
    /// One entry per predicted row, in row order.
    pub forecasts: Vec<Forecast>,
    /// The gate a model trained on every row serves with: learned from all these forecasts.
    pub gate: Gate,
    /// The feature importance of the last block's model.
    pub importance: Importances,
}

/// One predicted row.
#[derive(Clone, Debug, PartialEq)]
pub struct Forecast {
    /// Ticker of the row.
    pub ticker: String,
    /// Date of the row (the forecast is made at its close).
    pub as_of: NaiveDate,
    /// Close that day.
    pub close: f64,
    /// The close `horizon_bars` later, as it happened.
    pub actual: f64,
    /// The model's forecast of it.
    pub predicted: f64,
    /// The served forecast: the block's gate on the model's.
    pub served: f64,
}

/// The library's walk-forward with a progress bar, and the forecast of every predicted row.
pub fn run(dataset: &Dataset, plan: &WalkForward, params: &BoosterParams) -> Result<Backtest, ModelError> {
    let mut bar = None;
    let run = walk_forward_with_progress(dataset, plan, params, |done, folds| {
        bar.get_or_insert_with(|| progress::folds(folds)).set_position(done as u64);
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let served = run.gated_forecasts(&dataset.closes);
    let forecasts = run
        .predicted_changes
        .iter()
        .zip(served)
        .enumerate()
        .map(|(i, (&change, served))| {
            let row = run.first_test + i;
            Forecast {
                ticker: dataset.tickers[row].clone(),
                as_of: dataset.dates[row],
                close: dataset.closes[row],
                actual: dataset.labels[row],
                predicted: predicted_close(dataset.closes[row], change),
                served,
            }
        })
        .collect();
    let gate = run.next_gate(dataset, plan.gate_margin);
    let importance =
        run.last_model.as_ref().map(|model| model.clone().with_feature_names(&FEATURE_NAMES).importance());
    Ok(Backtest {
        report: BacktestReport::new(dataset, &run),
        forecasts,
        gate,
        importance: importance.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pricestream_model::backtest;
    use pricestream_records::FeatureRow;

    #[test]
    fn gives_the_report_of_the_library_backtest_and_one_forecast_per_predicted_row() {
        let start = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default();
        let close = |day: u64| 100.0 + ((day * 7) % 13) as f64;
        let rows: Vec<FeatureRow> = (0..120)
            .map(|day| FeatureRow {
                ticker: "T".into(),
                date_time: start + chrono::Days::new(day),
                close: close(day),
                rsi: Some(((day * 7) % 13) as f64),
                label: Some(close(day + 2)),
                ..FeatureRow::default()
            })
            .collect();
        let dataset = Dataset::from_rows(&rows);
        let plan = WalkForward {
            warmup_bars: 60,
            retrain_every_bars: 20,
            horizon_bars: 2,
            ..WalkForward::default()
        };
        let params = BoosterParams { n_estimators: 10, threads: 1, ..BoosterParams::default() };
        let ours = run(&dataset, &plan, &params).expect("runs");
        assert_eq!(ours.report, backtest(&dataset, &plan, &params).expect("runs"));
        assert_eq!(ours.forecasts.len(), 60);
        let first = &ours.forecasts[0];
        assert_eq!(
            (first.as_of, first.close, first.actual),
            (start + chrono::Days::new(60), close(60), close(62))
        );
    }
}
