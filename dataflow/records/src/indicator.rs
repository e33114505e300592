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

// The one description of the indicators. Each line gives the variant, its tag (the
// `indicator` field on the wire and the Cassandra table), its periods and numbers with their
// wire names and the mart-row fields they fill, and how many leading numbers are settings.
// Adding an indicator means its math (crate `pricestream-indicators`) and a line here.
describe_indicators! {
    /// Exponential moving average.
    Ema "ema" {
        periods: [ema_time_period "emaTimePeriod" => ema_time_period],
        numbers: [ema "ema" => ema],
        settings: 0,
    }
    /// Simple moving average.
    Sma "sma" {
        periods: [time_period "timePeriod" => sma_time_period],
        numbers: [sma "sma" => sma],
        settings: 0,
    }
    /// Relative strength index.
    Rsi "rsi" {
        periods: [time_period "timePeriod" => rsi_time_period],
        numbers: [rsi "rsi" => rsi],
        settings: 0,
    }
    /// Moving average convergence/divergence.
    Macd "macd" {
        periods: [
            fast_period "fastPeriod" => fast_period,
            slow_period "slowPeriod" => slow_period,
            signal_period "signalPeriod" => signal_period,
        ],
        numbers: [macd "macd" => macd, macd_signal "macdSignal" => macd_signal, macd_hist "macdHist" => macd_hist],
        settings: 0,
    }
    /// Stochastic oscillator (slow).
    Stoch "stoch" {
        periods: [
            fast_k_period "fastKPeriod" => fast_k_period,
            slow_k_period "slowKPeriod" => slow_k_period,
            slow_d_period "slowDPeriod" => slow_d_period,
        ],
        numbers: [slow_k "slowK" => slow_k, slow_d "slowD" => slow_d],
        settings: 0,
    }
    /// Bollinger bands; `sd` is the upper band's deviation multiplier (the seed's column, in the
    /// mart as `bbSd`), `sd_down` the lower band's (not in the mart).
    Bbands "bbands" {
        periods: [time_period "timePeriod" => bb_time_period],
        numbers: [
            sd "sd" => bb_sd,
            sd_down "sdDown",
            lower_band "lowerBand" => lower_band,
            middle_band "middleBand" => middle_band,
            upper_band "upperBand" => upper_band,
        ],
        settings: 2,
    }
    /// Williams %R.
    Willr "willr" {
        periods: [time_period "timePeriod" => willr_time_period],
        numbers: [willr "willr" => willr],
        settings: 0,
    }
}

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
    /// One value of every kind, in the table's order, each field a different small number
    /// (periods 1, 2, …; numbers 1.5, 2.5, …): for tests and examples.
    pub fn one_of_each() -> Vec<IndicatorValue> {
        IndicatorKind::ALL
            .iter()
            .filter_map(|&kind| {
                let periods: Vec<i32> = (1..=kind.period_names().len() as i32).collect();
                let numbers: Vec<f64> = (1..=kind.number_names().len()).map(|n| n as f64 + 0.5).collect();
                IndicatorValue::from_fields(kind, &periods, &numbers)
            })
            .collect()
    }

    /// Checks that every number is finite and every period at least 1; the first problem found
    /// is returned.
    pub fn validate(&self) -> Result<(), IndicatorError> {
        let kind = self.kind();
        let indicator = kind.as_str();
        let (periods, numbers) = (self.periods(), self.numbers());
        let mut periods = kind.period_names().iter().zip(periods.iter());
        if let Some((&field, &value)) = periods.find(|(_, period)| **period < 1) {
            return Err(IndicatorError::BadPeriod { indicator, field, value });
        }
        let mut numbers = kind.number_names().iter().zip(numbers.iter());
        if let Some((&field, &value)) = numbers.find(|(_, number)| !number.is_finite()) {
            return Err(IndicatorError::NotFinite { indicator, field, value });
        }
        Ok(())
    }
}

/// An indicator value with the fields of its bar, borrowed: what the sinks write for
/// each value, read from wherever the values are kept (the extractor keeps them next to
/// their bar, without a copy of the ticker each). Written exactly as [`IndicatorRecord`].
#[derive(Clone, Copy, Debug, PartialEq)]
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
    pub value: &'a IndicatorValue,
}

