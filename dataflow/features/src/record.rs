//! The keys and the output record of the incremental feature graph.

use super::values::{F64Bits, Indicator};
use chrono::NaiveDate;
use pricestream_records::{FeatureRow, IndicatorValue, Timeframe};
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
    /// Close of the bar.
    pub close: F64Bits,
    /// Close `horizon_bars` bars later; `None` until that bar exists.
    pub label: Option<F64Bits>,
    /// The indicator values present for this bar, sorted by kind, at most one per kind.
    pub indicators: Vec<Indicator>,
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
            close: self.close.get(),
            label: self.label.map(F64Bits::get),
            ..FeatureRow::default()
        };
        for indicator in &self.indicators {
            match indicator.to_value() {
                IndicatorValue::Ema { ema_time_period, ema } => {
                    row.ema_time_period = Some(ema_time_period);
                    row.ema = Some(ema);
                }
                IndicatorValue::Sma { time_period, sma } => {
                    row.sma_time_period = Some(time_period);
                    row.sma = Some(sma);
                }
                IndicatorValue::Rsi { time_period, rsi } => {
                    row.rsi_time_period = Some(time_period);
                    row.rsi = Some(rsi);
                }
                IndicatorValue::Macd {
                    fast_period,
                    slow_period,
                    signal_period,
                    macd,
                    macd_signal,
                    macd_hist,
                } => {
                    row.fast_period = Some(fast_period);
                    row.slow_period = Some(slow_period);
                    row.signal_period = Some(signal_period);
                    row.macd = Some(macd);
                    row.macd_signal = Some(macd_signal);
                    row.macd_hist = Some(macd_hist);
                }
                IndicatorValue::Stoch { fast_k_period, slow_k_period, slow_d_period, slow_k, slow_d } => {
                    row.fast_k_period = Some(fast_k_period);
                    row.slow_k_period = Some(slow_k_period);
                    row.slow_d_period = Some(slow_d_period);
                    row.slow_k = Some(slow_k);
                    row.slow_d = Some(slow_d);
                }
                // `sd_down` has no column in the seed's feature set.
                IndicatorValue::Bbands {
                    time_period,
                    sd,
                    sd_down: _,
                    lower_band,
                    middle_band,
                    upper_band,
                } => {
                    row.bb_time_period = Some(time_period);
                    row.bb_sd = Some(sd);
                    row.lower_band = Some(lower_band);
                    row.middle_band = Some(middle_band);
                    row.upper_band = Some(upper_band);
                }
                IndicatorValue::Willr { time_period, willr } => {
                    row.willr_time_period = Some(time_period);
                    row.willr = Some(willr);
                }
            }
        }
        row
    }
}
