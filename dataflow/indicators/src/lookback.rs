//! How many bars each indicator consumes before its first value, from the periods a value
//! carries: a bar at 1-based position `n` has a value of `kind` exactly when `n > lookback`.

use super::{Bbands, Ema, Macd, Rsi, Sma, Stoch, Willr};
use pricestream_records::IndicatorKind;

/// The lookback of `kind` with `periods` (in the order of [`IndicatorKind::period_names`]);
/// `None` when they are not the kind's or not positive.
pub fn lookback(kind: IndicatorKind, periods: &[i32]) -> Option<usize> {
    let period = |index: usize| periods.get(index).and_then(|p| u32::try_from(*p).ok()).filter(|p| *p > 0);
    Some(match kind {
        IndicatorKind::Ema => Ema::lookback(period(0)?),
        IndicatorKind::Sma => Sma::lookback(period(0)?),
        IndicatorKind::Rsi => Rsi::lookback(period(0)?),
        IndicatorKind::Willr => Willr::lookback(period(0)?),
        IndicatorKind::Bbands => Bbands::lookback(period(0)?),
        IndicatorKind::Macd => Macd::lookback(period(0)?, period(1)?, period(2)?),
        IndicatorKind::Stoch => Stoch::lookback(period(0)?, period(1)?, period(2)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IndicatorParams, IndicatorSet};

    #[test]
    fn the_first_value_of_each_indicator_comes_after_its_lookback() {
        // The default periods, fed 60 bars: each kind's first value is at its lookback + 1.
        let mut set = IndicatorSet::new(&IndicatorParams::default());
        let mut first = std::collections::BTreeMap::new();
        for n in 1..=60_usize {
            let close = 100.0 + (n % 7) as f64;
            for value in set.update(close + 1.0, close - 1.0, close) {
                first.entry(value.kind()).or_insert((n, value.periods().to_vec()));
            }
        }
        assert_eq!(first.len(), IndicatorKind::ALL.len());
        for (kind, (n, periods)) in first {
            assert_eq!(lookback(kind, &periods), Some(n - 1), "{kind:?} {periods:?}");
        }
        assert_eq!(lookback(IndicatorKind::Macd, &[12, 26]), None, "a period missing");
        assert_eq!(lookback(IndicatorKind::Ema, &[0]), None);
    }
}
