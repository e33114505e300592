//! Williams %R.

use super::extrema::Extrema;
use super::range_is_zero;

/// Streaming WILLR(period), TA-Lib's `TA_WILLR`: lookback `period - 1`.
///
/// `willr = (HH - close) / (HH - LL) * -100` over the last `period` bars, in -100..=0, and 0 when the
/// range is zero by TA-Lib's scale-aware test. HH/LL come from monotonic deques (amortised O(1)). The
/// expression order is the reference build's, so the output is bit-identical.
#[derive(Clone, Debug, PartialEq)]
pub struct Willr {
    extrema: Extrema,
}

impl Willr {
    /// A Williams %R over `period` bars (at least 1).
    pub fn new(period: u32) -> Self {
        Self { extrema: Extrema::new(period) }
    }

    /// Bars consumed before the first output.
    pub fn lookback(period: u32) -> usize {
        period.max(1) as usize - 1
    }

    /// Feeds the next bar; returns %R once `period` bars have been seen.
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> Option<f64> {
        let (highest, lowest) = self.extrema.update(high, low)?;
        Some(if range_is_zero(highest, lowest) {
            0.0
        } else {
            (highest - close) / (highest - lowest) * -100.0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::random_bars;

    #[test]
    fn matches_the_textbook_definition() {
        let bars = random_bars(7, 600, 120.0);
        for period in [1_usize, 2, 14, 30] {
            let mut willr = Willr::new(period as u32);
            for (i, bar) in bars.iter().enumerate() {
                let got = willr.update(bar.high, bar.low, bar.close);
                let Some(start) = (i + 1).checked_sub(period) else {
                    assert_eq!(got, None);
                    continue;
                };
                let window = &bars[start..=i];
                let hh = window.iter().map(|b| b.high).fold(f64::MIN, f64::max);
                let ll = window.iter().map(|b| b.low).fold(f64::MAX, f64::min);
                let want = if hh == ll { 0.0 } else { -100.0 * (hh - bar.close) / (hh - ll) };
                let got = got.expect("defined after the lookback");
                assert!((-100.0..=0.0).contains(&got), "WILLR({period})[{i}] = {got}");
                assert!((got - want).abs() <= 1e-9 * 100.0, "WILLR({period})[{i}]: {got} vs {want}");
            }
        }
    }
}
