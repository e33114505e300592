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

/// What storing a row changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored {
    /// Its label is not known yet.
    pub unlabelled: bool,
    /// It is new, or its close or model inputs changed: its forecast changes (a label arriving
    /// changes neither).
    pub forecast_input_changed: bool,
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
        // A forecast belongs to the date: a corrected row keeps it until it is re-scored.
        row.forecast = old.and_then(|old| old.forecast);
        let same_bits = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(a, b)| a.to_bits() == b.to_bits());
        let forecast_input_changed = old.is_none_or(|old| {
            old.close.to_bits() != row.close.to_bits() || !same_bits(&old.inputs, &row.inputs)
        });
        let stored = Stored { unlabelled: row.label.is_none(), forecast_input_changed };
        self.rows.insert(date, row);
        stored
    }

    /// The dates of the rows from `from` up to, not including, `until`.
    pub fn dates_between(&self, from: NaiveDate, until: NaiveDate) -> impl Iterator<Item = NaiveDate> + '_ {
        self.rows.range(from..).map(|(date, _)| *date).take_while(move |date| *date < until)
    }

    /// Records the close forecast from the row of `date`.
    pub fn set_forecast(&mut self, date: NaiveDate, forecast: f64) {
        if let Some(row) = self.rows.get_mut(&date) {
            row.forecast = Some(forecast);
        }
    }

    /// Forgets the row of `date` (its bar was deleted).
    pub fn remove(&mut self, date: NaiveDate) {
        self.rows.remove(&date);
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
    fn a_corrected_row_keeps_its_forecast_until_it_is_scored_again() {
        let mut series = SeriesRows::default();
        let stored = |unlabelled, forecast_input_changed| Stored { unlabelled, forecast_input_changed };
        assert_eq!(series.store(day(2), row(1, 10.0, None)), stored(true, true));
        series.set_forecast(day(2), 10.8);
        assert_eq!(series.store(day(2), row(1, 10.2, None)), stored(true, true), "a corrected close");
        assert_eq!(series.get(day(2)).and_then(|r| r.forecast), Some(10.8));
        assert_eq!(series.store(day(2), row(1, 10.2, Some(11.0))), stored(false, false), "only the label");
        assert_eq!(series.get(day(2)).map(|r| (r.close, r.forecast)), Some((10.2, Some(10.8))));
    }

    #[test]
    fn labelled_rows_know_their_label_dates_and_ranges_end_before_the_limit() {
        let mut series = SeriesRows::default();
        series.store(day(2), row(1, 10.0, Some(12.0)));
        series.store(day(3), row(2, 11.0, None));
        series.store(day(4), row(3, 12.0, None));
        // Horizon 2: day 2's label is the close of day 4.
        let labelled: Vec<(NaiveDate, NaiveDate)> = series.labelled(2).map(|(d, l, _)| (d, l)).collect();
        assert_eq!(labelled, [(day(2), day(4))]);
        assert_eq!(series.dates_between(day(3), day(4)).collect::<Vec<_>>(), [day(3)]);
        series.remove(day(2));
        assert_eq!(series.len(), 2);
    }
}
