//! TA-Lib, run by `tests/oracle/talib_reference.py`, as the independent oracle
//! for indicator values that went through the whole system.

use crate::repo_paths::{INSTALL_HINT, oracle_command};
use anyhow::{Context, bail};
use pricestream_records::IndicatorValue;
use std::path::Path;

/// TA-Lib's outputs for one bar, in the oracle's column order: sma, ema, rsi,
/// macd, macd_signal, macd_hist, slow_k, slow_d, bb_upper, bb_middle, bb_lower, willr.
pub type Outputs = [f64; 12];

/// Which oracle columns belong to which indicator (the `indicator` tag on the wire).
pub const INDICATOR_COLUMNS: [(&str, &[usize]); 7] = [
    ("sma", &[0]),
    ("ema", &[1]),
    ("rsi", &[2]),
    ("macd", &[3, 4, 5]),
    ("stoch", &[6, 7]),
    ("bbands", &[8, 9, 10]),
    ("willr", &[11]),
];

/// TA-Lib's lookback (bars without a value at the start of a series) of each indicator
/// table at the default periods: a series of `n` bars has `n - lookback` values.
pub const DEFAULT_LOOKBACKS: [(&str, usize); 7] =
    [("sma", 19), ("ema", 19), ("rsi", 14), ("macd", 33), ("stoch", 8), ("bbands", 19), ("willr", 13)];

/// TA-Lib's outputs for every bar of a Yahoo CSV, default periods (NaN inside a lookback).
pub fn reference(csv: &Path) -> anyhow::Result<Vec<Outputs>> {
    let output = oracle_command("talib_reference.py")
        .arg("--input")
        .arg(csv)
        .output()
        .with_context(|| format!("cannot run the TA-Lib oracle; install Python 3 and {INSTALL_HINT}"))?;
    if !output.status.success() {
        bail!("TA-Lib oracle failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let text = String::from_utf8(output.stdout)?;
    let mut rows = Vec::new();
    for line in text.lines().skip(1) {
        let fields: Vec<f64> = line.split(',').skip(1).map(str::parse).collect::<Result<_, _>>()?;
        let row: Outputs = fields.try_into().map_err(|f: Vec<f64>| anyhow::anyhow!("{} columns", f.len()))?;
        rows.push(row);
    }
    Ok(rows)
}

/// Bitwise equality that treats NaN (inside a lookback) as equal to NaN.
pub fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// The value fields of a record in the oracle's column order.
pub fn fields(value: &IndicatorValue) -> (&'static str, Vec<f64>) {
    match *value {
        IndicatorValue::Sma { sma, .. } => ("sma", vec![sma]),
        IndicatorValue::Ema { ema, .. } => ("ema", vec![ema]),
        IndicatorValue::Rsi { rsi, .. } => ("rsi", vec![rsi]),
        IndicatorValue::Macd { macd, macd_signal, macd_hist, .. } => {
            ("macd", vec![macd, macd_signal, macd_hist])
        }
        IndicatorValue::Stoch { slow_k, slow_d, .. } => ("stoch", vec![slow_k, slow_d]),
        IndicatorValue::Bbands { upper_band, middle_band, lower_band, .. } => {
            ("bbands", vec![upper_band, middle_band, lower_band])
        }
        IndicatorValue::Willr { willr, .. } => ("willr", vec![willr]),
    }
}
