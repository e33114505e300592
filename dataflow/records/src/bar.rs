use super::Timeframe;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One OHLCV price bar of one instrument.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    /// Instrument symbol, upper case (`NVDA`).
    pub ticker: super::Ticker,
    /// Bar interval.
    pub timeframe: Timeframe,
    /// Trading day the bar covers.
    pub datetime: NaiveDate,
    /// First traded price.
    pub open: f64,
    /// Highest traded price.
    pub high: f64,
    /// Lowest traded price.
    pub low: f64,
    /// Last traded price.
    pub close: f64,
    /// Shares traded.
    pub volume: i64,
    /// Extraction run that produced this bar (the seed's `task_number`).
    pub task_number: Uuid,
    /// The cumulative adjustment factor of the bar's date: its adjusted prices are the
    /// delivered ones times this (1.0 when no corporate action applies; see
    /// [`crate::adjustment::factors`]). The prices above are always as delivered.
    #[serde(default = "no_adjustment")]
    pub adjustment_factor: f64,
    /// Which kind of source delivered it (none for bars stored before sources were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<BarSource>,
}

/// Which kind of source delivered a bar: the data-quality ledger notes when two of them
/// disagree about a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BarSource {
    /// A file of the data lake (CSV or Parquet).
    File,
    /// The market-data API.
    Api,
}

impl BarSource {
    /// Both kinds, in order.
    pub const ALL: [BarSource; 2] = [BarSource::File, BarSource::Api];

    /// The name on the wire and in `time_series_history.source`.
    pub fn as_str(self) -> &'static str {
        match self {
            BarSource::File => "file",
            BarSource::Api => "api",
        }
    }

    /// The kind named `name` ([`BarSource::as_str`]).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|source| source.as_str() == name)
    }
}

/// The factor of a bar no corporate action adjusts.
fn no_adjustment() -> f64 {
    1.0
}

/// Why a bar is not a plausible OHLCV bar.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BarError {
    /// The ticker is empty.
    #[error("ticker is empty")]
    EmptyTicker,
    /// A price is zero, negative, NaN or infinite.
    #[error("{field} must be a positive finite price, got {value}")]
    BadPrice {
        /// Column name.
        field: &'static str,
        /// The offending value.
        value: f64,
    },
    /// Volume below zero.
    #[error("volume must be >= 0, got {0}")]
    NegativeVolume(i64),
    /// High below open, close or low.
    #[error("high {high} is below max(open, close, low) = {floor}")]
    HighTooLow {
        /// The bar's high.
        high: f64,
        /// The largest of open, close and low.
        floor: f64,
    },
    /// Low above open, close or high.
    #[error("low {low} is above min(open, close, high) = {ceiling}")]
    LowTooHigh {
        /// The bar's low.
        low: f64,
        /// The smallest of open, close and high.
        ceiling: f64,
    },
}

impl Bar {
    /// The close on the adjusted scale: `close × adjustment_factor` (exactly `close` when the
    /// factor is 1).
    pub fn adjusted_close(&self) -> f64 {
        self.close * self.adjustment_factor
    }

    /// Checks that the bar is a plausible OHLCV bar; the first problem found is returned.
    pub fn validate(&self) -> Result<(), BarError> {
        if self.ticker.is_empty() {
            return Err(BarError::EmptyTicker);
        }
        for (field, value) in
            [("open", self.open), ("high", self.high), ("low", self.low), ("close", self.close)]
        {
            if !(value.is_finite() && value > 0.0) {
                return Err(BarError::BadPrice { field, value });
            }
        }
        if !(self.adjustment_factor.is_finite() && self.adjustment_factor > 0.0) {
            return Err(BarError::BadPrice { field: "adjustment_factor", value: self.adjustment_factor });
        }
        if self.volume < 0 {
            return Err(BarError::NegativeVolume(self.volume));
        }
        let floor = self.open.max(self.close).max(self.low);
        if self.high < floor {
            return Err(BarError::HighTooLow { high: self.high, floor });
        }
        let ceiling = self.open.min(self.close).min(self.high);
        if self.low > ceiling {
            return Err(BarError::LowTooHigh { low: self.low, ceiling });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(open: f64, high: f64, low: f64, close: f64) -> Bar {
        Bar {
            ticker: "T".into(),
            timeframe: Timeframe::Day,
            datetime: NaiveDate::from_ymd_opt(2020, 1, 2).unwrap_or_default(),
            open,
            high,
            low,
            close,
            volume: 10,
            task_number: Uuid::nil(),
            adjustment_factor: 1.0,
            source: None,
        }
    }

    #[test]
    fn accepts_a_consistent_bar() {
        assert_eq!(bar(10.0, 12.0, 9.0, 11.0).validate(), Ok(()));
    }

    #[test]
    fn rejects_inconsistent_bars() {
        assert!(matches!(bar(10.0, 10.5, 9.0, 11.0).validate(), Err(BarError::HighTooLow { .. })));
        assert!(matches!(bar(10.0, 12.0, 10.5, 11.0).validate(), Err(BarError::LowTooHigh { .. })));
        assert!(matches!(
            bar(-1.0, 12.0, 9.0, 11.0).validate(),
            Err(BarError::BadPrice { field: "open", .. })
        ));
        assert!(matches!(
            bar(10.0, 12.0, 9.0, f64::NAN).validate(),
            Err(BarError::BadPrice { field: "close", .. })
        ));
    }
}
