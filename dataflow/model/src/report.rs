//! The backtest's verdict: model against the persistence baseline, said plainly.

use super::backtest::WalkForwardRun;
use super::dataset::Dataset;
use super::features::predicted_close;
use super::metrics::Metrics;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Model and persistence baseline (the forecast close is today's close) on the same rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BacktestReport {
    /// Number of retrainings.
    pub folds: usize,
    /// Rows of the first training window.
    pub first_training_rows: usize,
    /// Errors of the model's forecasts.
    pub model: Metrics,
    /// Errors of the persistence forecast.
    pub baseline: Metrics,
    /// Errors of the served forecast: each block's gate on the model's forecast.
    pub gated: Metrics,
    /// The gate weight of each block, in date order (0 = persistence served).
    pub gate_weights: Vec<f64>,
    /// Share (percent) of rows whose close went up: what always guessing "up" scores on direction.
    pub up_percent: f64,
    /// Whether the model's RMSE is below the baseline's.
    pub beats_baseline: bool,
    /// One sentence saying whether the model beats the baseline, and by how much.
    pub verdict: String,
}

impl BacktestReport {
    /// Evaluates a walk-forward run on its dataset.
    pub fn new(dataset: &Dataset, run: &WalkForwardRun) -> BacktestReport {
        let tested = run.first_test..run.first_test + run.predicted_changes.len();
        let closes = &dataset.closes[tested.clone()];
        let actuals = &dataset.labels[tested];
        let forecasts: Vec<f64> = closes
            .iter()
            .zip(&run.predicted_changes)
            .map(|(&close, &change)| predicted_close(close, change))
            .collect();
        let model = Metrics::of_prices(closes, actuals, &forecasts);
        let baseline = Metrics::of_prices(closes, actuals, closes);
        let gated = Metrics::of_prices(closes, actuals, &run.gated_forecasts(&dataset.closes));
        let ups = closes.iter().zip(actuals).filter(|(close, actual)| actual > close).count();
        let beats_baseline = model.rmse < baseline.rmse;
        BacktestReport {
            folds: run.folds.len(),
            first_training_rows: run.folds.first().map_or(0, |fold| fold.train.len()),
            model,
            baseline,
            gated,
            gate_weights: run.gates.iter().map(|gate| gate.weight).collect(),
            up_percent: 100.0 * ups as f64 / closes.len().max(1) as f64,
            beats_baseline,
            verdict: format!("{} {}", verdict(&model, &baseline), gated_verdict(&gated, &baseline)),
        }
    }
}

fn verdict(model: &Metrics, baseline: &Metrics) -> String {
    let change = 100.0 * (model.rmse - baseline.rmse) / baseline.rmse;
    if model.rmse < baseline.rmse {
        format!(
            "The model beats the persistence baseline: RMSE {:.4} vs {:.4} ({:.2} % lower).",
            model.rmse, baseline.rmse, -change
        )
    } else {
        format!(
            "The model does NOT beat the persistence baseline: RMSE {:.4} vs {:.4} ({:.2} % higher). \
             Forecasting today's close would have been more accurate than this model.",
            model.rmse, baseline.rmse, change
        )
    }
}

fn gated_verdict(gated: &Metrics, baseline: &Metrics) -> String {
    let change = 100.0 * (gated.rmse - baseline.rmse) / baseline.rmse;
    if gated.rmse < baseline.rmse {
        format!("Served through the gate: RMSE {:.4} ({:.2} % below persistence).", gated.rmse, -change)
    } else if gated.rmse == baseline.rmse {
        format!(
            "Served through the gate: RMSE {:.4}, persistence itself (the gate never trusted the model).",
            gated.rmse
        )
    } else {
        format!(
            "Served through the gate: RMSE {:.4} ({:.2} % above persistence: a weight learned on \
             earlier blocks did not hold).",
            gated.rmse, change
        )
    }
}

impl fmt::Display for BacktestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let direction = |m: &Metrics| {
            m.directional_accuracy_percent.map_or_else(|| "n/a".to_owned(), |d| format!("{d:.1} %"))
        };
        writeln!(
            f,
            "walk-forward: {} rows predicted in {} blocks (first training window {} rows)",
            self.model.rows, self.folds, self.first_training_rows
        )?;
        writeln!(f, "| forecast                  |       RMSE |        MAE |     MAPE | direction |")?;
        writeln!(f, "|---------------------------|-----------:|-----------:|---------:|----------:|")?;
        let rows = [
            ("model", &self.model),
            ("gated (served)", &self.gated),
            ("persistence (close today)", &self.baseline),
        ];
        for (name, m) in rows {
            writeln!(
                f,
                "| {name:<25} | {:>10.4} | {:>10.4} | {:>6.2} % | {:>9} |",
                m.rmse,
                m.mae,
                m.mape_percent,
                direction(m)
            )?;
        }
        writeln!(
            f,
            "direction: persistence never predicts a move; always guessing \"up\" scores {:.1} %",
            self.up_percent
        )?;
        let weights: Vec<String> = self.gate_weights.iter().map(|weight| format!("{weight:.2}")).collect();
        writeln!(f, "gate weight per block (0 = persistence served): {}", weights.join(" "))?;
        write!(f, "{}", self.verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(rmse: f64) -> Metrics {
        Metrics { rows: 10, rmse, mae: rmse, mape_percent: 1.0, directional_accuracy_percent: None }
    }

    #[test]
    fn the_verdict_says_plainly_when_the_model_loses() {
        let losing = verdict(&metrics(1.1), &metrics(1.0));
        assert!(losing.starts_with("The model does NOT beat the persistence baseline"), "{losing}");
        assert!(losing.contains("10.00 % higher"), "{losing}");
        let winning = verdict(&metrics(0.9), &metrics(1.0));
        assert!(winning.starts_with("The model beats the persistence baseline"), "{winning}");
    }
}
