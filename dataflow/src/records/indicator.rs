use super::Timeframe;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One indicator value for one bar, with the periods it was computed with
/// (the seed's one-table-per-indicator rows).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndicatorRecord {
    /// Instrument symbol.
    pub ticker: String,
    /// Bar interval.
    pub timeframe: Timeframe,
    /// Trading day of the bar the value belongs to.
    pub datetime: NaiveDate,
    /// Extraction run that computed the value.
    pub task_number: Uuid,
    /// The value itself.
    #[serde(flatten)]
    pub value: IndicatorValue,
}

/// The value of one of the seven indicators, tagged by `indicator` on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "indicator", rename_all = "lowercase")]
#[allow(missing_docs)] // Field names are the seed's column names.
#[serde(rename_all_fields = "camelCase")]
pub enum IndicatorValue {
    /// Exponential moving average.
    Ema { ema_time_period: i32, ema: f64 },
    /// Simple moving average.
    Sma { time_period: i32, sma: f64 },
    /// Relative strength index.
    Rsi { time_period: i32, rsi: f64 },
    /// Moving average convergence/divergence.
    Macd {
        fast_period: i32,
        slow_period: i32,
        signal_period: i32,
        macd: f64,
        macd_signal: f64,
        macd_hist: f64,
    },
    /// Stochastic oscillator (slow).
    Stoch { fast_k_period: i32, slow_k_period: i32, slow_d_period: i32, slow_k: f64, slow_d: f64 },
    /// Bollinger bands; `sd` is the upper band's deviation multiplier (the seed's column),
    /// `sd_down` the lower band's.
    Bbands { time_period: i32, sd: f64, sd_down: f64, lower_band: f64, middle_band: f64, upper_band: f64 },
    /// Williams %R.
    Willr { time_period: i32, willr: f64 },
}
