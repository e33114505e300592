//! Simple moving average: a running sum of the last `period` values, divided by `period`.

use super::window::Ring;

/// Streaming SMA(period), TA-Lib's `TA_SMA`: lookback `period - 1`.
///
/// Like TA-Lib the running sum holds the previous `period - 1` values between bars: the new value
/// is added, the sum divided by the period, then the value leaving the window subtracted. Doing the
/// same additions in the same order makes the output bit-identical to TA-Lib's.
#[derive(Clone, Debug, PartialEq)]
pub struct Sma {
    period: f64,
    sum: f64,
    /// The previous `period - 1` values.
    window: Ring,
}

impl Sma {
    /// An SMA over `period` values (at least 1; a period of 1 copies the input).
    pub fn new(period: u32) -> Self {
        let period = period.max(1);
        Self { period: f64::from(period), sum: 0.0, window: Ring::new(period as usize - 1) }
    }

    /// Bars consumed before the first output.
    pub fn lookback(period: u32) -> usize {
        period.max(1) as usize - 1
    }

    /// Feeds the next value; returns the average once `period` values have been seen.
    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.sum += x;
        if !self.window.is_full() {
            self.window.push(x);
            return None;
        }
        let mean = self.sum / self.period;
        if let Some(leaving) = self.window.push(x) {
            self.sum -= leaving;
        }
        Some(mean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, random_bars};

    #[test]
    fn matches_the_mean_of_each_window() {
        let closes: Vec<f64> = random_bars(1, 600, 2500.0).iter().map(|b| b.close).collect();
        for period in [1_u32, 2, 20, 50] {
            let p = period as usize;
            let mut sma = Sma::new(period);
            for (i, &x) in closes.iter().enumerate() {
                let got = sma.update(x);
                if i < Sma::lookback(period) {
                    assert_eq!(got, None);
                    continue;
                }
                let naive = closes[i + 1 - p..=i].iter().sum::<f64>() / period as f64;
                assert_close(got.expect("defined after the lookback"), naive, &format!("SMA({period})[{i}]"));
            }
        }
    }
}
