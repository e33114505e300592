//! Exponential moving average, seeded with the simple average of the first `period` values.

/// Streaming EMA(period), TA-Lib's `TA_EMA` (default, "classic" compatibility): lookback
/// `period - 1`; `k = 2 / (period + 1)`; the first output is the SMA of the first `period` values,
/// then `ema = (x - ema) * k + ema`.
///
/// The step is evaluated as one fused multiply-add, `(x - ema).mul_add(k, ema)`: the C library in
/// the `ta-lib` wheel is compiled with floating-point contraction, and the fused form reproduces its
/// output bit for bit (the unfused form differs by at most one ulp per step). A period of 1 copies
/// the input, as TA-Lib does.
#[derive(Clone, Debug, PartialEq)]
pub struct Ema {
    period: u32,
    k: f64,
    seen: u32,
    /// Sum of the seeding values, then the current average.
    value: f64,
}

impl Ema {
    /// An EMA over `period` values (at least 1).
    pub fn new(period: u32) -> Self {
        let period = period.max(1);
        Self { period, k: 2.0 / f64::from(period + 1), seen: 0, value: 0.0 }
    }

    /// Bars consumed before the first output.
    pub fn lookback(period: u32) -> usize {
        period.max(1) as usize - 1
    }

    /// Feeds the next value; returns the average once `period` values have been seen.
    pub fn update(&mut self, x: f64) -> Option<f64> {
        if self.seen < self.period {
            self.value += x;
            self.seen += 1;
            if self.seen < self.period {
                return None;
            }
            self.value /= f64::from(self.period);
        } else if self.period == 1 {
            self.value = x;
        } else {
            self.value = (x - self.value).mul_add(self.k, self.value);
        }
        Some(self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, random_bars};

    /// The textbook definition over the whole series.
    fn naive(xs: &[f64], period: usize) -> Vec<Option<f64>> {
        let k = 2.0 / (period as f64 + 1.0);
        let mut out = vec![None; xs.len()];
        if xs.len() < period {
            return out;
        }
        let mut ema = xs[..period].iter().sum::<f64>() / period as f64;
        out[period - 1] = Some(ema);
        for i in period..xs.len() {
            ema = k * xs[i] + (1.0 - k) * ema;
            out[i] = Some(ema);
        }
        out
    }

    #[test]
    fn matches_the_textbook_recursion() {
        let closes: Vec<f64> = random_bars(2, 600, 3100.0).iter().map(|b| b.close).collect();
        for period in [1_u32, 2, 20, 60] {
            let expected = naive(&closes, period as usize);
            let mut ema = Ema::new(period);
            for (i, &x) in closes.iter().enumerate() {
                match (ema.update(x), expected[i]) {
                    (Some(got), Some(want)) => assert_close(got, want, &format!("EMA({period})[{i}]")),
                    (got, want) => assert_eq!(got, want, "EMA({period})[{i}]"),
                }
            }
        }
    }
}
