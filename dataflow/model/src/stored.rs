//! What a stored model version holds, whoever stores it: its scope, what it was trained on,
//! its backtest and the model itself. The `models` table (`pricestream-cassandra`) keeps them.

use super::{BacktestReport, Booster, Challenge, Gate, Metrics};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Whether one model is trained per ticker or one for every ticker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeSetting {
    /// One model per ticker, trained on that ticker's rows only.
    #[default]
    PerTicker,
    /// One model over the rows of every ticker.
    Global,
}

/// What a model is trained on and predicts for: one ticker, or every ticker at once.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ModelScope {
    /// One model per ticker; this one's.
    Ticker(String),
    /// One model for every ticker (stored under the scope `global`).
    Global,
}

impl ModelScope {
    /// The scope as stored: the ticker, or `global`.
    pub fn as_str(&self) -> &str {
        match self {
            ModelScope::Ticker(ticker) => ticker,
            ModelScope::Global => "global",
        }
    }

    /// The scope a stored name stands for (`global`, or a ticker).
    pub fn parse(name: &str) -> ModelScope {
        if name == "global" { ModelScope::Global } else { ModelScope::Ticker(name.to_owned()) }
    }
}

impl fmt::Display for ModelScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The walk-forward backtest a model was stored with: its errors and the persistence baseline's.
#[derive(Clone, Debug, PartialEq)]
pub struct BacktestSummary {
    /// Errors of the model's forecasts (rows = rows predicted).
    pub model: Metrics,
    /// Errors of the persistence forecast on the same rows.
    pub baseline: Metrics,
    /// Errors of the served (gated) forecast on the same rows.
    pub gated: Metrics,
    /// Share (percent) of those rows whose close went up.
    pub up_percent: f64,
}

impl From<&BacktestReport> for BacktestSummary {
    fn from(report: &BacktestReport) -> Self {
        BacktestSummary {
            model: report.model,
            baseline: report.baseline,
            gated: report.gated,
            up_percent: report.up_percent,
        }
    }
}

/// A trained model and what it was trained on, before it gets a version.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelRecord {
    /// The ticker it is for, or global.
    pub scope: ModelScope,
    /// When training finished.
    pub trained_at: DateTime<Utc>,
    /// How many bars ahead it forecasts.
    pub horizon_bars: u32,
    /// Labelled rows it was trained on.
    pub training_rows: i64,
    /// Date of the first training row.
    pub first_date: Option<NaiveDate>,
    /// Date of the last training row.
    pub last_date: Option<NaiveDate>,
    /// Its walk-forward backtest, when there were enough rows for one.
    pub backtest: Option<BacktestSummary>,
    /// What its served forecasts are: learned from the backtest's out-of-sample forecasts;
    /// persistence when there was no backtest (nothing shows the model does better). The
    /// serving version's gate where that one was kept (see `challenge`).
    pub gate: Gate,
    /// The model that serves (its hyperparameters are stored as JSON beside it): the one
    /// trained here, or the serving version's where that one was kept.
    pub booster: Booster,
    /// How the version trained here fared against the version serving when it was trained;
    /// `None` when none served a model, or too few rows compared them.
    pub challenge: Option<Challenge>,
    /// Date of the last row `booster` was fitted on: `last_date`, or the kept version's.
    pub model_last_date: Option<NaiveDate>,
}

impl ModelRecord {
    /// The version whose model and gate this one keeps serving, if it did not beat it.
    pub fn kept_version(&self) -> Option<i32> {
        self.challenge.filter(|c| c.kept_incumbent).map(|c| c.incumbent_version)
    }
}

/// A model as stored: its record and the version it got.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredModel {
    /// Version within its scope: 1 for the first model stored, then 2, 3, …
    pub version: i32,
    /// Hyperparameters as stored (JSON, XGBoost's names).
    pub hyperparameters: String,
    /// The model and what it was trained on.
    pub record: ModelRecord,
}
