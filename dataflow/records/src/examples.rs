//! Valid records for examples, tests and benchmarks: the same on every call, task number nil.

use crate::{Bar, IndicatorRecord, IndicatorValue, Timeframe};
use chrono::NaiveDate;

/// The date of [`bar`] and [`macd`]: 2024-01-02.
pub fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 2).unwrap_or_default()
}

/// An NVDA daily bar of [`day`]: open 10, high 12, low 9, close 11, volume 100.
pub fn bar() -> Bar {
    Bar { open: 10.0, high: 12.0, low: 9.0, close: 11.0, volume: 100, ..flat_bar("NVDA", day(), 0.0) }
}

/// A daily bar whose open, high, low and close are all `close`, volume 1.
pub fn flat_bar(ticker: &str, datetime: NaiveDate, close: f64) -> Bar {
    Bar {
        ticker: ticker.into(),
        timeframe: Timeframe::Day,
        datetime,
        open: close,
        high: close,
        low: close,
        close,
        volume: 1,
        task_number: uuid::Uuid::nil(),
        adjustment_factor: 1.0,
        source: None,
    }
}

/// A daily indicator value of `ticker` on `datetime`.
pub fn record(ticker: &str, datetime: NaiveDate, value: IndicatorValue) -> IndicatorRecord {
    IndicatorRecord {
        ticker: ticker.into(),
        timeframe: Timeframe::Day,
        datetime,
        task_number: uuid::Uuid::nil(),
        value,
    }
}

/// NVDA's MACD(12, 26, 9) of [`day`]: macd 0.5, signal 0.25, histogram 0.25.
pub fn macd() -> IndicatorRecord {
    let value = IndicatorValue::Macd {
        fast_period: 12,
        slow_period: 26,
        signal_period: 9,
        macd: 0.5,
        macd_signal: 0.25,
        macd_hist: 0.25,
    };
    record("NVDA", day(), value)
}
