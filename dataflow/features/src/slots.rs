//! The indicator values of one bar, flattened into one inline record.
//!
//! The block co-group keeps every bar's row in its output arrangement, and differential copies
//! that arrangement on every merge. Seven `Option<Indicator>`s take 336 bytes (each the size of
//! the largest variant); the fields themselves are 11 periods and 14 floats, 160 bytes here.

use super::values::{F64Bits, Indicator};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Where each kind's fields live, in `IndicatorKind` order: index ranges into `periods` and
/// `values`.
const LAYOUT: [(Range<usize>, Range<usize>); 7] =
    [(0..1, 0..1), (1..2, 1..2), (2..3, 2..3), (3..6, 3..6), (6..9, 6..8), (9..10, 8..13), (10..11, 13..14)];

/// Up to one value per indicator kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IndicatorSlots {
    /// Bit `kind as usize` is set when that kind is present.
    present: u8,
    /// EMA, SMA, RSI, MACD (3), STOCH (3), BBANDS, WILLR.
    periods: [i32; 11],
    /// EMA, SMA, RSI, MACD (3), STOCH (2), BBANDS (5), WILLR.
    values: [F64Bits; 14],
}

impl IndicatorSlots {
    /// Stores `value` unless its kind is already present (the first value of a kind wins);
    /// returns whether it did.
    pub fn insert(&mut self, value: &Indicator) -> bool {
        let bit = 1 << (value.kind() as u8);
        if self.present & bit != 0 {
            return false;
        }
        self.present |= bit;
        let (p, v) = (&mut self.periods, &mut self.values);
        match *value {
            Indicator::Ema { ema_time_period, ema } => (p[0], v[0]) = (ema_time_period, ema),
            Indicator::Sma { time_period, sma } => (p[1], v[1]) = (time_period, sma),
            Indicator::Rsi { time_period, rsi } => (p[2], v[2]) = (time_period, rsi),
            Indicator::Macd { fast_period, slow_period, signal_period, macd, macd_signal, macd_hist } => {
                (p[3], p[4], p[5]) = (fast_period, slow_period, signal_period);
                (v[3], v[4], v[5]) = (macd, macd_signal, macd_hist);
            }
            Indicator::Stoch { fast_k_period, slow_k_period, slow_d_period, slow_k, slow_d } => {
                (p[6], p[7], p[8]) = (fast_k_period, slow_k_period, slow_d_period);
                (v[6], v[7]) = (slow_k, slow_d);
            }
            Indicator::Bbands { time_period, sd, sd_down, lower_band, middle_band, upper_band } => {
                p[9] = time_period;
                (v[8], v[9], v[10], v[11], v[12]) = (sd, sd_down, lower_band, middle_band, upper_band);
            }
            Indicator::Willr { time_period, willr } => (p[10], v[13]) = (time_period, willr),
        }
        true
    }

    /// Adds the values of `other` if no kind is present in both; returns whether it did.
    pub fn absorb(&mut self, other: &IndicatorSlots) -> bool {
        if self.present & other.present != 0 {
            return false;
        }
        for (kind, (periods, values)) in LAYOUT.iter().enumerate() {
            if other.present & (1 << kind) != 0 {
                self.periods[periods.clone()].copy_from_slice(&other.periods[periods.clone()]);
                self.values[values.clone()].copy_from_slice(&other.values[values.clone()]);
            }
        }
        self.present |= other.present;
        true
    }

    /// The values present, sorted by kind.
    pub fn values(&self) -> Vec<Indicator> {
        let (p, v) = (&self.periods, &self.values);
        let all = [
            Indicator::Ema { ema_time_period: p[0], ema: v[0] },
            Indicator::Sma { time_period: p[1], sma: v[1] },
            Indicator::Rsi { time_period: p[2], rsi: v[2] },
            Indicator::Macd {
                fast_period: p[3],
                slow_period: p[4],
                signal_period: p[5],
                macd: v[3],
                macd_signal: v[4],
                macd_hist: v[5],
            },
            Indicator::Stoch {
                fast_k_period: p[6],
                slow_k_period: p[7],
                slow_d_period: p[8],
                slow_k: v[6],
                slow_d: v[7],
            },
            Indicator::Bbands {
                time_period: p[9],
                sd: v[8],
                sd_down: v[9],
                lower_band: v[10],
                middle_band: v[11],
                upper_band: v[12],
            },
            Indicator::Willr { time_period: p[10], willr: v[13] },
        ];
        all.into_iter().filter(|value| self.present & (1 << (value.kind() as u8)) != 0).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pricestream_records::IndicatorValue;

    #[test]
    fn keeps_the_first_value_per_kind_and_gives_them_back_by_kind() {
        let values = [
            IndicatorValue::Willr { time_period: 14, willr: -20.0 },
            IndicatorValue::Macd {
                fast_period: 12,
                slow_period: 26,
                signal_period: 9,
                macd: 0.5,
                macd_signal: 0.25,
                macd_hist: 0.125,
            },
            IndicatorValue::Ema { ema_time_period: 10, ema: 1.5 },
            IndicatorValue::Sma { time_period: 20, sma: 2.5 },
            IndicatorValue::Rsi { time_period: 14, rsi: 55.0 },
            IndicatorValue::Stoch {
                fast_k_period: 5,
                slow_k_period: 3,
                slow_d_period: 4,
                slow_k: 70.0,
                slow_d: 60.0,
            },
            IndicatorValue::Bbands {
                time_period: 20,
                sd: 2.0,
                sd_down: 1.5,
                lower_band: 1.0,
                middle_band: 2.0,
                upper_band: 3.0,
            },
            IndicatorValue::Ema { ema_time_period: 10, ema: 9.0 },
        ];
        let wrapped: Vec<Indicator> = values.iter().map(Indicator::from).collect();
        let mut slots = IndicatorSlots::default();
        assert!(slots.values().is_empty());
        assert!(slots.insert(&wrapped[0]));
        assert_eq!(slots.values(), [wrapped[0]]);
        wrapped.iter().for_each(|value| _ = slots.insert(value));
        let mut expected = wrapped[..7].to_vec();
        expected.sort();
        assert_eq!(slots.values(), expected);
    }

    #[test]
    fn absorbs_only_disjoint_kinds() {
        let slots = |values: &[IndicatorValue]| {
            let mut slots = IndicatorSlots::default();
            values.iter().for_each(|value| _ = slots.insert(&Indicator::from(value)));
            slots
        };
        let ema = IndicatorValue::Ema { ema_time_period: 10, ema: 1.5 };
        let bbands = IndicatorValue::Bbands {
            time_period: 20,
            sd: 2.0,
            sd_down: 1.5,
            lower_band: 1.0,
            middle_band: 2.0,
            upper_band: 3.0,
        };
        let willr = IndicatorValue::Willr { time_period: 14, willr: -20.0 };
        let mut merged = slots(std::slice::from_ref(&ema));
        assert!(merged.absorb(&slots(&[bbands.clone(), willr.clone()])));
        assert_eq!(merged, slots(&[willr, ema.clone(), bbands]));
        assert!(!merged.absorb(&slots(&[ema])));
    }
}
