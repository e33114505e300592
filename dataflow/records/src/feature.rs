use super::{Bar, Timeframe};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One row of the feature mart: a bar LEFT OUTER JOINed with each indicator on
/// (ticker, timeframe, date). Field names follow the seed's `combineDatasets`
/// columns (`dateTime`, `emaTimePeriod`, …) on the wire and in Cassandra.
/// A missing indicator value is `None`, never zero.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureRow {
    /// Instrument symbol.
    pub ticker: String,
    /// Bar interval.
    pub timeframe: Timeframe,
    /// Trading day of the bar.
    pub date_time: NaiveDate,
    /// 1-based position of the bar in its ticker's series ordered by date.
    pub id: Option<i64>,
    /// EMA period.
    pub ema_time_period: Option<i32>,
    /// Exponential moving average of close.
    pub ema: Option<f64>,
    /// Stochastic fast %K period.
    pub fast_k_period: Option<i32>,
    /// Stochastic slow %K period.
    pub slow_k_period: Option<i32>,
    /// Stochastic slow %D period.
    pub slow_d_period: Option<i32>,
    /// Stochastic slow %D.
    pub slow_d: Option<f64>,
    /// Stochastic slow %K.
    pub slow_k: Option<f64>,
    /// Bollinger period.
    pub bb_time_period: Option<i32>,
    /// Bollinger band width in standard deviations.
    pub bb_sd: Option<f64>,
    /// Lower Bollinger band.
    pub lower_band: Option<f64>,
    /// Middle Bollinger band (SMA).
    pub middle_band: Option<f64>,
    /// Upper Bollinger band.
    pub upper_band: Option<f64>,
    /// MACD signal period.
    pub signal_period: Option<i32>,
    /// MACD fast period.
    pub fast_period: Option<i32>,
    /// MACD slow period.
    pub slow_period: Option<i32>,
    /// MACD line.
    pub macd: Option<f64>,
    /// MACD histogram.
    pub macd_hist: Option<f64>,
    /// MACD signal line.
    pub macd_signal: Option<f64>,
    /// RSI period.
    pub rsi_time_period: Option<i32>,
    /// Relative strength index.
    pub rsi: Option<f64>,
    /// SMA period.
    pub sma_time_period: Option<i32>,
    /// Simple moving average of close.
    pub sma: Option<f64>,
    /// Williams %R period.
    pub willr_time_period: Option<i32>,
    /// Williams %R.
    pub willr: Option<f64>,
    /// Close of the bar.
    pub close: f64,
    /// Close `horizon_bars` later: the model's target; `None` until that bar exists.
    pub label: Option<f64>,
}

impl FeatureRow {
    /// The row for a bar with no indicator joined yet.
    pub fn from_bar(bar: &Bar) -> Self {
        FeatureRow {
            ticker: bar.ticker.to_string(),
            timeframe: bar.timeframe,
            date_time: bar.datetime,
            close: bar.close,
            ..FeatureRow::default()
        }
    }
}
