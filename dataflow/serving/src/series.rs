//! The rows a model stage keeps per series: only what training and scoring need
//! (~70 bytes a row instead of a whole mart row).

use chrono::NaiveDate;
use pricestream_model::{N_FEATURES, model_inputs, target_change};
use pricestream_records::{FeatureRow, IndicatorKind};
use std::collections::BTreeMap;

/// Indicators a row can have.
const KINDS: usize = IndicatorKind::ALL.len();

/// The bit mask of `kinds` that [`SeriesRows::complete`] expects.
pub fn kinds_mask(kinds: &[IndicatorKind]) -> u8 {
    IndicatorKind::ALL
        .iter()
        .enumerate()
        .filter(|(_, kind)| kinds.contains(kind))
        .fold(0, |mask, (i, _)| mask | (1 << i))
}

/// One mart row as the model sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelRow {
    /// The mart's row number.
    pub id: Option<i64>,
    /// Close of the bar (adjusted).
    pub close: f64,
    /// The adjustment factor of the close.
    pub adjustment_factor: f64,
    /// Close `horizon_bars` later, once known.
    pub label: Option<f64>,
    /// Training target (relative change), present exactly when the label is usable.
    pub target: Option<f32>,
    /// Scale-free model inputs.
    pub inputs: [f32; N_FEATURES],
    /// The close last forecast from this row, and the version that forecast it.
    pub forecast: Option<(f64, i32)>,
    /// Which indicators joined it (bit `i`: `IndicatorKind::ALL[i]`).
    joined: u8,
}

impl ModelRow {
    /// The model's view of `row`, and the lookback of each indicator that joined it.
    pub fn of(row: &FeatureRow) -> (ModelRow, [Option<usize>; KINDS]) {
        let mut joined = 0;
        let mut lookbacks = [None; KINDS];
        for (index, kind) in IndicatorKind::ALL.iter().enumerate() {
            if let Some(periods) = row.indicator_periods(*kind) {
                joined |= 1 << index;
                lookbacks[index] = pricestream_indicators::lookback(*kind, &periods);
            }
        }
        let model_row = ModelRow {
            id: row.id,
            close: row.close,
            adjustment_factor: row.adjustment_factor,
            label: row.label,
            target: target_change(row),
            inputs: model_inputs(row),
            forecast: None,
            joined,
        };
        (model_row, lookbacks)
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
    /// Each indicator's lookback, from the periods of the newest value that joined a row.
    lookbacks: [Option<usize>; KINDS],
}

impl SeriesRows {
    /// Stores (or replaces) the row of `date`, as [`ModelRow::of`] gives it.
    pub fn store(
        &mut self,
        date: NaiveDate,
        (mut row, lookbacks): (ModelRow, [Option<usize>; KINDS]),
    ) -> Stored {
        for (known, seen) in self.lookbacks.iter_mut().zip(lookbacks) {
            if seen.is_some() {
                *known = seen;
            }
        }
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

    /// Records the close forecast from the row of `date` by model version `version`.
    pub fn set_forecast(&mut self, date: NaiveDate, forecast: f64, version: i32) {
        if let Some(row) = self.rows.get_mut(&date) {
            row.forecast = Some((forecast, version));
        }
    }

    /// The dates of the rows from `from` on.
    pub fn dates_from(&self, from: NaiveDate) -> impl Iterator<Item = (NaiveDate, &ModelRow)> + '_ {
        self.rows.range(from..).map(|(date, row)| (*date, row))
    }

    /// Whether the row of `date` has every indicator value it will have: each indicator joined
    /// it, or the row lies inside that indicator's lookback. Values reach the service apart from
    /// their bar (another topic), so a row can be stored before them; what is trained on it
    /// must wait for them.
    /// `expected` holds the indicators rows carry (bit `i`: `IndicatorKind::ALL[i]`).
    pub fn complete(&self, date: NaiveDate, expected: u8) -> bool {
        let Some(row) = self.rows.get(&date) else { return false };
        let position = row.id.and_then(|id| usize::try_from(id).ok()).unwrap_or(usize::MAX);
        self.lookbacks.iter().enumerate().filter(|(index, _)| expected & (1 << index) != 0).all(
            |(index, lookback)| {
                row.joined & (1 << index) != 0 || lookback.is_some_and(|lookback| position <= lookback)
            },
        )
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

    fn row(id: i64, close: f64, label: Option<f64>) -> (ModelRow, [Option<usize>; KINDS]) {
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
        series.set_forecast(day(2), 10.8, 3);
        assert_eq!(series.store(day(2), row(1, 10.2, None)), stored(true, true), "a corrected close");
        assert_eq!(series.get(day(2)).and_then(|r| r.forecast), Some((10.8, 3)));
        assert_eq!(series.store(day(2), row(1, 10.2, Some(11.0))), stored(false, false), "only the label");
        assert_eq!(series.get(day(2)).map(|r| (r.close, r.forecast)), Some((10.2, Some((10.8, 3)))));
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
        assert_eq!(series.dates_from(day(3)).map(|(d, _)| d).collect::<Vec<_>>(), [day(3), day(4)]);
        series.remove(day(2));
        assert_eq!(series.len(), 2);
    }

    #[test]
    fn a_row_is_complete_once_every_indicator_past_its_lookback_joined_it() {
        use pricestream_records::IndicatorValue;
        let mut series = SeriesRows::default();
        let bar = |id: i64, values: &[IndicatorValue]| {
            let mut row = FeatureRow { id: Some(id), close: 10.0, ..FeatureRow::default() };
            values.iter().for_each(|value| row.set_indicator(value));
            ModelRow::of(&row)
        };
        // Periods of 5 (5, 6 and 7 for MACD and STOCH): every lookback is 4 bars or more.
        let all: Vec<IndicatorValue> = IndicatorValue::one_of_each()
            .iter()
            .filter_map(|value| {
                let periods: Vec<i32> = (5..).take(value.periods().len()).collect();
                IndicatorValue::from_fields(value.kind(), &periods, &value.numbers())
            })
            .collect();
        let every = kinds_mask(IndicatorKind::ALL);
        series.store(day(1), bar(1, &[]));
        assert!(!series.complete(day(1), every), "no lookback known yet: the values may be on their way");
        series.store(day(20), bar(40, &all));
        assert!(series.complete(day(20), every));
        // Row 1 lies inside every lookback.
        assert!(series.complete(day(1), every));
        // Row 39 is past most lookbacks and has only the EMA so far.
        series.store(day(19), bar(39, &all[..1]));
        assert!(!series.complete(day(19), every));
        assert!(series.complete(day(19), kinds_mask(&[IndicatorKind::Ema])), "only the EMA expected");
        series.store(day(19), bar(39, &all));
        assert!(series.complete(day(19), every));
    }
}
