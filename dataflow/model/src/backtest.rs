//! Walk-forward (expanding window) backtest: retrain every few bars on everything known so far,
//! predict the next block, never look ahead.

use super::booster::Booster;
use super::dataset::Dataset;
use super::error::ModelError;
use super::features::predicted_close;
use super::gate::Gate;
use super::params::BoosterParams;
use super::report::BacktestReport;
use chrono::NaiveDate;
use pricestream_records::Problems;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// How the backtest splits the dates (config section `backtest`). Bars are counted on the date
/// axis: for one ticker, its rows; for a global model, the trading days all tickers share.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalkForward {
    /// Dates before the first prediction (the first training window).
    #[serde(default = "default_warmup_bars")]
    pub warmup_bars: usize,
    /// Dates per test block: the model is retrained before each block.
    #[serde(default = "default_retrain_every_bars")]
    pub retrain_every_bars: usize,
    /// How far ahead the label lies. A training row needs its label known on the day of the
    /// block's first prediction, so the last `horizon_bars − 1` dates before a block are left out.
    #[serde(default = "default_horizon_bars")]
    pub horizon_bars: usize,
    /// The serving gate's margin: how far (a fraction) below persistence's RMSE the gated
    /// forecast must be on the rows it learned its weight from, or persistence is served.
    #[serde(default = "default_gate_margin")]
    pub gate_margin: f64,
}

fn default_warmup_bars() -> usize {
    500
}
fn default_retrain_every_bars() -> usize {
    250
}
fn default_horizon_bars() -> usize {
    2
}
/// One percent: a weight that gains less over persistence is noise.
pub fn default_gate_margin() -> f64 {
    0.01
}

impl Default for WalkForward {
    fn default() -> Self {
        WalkForward {
            warmup_bars: default_warmup_bars(),
            retrain_every_bars: default_retrain_every_bars(),
            horizon_bars: default_horizon_bars(),
            gate_margin: default_gate_margin(),
        }
    }
}

impl WalkForward {
    /// Records every problem with these settings under `prefix`.
    pub fn validate(&self, prefix: &str, problems: &mut Problems) {
        let key = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
        problems.at_least(&key("horizon_bars"), self.horizon_bars, 1);
        problems.check(
            self.warmup_bars > self.horizon_bars,
            &key("warmup_bars"),
            format_args!("must be > horizon_bars ({}), got {}", self.horizon_bars, self.warmup_bars),
        );
        problems.at_least(&key("retrain_every_bars"), self.retrain_every_bars, 1);
        problems.check(
            (0.0..1.0).contains(&self.gate_margin),
            &key("gate_margin"),
            format_args!("must be at least 0 and below 1, got {}", self.gate_margin),
        );
    }

    /// The folds over rows ordered by date (`dates`, ascending, repeated for many tickers).
    pub fn folds(&self, dates: &[NaiveDate]) -> Result<Vec<Fold>, ModelError> {
        let problems = Problems::collect(|problems| self.validate("", problems));
        if !problems.is_empty() {
            return Err(ModelError::NotEnoughRows(format!("invalid walk-forward settings:\n{problems}")));
        }
        let mut distinct: Vec<NaiveDate> = dates.to_vec();
        distinct.dedup();
        if distinct.len() <= self.warmup_bars {
            return Err(ModelError::NotEnoughRows(format!(
                "{} labelled dates, but the first prediction comes after warmup_bars = {}",
                distinct.len(),
                self.warmup_bars
            )));
        }
        // First row on or after a date index (rows past the end when the index is).
        let start_of =
            |index: usize| distinct.get(index).map_or(dates.len(), |day| dates.partition_point(|d| d < day));
        Ok((self.warmup_bars..distinct.len())
            .step_by(self.retrain_every_bars)
            .map(|first| Fold {
                train: 0..start_of(first + 1 - self.horizon_bars),
                test: start_of(first)..start_of(first + self.retrain_every_bars),
            })
            .collect())
    }
}

/// One retraining: train on `train`, predict `test` (row ranges of the date-ordered dataset).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fold {
    /// Rows trained on: everything whose label is known when the block starts.
    pub train: Range<usize>,
    /// Rows predicted.
    pub test: Range<usize>,
}

/// The predictions of a walk-forward run.
#[derive(Clone, Debug)]
pub struct WalkForwardRun {
    /// The folds, in date order; their test ranges are contiguous.
    pub folds: Vec<Fold>,
    /// First row predicted.
    pub first_test: usize,
    /// Predicted relative change of every row from `first_test` on.
    pub predicted_changes: Vec<f32>,
    /// The gate each fold's forecasts are served with (one per fold), learned as the service
    /// learns it: from out-of-sample forecasts whose outcome was known when the fold starts,
    /// here the earlier folds' (the first fold has none and serves persistence).
    pub gates: Vec<Gate>,
    /// The last fold's model (trained on the most rows): what the feature importance reports.
    pub last_model: Option<Booster>,
}

