//! Totally ordered stand-ins for the float-carrying records, so that they can live in
//! differential collections (which need `Ord + Hash`).

use pricestream_records::{IndicatorKind, IndicatorValue};
use serde::{Deserialize, Serialize};

/// An `f64` stored as its IEEE-754 bit pattern.
///
/// Differential collections need `Ord` (and `Hash` to exchange records between workers); `f64`
/// has neither. Comparing bit patterns gives a total order that agrees with *bitwise identity*,
/// which is what a collection needs: two updates cancel exactly when they carry the same bits.
/// The order is not the numeric order (negative numbers sort after positive ones) and `0.0` and
/// `-0.0` are different values, as are NaNs with different payloads; nothing in the feature graph
/// compares prices numerically, so this is harmless. `ordered_float` would do the same with an
/// extra dependency; the newtype is five lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct F64Bits(u64);

impl F64Bits {
    /// Wraps a float.
    pub fn new(value: f64) -> Self {
        F64Bits(value.to_bits())
    }

    /// The float back.
    pub fn get(self) -> f64 {
        f64::from_bits(self.0)
    }
}

impl From<f64> for F64Bits {
    fn from(value: f64) -> Self {
        F64Bits::new(value)
    }
}

/// [`IndicatorValue`] with its floats as [`F64Bits`], so that it is `Ord + Hash`.
///
/// The variant order equals [`IndicatorKind`]'s, so sorting a list of these sorts it by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[allow(missing_docs)] // Fields mirror `IndicatorValue`'s.
pub enum Indicator {
    /// Exponential moving average.
    Ema { ema_time_period: i32, ema: F64Bits },
    /// Simple moving average.
    Sma { time_period: i32, sma: F64Bits },
    /// Relative strength index.
    Rsi { time_period: i32, rsi: F64Bits },
    /// Moving average convergence/divergence.
    Macd {
        fast_period: i32,
        slow_period: i32,
        signal_period: i32,
        macd: F64Bits,
        macd_signal: F64Bits,
        macd_hist: F64Bits,
    },
    /// Stochastic oscillator (slow).
    Stoch { fast_k_period: i32, slow_k_period: i32, slow_d_period: i32, slow_k: F64Bits, slow_d: F64Bits },
    /// Bollinger bands.
    Bbands {
        time_period: i32,
        sd: F64Bits,
        sd_down: F64Bits,
        lower_band: F64Bits,
        middle_band: F64Bits,
        upper_band: F64Bits,
    },
    /// Williams %R.
    Willr { time_period: i32, willr: F64Bits },
}

/// What a value of one indicator was computed with: its periods (and for the Bollinger bands
/// the multipliers' bits). Two values of one kind with other settings do not belong to one series.
pub type IndicatorSettings = [u64; 3];

impl Indicator {
    /// The periods and multipliers this value was computed with.
    pub fn settings(&self) -> IndicatorSettings {
        let period = |p: i32| p as u32 as u64;
        match *self {
            Indicator::Ema { ema_time_period: p, .. }
            | Indicator::Sma { time_period: p, .. }
            | Indicator::Rsi { time_period: p, .. }
            | Indicator::Willr { time_period: p, .. } => [period(p), 0, 0],
            Indicator::Macd { fast_period, slow_period, signal_period, .. } => {
                [period(fast_period), period(slow_period), period(signal_period)]
            }
            Indicator::Stoch { fast_k_period, slow_k_period, slow_d_period, .. } => {
                [period(fast_k_period), period(slow_k_period), period(slow_d_period)]
            }
            Indicator::Bbands { time_period, sd, sd_down, .. } => {
                [period(time_period), sd.get().to_bits(), sd_down.get().to_bits()]
            }
        }
    }

    /// The indicator this value belongs to.
    pub fn kind(&self) -> IndicatorKind {
        match self {
            Indicator::Ema { .. } => IndicatorKind::Ema,
            Indicator::Sma { .. } => IndicatorKind::Sma,
            Indicator::Rsi { .. } => IndicatorKind::Rsi,
            Indicator::Macd { .. } => IndicatorKind::Macd,
            Indicator::Stoch { .. } => IndicatorKind::Stoch,
            Indicator::Bbands { .. } => IndicatorKind::Bbands,
            Indicator::Willr { .. } => IndicatorKind::Willr,
        }
    }

