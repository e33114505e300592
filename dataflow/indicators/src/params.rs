//! The indicator periods (config section `indicators`), their defaults and their validation.

use pricestream_records::Problems;
use serde::{Deserialize, Serialize};

/// The largest period TA-Lib accepts.
const MAX_PERIOD: u32 = 100_000;

/// Periods and multipliers of the seven indicators. Every field is optional in the config file;
/// missing ones take the defaults shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IndicatorParams {
    /// SMA window in bars (default 20, TA-Lib range 2..=100000).
    pub sma_period: u32,
    /// EMA period in bars (default 20, range 2..=100000).
    pub ema_period: u32,
    /// RSI period in bars (default 14, range 2..=100000).
    pub rsi_period: u32,
    /// MACD fast EMA period (default 12, range 2..=100000, below `macd_slow_period`).
    pub macd_fast_period: u32,
    /// MACD slow EMA period (default 26, range 2..=100000).
    pub macd_slow_period: u32,
    /// MACD signal EMA period (default 9, range 1..=100000).
    pub macd_signal_period: u32,
    /// STOCH fast %K window in bars (default 5, range 1..=100000).
    pub stoch_fast_k_period: u32,
    /// STOCH slow %K SMA period (default 3, range 1..=100000).
    pub stoch_slow_k_period: u32,
    /// STOCH slow %D SMA period (default 3, range 1..=100000).
    pub stoch_slow_d_period: u32,
    /// Bollinger bands window in bars (default 20, range 2..=100000).
    pub bbands_period: u32,
    /// Standard deviations above the middle band for the upper band (default 2, finite).
    pub bbands_dev_up: f64,
    /// Standard deviations below the middle band for the lower band (default 2, finite).
    pub bbands_dev_down: f64,
    /// Williams %R window in bars (default 14, range 2..=100000).
    pub willr_period: u32,
}

/// The version of the indicator code: raise it with any change that changes a value, so that the
/// extractor sends every stored series' values again, computed anew.
pub const INDICATORS_VERSION: u32 = 1;

impl IndicatorParams {
    /// What the values of a series computed with these settings by this build depend on, as
    /// text: the code version and every period and multiplier.
    pub fn settings_text(&self) -> String {
        let params = serde_json::to_string(self).unwrap_or_default();
        format!("indicators/{INDICATORS_VERSION} {params}")
    }
}

impl Default for IndicatorParams {
    fn default() -> Self {
        Self {
            sma_period: 20,
            ema_period: 20,
            rsi_period: 14,
            macd_fast_period: 12,
            macd_slow_period: 26,
            macd_signal_period: 9,
            stoch_fast_k_period: 5,
            stoch_slow_k_period: 3,
            stoch_slow_d_period: 3,
            bbands_period: 20,
            bbands_dev_up: 2.0,
            bbands_dev_down: 2.0,
            willr_period: 14,
        }
    }
}

impl IndicatorParams {
    /// Records every problem, each naming its key under `prefix` (e.g. `indicators`): periods
    /// outside TA-Lib's ranges, a MACD fast period not below the slow one, non-finite deviations.
    pub fn validate(&self, prefix: &str, problems: &mut Problems) {
        let key = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
        let periods = [
            ("sma_period", self.sma_period, 2),
            ("ema_period", self.ema_period, 2),
            ("rsi_period", self.rsi_period, 2),
            ("macd_fast_period", self.macd_fast_period, 2),
            ("macd_slow_period", self.macd_slow_period, 2),
            ("macd_signal_period", self.macd_signal_period, 1),
            ("stoch_fast_k_period", self.stoch_fast_k_period, 1),
            ("stoch_slow_k_period", self.stoch_slow_k_period, 1),
            ("stoch_slow_d_period", self.stoch_slow_d_period, 1),
            ("bbands_period", self.bbands_period, 2),
            ("willr_period", self.willr_period, 2),
        ];
        for (name, value, min) in periods {
            problems.check(
                (min..=MAX_PERIOD).contains(&value),
                &key(name),
                format_args!("must be between {min} and {MAX_PERIOD}, got {value}"),
            );
        }
        problems.check(
            self.macd_fast_period < self.macd_slow_period,
            &key("macd_fast_period"),
            format_args!(
                "must be < macd_slow_period ({}), got {}",
                self.macd_slow_period, self.macd_fast_period
            ),
        );
        for (name, value) in
            [("bbands_dev_up", self.bbands_dev_up), ("bbands_dev_down", self.bbands_dev_down)]
        {
            problems.check(
                value.is_finite(),
                &key(name),
                format_args!("must be a finite number, got {value}"),
            );
        }
    }

    /// A period as the `i32` the records carry (periods are at most 100000 once validated).
    pub(crate) fn as_record_period(period: u32) -> i32 {
        i32::try_from(period).unwrap_or(i32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_fill_missing_keys() {
        let problems =
            Problems::collect(|problems| IndicatorParams::default().validate("indicators", problems));
        assert!(problems.is_empty(), "{problems}");
        let params: IndicatorParams = toml::from_str("rsi_period = 7").expect("parses");
        assert_eq!(params, IndicatorParams { rsi_period: 7, ..IndicatorParams::default() });
        assert!(toml::from_str::<IndicatorParams>("rsi = 7").is_err(), "unknown keys are refused");
    }

    #[test]
    fn reports_every_problem_with_its_key() {
        let params = IndicatorParams {
            sma_period: 1,
            macd_fast_period: 30,
            stoch_slow_d_period: 0,
            bbands_dev_down: f64::NAN,
            ..IndicatorParams::default()
        };
        let problems = Problems::collect(|problems| params.validate("indicators", problems));
        assert_eq!(
            problems.messages(),
            [
                "`indicators.sma_period` must be between 2 and 100000, got 1",
                "`indicators.stoch_slow_d_period` must be between 1 and 100000, got 0",
                "`indicators.macd_fast_period` must be < macd_slow_period (26), got 30",
                "`indicators.bbands_dev_down` must be a finite number, got NaN",
            ]
        );
    }
}
