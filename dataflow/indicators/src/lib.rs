//! The seven technical indicators (SMA, EMA, RSI, MACD, STOCH, BBANDS, WILLR), computed as a stream:
//! O(1) work per new bar per indicator, and identical to TA-Lib (the `ta-lib` 0.8.2 Python wheel) on
//! every output after the lookback.
//!
//! - One file per indicator holds its streaming state ([`Sma`], [`Ema`], [`Rsi`], [`Macd`], [`Stoch`],
//!   [`Bbands`], [`Willr`]); each is fed one value (or one high/low/close) at a time and answers `None`
//!   until its lookback is over.
//! - [`IndicatorSet`] runs all seven for one ticker and turns their outputs into
//!   [`IndicatorValue`](pricestream_records::IndicatorValue)s.
//! - [`TickerSeries`] keeps one ticker's bars by date and handles corrections and out-of-order bars,
//!   returning only the values that changed.
//! - [`IndicatorParams`] holds the periods (config section `indicators`).
//!
//! See `docs/indicators.md` for the definitions, the TA-Lib equivalence and the benchmark.
//!
//! ```
//! use pricestream_indicators::{IndicatorParams, IndicatorSet};
//! use pricestream_records::IndicatorValue;
//!
//! let mut set = IndicatorSet::new(&IndicatorParams::default());
//! let mut out = Vec::new();
//! for day in 0..40 {
//!     let close = 100.0 + f64::from(day % 7);
//!     out.clear();
//!     set.update_into(close + 1.0, close - 1.0, close, &mut out);
//! }
//! // After 40 bars every default indicator is defined, MACD included (lookback 33).
//! assert_eq!(out.len(), 7);
//! assert!(matches!(out[3], IndicatorValue::Macd { fast_period: 12, .. }));
//! ```
//!
//! ```
//! use pricestream_indicators::{IndicatorParams, IndicatorSet};
//!
//! let mut set = IndicatorSet::new(&IndicatorParams::default()); // one per ticker
//! let mut values = Vec::new();
//! for day in 0..40 {
//!     let close = 100.0 + f64::from(day % 7);
//!     values = set.update(close + 1.0, close - 1.0, close);
//! }
//! // After 40 bars every lookback but the slow MACD's (33 bars + signal) is over.
//! assert!(values.iter().any(|value| value.kind().as_str() == "rsi"));
//! ```

mod bbands;
mod ema;
mod extrema;
mod lookback;
mod macd;
mod params;
mod rsi;
mod series;
mod set;
mod sma;
mod stoch;
#[cfg(test)]
mod testing;
mod willr;
mod window;

pub use bbands::{Bbands, BbandsOutput};
pub use ema::Ema;
pub use lookback::lookback;
pub use macd::{Macd, MacdOutput};
pub use params::IndicatorParams;
pub use rsi::Rsi;
pub use series::TickerSeries;
pub use set::IndicatorSet;
pub use sma::Sma;
pub use stoch::{Stoch, StochOutput};
pub use willr::Willr;

/// TA-Lib's scale-aware zero test for a high-low range (`TA_IS_ZERO_SCALED` with `TA_EPSILON` = 1e-14):
/// the range counts as zero when it is within 1e-14 of the magnitude of its two extremes. STOCH and
/// WILLR answer 0 for such a flat window instead of dividing rounding noise.
pub(crate) fn range_is_zero(highest: f64, lowest: f64) -> bool {
    (highest - lowest).abs() <= 1e-14 * (highest.abs() + lowest.abs())
}