/// The record's fields, then the value's tag and fields, in one object: the bytes serde writes
/// for [`IndicatorRecord`], without its `#[serde(flatten)]`, which goes through serde's map
/// machinery (seven values per bar make that a visible share of a backfill's CPU).
impl Serialize for IndicatorRow<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let kind = self.value.kind();
        let (periods, numbers) = (self.value.periods(), self.value.numbers());
        let mut row = serializer.serialize_struct("IndicatorRow", 5 + periods.len() + numbers.len())?;
        row.serialize_field("ticker", self.ticker)?;
        row.serialize_field("timeframe", &self.timeframe)?;
        row.serialize_field("datetime", &self.datetime)?;
        row.serialize_field("task_number", &self.task_number)?;
        row.serialize_field("indicator", kind.as_str())?;
        for (name, period) in kind.period_names().iter().zip(periods.iter()) {
            row.serialize_field(name, period)?;
        }
        for (name, number) in kind.number_names().iter().zip(numbers.iter()) {
            row.serialize_field(name, number)?;
        }
        row.end()
    }
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
    use crate::MartCell;

    /// A record on the wire is the bar's fields and the value's, side by side in one object.
    #[test]
    fn the_record_carries_the_value_fields_inline() {
        let values = IndicatorValue::one_of_each();
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
            // The row's own serialisation writes exactly the record's bytes.
            assert_eq!(crate::wire::encode(&record.row()), crate::wire::encode(&record), "{value:?}");
        }
    }

    /// The names the table gives are the ones serde writes, in the same order.
    #[test]
    fn the_table_names_the_fields_serde_writes() {
        for value in IndicatorValue::one_of_each() {
            let kind = value.kind();
            let json = serde_json::to_value(&value).unwrap_or_default();
            let keys: Vec<&str> =
                json.as_object().into_iter().flatten().map(|(key, _)| key.as_str()).collect();
            let mut expected = vec!["indicator"];
            expected.extend(kind.period_names());
            expected.extend(kind.number_names());
            let (mut keys, mut expected) = (keys, expected);
            keys.sort_unstable();
            expected.sort_unstable();
            assert_eq!(keys, expected, "{kind:?}");
            assert_eq!(json["indicator"], kind.as_str());
            for (name, period) in kind.period_names().iter().zip(value.periods().iter()) {
                assert_eq!(json[*name], *period, "{kind:?} {name}");
            }
            for (name, number) in kind.number_names().iter().zip(value.numbers().iter()) {
                assert_eq!(json[*name], *number, "{kind:?} {name}");
            }
            assert_eq!(
                IndicatorValue::from_fields(kind, &value.periods(), &value.numbers()),
                Some(value.clone())
            );
            assert_eq!(IndicatorValue::from_fields(kind, &[], &value.numbers()), None);
        }
    }

    /// Every field of every kind lands in its own mart field, except the lower band's
    /// multiplier, which the mart does not keep.
    #[test]
    fn each_value_fills_its_own_mart_fields() {
        let mut row = FeatureRow::default();
        let mut filled = 0;
        for value in IndicatorValue::one_of_each() {
            row.set_indicator(&value);
            let now = row
                .indicator_cells()
                .iter()
                .filter(|cell| !matches!(cell, MartCell::Period(None) | MartCell::Number(None)))
                .count();
            let kind = value.kind();
            let kept = kind.period_names().len() + kind.number_names().len()
                - usize::from(kind == IndicatorKind::Bbands);
            assert_eq!(now - filled, kept, "{kind:?}");
            filled = now;
        }
        assert_eq!(filled, FeatureRow::INDICATOR_FIELDS.len());
        assert_eq!(FeatureRow::INDICATOR_FIELDS.len(), 24);
        assert_eq!(
            (row.macd_signal, row.bb_sd, row.upper_band, row.willr_time_period),
            (Some(2.5), Some(1.5), Some(5.5), Some(1))
        );
        let json = serde_json::to_value(&row).unwrap_or_default();
        for name in [
            "emaTimePeriod",
            "bbSd",
            "bbTimePeriod",
            "macdHist",
            "slowDPeriod",
            "willrTimePeriod",
            "dateTime",
        ] {
            assert!(json.get(name).is_some(), "{name}");
        }
    }
}
