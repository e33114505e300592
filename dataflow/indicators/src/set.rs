//! All seven indicators for one ticker, fed one bar at a time.

use super::params::IndicatorParams;
use super::{Bbands, Ema, Macd, Rsi, Sma, Stoch, Willr};
use pricestream_records::IndicatorValue;

/// The streaming state of all seven indicators for ONE ticker.
///
/// Feed it the ticker's bars in date order; each call does O(1) work per indicator and yields the
/// values defined at that bar, always in the order SMA, EMA, RSI, MACD, STOCH, BBANDS, WILLR (an
/// indicator still inside its lookback is skipped). The state is a few hundred bytes plus the
/// windows (`Clone` is how [`TickerSeries`](super::TickerSeries) checkpoints it).
///
/// Periods are taken as given: validate the params first ([`IndicatorParams::validate`]); a period
/// of 0 is treated as 1 rather than panicking.
#[derive(Clone, Debug, PartialEq)]
pub struct IndicatorSet {
    sma: Sma,
    ema: Ema,
    rsi: Rsi,
    macd: Macd,
    stoch: Stoch,
    bbands: Bbands,
    willr: Willr,
    /// The params as the records carry them.
    labels: Labels,
}

#[derive(Clone, Debug, PartialEq)]
struct Labels {
    sma: i32,
    ema: i32,
    rsi: i32,
    macd: [i32; 3],
    stoch: [i32; 3],
    bbands: i32,
    bbands_dev_up: f64,
    bbands_dev_down: f64,
    willr: i32,
}

impl IndicatorSet {
    /// Fresh state for the given periods.
    pub fn new(params: &IndicatorParams) -> Self {
        let p = params;
        let label = IndicatorParams::as_record_period;
        Self {
            sma: Sma::new(p.sma_period),
            ema: Ema::new(p.ema_period),
            rsi: Rsi::new(p.rsi_period),
            macd: Macd::new(p.macd_fast_period, p.macd_slow_period, p.macd_signal_period),
            stoch: Stoch::new(p.stoch_fast_k_period, p.stoch_slow_k_period, p.stoch_slow_d_period),
            bbands: Bbands::new(p.bbands_period, p.bbands_dev_up, p.bbands_dev_down),
            willr: Willr::new(p.willr_period),
            labels: Labels {
                sma: label(p.sma_period),
                ema: label(p.ema_period),
                rsi: label(p.rsi_period),
                macd: [p.macd_fast_period, p.macd_slow_period, p.macd_signal_period].map(label),
                stoch: [p.stoch_fast_k_period, p.stoch_slow_k_period, p.stoch_slow_d_period].map(label),
                bbands: label(p.bbands_period),
                bbands_dev_up: p.bbands_dev_up,
                bbands_dev_down: p.bbands_dev_down,
                willr: label(p.willr_period),
            },
        }
    }

    /// Feeds the next bar (dates strictly increasing) and returns the values defined at this bar.
    ///
    /// Allocates the returned `Vec`; on a hot path reuse a buffer with [`Self::update_into`].
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> Vec<IndicatorValue> {
        let mut out = Vec::with_capacity(7);
        self.update_into(high, low, close, &mut out);
        out
    }

    /// Feeds the next bar (dates strictly increasing) and APPENDS the values defined at this bar to
    /// `out` (at most seven; nothing is cleared). No allocation once `out` has room for seven.
    pub fn update_into(&mut self, high: f64, low: f64, close: f64, out: &mut Vec<IndicatorValue>) {
        self.update_with(high, low, close, |value| out.push(value));
    }

    /// Feeds the next bar (dates strictly increasing) and hands each value defined at this bar
    /// to `emit`, in the order of [`IndicatorSet::update_into`].
    #[inline]
    pub fn update_with(&mut self, high: f64, low: f64, close: f64, mut emit: impl FnMut(IndicatorValue)) {
        let l = &self.labels;
        if let Some(sma) = self.sma.update(close) {
            emit(IndicatorValue::Sma { time_period: l.sma, sma });
        }
        if let Some(ema) = self.ema.update(close) {
            emit(IndicatorValue::Ema { ema_time_period: l.ema, ema });
        }
        if let Some(rsi) = self.rsi.update(close) {
            emit(IndicatorValue::Rsi { time_period: l.rsi, rsi });
        }
        if let Some(m) = self.macd.update(close) {
            let [fast_period, slow_period, signal_period] = l.macd;
            emit(IndicatorValue::Macd {
                fast_period,
                slow_period,
                signal_period,
                macd: m.macd,
                macd_signal: m.signal,
                macd_hist: m.hist,
            });
        }
        if let Some(s) = self.stoch.update(high, low, close) {
            let [fast_k_period, slow_k_period, slow_d_period] = l.stoch;
            emit(IndicatorValue::Stoch {
                fast_k_period,
                slow_k_period,
                slow_d_period,
                slow_k: s.slow_k,
                slow_d: s.slow_d,
            });
        }
        if let Some(b) = self.bbands.update(close) {
            emit(IndicatorValue::Bbands {
                time_period: l.bbands,
                sd: l.bbands_dev_up,
                sd_down: l.bbands_dev_down,
                lower_band: b.lower,
                middle_band: b.middle,
                upper_band: b.upper,
            });
        }
        if let Some(willr) = self.willr.update(high, low, close) {
            emit(IndicatorValue::Willr { time_period: l.willr, willr });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::random_bars;

    #[test]
    fn emits_each_indicator_from_its_lookback_on() {
        let params = IndicatorParams::default();
        let mut set = IndicatorSet::new(&params);
        let bars = random_bars(8, 60, 75.0);
        let counts: Vec<usize> = bars.iter().map(|b| set.update(b.high, b.low, b.close).len()).collect();
        // Lookbacks: WILLR 13, RSI 14, SMA/EMA/BBANDS 19, MACD 33; STOCH 8.
        assert_eq!(counts[7], 0);
        assert_eq!(counts[8], 1);
        assert_eq!(counts[13], 2);
        assert_eq!(counts[14], 3);
        assert_eq!(counts[19], 6);
        assert_eq!(counts[32], 6);
        assert_eq!(counts[33], 7);
    }

    #[test]
    fn values_carry_their_params() {
        let params =
            IndicatorParams { bbands_dev_up: 1.5, bbands_dev_down: 2.5, ..IndicatorParams::default() };
        let mut set = IndicatorSet::new(&params);
        let last = random_bars(9, 40, 10.0).iter().map(|b| set.update(b.high, b.low, b.close)).last();
        let last = last.expect("40 bars");
        assert!(last.iter().any(|v| matches!(
            v,
            IndicatorValue::Bbands { time_period: 20, sd, sd_down, .. } if *sd == 1.5 && *sd_down == 2.5
        )));
    }
}
