use super::Timeframe;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One indicator value for one bar, with the periods it was computed with
/// (the seed's one-table-per-indicator rows): one flat JSON object, the `indicator` tag and
/// the value's fields inline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndicatorRecord {
    /// Instrument symbol.
    pub ticker: super::Ticker,
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

/// Which of the seven indicators a value belongs to: its `indicator` tag on the
/// wire and its table in Cassandra. The upsert key of an indicator value is
/// `(ticker, timeframe, date, kind)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndicatorKind {
    /// Exponential moving average.
    Ema,
    /// Simple moving average.
    Sma,
    /// Relative strength index.
    Rsi,
    /// Moving average convergence/divergence.
    Macd,
    /// Stochastic oscillator.
    Stoch,
    /// Bollinger bands.
    Bbands,
    /// Williams %R.
    Willr,
}

impl IndicatorKind {
    /// The `indicator` tag and Cassandra table name (`macd`).
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::Ema => "ema",
            IndicatorKind::Sma => "sma",
            IndicatorKind::Rsi => "rsi",
            IndicatorKind::Macd => "macd",
            IndicatorKind::Stoch => "stoch",
            IndicatorKind::Bbands => "bbands",
            IndicatorKind::Willr => "willr",
        }
    }
}

/// A field of a value: its wire name and what it holds.
type Field<T> = (&'static str, T);

/// Why an indicator value cannot be right, whoever computed it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IndicatorError {
    /// A value or band multiplier that is NaN or infinite.
    #[error("{indicator} {field} must be a finite number, got {value}")]
    NotFinite {
        /// The indicator's tag.
        indicator: &'static str,
        /// The field.
        field: &'static str,
        /// The value.
        value: f64,
    },
    /// A period below 1.
    #[error("{indicator} {field} must be >= 1, got {value}")]
    BadPeriod {
        /// The indicator's tag.
        indicator: &'static str,
        /// The field.
        field: &'static str,
        /// The period.
        value: i32,
    },
}

impl IndicatorValue {
    /// The value's periods and numbers, by their wire names.
    fn fields(&self) -> (Vec<Field<i32>>, Vec<Field<f64>>) {
        match *self {
            IndicatorValue::Ema { ema_time_period, ema } => {
                (vec![("emaTimePeriod", ema_time_period)], vec![("ema", ema)])
            }
            IndicatorValue::Sma { time_period, sma } => {
                (vec![("timePeriod", time_period)], vec![("sma", sma)])
            }
            IndicatorValue::Rsi { time_period, rsi } => {
                (vec![("timePeriod", time_period)], vec![("rsi", rsi)])
            }
            IndicatorValue::Macd {
                fast_period,
                slow_period,
                signal_period,
                macd,
                macd_signal,
                macd_hist,
            } => (
                vec![
                    ("fastPeriod", fast_period),
                    ("slowPeriod", slow_period),
                    ("signalPeriod", signal_period),
                ],
                vec![("macd", macd), ("macdSignal", macd_signal), ("macdHist", macd_hist)],
            ),
            IndicatorValue::Stoch { fast_k_period, slow_k_period, slow_d_period, slow_k, slow_d } => (
                vec![
                    ("fastKPeriod", fast_k_period),
                    ("slowKPeriod", slow_k_period),
                    ("slowDPeriod", slow_d_period),
                ],
                vec![("slowK", slow_k), ("slowD", slow_d)],
            ),
            IndicatorValue::Bbands { time_period, sd, sd_down, lower_band, middle_band, upper_band } => (
                vec![("timePeriod", time_period)],
                vec![
                    ("sd", sd),
                    ("sdDown", sd_down),
                    ("lowerBand", lower_band),
                    ("middleBand", middle_band),
                    ("upperBand", upper_band),
                ],
            ),
            IndicatorValue::Willr { time_period, willr } => {
                (vec![("timePeriod", time_period)], vec![("willr", willr)])
            }
        }
    }

