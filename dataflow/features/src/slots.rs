//! The indicator values of one bar, flattened into one inline record.
//!
//! The block co-group keeps every bar's row in its output arrangement, and differential copies
//! that arrangement on every merge. One `Option<Indicator>` per kind would take the room of the
//! largest kind seven times; here each kind's fields take only their own room (11 periods and
//! 14 floats, 160 bytes, for the seven).

use super::values::{F64Bits, Indicator};
use pricestream_records::IndicatorKind;
use serde::{Deserialize, Serialize};
use std::ops::Range;

const KINDS: usize = IndicatorKind::ALL.len();
const _: () = assert!(KINDS <= 8, "`present` has a bit per kind");

/// Where each kind's fields live, in `IndicatorKind` order: index ranges into `periods` and
/// `values`, each kind's fields one after the other.
const LAYOUT: [(Range<usize>, Range<usize>); KINDS] = {
    let mut layout = [const { (0..0, 0..0) }; KINDS];
    let (mut kind, mut periods, mut numbers) = (0, 0, 0);
    while kind < KINDS {
        let (p, n) =
            (IndicatorKind::ALL[kind].period_names().len(), IndicatorKind::ALL[kind].number_names().len());
        layout[kind] = (periods..periods + p, numbers..numbers + n);
        (periods, numbers, kind) = (periods + p, numbers + n, kind + 1);
    }
    layout
};
const PERIODS: usize = LAYOUT[KINDS - 1].0.end;
const NUMBERS: usize = LAYOUT[KINDS - 1].1.end;

/// Up to one value per indicator kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IndicatorSlots {
    /// Bit `kind as usize` is set when that kind is present.
    present: u8,
    /// Every kind's periods, in `IndicatorKind` order.
    periods: [i32; PERIODS],
    /// Every kind's numbers, in `IndicatorKind` order.
    values: [F64Bits; NUMBERS],
}

impl IndicatorSlots {
    /// Stores `value` unless its kind is already present (the first value of a kind wins);
    /// returns whether it did.
    pub fn insert(&mut self, value: &Indicator) -> bool {
        let kind = value.kind() as usize;
        if self.present & (1 << kind) != 0 {
            return false;
        }
        self.present |= 1 << kind;
        let (periods, numbers) = LAYOUT[kind].clone();
        self.periods[periods].copy_from_slice(value.periods());
        self.values[numbers].copy_from_slice(value.numbers());
        true
    }

    /// Whether no kind is present.
    pub fn is_empty(&self) -> bool {
        self.present == 0
    }

    /// The values present, sorted by kind.
    pub fn iter(&self) -> impl Iterator<Item = Indicator> + '_ {
        IndicatorKind::ALL
            .iter()
            .zip(LAYOUT.iter())
            .enumerate()
            .filter(|(index, _)| self.present & (1 << index) != 0)
            .map(|(_, (&kind, (periods, numbers)))| {
                Indicator::from_parts(kind, &self.periods[periods.clone()], &self.values[numbers.clone()])
            })
    }

    /// The values present, sorted by kind, in a `Vec`.
    pub fn values(&self) -> Vec<Indicator> {
        let mut values = Vec::with_capacity(self.present.count_ones() as usize);
        values.extend(self.iter());
        values
    }
}

impl FromIterator<Indicator> for IndicatorSlots {
    /// The values, the first of each kind.
    fn from_iter<I: IntoIterator<Item = Indicator>>(values: I) -> Self {
        let mut slots = IndicatorSlots::default();
        values.into_iter().for_each(|value| _ = slots.insert(&value));
        slots
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pricestream_records::IndicatorValue;

    #[test]
    fn keeps_the_first_value_per_kind_and_gives_them_back_by_kind() {
        // Out of kind order, and a second EMA that must not replace the first.
        let mut values = IndicatorValue::one_of_each();
        values.rotate_left(3);
        values.push(IndicatorValue::Ema { ema_time_period: 10, ema: 9.0 });
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
}
