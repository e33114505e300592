//! Totally ordered stand-ins for the float-carrying records, so that they can live in
//! differential collections (which need `Ord + Hash`).

use pricestream_records::{IndicatorKind, IndicatorValue, MAX_NUMBERS, MAX_PERIODS};
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

/// A bar's close on the adjusted scale, with the cumulative adjustment factor that put it there
/// (see `docs/adjustment.md`). Ordered by the adjusted close first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Close {
    /// The delivered close times the factor.
    pub adjusted: F64Bits,
    /// The factor.
    pub factor: F64Bits,
}

impl Close {
    /// The adjusted close of `bar` and its factor.
    pub fn of(bar: &pricestream_records::Bar) -> Self {
        Close { adjusted: F64Bits::new(bar.adjusted_close()), factor: F64Bits::new(bar.adjustment_factor) }
    }
}

impl From<f64> for Close {
    /// A close no action adjusts (factor 1).
    fn from(close: f64) -> Self {
        Close { adjusted: F64Bits::new(close), factor: F64Bits::new(1.0) }
    }
}

/// [`IndicatorValue`] with its floats as [`F64Bits`], so that it is `Ord + Hash`: the kind, then
/// its periods and numbers in the order the indicator table gives them (unused places zero).
///
/// The kind comes first, so sorting a list of these sorts it by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Indicator {
    kind: IndicatorKind,
    periods: [i32; MAX_PERIODS],
    numbers: [F64Bits; MAX_NUMBERS],
}

/// What a value of one indicator was computed with: its periods, then the bits of the numbers
/// that are settings (the Bollinger bands' multipliers). Two values of one kind with other
/// settings do not belong to one series.
pub type IndicatorSettings = [u64; MAX_PERIODS];

impl Indicator {
    /// The periods and multipliers this value was computed with.
    pub fn settings(&self) -> IndicatorSettings {
        let periods = self.periods.iter().map(|&p| p as u32 as u64);
        let multipliers = self.numbers[..self.kind.setting_numbers()].iter().map(|n| n.get().to_bits());
        let used = self.kind.period_names().len();
        let mut settings = [0; MAX_PERIODS];
        for (slot, setting) in settings.iter_mut().zip(periods.take(used).chain(multipliers)) {
            *slot = setting;
        }
        settings
    }

    /// The indicator this value belongs to.
    pub fn kind(&self) -> IndicatorKind {
        self.kind
    }

    /// Its periods, as many as its kind has.
    pub fn periods(&self) -> &[i32] {
        &self.periods[..self.kind.period_names().len()]
    }

    /// Its numbers, as many as its kind has.
    pub fn numbers(&self) -> &[F64Bits] {
        &self.numbers[..self.kind.number_names().len()]
    }

    /// The value of `kind` with these fields (as many as the kind has; the rest is ignored).
    pub fn from_parts(kind: IndicatorKind, periods: &[i32], numbers: &[F64Bits]) -> Self {
        let mut indicator =
            Indicator { kind, periods: [0; MAX_PERIODS], numbers: [F64Bits::default(); MAX_NUMBERS] };
        for (slot, period) in indicator.periods.iter_mut().zip(periods).take(kind.period_names().len()) {
            *slot = *period;
        }
        for (slot, number) in indicator.numbers.iter_mut().zip(numbers).take(kind.number_names().len()) {
            *slot = *number;
        }
        indicator
    }

    /// The plain record value back.
    pub fn to_value(&self) -> IndicatorValue {
        let mut numbers = [0.0; MAX_NUMBERS];
        for (number, bits) in numbers.iter_mut().zip(self.numbers()) {
            *number = bits.get();
        }
        match IndicatorValue::from_fields(self.kind, self.periods(), &numbers[..self.numbers().len()]) {
            Some(value) => value,
            None => unreachable!("an indicator holds exactly its kind's fields"),
        }
    }
}

impl From<&IndicatorValue> for Indicator {
    fn from(value: &IndicatorValue) -> Self {
        let mut numbers = [F64Bits::default(); MAX_NUMBERS];
        for (bits, number) in numbers.iter_mut().zip(value.numbers().iter()) {
            *bits = F64Bits::new(*number);
        }
        Indicator::from_parts(value.kind(), &value.periods(), &numbers)
    }
}
