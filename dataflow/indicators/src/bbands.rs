//! Bollinger bands: SMA middle band plus/minus a multiple of the population standard deviation.

use super::window::Ring;

/// One BBANDS output.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BbandsOutput {
    /// `middle + dev_up * sd`.
    pub upper: f64,
    /// SMA(period).
    pub middle: f64,
    /// `middle - dev_down * sd`.
    pub lower: f64,
}

/// Streaming BBANDS(period, dev_up, dev_down) with an SMA middle band, TA-Lib's `TA_BBANDS` with
/// MA type 0: lookback `period - 1`.
///
/// The standard deviation is the population one (divide by `period`), computed as current TA-Lib C (0.8.1 in the wheel) does
/// it, without catastrophic cancellation: the running sums are of deviations from a *shift* near the
/// window (`S1 = Σ(x - shift)`, `S2 = Σ(x - shift)²`, `var = S2/n - (S1/n)²`), so they stay at the
/// scale of the variance instead of the price squared. The shift starts at the first value and is
/// re-anchored to the window mean, with both sums rebuilt by a fresh two-pass over the window, when
/// the variance falls below 1e-6 of `S2/n` (cancellation would start to eat digits), when the value
/// leaving the window is a far outlier (its square exceeds 1e6 · S2), or every `32 · period` bars.
/// A re-anchored variance below 1e-12 of `S2/n` is exactly 0. The schedule and every operation are
/// TA-Lib's, so the middle band and the deviation are bit-identical; see `docs/indicators.md`.
///
/// Cost: O(1) per bar plus an O(period) rebuild at most every `32 · period` bars on ordinary data; a
/// series whose spread keeps collapsing against its drift can rebuild more often (never more than
/// once per bar).
#[derive(Clone, Debug, PartialEq)]
pub struct Bbands {
    period: f64,
    inv_period: f64,
    dev_up: f64,
    dev_down: f64,
    /// The previous `period - 1` values.
    window: Ring,
    /// Running sum for the middle band (kept apart from the shifted sums, like TA-Lib).
    total: f64,
    shift: Option<f64>,
    shifted_sum: f64,
    shifted_squares: f64,
    rebuild_every: i64,
    bars_to_rebuild: i64,
}

impl Bbands {
    /// Bollinger bands over `period` values (at least 1) with the given deviation multipliers.
    pub fn new(period: u32, dev_up: f64, dev_down: f64) -> Self {
        let period = period.max(1);
        let rebuild_every = 32 * i64::from(period);
        Self {
            period: f64::from(period),
            inv_period: 1.0 / f64::from(period),
            dev_up,
            dev_down,
            window: Ring::new(period as usize - 1),
            total: 0.0,
            shift: None,
            shifted_sum: 0.0,
            shifted_squares: 0.0,
            rebuild_every,
            bars_to_rebuild: rebuild_every,
        }
    }

    /// Bars consumed before the first output.
    pub fn lookback(period: u32) -> usize {
        period.max(1) as usize - 1
    }

    /// Feeds the next close; returns the three bands once `period` values have been seen.
    pub fn update(&mut self, x: f64) -> Option<BbandsOutput> {
        let shift = *self.shift.get_or_insert(x);
        self.total += x;
        let d = x - shift;
        self.shifted_sum += d;
        self.shifted_squares += d * d;
        if !self.window.is_full() {
            self.window.push(x);
            return None;
        }

        let mean = self.shifted_sum * self.inv_period;
        let mut variance = self.shifted_squares * self.inv_period - mean * mean;
        let middle = self.total / self.period;

        // Take the value leaving the window out of every sum (prepares the next window).
        let leaving = self.window.oldest().unwrap_or(x);
        self.total -= leaving;
        let d = leaving - shift;
        self.shifted_sum -= d;
        let leaving_square = d * d;
        self.shifted_squares -= leaving_square;

        self.bars_to_rebuild -= 1;
        if variance < 1e-6 * (self.shifted_squares * self.inv_period)
            || leaving_square > 1e6 * self.shifted_squares
            || self.bars_to_rebuild <= 0
        {
            variance = self.rebuild(x, leaving);
        }
        self.window.push(x);

        let sd = if variance > 0.0 { variance.sqrt() } else { 0.0 };
        Some(if self.dev_up == self.dev_down {
            let width = sd * self.dev_up;
            BbandsOutput { upper: middle + width, middle, lower: middle - width }
        } else {
            // The reference build contracts the upper band to a fused multiply-add (not the lower).
            BbandsOutput {
                upper: sd.mul_add(self.dev_up, middle),
                middle,
                lower: middle - sd * self.dev_down,
            }
        })
    }

