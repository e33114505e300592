//! Labelled mart rows as a training table, in date order.

use super::features::{FEATURE_NAMES, N_FEATURES, model_inputs, target_change};
use super::matrix::FeatureMatrix;
use chrono::NaiveDate;
use pricestream_records::FeatureRow;

/// The labelled rows of one ticker (per-ticker model) or many (global model), ordered by date
/// and then ticker, with the model inputs, the target and what evaluation needs.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    /// Model inputs, one row per labelled mart row.
    pub matrix: FeatureMatrix,
    /// Target: relative change of the close `horizon_bars` ahead.
    pub targets: Vec<f32>,
    /// Close of each row's bar.
    pub closes: Vec<f64>,
    /// The actual close `horizon_bars` ahead (the mart's label).
    pub labels: Vec<f64>,
    /// Date of each row's bar.
    pub dates: Vec<NaiveDate>,
    /// Ticker of each row.
    pub tickers: Vec<String>,
}

impl Dataset {
    /// The rows with a known label (rows whose label is still unknown are what gets scored, not
    /// trained or evaluated on), sorted by date and ticker.
    pub fn from_rows(rows: &[FeatureRow]) -> Dataset {
        let mut labelled: Vec<(&FeatureRow, f32)> =
            rows.iter().filter_map(|row| target_change(row).map(|target| (row, target))).collect();
        labelled.sort_by(|(a, _), (b, _)| (a.date_time, &a.ticker).cmp(&(b.date_time, &b.ticker)));
        let mut dataset = Dataset { matrix: FeatureMatrix::new(N_FEATURES), ..Dataset::default() };
        for (row, target) in labelled {
            dataset.matrix.push_row(&model_inputs(row));
            dataset.targets.push(target);
            dataset.closes.push(row.close);
            dataset.labels.push(row.label.unwrap_or(f64::NAN));
            dataset.dates.push(row.date_time);
            dataset.tickers.push(row.ticker.clone());
        }
        dataset
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Names of the model inputs.
    pub fn feature_names(&self) -> [&'static str; N_FEATURES] {
        FEATURE_NAMES
    }
}