impl WalkForwardRun {
    /// The gate a model trained after the last fold serves with: learned from every forecast
    /// of the run (all outcomes are known by then).
    pub fn next_gate(&self, dataset: &Dataset, margin: f64) -> Gate {
        let after = Fold { train: 0..dataset.len(), test: dataset.len()..dataset.len() };
        learn_gate(dataset, self.first_test, &self.predicted_changes, &after, margin)
    }

    /// The served forecast of every predicted row (the fold's gate on the model's forecast).
    pub fn gated_forecasts(&self, closes: &[f64]) -> Vec<f64> {
        let mut gated = Vec::with_capacity(self.predicted_changes.len());
        for (fold, gate) in self.folds.iter().zip(&self.gates) {
            for row in fold.test.clone() {
                let change = self.predicted_changes[row - self.first_test];
                gated.push(gate.forecast(closes[row], predicted_close(closes[row], change)));
            }
        }
        gated
    }
}

/// Trains one model per fold and predicts its block.
pub fn walk_forward(
    dataset: &Dataset,
    plan: &WalkForward,
    params: &BoosterParams,
) -> Result<WalkForwardRun, ModelError> {
    walk_forward_with_progress(dataset, plan, params, |_done, _folds| {})
}

/// [`walk_forward`], calling `progress(done, folds)` before the first fold and after each one
/// (for a progress bar: a fold is one training).
pub fn walk_forward_with_progress(
    dataset: &Dataset,
    plan: &WalkForward,
    params: &BoosterParams,
    mut progress: impl FnMut(usize, usize),
) -> Result<WalkForwardRun, ModelError> {
    let folds = plan.folds(&dataset.dates)?;
    let first_test = folds.first().map_or(dataset.len(), |fold| fold.test.start);
    let mut predicted_changes = Vec::with_capacity(dataset.len() - first_test);
    let mut gates = Vec::with_capacity(folds.len());
    let mut last_model = None;
    progress(0, folds.len());
    for (done, fold) in folds.iter().enumerate() {
        gates.push(learn_gate(dataset, first_test, &predicted_changes, fold, plan.gate_margin));
        let train = dataset.matrix.slice_rows(fold.train.clone());
        let model = Booster::fit(&train, &dataset.targets[fold.train.clone()], params)?;
        predicted_changes.extend(model.predict(&dataset.matrix.slice_rows(fold.test.clone()))?);
        last_model = Some(model);
        progress(done + 1, folds.len());
    }
    Ok(WalkForwardRun { folds, first_test, predicted_changes, gates, last_model })
}

/// The gate of `fold`: learned from the earlier folds' forecasts of rows whose label was
/// known when it starts (rows before `fold.train.end`).
fn learn_gate(dataset: &Dataset, first_test: usize, changes: &[f32], fold: &Fold, margin: f64) -> Gate {
    let known = first_test..fold.train.end.max(first_test).min(first_test + changes.len());
    let closes = &dataset.closes[known.clone()];
    let forecasts: Vec<f64> = closes
        .iter()
        .zip(&changes[..known.len()])
        .map(|(&close, &change)| predicted_close(close, change))
        .collect();
    Gate::learn(closes, &dataset.labels[known], &forecasts, margin)
}

/// Walk-forward backtest with the model and the persistence baseline side by side.
pub fn backtest(
    dataset: &Dataset,
    plan: &WalkForward,
    params: &BoosterParams,
) -> Result<BacktestReport, ModelError> {
    let run = walk_forward(dataset, plan, params)?;
    Ok(BacktestReport::new(dataset, &run))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(n: u64) -> Vec<NaiveDate> {
        let start = NaiveDate::from_ymd_opt(2000, 1, 3).expect("valid date");
        (0..n).map(|i| start + chrono::Days::new(i)).collect()
    }

    #[test]
    fn folds_expand_and_leave_out_rows_whose_label_is_not_known_yet() {
        let plan =
            WalkForward { warmup_bars: 10, retrain_every_bars: 4, horizon_bars: 2, ..WalkForward::default() };
        let folds = plan.folds(&days(20)).expect("enough dates");
        assert_eq!(
            folds,
            vec![
                Fold { train: 0..9, test: 10..14 },
                Fold { train: 0..13, test: 14..18 },
                Fold { train: 0..17, test: 18..20 },
            ]
        );
    }

    #[test]
    fn many_tickers_split_on_dates() {
        // Three tickers per date.
        let dates: Vec<NaiveDate> = days(6).into_iter().flat_map(|d| [d, d, d]).collect();
        let plan =
            WalkForward { warmup_bars: 3, retrain_every_bars: 2, horizon_bars: 1, ..WalkForward::default() };
        let folds = plan.folds(&dates).expect("enough dates");
        assert_eq!(folds, vec![Fold { train: 0..9, test: 9..15 }, Fold { train: 0..15, test: 15..18 }]);
    }

    #[test]
    fn too_few_dates_is_an_error() {
        let plan = WalkForward::default();
        assert!(matches!(plan.folds(&days(400)), Err(ModelError::NotEnoughRows(_))));
        let mut problems = Problems::default();
        WalkForward { warmup_bars: 2, retrain_every_bars: 0, horizon_bars: 2, gate_margin: 1.0 }
            .validate("backtest", &mut problems);
        assert_eq!(problems.messages().len(), 3, "{problems}");
    }
}
