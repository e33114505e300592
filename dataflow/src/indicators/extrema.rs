//! Highest high and lowest low over a sliding window with monotonic deques (amortised O(1) per bar).

use std::collections::VecDeque;

/// The highest of the highs and the lowest of the lows over the last `period` bars.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Extrema {
    period: u64,
    /// Number of bars seen; the index of the next bar.
    seen: u64,
    /// (bar index, high), highs strictly decreasing from front to back.
    highs: VecDeque<(u64, f64)>,
    /// (bar index, low), lows strictly increasing from front to back.
    lows: VecDeque<(u64, f64)>,
}

impl Extrema {
    /// Extrema over windows of `period` bars (at least 1).
    pub(crate) fn new(period: u32) -> Self {
        let period = u64::from(period.max(1));
        let capacity = usize::try_from(period).unwrap_or(usize::MAX).saturating_add(1);
        Self {
            period,
            seen: 0,
            highs: VecDeque::with_capacity(capacity),
            lows: VecDeque::with_capacity(capacity),
        }
    }

    /// Adds a bar; returns `(highest, lowest)` once `period` bars have been seen.
    pub(crate) fn update(&mut self, high: f64, low: f64) -> Option<(f64, f64)> {
        let index = self.seen;
        self.seen += 1;
        while self.highs.back().is_some_and(|&(_, h)| h <= high) {
            self.highs.pop_back();
        }
        self.highs.push_back((index, high));
        while self.lows.back().is_some_and(|&(_, l)| l >= low) {
            self.lows.pop_back();
        }
        self.lows.push_back((index, low));
        // The window is [index + 1 - period, index].
        let first = (index + 1).checked_sub(self.period)?;
        while self.highs.front().is_some_and(|&(i, _)| i < first) {
            self.highs.pop_front();
        }
        while self.lows.front().is_some_and(|&(i, _)| i < first) {
            self.lows.pop_front();
        }
        let highest = self.highs.front().map(|&(_, h)| h)?;
        let lowest = self.lows.front().map(|&(_, l)| l)?;
        Some((highest, lowest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::testing::random_bars;

    #[test]
    fn matches_a_scan_of_the_window() {
        for period in [1_u32, 2, 5, 14] {
            let bars = random_bars(11, 400, 50.0);
            let mut extrema = Extrema::new(period);
            let p = period as usize;
            for (i, bar) in bars.iter().enumerate() {
                let got = extrema.update(bar.high, bar.low);
                if i + 1 < p {
                    assert_eq!(got, None);
                    continue;
                }
                let window = &bars[i + 1 - p..=i];
                let highest = window.iter().map(|b| b.high).fold(f64::MIN, f64::max);
                let lowest = window.iter().map(|b| b.low).fold(f64::MAX, f64::min);
                assert_eq!(got, Some((highest, lowest)), "period {period}, bar {i}");
            }
        }
    }
}
