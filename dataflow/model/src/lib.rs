//! The forecasting model: gradient-boosted regression trees with XGBoost's `tree_method=hist`
//! algorithm, trained on the feature mart to predict the close `horizon_bars` ahead.
//!
//! - [`BoosterParams`]: hyperparameters under XGBoost's names; [`Booster`]: training,
//!   prediction, saving (versioned JSON).
//! - Training pipeline: [`BinCuts`] (quantile cut points, once per training set) → binned rows →
//!   per tree, depth-wise: gradient histograms (multi-threaded, the smaller child built, its
//!   sibling by subtraction) → split search with a learned direction for missing inputs → row
//!   partitioning. Prediction walks flat node arrays ([`Forest`]).
//! - [`model_inputs`] / [`target_change`] / [`predicted_close`]: from a mart row to scale-free
//!   inputs and a relative-change target, and back to a price.
//! - [`backtest`]: walk-forward evaluation against the persistence baseline.
//! - [`Device`]: train on the CPU or, through [`cuda`], on an NVIDIA GPU (`auto` picks).
//!
//! See `docs/model.md` for the algorithm, the inputs and the parity with XGBoost.
//!
//! ```
//! use pricestream_model::{Booster, BoosterParams, Dataset, WalkForward, backtest};
//! use pricestream_records::FeatureRow;
//! use chrono::NaiveDate;
//!
//! // A mart of 300 days where the close creeps up 0.1 % a day and RSI is always 60.
//! let start = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
//! let close = |day: u64| 100.0 * 1.001_f64.powi(day as i32);
//! let rows: Vec<FeatureRow> = (0..300)
//!     .map(|day| FeatureRow {
//!         ticker: "DEMO".into(),
//!         date_time: start + chrono::Days::new(day),
//!         close: close(day),
//!         rsi: Some(60.0),
//!         label: Some(close(day + 2)),
//!         ..FeatureRow::default()
//!     })
//!     .collect();
//! let dataset = Dataset::from_rows(&rows);
//! let plan = WalkForward { warmup_bars: 200, retrain_every_bars: 50, horizon_bars: 2, ..WalkForward::default() };
//! let params = BoosterParams { n_estimators: 20, threads: 1, ..BoosterParams::default() };
//! let report = backtest(&dataset, &plan, &params).unwrap();
//! assert!(report.beats_baseline, "{report}");
//! println!("{report}");
//! ```
//!
//! ```
//! use pricestream_model::{Booster, BoosterParams, FeatureMatrix};
//!
//! // y = 2x on one input, learned by a few trees.
//! let xs: Vec<f32> = (0..200).map(|i| i as f32 / 10.0).collect();
//! let targets: Vec<f32> = xs.iter().map(|x| 2.0 * x).collect();
//! let matrix = FeatureMatrix::from_values(1, xs).unwrap();
//! let params = BoosterParams { n_estimators: 50, ..BoosterParams::default() };
//! let booster = Booster::fit(&matrix, &targets, &params).unwrap();
//! let guess = booster.predict_row(&[10.0]).unwrap();
//! assert!((guess - 20.0).abs() < 1.0, "{guess}");
//! ```

mod backtest;
mod binned;
mod booster;
mod challenge;
pub mod cuda;
mod cuts;
mod dataset;
mod device;
mod error;
mod features;
mod forest;
mod gate;
mod grow;
mod histogram;
mod importance;
mod matrix;
mod metrics;
mod offline;
mod parallel;
mod params;
mod partition;
mod quantile;
mod report;
mod sampling;
mod split;
mod stored;
mod xgboost_json;

pub use backtest::{
    Fold, WalkForward, WalkForwardRun, backtest, default_gate_margin, walk_forward,
    walk_forward_with_progress,
};
pub use booster::{Booster, MODEL_FORMAT_VERSION};
pub use challenge::{Challenge, MIN_CHALLENGE_ROWS};
pub use cuts::BinCuts;
pub use dataset::Dataset;
pub use device::Device;
pub use error::ModelError;
pub use features::{FEATURE_NAMES, N_FEATURES, model_inputs, predicted_close, target_change};
pub use forest::{FlatNode, Forest};
pub use gate::Gate;
pub use importance::{Importance, Importances};
pub use matrix::FeatureMatrix;
pub use metrics::Metrics;
pub use offline::feature_rows;
pub use params::{BoosterParams, MAX_BIN, MAX_DEPTH};
pub use report::BacktestReport;
pub use stored::{BacktestSummary, ModelRecord, ModelScope, ScopeSetting, StoredModel};
