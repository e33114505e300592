//! Slow stochastic oscillator with SMA smoothing.

use super::extrema::Extrema;
use super::range_is_zero;
use super::sma::Sma;

/// One STOCH output.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StochOutput {
    /// SMA(slow K period) of fast %K.
    pub slow_k: f64,
    /// SMA(slow D period) of slow %K.
    pub slow_d: f64,
}

/// Streaming STOCH(fastK, slowK, slowD) with SMA smoothing (TA-Lib `TA_STOCH`, both MA types 0):
/// lookback `(fastK - 1) + (slowK - 1) + (slowD - 1)`.
///
/// `fastK = (close - LL) / (HH - LL) * 100` over the last `fastK` bars (HH/LL from monotonic deques,
/// amortised O(1)), 0 when the range is zero by TA-Lib's scale-aware test; slow %K is the SMA of fast
/// %K and slow %D the SMA of slow %K. The expression order is the reference build's, so the output is
/// bit-identical.
#[derive(Clone, Debug, PartialEq)]
pub struct Stoch {
    extrema: Extrema,
    slow_k: Sma,
    slow_d: Sma,
}

impl Stoch {
    /// A stochastic with the given periods (each at least 1).
    pub fn new(fast_k_period: u32, slow_k_period: u32, slow_d_period: u32) -> Self {
        Self {
            extrema: Extrema::new(fast_k_period),
            slow_k: Sma::new(slow_k_period),
            slow_d: Sma::new(slow_d_period),
        }
    }

    /// Bars consumed before the first output.
    pub fn lookback(fast_k_period: u32, slow_k_period: u32, slow_d_period: u32) -> usize {
        Sma::lookback(fast_k_period) + Sma::lookback(slow_k_period) + Sma::lookback(slow_d_period)
    }

    /// Feeds the next bar; returns slow %K and %D once the lookback is over.
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> Option<StochOutput> {
        let (highest, lowest) = self.extrema.update(high, low)?;
        let fast_k =
            if range_is_zero(highest, lowest) { 0.0 } else { (close - lowest) / (highest - lowest) * 100.0 };
        let slow_k = self.slow_k.update(fast_k)?;
        let slow_d = self.slow_d.update(slow_k)?;
        Some(StochOutput { slow_k, slow_d })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::random_bars;

    fn mean(xs: &[f64]) -> f64 {
        xs.iter().sum::<f64>() / xs.len() as f64
    }

    #[test]
    fn matches_the_textbook_definition() {
        let bars = random_bars(5, 600, 950.0);
        for (fk, sk, sd) in [(5_usize, 3_usize, 3_usize), (14, 1, 1), (1, 2, 4), (9, 5, 2)] {
            let fast_k: Vec<Option<f64>> = (0..bars.len())
                .map(|i| {
                    let window = bars.get((i + 1).checked_sub(fk)?..=i)?;
                    let hh = window.iter().map(|b| b.high).fold(f64::MIN, f64::max);
                    let ll = window.iter().map(|b| b.low).fold(f64::MAX, f64::min);
                    Some(if hh == ll { 0.0 } else { 100.0 * (bars[i].close - ll) / (hh - ll) })
                })
                .collect();
            let smooth = |xs: &[Option<f64>], n: usize| -> Vec<Option<f64>> {
                (0..xs.len())
                    .map(|i| {
                        let window = xs.get((i + 1).checked_sub(n)?..=i)?;
                        let values: Option<Vec<f64>> = window.iter().copied().collect();
                        Some(mean(&values?))
                    })
                    .collect()
            };
            let slow_k = smooth(&fast_k, sk);
            let slow_d = smooth(&slow_k, sd);
            let mut stoch = Stoch::new(fk as u32, sk as u32, sd as u32);
            let lookback = Stoch::lookback(fk as u32, sk as u32, sd as u32);
            for (i, bar) in bars.iter().enumerate() {
                let got = stoch.update(bar.high, bar.low, bar.close);
                if i < lookback {
                    assert_eq!(got, None);
                    assert!(slow_d[i].is_none());
                    continue;
                }
                let got = got.expect("defined after the lookback");
                // Bounded 0..100: compare on that scale.
                let what = format!("STOCH({fk},{sk},{sd})[{i}]");
                assert!((got.slow_k - slow_k[i].expect("naive slow K")).abs() <= 1e-9 * 100.0, "{what} K");
                assert!((got.slow_d - slow_d[i].expect("naive slow D")).abs() <= 1e-9 * 100.0, "{what} D");
            }
        }
    }
}
