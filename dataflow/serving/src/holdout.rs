//! The rows a new version is evaluated on, and the rows its evaluation fit may learn from.
//!
//! The holdout is the newest rows, starting on a date boundary: every row of its first date is
//! in it, so a global model is never evaluated on one ticker's day while trained on another's.
//! The evaluation fit learns only from rows whose label was known when the holdout starts (its
//! label date is at or before the holdout's first date): the last `horizon_bars − 1` rows of
//! each series before the holdout are left out, as in the walk-forward backtest. Their labels
//! lie inside the holdout; learning them would let the evaluation see the prices it forecasts.

use chrono::NaiveDate;

/// Where the holdout starts and which earlier rows the evaluation may learn from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holdout {
    /// Index of the first held-out row; rows from here on are evaluated.
    pub start: usize,
    /// Indices of the rows before `start` whose labels were known at the holdout's first date.
    pub learn_from: Vec<usize>,
}

/// The holdout of about `fraction` of the rows (`dates` and `label_dates` per row, in date
/// order), or `None` when it or its training rows would be fewer than `min_rows`.
pub fn holdout(
    dates: &[NaiveDate],
    label_dates: &[NaiveDate],
    fraction: f64,
    min_rows: usize,
) -> Option<Holdout> {
    let rows = dates.len();
    let held_out = (rows as f64 * fraction).floor() as usize;
    if held_out == 0 || held_out >= rows {
        return None;
    }
    let first = dates[rows - held_out];
    let start = dates.partition_point(|date| *date < first);
    let learn_from: Vec<usize> = (0..start).filter(|&row| label_dates[row] <= first).collect();
    (rows - start >= min_rows && learn_from.len() >= min_rows).then_some(Holdout { start, learn_from })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default() + chrono::Days::new(d)
    }

    #[test]
    fn one_series_leaves_out_the_rows_whose_labels_fall_in_the_holdout() {
        // Day d's label is the close of day d + 3.
        let dates: Vec<NaiveDate> = (0..20).map(day).collect();
        let labels: Vec<NaiveDate> = (0..20).map(|d| day(d + 3)).collect();
        let split = holdout(&dates, &labels, 0.25, 1).expect("a holdout");
        assert_eq!(split.start, 15);
        // Rows 13 and 14 are labelled with days 16 and 17, inside the holdout.
        assert_eq!(split.learn_from, (0..=12).collect::<Vec<_>>());
    }

    #[test]
    fn a_global_holdout_starts_on_a_date_boundary() {
        // Two tickers a day, sorted by date; each label is one day later.
        let dates: Vec<NaiveDate> = (0..10).flat_map(|d| [day(d), day(d)]).collect();
        let labels: Vec<NaiveDate> = (0..10).flat_map(|d| [day(d + 1), day(d + 1)]).collect();
        // 25 % of 20 rows is 5: the cut would fall between the two rows of day 7.
        let split = holdout(&dates, &labels, 0.25, 1).expect("a holdout");
        assert_eq!(split.start, 14, "both rows of day 7 are held out");
        assert_eq!(split.learn_from.len(), 14, "horizon 1: every earlier label is known by day 7");
        assert!(holdout(&dates, &labels, 0.25, 7).is_none(), "6 held-out rows are fewer than 7");
    }
}
