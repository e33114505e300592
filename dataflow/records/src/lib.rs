//! The records that flow through pricestream, one file each, their wire format and the
//! Kafka topics they travel on. Pure data: no I/O.

#[macro_use]
mod indicator_table;
mod bar;
mod dead_letter;
mod feature;
mod feature_change;
mod indicator;
mod prediction;
mod problems;
mod ticker;
mod timeframe;
pub mod topics;
pub mod wire;

pub use bar::{Bar, BarError};
pub use dead_letter::DeadLetter;
pub use feature_change::{FeatureChange, FeatureKey};
pub use indicator::{
    FeatureRow, IndicatorError, IndicatorKind, IndicatorRecord, IndicatorRow, IndicatorValue,
};
pub use indicator_table::{Fields, MAX_NUMBERS, MAX_PERIODS, MartCell, MartCellMut};
pub use prediction::Prediction;
pub use problems::Problems;
pub use ticker::{MAX_TICKER_LEN, Ticker, TickerError, check_ticker};
pub use timeframe::{Timeframe, UnknownTimeframe};
