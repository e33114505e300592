//! Relative strength index with Wilder's smoothing.

/// Streaming RSI(period), TA-Lib's `TA_RSI` with the default unstable period 0: lookback `period`.
///
/// The average gain and loss are seeded with the sums of the first `period` changes times
/// `1/period`; afterwards `avg = (avg * (period - 1) + change) * (1/period)` (Wilder, k = 1/period),
/// and `rsi = 100 * gain / (gain + loss)`, 0 when `gain + loss` is exactly zero. The operations and
/// their order are TA-Lib's (a precomputed `1/period` multiplied in, not a division), so the output
/// is bit-identical.
#[derive(Clone, Debug, PartialEq)]
pub struct Rsi {
    period: u32,
    inv_period: f64,
    period_minus_one: f64,
    /// Changes seen so far (saturates at `period`).
    changes: u32,
    previous: Option<f64>,
    gain: f64,
    loss: f64,
}

impl Rsi {
    /// An RSI over `period` changes (at least 1).
    pub fn new(period: u32) -> Self {
        let period = period.max(1);
        Self {
            period,
            inv_period: 1.0 / f64::from(period),
            period_minus_one: f64::from(period - 1),
            changes: 0,
            previous: None,
            gain: 0.0,
            loss: 0.0,
        }
    }

    /// Bars consumed before the first output.
    pub fn lookback(period: u32) -> usize {
        period.max(1) as usize
    }

    /// Feeds the next close; returns the RSI once `period` changes have been seen.
    pub fn update(&mut self, x: f64) -> Option<f64> {
        let previous = self.previous.replace(x)?;
        let change = x - previous;
        if self.changes < self.period {
            self.accumulate(change);
            self.changes += 1;
            if self.changes < self.period {
                return None;
            }
        } else {
            self.gain *= self.period_minus_one;
            self.loss *= self.period_minus_one;
            self.accumulate(change);
        }
        self.gain *= self.inv_period;
        self.loss *= self.inv_period;
        let total = self.gain + self.loss;
        Some(if total > 0.0 { 100.0 * (self.gain / total) } else { 0.0 })
    }

    fn accumulate(&mut self, change: f64) {
        if change > 0.0 {
            self.gain += change;
        } else {
            self.loss -= change;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::random_bars;

    /// Wilder's definition: average gain/loss of the first `period` changes, then
    /// `avg = (avg * (period - 1) + current) / period`.
    fn naive(xs: &[f64], period: usize) -> Vec<Option<f64>> {
        let mut out = vec![None; xs.len()];
        if xs.len() <= period {
            return out;
        }
        let changes: Vec<f64> = xs.windows(2).map(|w| w[1] - w[0]).collect();
        let mut gain = changes[..period].iter().map(|c| c.max(0.0)).sum::<f64>() / period as f64;
        let mut loss = changes[..period].iter().map(|c| (-c).max(0.0)).sum::<f64>() / period as f64;
        let rsi = |g: f64, l: f64| if g + l == 0.0 { 0.0 } else { 100.0 - 100.0 / (1.0 + g / l) };
        out[period] = Some(rsi(gain, loss));
        for i in period + 1..xs.len() {
            let c = changes[i - 1];
            gain = (gain * (period as f64 - 1.0) + c.max(0.0)) / period as f64;
            loss = (loss * (period as f64 - 1.0) + (-c).max(0.0)) / period as f64;
            out[i] = Some(rsi(gain, loss));
        }
        out
    }

    #[test]
    fn matches_wilders_definition() {
        let closes: Vec<f64> = random_bars(3, 800, 1800.0).iter().map(|b| b.close).collect();
        for period in [1_u32, 2, 14, 30] {
            let expected = naive(&closes, period as usize);
            let mut rsi = Rsi::new(period);
            for (i, &x) in closes.iter().enumerate() {
                match (rsi.update(x), expected[i]) {
                    // RSI is bounded by 100; compare on that scale (a loss-only window is 0).
                    (Some(got), Some(want)) => {
                        assert!((got - want).abs() <= 1e-9 * 100.0, "RSI({period})[{i}]: {got} vs {want}")
                    }
                    (got, want) => assert_eq!(got, want, "RSI({period})[{i}]"),
                }
            }
        }
    }

    #[test]
    fn a_flat_series_is_zero() {
        let mut rsi = Rsi::new(3);
        let out: Vec<_> = (0..6).map(|_| rsi.update(10.0)).collect();
        assert_eq!(out, vec![None, None, None, Some(0.0), Some(0.0), Some(0.0)]);
    }
}