    /// Checks that every number is finite and every period at least 1; the first problem found
    /// is returned.
    pub fn validate(&self) -> Result<(), IndicatorError> {
        let indicator = self.kind().as_str();
        let (periods, numbers) = self.fields();
        if let Some((field, value)) = periods.into_iter().find(|(_, period)| *period < 1) {
            return Err(IndicatorError::BadPeriod { indicator, field, value });
        }
        if let Some((field, value)) = numbers.into_iter().find(|(_, number)| !number.is_finite()) {
            return Err(IndicatorError::NotFinite { indicator, field, value });
        }
        Ok(())
    }

    /// Which indicator this is.
    pub fn kind(&self) -> IndicatorKind {
        match self {
            IndicatorValue::Ema { .. } => IndicatorKind::Ema,
            IndicatorValue::Sma { .. } => IndicatorKind::Sma,
            IndicatorValue::Rsi { .. } => IndicatorKind::Rsi,
            IndicatorValue::Macd { .. } => IndicatorKind::Macd,
            IndicatorValue::Stoch { .. } => IndicatorKind::Stoch,
            IndicatorValue::Bbands { .. } => IndicatorKind::Bbands,
            IndicatorValue::Willr { .. } => IndicatorKind::Willr,
        }
    }
}

/// An indicator value with the fields of its bar, borrowed: what the sinks write for
/// each value, read from wherever the values are kept (the extractor keeps them next to
/// their bar, without a copy of the ticker each). Written exactly as [`IndicatorRecord`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct IndicatorRow<'a> {
    /// Instrument symbol.
    pub ticker: &'a str,
    /// Bar interval.
    pub timeframe: Timeframe,
    /// Trading day of the bar the value belongs to.
    pub datetime: NaiveDate,
    /// Extraction run that computed the value.
    pub task_number: Uuid,
    /// The value itself.
    #[serde(flatten)]
    pub value: &'a IndicatorValue,
}

impl IndicatorRecord {
    /// The record as a row.
    pub fn row(&self) -> IndicatorRow<'_> {
        IndicatorRow {
            ticker: &self.ticker,
            timeframe: self.timeframe,
            datetime: self.datetime,
            task_number: self.task_number,
            value: &self.value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record on the wire is the bar's fields and the value's, side by side in one object.
    #[test]
    fn the_record_carries_the_value_fields_inline() {
        let values = [
            IndicatorValue::Ema { ema_time_period: 20, ema: 1.5 },
            IndicatorValue::Sma { time_period: 20, sma: 1.25 },
            IndicatorValue::Rsi { time_period: 14, rsi: 55.5 },
            IndicatorValue::Macd {
                fast_period: 12,
                slow_period: 26,
                signal_period: 9,
                macd: 0.2,
                macd_signal: 0.1,
                macd_hist: 0.1,
            },
            IndicatorValue::Stoch {
                fast_k_period: 5,
                slow_k_period: 3,
                slow_d_period: 3,
                slow_k: 80.0,
                slow_d: 75.5,
            },
            IndicatorValue::Bbands {
                time_period: 20,
                sd: 2.0,
                sd_down: 1.5,
                lower_band: 1.0,
                middle_band: 1.5,
                upper_band: 2.0,
            },
            IndicatorValue::Willr { time_period: 14, willr: -20.0 },
        ];
        for value in values {
            let record = IndicatorRecord {
                ticker: "NVDA".into(),
                timeframe: Timeframe::Day,
                datetime: NaiveDate::from_ymd_opt(2014, 12, 31).unwrap_or_default(),
                task_number: Uuid::new_v4(),
                value: value.clone(),
            };
            let whole: serde_json::Value = serde_json::to_value(&record).unwrap_or_default();
            let derived: serde_json::Value = serde_json::to_value(&value).unwrap_or_default();
            for (key, field) in derived.as_object().into_iter().flatten() {
                assert_eq!(&whole[key], field, "{key} of {value:?}");
            }
            assert_eq!(whole["datetime"], "2014-12-31");
            assert_eq!(whole["task_number"], record.task_number.to_string());
            let back: IndicatorRecord = serde_json::from_value(whole).expect("decodes");
            assert_eq!(back, record);
        }
    }
}
