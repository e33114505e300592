//! The rows a model stage keeps per series: only what training and scoring need
//! (~70 bytes a row instead of a whole mart row).

use chrono::NaiveDate;
use pricestream_model::{N_FEATURES, model_inputs, target_change};
use pricestream_records::FeatureRow;
use std::collections::BTreeMap;

/// One mart row as the model sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelRow {
    /// The mart's row number.
    pub id: Option<i64>,
    /// Close of the bar.
    pub close: f64,
    /// Close `horizon_bars` later, once known.
    pub label: Option<f64>,
    /// Training target (relative change), present exactly when the label is usable.
    pub target: Option<f32>,
    /// Scale-free model inputs.
    pub inputs: [f32; N_FEATURES],
    /// The close last forecast from this row, while its label was unknown.
    pub forecast: Option<f64>,
}

impl ModelRow {
    /// The model's view of `row`.
    pub fn of(row: &FeatureRow) -> ModelRow {
        ModelRow {
            id: row.id,
            close: row.close,
            label: row.label,
            target: target_change(row),
            inputs: model_inputs(row),
            forecast: None,
        }
    }
}

/// What changed in a series when a row was stored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stored {
    /// The row has a target it did not have before (a new training row).
    pub newly_labelled: bool,
    /// The row had a target and lost it (the bar it pointed at was deleted).
    pub lost_label: bool,
    /// The row has no label yet: it is one of the newest, to be scored.
    pub unlabelled: bool,
    /// For a row that was forecast and now has its label: the absolute error of the forecast
    /// and of persistence (today's close).
    pub errors: Option<(f64, f64)>,
}

/// The rows of one series by date.
#[derive(Clone, Debug, Default)]
pub struct SeriesRows {
    rows: BTreeMap<NaiveDate, ModelRow>,
}

impl SeriesRows {
    /// Stores (or replaces) the row of `date`.
    pub fn store(&mut self, date: NaiveDate, mut row: ModelRow) -> Stored {
        let old = self.rows.get(&date);
        let had_target = old.is_some_and(|old| old.target.is_some());
        // A forecast belongs to the date: a corrected row keeps it until it is re-scored.
        row.forecast = old.and_then(|old| old.forecast);
        let newly_labelled = row.target.is_some() && !had_target;
        let errors = match (newly_labelled, row.forecast, row.label) {
            (true, Some(forecast), Some(label)) => {
                Some(((forecast - label).abs(), (row.close - label).abs()))
            }
            _ => None,
        };
        let stored = Stored {
            newly_labelled,
            lost_label: row.target.is_none() && had_target,
            unlabelled: row.label.is_none(),
            errors,
        };
        self.rows.insert(date, row);
        stored
    }

    /// Records the close forecast from the row of `date`.
    pub fn set_forecast(&mut self, date: NaiveDate, forecast: f64) {
        if let Some(row) = self.rows.get_mut(&date) {
            row.forecast = Some(forecast);
        }
    }

    /// Forgets the row of `date` (its bar was deleted); whether it was a training row.
    pub fn remove(&mut self, date: NaiveDate) -> bool {
        self.rows.remove(&date).is_some_and(|row| row.target.is_some())
    }

    /// The row of `date`.
    pub fn get(&self, date: NaiveDate) -> Option<&ModelRow> {
        self.rows.get(&date)
    }

    /// Rows with a training target, by date, each with its label's date: the date of the row
    /// `horizon` rows later (`NaiveDate::MAX` where that row is missing).
    pub fn labelled(&self, horizon: usize) -> impl Iterator<Item = (NaiveDate, NaiveDate, &ModelRow)> {
        let label_dates = self.rows.keys().skip(horizon).copied().map(Some).chain(std::iter::repeat(None));
        self.rows
            .iter()
            .zip(label_dates)
            .filter(|((_, row), _)| row.target.is_some())
            .map(|((date, row), label_date)| (*date, label_date.unwrap_or(NaiveDate::MAX), row))
    }

    /// Rows whose label is not known yet (the newest `horizon_bars`), by date.
    pub fn unlabelled(&self) -> impl Iterator<Item = (NaiveDate, &ModelRow)> {
        self.rows.iter().rev().take_while(|(_, row)| row.label.is_none()).map(|(date, row)| (*date, row))
    }

    /// Number of rows.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.rows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, close: f64, label: Option<f64>) -> ModelRow {
        ModelRow::of(&FeatureRow { id: Some(id), close, label, ..FeatureRow::default() })
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 1, d).unwrap_or_default()
    }

    #[test]
    fn a_label_arriving_counts_once_as_a_new_training_row() {
        let mut series = SeriesRows::default();
        let stored = |newly_labelled, lost_label, unlabelled| Stored {
            newly_labelled,
            lost_label,
            unlabelled,
            errors: None,
        };
        assert_eq!(series.store(day(2), row(1, 10.0, None)), stored(false, false, true));
        assert_eq!(series.store(day(2), row(1, 10.0, Some(11.0))), stored(true, false, false));
        // A corrected close keeps the label: not a new training row.
        assert_eq!(series.store(day(2), row(1, 10.5, Some(11.0))), stored(false, false, false));
        assert_eq!(series.get(day(2)).map(|r| r.close), Some(10.5));
        assert_eq!(series.store(day(2), row(1, 10.5, None)), stored(false, true, true));
    }

    #[test]
    fn a_forecast_meets_its_label_once_and_yields_both_errors() {
        let mut series = SeriesRows::default();
        series.store(day(2), row(1, 10.0, None));
        series.set_forecast(day(2), 10.8);
        // A correction of the unlabelled row keeps the forecast.
        assert_eq!(series.store(day(2), row(1, 10.2, None)).errors, None);
        let labelled = series.store(day(2), row(1, 10.2, Some(11.0)));
        let (model, persistence) = labelled.errors.expect("forecast and label");
        assert!((model - 0.2).abs() < 1e-9 && (persistence - 0.8).abs() < 1e-9, "{model} {persistence}");
        assert_eq!(series.store(day(2), row(1, 10.2, Some(11.0))).errors, None, "counted once");
    }

    #[test]
    fn the_newest_rows_without_labels_are_the_ones_to_score() {
        let mut series = SeriesRows::default();
        series.store(day(2), row(1, 10.0, Some(12.0)));
        series.store(day(3), row(2, 11.0, None));
        series.store(day(4), row(3, 12.0, None));
        let newest: Vec<Option<i64>> = series.unlabelled().map(|(_, r)| r.id).collect();
        assert_eq!(newest, [Some(3), Some(2)]);
        // Horizon 2: day 2's label is the close of day 4.
        let labelled: Vec<(NaiveDate, NaiveDate)> = series.labelled(2).map(|(d, l, _)| (d, l)).collect();
        assert_eq!(labelled, [(day(2), day(4))]);
        assert!(!series.remove(day(4)), "an unlabelled row is no training row");
        assert!(series.remove(day(2)));
        assert_eq!(series.len(), 1);
    }
}
