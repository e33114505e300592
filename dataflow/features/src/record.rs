//! The keys and the output record of the incremental feature graph.

use super::slots::IndicatorSlots;
use super::values::{Close, F64Bits};
use chrono::NaiveDate;
use pricestream_records::{FeatureRow, Timeframe};
use serde::{Deserialize, Serialize};

/// One price series: a ticker at one timeframe. Row numbers and labels are per series.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SeriesKey {
    /// Instrument symbol.
    pub ticker: String,
    /// Bar interval.
    pub timeframe: Timeframe,
}

/// The key every input and output of the feature graph is joined on: `(ticker, timeframe, date)`.
pub type BarKey = (SeriesKey, NaiveDate);

/// One feature row as the graph maintains it: `Ord + Hash`, so it can live in a collection.
/// [`FeatureRecord::to_feature_row`] turns it into the wire/Cassandra [`FeatureRow`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FeatureRecord {
    /// The series and date of the bar.
    pub key: BarKey,
    /// 1-based position of the bar in its series ordered by date.
    pub id: u64,
    /// Adjusted close of the bar, with its factor.
    pub close: Close,
    /// Close `horizon_bars` bars later; `None` until that bar exists.
    pub label: Option<F64Bits>,
    /// The indicator values present for this bar, at most one per kind; inline rather than a
    /// `Vec`, as a restatement outputs thousands of records at once.
    pub indicators: IndicatorSlots,
}

impl FeatureRecord {
    /// The seed-shaped row: each missing indicator's columns are `None`.
    pub fn to_feature_row(&self) -> FeatureRow {
        let (series, date) = &self.key;
        let mut row = FeatureRow {
            ticker: series.ticker.clone(),
            timeframe: series.timeframe,
            date_time: *date,
            id: i64::try_from(self.id).ok(),
            close: self.close.adjusted.get(),
            adjustment_factor: self.close.factor.get(),
            label: self.label.map(F64Bits::get),
            ..FeatureRow::default()
        };
        for indicator in self.indicators.iter() {
            row.set_indicator(&indicator.to_value());
        }
        row
    }
}
