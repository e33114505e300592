//! Deterministic synthetic daily bars, so demos and benchmarks need no downloaded data.

use crate::cli::GenerateArgs;
use anyhow::Context;
use chrono::{Datelike, Days, NaiveDate, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// One synthetic bar, before it is written as CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticBar {
    /// Trading day.
    pub date: NaiveDate,
    /// Open, high, low, close.
    pub ohlc: [f64; 4],
    /// Shares traded.
    pub volume: u64,
}

/// Writes `<ticker>.csv` for each synthetic ticker and prints what it wrote.
pub fn run(args: &GenerateArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    for index in 0..args.tickers {
        let ticker = format!("GEN{index:03}");
        let path = args.out.join(format!("{}.csv", ticker.to_ascii_lowercase()));
        let bars = synthetic_series(args.seed, index, args.start, args.days);
        write_yahoo_csv(&path, &bars)?;
    }
    println!(
        "Wrote {} file(s) of {} trading days each under {} (seed {}).",
        args.tickers,
        args.days,
        args.out.display(),
        args.seed
    );
    Ok(())
}

/// The series of ticker number `index` for `seed`: a random walk of log
/// returns with intraday ranges, on a Monday-to-Friday calendar.
pub fn synthetic_series(seed: u64, index: u32, start: NaiveDate, days: u32) -> Vec<SyntheticBar> {
    // One stream per ticker, so adding tickers never changes the existing ones.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (u64::from(index) << 32));
    let mut close = rng.random_range(20.0..500.0_f64);
    let drift = rng.random_range(-0.0002..0.0006);
    let volatility = rng.random_range(0.01..0.03);
    trading_days(start)
        .take(days as usize)
        .map(|date| {
            let open = close * (volatility * 0.3 * normal(&mut rng)).exp();
            close = open * (drift + volatility * normal(&mut rng)).exp();
            let high = open.max(close) * (1.0 + volatility * 0.5 * normal(&mut rng).abs());
            let low = open.min(close) * (1.0 - (volatility * 0.5 * normal(&mut rng).abs()).min(0.5));
            let volume = (1.0e6 * (0.5 * normal(&mut rng)).exp()).round() as u64;
            SyntheticBar { date, ohlc: [open, high, low, close].map(round6), volume }
        })
        .collect()
}

/// Weekdays from `start` on.
fn trading_days(start: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    std::iter::successors(Some(start), |d| d.checked_add_days(Days::new(1)))
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
}

/// A standard normal sample (Box–Muller), so no extra distribution crate is needed.
fn normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Yahoo files carry six decimals; rounding keeps high/low ordering because
/// rounding is monotonic.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn write_yahoo_csv(path: &PathBuf, bars: &[SyntheticBar]) -> anyhow::Result<()> {
    let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = BufWriter::new(file);
    writeln!(out, "Date,Open,High,Low,Close,Adj Close,Volume")?;
    for bar in bars {
        let [open, high, low, close] = bar.ohlc;
        writeln!(out, "{},{open:.6},{high:.6},{low:.6},{close:.6},{close:.6},{}", bar.date, bar.volume)?;
    }
    out.flush().with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> NaiveDate {
        NaiveDate::from_ymd_opt(2015, 1, 2).unwrap_or_default()
    }

    #[test]
    fn same_seed_same_series_other_seed_other_series() {
        assert_eq!(synthetic_series(7, 0, start(), 50), synthetic_series(7, 0, start(), 50));
        assert_ne!(synthetic_series(7, 0, start(), 50), synthetic_series(8, 0, start(), 50));
        assert_ne!(synthetic_series(7, 0, start(), 50), synthetic_series(7, 1, start(), 50));
    }

    #[test]
    fn bars_are_plausible_and_on_weekdays() {
        for index in 0..20 {
            let bars = synthetic_series(1, index, start(), 1_000);
            assert_eq!(bars.len(), 1_000);
            for pair in bars.windows(2) {
                assert!(pair[0].date < pair[1].date);
            }
            for bar in &bars {
                let [open, high, low, close] = bar.ohlc;
                assert!(low > 0.0, "{bar:?}");
                assert!(high >= open.max(close) && low <= open.min(close), "{bar:?}");
                assert!(!matches!(bar.date.weekday(), Weekday::Sat | Weekday::Sun));
            }
        }
    }
}
