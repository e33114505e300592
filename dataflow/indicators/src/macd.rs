//! Moving average convergence/divergence: fast EMA minus slow EMA, with an EMA signal line.

use super::ema::Ema;

/// One MACD output.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MacdOutput {
    /// Fast EMA minus slow EMA.
    pub macd: f64,
    /// EMA(signal period) of the MACD line.
    pub signal: f64,
    /// `macd - signal`.
    pub hist: f64,
}

/// Streaming MACD(fast, slow, signal), TA-Lib's `TA_MACD` (not `TA_MACDFIX`): lookback
/// `(slow - 1) + (signal - 1)` for all three outputs.
///
/// Both EMAs are first evaluated at bar `slow - 1`: the slow one is seeded with the SMA of bars
/// `0..slow`, the fast one with the SMA of bars `slow - fast..slow` (it ignores the earlier bars, as
/// TA-Lib does). The signal line is an EMA of the MACD line seeded with its own SMA. If `fast >
/// slow` the two are swapped, as TA-Lib does.
#[derive(Clone, Debug, PartialEq)]
pub struct Macd {
    /// Bars to skip before feeding the fast EMA (`slow - fast`).
    fast_skip: u32,
    seen: u32,
    fast: Ema,
    slow: Ema,
    signal: Ema,
}

impl Macd {
    /// A MACD with the given periods (each at least 1).
    pub fn new(fast_period: u32, slow_period: u32, signal_period: u32) -> Self {
        let (fast_period, slow_period) = if fast_period > slow_period {
            (slow_period.max(1), fast_period)
        } else {
            (fast_period.max(1), slow_period.max(1))
        };
        Self {
            fast_skip: slow_period - fast_period,
            seen: 0,
            fast: Ema::new(fast_period),
            slow: Ema::new(slow_period),
            signal: Ema::new(signal_period),
        }
    }

    /// Bars consumed before the first output.
    pub fn lookback(fast_period: u32, slow_period: u32, signal_period: u32) -> usize {
        Ema::lookback(fast_period.max(slow_period)) + Ema::lookback(signal_period)
    }

    /// Feeds the next close; returns the three lines once the lookback is over.
    pub fn update(&mut self, x: f64) -> Option<MacdOutput> {
        let fast = if self.seen >= self.fast_skip { self.fast.update(x) } else { None };
        self.seen = self.seen.saturating_add(1);
        let slow = self.slow.update(x)?;
        let macd = fast? - slow;
        let signal = self.signal.update(macd)?;
        Some(MacdOutput { macd, signal, hist: macd - signal })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, random_bars};

    /// EMA with `k = 2 / (n + 1)`, seeded with the SMA of `xs[seed_start..seed_start + n]`,
    /// evaluated from index `seed_start + n - 1` on.
    fn ema_from(xs: &[f64], n: usize, seed_start: usize) -> Vec<Option<f64>> {
        let k = 2.0 / (n as f64 + 1.0);
        let mut out = vec![None; xs.len()];
        let first = seed_start + n - 1;
        if first >= xs.len() {
            return out;
        }
        let mut ema = xs[seed_start..=first].iter().sum::<f64>() / n as f64;
        out[first] = Some(ema);
        for i in first + 1..xs.len() {
            ema = k * xs[i] + (1.0 - k) * ema;
            out[i] = Some(ema);
        }
        out
    }

    #[test]
    fn matches_the_ta_lib_definition() {
        let closes: Vec<f64> = random_bars(4, 700, 4200.0).iter().map(|b| b.close).collect();
        for (fast, slow, signal) in [(12_usize, 26_usize, 9_usize), (3, 10, 1), (5, 35, 5)] {
            let slow_ema = ema_from(&closes, slow, 0);
            let fast_ema = ema_from(&closes, fast, slow - fast);
            let line: Vec<f64> = (slow - 1..closes.len())
                .map(|i| fast_ema[i].expect("fast defined") - slow_ema[i].expect("slow defined"))
                .collect();
            let signal_ema = ema_from(&line, signal, 0);
            let mut macd = Macd::new(fast as u32, slow as u32, signal as u32);
            let lookback = Macd::lookback(fast as u32, slow as u32, signal as u32);
            assert_eq!(lookback, slow - 1 + signal - 1);
            for (i, &x) in closes.iter().enumerate() {
                let got = macd.update(x);
                if i < lookback {
                    assert_eq!(got, None, "MACD[{i}]");
                    continue;
                }
                let got = got.expect("defined after the lookback");
                let j = i - (slow - 1);
                let want_signal = signal_ema[j].expect("signal defined");
                let what = format!("MACD({fast},{slow},{signal})[{i}]");
                // The lines are differences of prices: compare on the price scale.
                let scale = closes[i];
                assert!((got.macd - line[j]).abs() <= 1e-9 * scale, "{what} macd");
                assert!((got.signal - want_signal).abs() <= 1e-9 * scale, "{what} signal");
                assert!((got.hist - (line[j] - want_signal)).abs() <= 1e-9 * scale, "{what} hist");
                assert_close(got.hist, got.macd - got.signal, &what);
            }
        }
    }
}
