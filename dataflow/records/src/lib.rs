//! The records that flow through pricestream, one file each, their wire format and the
//! Kafka topics they travel on. Pure data: no I/O.
//!
//! ```
//! use pricestream_records::{Bar, IndicatorValue, Timeframe, wire};
//!
//! let bar = Bar {
//!     ticker: "NVDA".into(),
//!     timeframe: Timeframe::Day,
//!     datetime: chrono::NaiveDate::from_ymd_opt(1999, 1, 22).unwrap(),
//!     open: 1.75, high: 1.953125, low: 1.552083, close: 1.640625,
//!     volume: 67_867_200,
//!     task_number: uuid::Uuid::nil(),
//!     adjustment_factor: 1.0,
//!     source: None,
//! };
//! bar.validate().unwrap();
//! let bytes = wire::encode(&bar);
//! assert_eq!(wire::decode::<Bar>(&bytes).unwrap(), bar);
//!
//! // Every indicator's fields, from the one table that describes them.
//! let macd = IndicatorValue::Macd {
//!     fast_period: 12, slow_period: 26, signal_period: 9,
//!     macd: 0.5, macd_signal: 0.25, macd_hist: 0.25,
//! };
//! assert_eq!(macd.kind().period_names(), ["fastPeriod", "slowPeriod", "signalPeriod"]);
//! assert_eq!(&*macd.numbers(), [0.5, 0.25, 0.25]);
//! ```

#[macro_use]
mod indicator_table;
pub mod adjustment;
mod bar;
mod corporate_action;
mod dead_letter;
pub mod examples;
mod feature;
mod feature_change;
mod indicator;
mod prediction;
mod problems;
mod quality_finding;
mod ticker;
mod timeframe;
pub mod topics;
pub mod wire;

pub use adjustment::{Adjustment, AdjustmentMode, PriceBasis};
pub use bar::{Bar, BarError, BarSource};
pub use corporate_action::{ActionError, ActionKind, CorporateAction};
pub use dead_letter::{DeadLetter, RAW_BYTES_KEPT};
pub use feature_change::{FeatureChange, FeatureKey};
pub use indicator::{
    FeatureRow, IndicatorError, IndicatorKind, IndicatorRecord, IndicatorRow, IndicatorValue,
};
pub use indicator_table::{Fields, MAX_NUMBERS, MAX_PERIODS, MartCell, MartCellMut};
pub use prediction::{Forecaster, Prediction};
pub use problems::Problems;
pub use quality_finding::{QualityCheck, QualityFinding};
pub use ticker::{MAX_TICKER_LEN, Ticker, TickerError, check_ticker};
pub use timeframe::{Timeframe, UnknownTimeframe};
