//! A day's values in one record: the graph's input.
//!
//! A bar and its seven indicator values arranged one by one would cost eight sorts and, on every
//! merge of the arrangement, eight copies of a value the size of the largest indicator. So the
//! inputs send a (series, day) as one `Bundle`: the close and the indicator slots, inline. A
//! collection of bundles stands for the multiset of the entries in them (a bundle with diff `d`
//! adds `d` to each of its entries); the inputs keep it at one bundle per day with multiplicity
//! one, and the co-group adds entries up should bundles of a day ever overlap.

use super::block::Entry;
use super::slots::IndicatorSlots;
use super::values::Close;
use serde::{Deserialize, Serialize};

/// Some of the entries of one (series, day): at most a close and one value per indicator kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Bundle {
    /// The bar's adjusted close and factor.
    pub close: Option<Close>,
    /// Indicator values.
    pub indicators: IndicatorSlots,
}

impl Bundle {
    /// Whether the bundle holds no entry.
    pub fn is_empty(&self) -> bool {
        self.close.is_none() && self.indicators.is_empty()
    }

    /// The entries: the close first, then the indicator values by kind.
    pub fn entries(&self) -> impl Iterator<Item = Entry> {
        let indicators = self.indicators.values().into_iter().map(Entry::Indicator);
        self.close.map(Entry::Bar).into_iter().chain(indicators)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Indicator;
    use pricestream_records::IndicatorValue;

    #[test]
    fn lists_the_close_first_then_the_values_by_kind() {
        let ema = Indicator::from(&IndicatorValue::Ema { ema_time_period: 3, ema: 1.0 });
        let rsi = Indicator::from(&IndicatorValue::Rsi { time_period: 3, rsi: 2.0 });
        let mut bundle = Bundle::default();
        assert!(bundle.is_empty());
        assert!(bundle.indicators.insert(&rsi) && bundle.indicators.insert(&ema));
        assert!(!bundle.is_empty());
        bundle.close = Some(Close::from(10.0));
        let entries: Vec<Entry> = bundle.entries().collect();
        assert_eq!(entries, [Entry::Bar(Close::from(10.0)), Entry::Indicator(ema), Entry::Indicator(rsi)]);
    }
}
