//! Mart rows straight from price bars, without the services: for backtests over CSV files.
//!
//! The same rows the streaming feature graph keeps in the mart (bar ⟕ seven indicators, row
//! number, label = close `horizon_bars` later), computed in one pass over one series.

use pricestream_features::{Close, F64Bits, FeatureRecord, Indicator, SeriesKey};
use pricestream_indicators::{IndicatorParams, IndicatorSet};
use pricestream_records::{Bar, FeatureRow};

/// The mart rows of ONE series, `bars` in ascending date order (one bar per date).
pub fn feature_rows(bars: &[Bar], indicators: &IndicatorParams, horizon_bars: usize) -> Vec<FeatureRow> {
    let mut set = IndicatorSet::new(indicators);
    let mut values = Vec::with_capacity(7);
    bars.iter()
        .enumerate()
        .map(|(i, bar)| {
            values.clear();
            set.update_into(bar.high, bar.low, bar.close, &mut values);
            let series = SeriesKey { ticker: bar.ticker.to_string(), timeframe: bar.timeframe };
            FeatureRecord {
                key: (series, bar.datetime),
                id: i as u64 + 1,
                close: Close::of(bar),
                label: bars.get(i + horizon_bars).map(|later| F64Bits::new(later.adjusted_close())),
                indicators: values.iter().map(Indicator::from).collect(),
            }
            .to_feature_row()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use pricestream_records::Timeframe;

    #[test]
    fn rows_carry_indicators_after_their_lookback_and_the_label_two_bars_on() {
        let start = NaiveDate::from_ymd_opt(2020, 1, 1).expect("valid date");
        let bars: Vec<Bar> = (0..60_u64)
            .map(|i| {
                let close = 100.0 + (i % 9) as f64;
                Bar {
                    ticker: "T".into(),
                    timeframe: Timeframe::Day,
                    datetime: start + chrono::Days::new(i),
                    open: close,
                    high: close + 1.0,
                    low: close - 1.0,
                    close,
                    volume: 1,
                    task_number: uuid::Uuid::nil(),
                    adjustment_factor: 1.0,
                    source: None,
                }
            })
            .collect();
        let rows = feature_rows(&bars, &IndicatorParams::default(), 2);
        assert_eq!(rows.len(), 60);
        assert_eq!(rows[0].id, Some(1));
        assert_eq!(rows[0].label, Some(bars[2].close));
        assert_eq!(rows[58].label, None);
        assert_eq!(rows[0].ema, None);
        assert!(rows[40].ema.is_some() && rows[40].macd.is_some() && rows[40].willr.is_some());
    }
}