    /// The plain record value back.
    pub fn to_value(&self) -> IndicatorValue {
        match *self {
            Indicator::Ema { ema_time_period, ema } => {
                IndicatorValue::Ema { ema_time_period, ema: ema.get() }
            }
            Indicator::Sma { time_period, sma } => IndicatorValue::Sma { time_period, sma: sma.get() },
            Indicator::Rsi { time_period, rsi } => IndicatorValue::Rsi { time_period, rsi: rsi.get() },
            Indicator::Macd { fast_period, slow_period, signal_period, macd, macd_signal, macd_hist } => {
                IndicatorValue::Macd {
                    fast_period,
                    slow_period,
                    signal_period,
                    macd: macd.get(),
                    macd_signal: macd_signal.get(),
                    macd_hist: macd_hist.get(),
                }
            }
            Indicator::Stoch { fast_k_period, slow_k_period, slow_d_period, slow_k, slow_d } => {
                IndicatorValue::Stoch {
                    fast_k_period,
                    slow_k_period,
                    slow_d_period,
                    slow_k: slow_k.get(),
                    slow_d: slow_d.get(),
                }
            }
            Indicator::Bbands { time_period, sd, sd_down, lower_band, middle_band, upper_band } => {
                IndicatorValue::Bbands {
                    time_period,
                    sd: sd.get(),
                    sd_down: sd_down.get(),
                    lower_band: lower_band.get(),
                    middle_band: middle_band.get(),
                    upper_band: upper_band.get(),
                }
            }
            Indicator::Willr { time_period, willr } => {
                IndicatorValue::Willr { time_period, willr: willr.get() }
            }
        }
    }
}

impl From<&IndicatorValue> for Indicator {
    fn from(value: &IndicatorValue) -> Self {
        let b = F64Bits::new;
        match *value {
            IndicatorValue::Ema { ema_time_period, ema } => Indicator::Ema { ema_time_period, ema: b(ema) },
            IndicatorValue::Sma { time_period, sma } => Indicator::Sma { time_period, sma: b(sma) },
            IndicatorValue::Rsi { time_period, rsi } => Indicator::Rsi { time_period, rsi: b(rsi) },
            IndicatorValue::Macd {
                fast_period,
                slow_period,
                signal_period,
                macd,
                macd_signal,
                macd_hist,
            } => Indicator::Macd {
                fast_period,
                slow_period,
                signal_period,
                macd: b(macd),
                macd_signal: b(macd_signal),
                macd_hist: b(macd_hist),
            },
            IndicatorValue::Stoch { fast_k_period, slow_k_period, slow_d_period, slow_k, slow_d } => {
                Indicator::Stoch {
                    fast_k_period,
                    slow_k_period,
                    slow_d_period,
                    slow_k: b(slow_k),
                    slow_d: b(slow_d),
                }
            }
            IndicatorValue::Bbands { time_period, sd, sd_down, lower_band, middle_band, upper_band } => {
                Indicator::Bbands {
                    time_period,
                    sd: b(sd),
                    sd_down: b(sd_down),
                    lower_band: b(lower_band),
                    middle_band: b(middle_band),
                    upper_band: b(upper_band),
                }
            }
            IndicatorValue::Willr { time_period, willr } => Indicator::Willr { time_period, willr: b(willr) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip_and_separate_signed_zeros() {
        for x in [0.0, -0.0, 1.5, -2.25, f64::INFINITY, f64::MIN_POSITIVE] {
            assert_eq!(F64Bits::new(x).get().to_bits(), x.to_bits());
        }
        assert_ne!(F64Bits::new(0.0), F64Bits::new(-0.0));
        assert_eq!(F64Bits::new(f64::NAN), F64Bits::new(f64::NAN));
    }

    #[test]
    fn indicators_round_trip_and_sort_by_kind() {
        let values = [
            IndicatorValue::Willr { time_period: 14, willr: -20.0 },
            IndicatorValue::Ema { ema_time_period: 10, ema: 1.5 },
            IndicatorValue::Bbands {
                time_period: 20,
                sd: 2.0,
                sd_down: 2.0,
                lower_band: 1.0,
                middle_band: 2.0,
                upper_band: 3.0,
            },
        ];
        let mut wrapped: Vec<Indicator> = values.iter().map(Indicator::from).collect();
        for (w, v) in wrapped.iter().zip(&values) {
            assert_eq!(&w.to_value(), v);
        }
        wrapped.sort();
        let kinds: Vec<IndicatorKind> = wrapped.iter().map(Indicator::kind).collect();
        assert_eq!(kinds, [IndicatorKind::Ema, IndicatorKind::Bbands, IndicatorKind::Willr]);
    }
}