    /// Re-anchors the shift at the mean of the current window (the stored values then `x`), rebuilds
    /// the shifted sums with a two-pass, returns the window's variance and leaves the sums without
    /// `leaving`, ready for the next bar.
    fn rebuild(&mut self, x: f64, leaving: f64) -> f64 {
        self.bars_to_rebuild = self.rebuild_every;
        let sum = self.window.iter().fold(0.0, |sum, v| sum + v) + x;
        let shift = sum * self.inv_period;
        let (mut s1, mut s2) = (0.0, 0.0);
        for v in self.window.iter().chain(std::iter::once(x)) {
            let d = v - shift;
            s1 += d;
            s2 += d * d;
        }
        let mean = s1 * self.inv_period;
        let mut variance = s2 * self.inv_period - mean * mean;
        if variance < 1e-12 * (s2 * self.inv_period) {
            variance = 0.0;
        }
        let d = leaving - shift;
        self.shift = Some(shift);
        self.shifted_sum = s1 - d;
        self.shifted_squares = s2 - d * d;
        variance
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, random_bars};

    /// Two-pass population standard deviation of a window.
    fn population_sd(xs: &[f64]) -> f64 {
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        (xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / xs.len() as f64).sqrt()
    }

    #[test]
    fn matches_a_two_pass_standard_deviation_at_high_prices() {
        // Prices in the thousands with cent ticks: Σx²/n - mean² would lose ~7 digits here.
        let closes: Vec<f64> = random_bars(6, 3000, 9000.0).iter().map(|b| b.close).collect();
        for (period, up, down) in [(20_usize, 2.0, 2.0), (5, 1.5, 2.5), (2, 1.0, 1.0), (60, 3.0, 0.5)] {
            let mut bbands = Bbands::new(period as u32, up, down);
            for (i, &x) in closes.iter().enumerate() {
                let got = bbands.update(x);
                let Some(start) = (i + 1).checked_sub(period) else {
                    assert_eq!(got, None);
                    continue;
                };
                let window = &closes[start..=i];
                let middle = window.iter().sum::<f64>() / period as f64;
                let sd = population_sd(window);
                let got = got.expect("defined after the lookback");
                let what = format!("BBANDS({period},{up},{down})[{i}]");
                assert_close(got.middle, middle, &what);
                assert_close(got.upper, middle + up * sd, &what);
                assert_close(got.lower, middle - down * sd, &what);
                // The deviation itself, recovered from the band width, to 1e-9 of the price.
                let width = (got.upper - got.lower) / (up + down);
                assert!((width - sd).abs() <= 1e-9 * middle, "{what}: sd {width} vs {sd}");
            }
        }
    }

    #[test]
    fn a_flat_window_has_zero_width() {
        let mut bbands = Bbands::new(3, 2.0, 2.0);
        let out: Vec<_> = [5.0, 5.0, 5.0, 5.0].into_iter().map(|x| bbands.update(x)).collect();
        let flat = BbandsOutput { upper: 5.0, middle: 5.0, lower: 5.0 };
        assert_eq!(out, vec![None, None, Some(flat), Some(flat)]);
    }
}
