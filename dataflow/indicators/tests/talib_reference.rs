//! The seven streaming indicators against TA-Lib, every output of every bar.
//!
//! The oracle is `tests/oracle/talib_reference.py` run with `python3` (override with
//! `PRICESTREAM_PYTHON`) and the `ta-lib` wheel (`pip install -r tests/oracle/requirements.txt`);
//! without them these tests FAIL, never skip. The market data is read from
//! `../shared/data/market/` beside the repository (override with `PRICESTREAM_MARKET_DATA_DIR`).
//!
//! Tolerance: `|ours - talib| <= 1e-9 * max(|ours|, |talib|, 1e-12)`, relative to the larger
//! magnitude, so the bound scales with the value (prices in the thousands, RSI in 0..100) and a zero
//! on one side only passes when the other is below 1e-21. The floor only keeps the test defined at
//! exact zeros (WILLR at the high, RSI/STOCH in flat stretches), where both sides are exactly 0.
//! In practice every value is identical to TA-Lib's (the tests print how many), because the
//! streaming code performs TA-Lib's operations in TA-Lib's order.

use chrono::NaiveDate;
use pricestream_indicators::{IndicatorParams, IndicatorSet, TickerSeries};
use pricestream_records::{Bar, IndicatorValue, Timeframe};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;

/// The oracle's output columns, in order.
const COLUMNS: [&str; 12] = [
    "sma",
    "ema",
    "rsi",
    "macd",
    "macd_signal",
    "macd_hist",
    "slow_k",
    "slow_d",
    "bb_upper",
    "bb_middle",
    "bb_lower",
    "willr",
];

/// Which indicator (in `IndicatorSet` order) each column belongs to.
const INDICATOR_OF_COLUMN: [usize; 12] = [0, 1, 2, 3, 3, 3, 4, 4, 5, 5, 5, 6];

/// Every output of one bar; `None` inside the lookback.
type Row = [Option<f64>; 12];

/// A price series: dates, highs, lows, closes.
#[derive(Clone)]
struct Prices {
    name: String,
    /// The Yahoo CSV it came from, if any (the oracle then reads that file itself).
    source: Option<PathBuf>,
    dates: Vec<NaiveDate>,
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
}

impl Prices {
    fn empty(name: &str, source: Option<PathBuf>) -> Self {
        Self { name: name.into(), source, dates: vec![], high: vec![], low: vec![], close: vec![] }
    }
}

#[path = "../../../tests/src/repo_paths.rs"]
mod repo_paths;
use repo_paths::{oracle_command, oracle_output, read_market_file};

/// Reads a Yahoo CSV (Date,Open,High,Low,Close,Adj Close,Volume).
fn yahoo(file: &str) -> Prices {
    let (path, text) = read_market_file(file);
    let mut prices = Prices::empty(file, Some(path.clone()));
    for (n, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let number = |i: usize| -> f64 {
            let value = fields.get(i).and_then(|f| f.parse().ok());
            value.unwrap_or_else(|| panic!("{file}:{}: bad field {i}", n + 1))
        };
        let date = fields.first().and_then(|d| d.parse().ok());
        prices.dates.push(date.unwrap_or_else(|| panic!("{file}:{}: bad date", n + 1)));
        prices.high.push(number(2));
        prices.low.push(number(3));
        prices.close.push(number(4));
    }
    assert!(prices.close.len() > 1000, "{file}: only {} bars", prices.close.len());
    prices
}

/// A seeded random walk with prices in the thousands (cent ticks) and some flat stretches.
fn generated() -> Prices {
    let mut rng = ChaCha8Rng::seed_from_u64(20_140_101);
    let start = NaiveDate::from_ymd_opt(1990, 1, 1).expect("valid date");
    let mut prices = Prices::empty("generated (prices in the thousands)", None);
    let mut close: f64 = 4_000.0;
    for i in 0..6_000_u64 {
        let flat = i % 500 >= 480;
        if !flat {
            close = ((close * (1.0 + rng.random_range(-0.025..0.025))).max(1_000.0) * 100.0).round() / 100.0;
        }
        let (high, low) = if flat {
            (close, close)
        } else {
            let up: f64 = rng.random_range(0.0..0.015);
            let down: f64 = rng.random_range(0.0..0.015);
            ((close * (1.0 + up) * 100.0).round() / 100.0, (close * (1.0 - down) * 100.0).round() / 100.0)
        };
        prices.dates.push(start + chrono::Days::new(i));
        prices.high.push(high);
        prices.low.push(low);
        prices.close.push(close);
    }
    prices
}

fn non_default_params() -> IndicatorParams {
    IndicatorParams {
        sma_period: 7,
        ema_period: 50,
        rsi_period: 5,
        macd_fast_period: 5,
        macd_slow_period: 35,
        macd_signal_period: 5,
        stoch_fast_k_period: 14,
        stoch_slow_k_period: 1,
        stoch_slow_d_period: 4,
        bbands_period: 10,
        bbands_dev_up: 1.5,
        bbands_dev_down: 2.5,
        willr_period: 30,
    }
}

/// Writes high,low,close to a temporary CSV for the oracle.
fn temp_csv(prices: &Prices) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    writeln!(file, "high,low,close").expect("write");
    for i in 0..prices.close.len() {
        writeln!(file, "{:?},{:?},{:?}", prices.high[i], prices.low[i], prices.close[i]).expect("write");
    }
    file.flush().expect("flush");
    file
}

/// Runs the Python oracle; panics with the install hint if it cannot.
fn talib(prices: &Prices, p: &IndicatorParams) -> Vec<Row> {
    let temp = prices.source.is_none().then(|| temp_csv(prices));
    let input = match (&prices.source, &temp) {
        (Some(path), _) => path.clone(),
        (None, Some(file)) => file.path().to_path_buf(),
        (None, None) => unreachable!("a temp file is written when there is no source"),
    };
    let mut oracle = oracle_command("talib_reference.py");
    oracle
        .arg("--input")
        .arg(&input)
        .args(["--sma", &p.sma_period.to_string(), "--ema", &p.ema_period.to_string()])
        .args(["--rsi", &p.rsi_period.to_string(), "--willr", &p.willr_period.to_string()])
        .args(["--macd", &format!("{},{},{}", p.macd_fast_period, p.macd_slow_period, p.macd_signal_period)])
        .args([
            "--stoch",
            &format!("{},{},{}", p.stoch_fast_k_period, p.stoch_slow_k_period, p.stoch_slow_d_period),
        ])
        .args(["--bbands", &format!("{},{:?},{:?}", p.bbands_period, p.bbands_dev_up, p.bbands_dev_down)]);
    let text = String::from_utf8(oracle_output("TA-Lib", &mut oracle)).expect("oracle output is UTF-8");
    let mut lines = text.lines();
    let header = lines.next().expect("oracle header");
    assert_eq!(header, format!("index,{}", COLUMNS.join(",")));
    let rows: Vec<Row> = lines
        .map(|line| {
            let mut row = [None; 12];
            for (slot, field) in row.iter_mut().zip(line.split(',').skip(1)) {
                if field != "NaN" {
                    *slot = Some(field.parse().unwrap_or_else(|e| panic!("oracle value {field:?}: {e}")));
                }
            }
            row
        })
        .collect();
    assert_eq!(rows.len(), prices.close.len(), "one oracle row per bar");
    rows
}

/// Puts one value into its oracle columns.
fn fill(row: &mut Row, value: &IndicatorValue) {
    match *value {
        IndicatorValue::Sma { sma, .. } => row[0] = Some(sma),
        IndicatorValue::Ema { ema, .. } => row[1] = Some(ema),
        IndicatorValue::Rsi { rsi, .. } => row[2] = Some(rsi),
        IndicatorValue::Macd { macd, macd_signal, macd_hist, .. } => {
            row[3..6].copy_from_slice(&[Some(macd), Some(macd_signal), Some(macd_hist)])
        }
        IndicatorValue::Stoch { slow_k, slow_d, .. } => {
            row[6..8].copy_from_slice(&[Some(slow_k), Some(slow_d)])
        }
        IndicatorValue::Bbands { upper_band, middle_band, lower_band, .. } => {
            row[8..11].copy_from_slice(&[Some(upper_band), Some(middle_band), Some(lower_band)])
        }
        IndicatorValue::Willr { willr, .. } => row[11] = Some(willr),
    }
}

/// Which indicator (by its first oracle column) a value belongs to.
fn indicator_index(value: &IndicatorValue) -> usize {
    let mut row = [None; 12];
    fill(&mut row, value);
    INDICATOR_OF_COLUMN[row.iter().position(Option::is_some).expect("fill sets a column")]
}

/// Our outputs for every bar, fed one at a time.
fn streaming(prices: &Prices, params: &IndicatorParams) -> Vec<Row> {
    let mut set = IndicatorSet::new(params);
    let mut values = Vec::with_capacity(7);
    (0..prices.close.len())
        .map(|i| {
            values.clear();
            set.update_into(prices.high[i], prices.low[i], prices.close[i], &mut values);
            let mut row = [None; 12];
            values.iter().for_each(|v| fill(&mut row, v));
            row
        })
        .collect()
}

fn within_tolerance(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
}

/// Asserts identical lookbacks and every value within tolerance; returns how many were compared.
fn compare(what: &str, ours: &[Row], theirs: &[Row]) -> usize {
    let (mut compared, mut identical, mut worst) = (0, 0, 0.0_f64);
    for (c, column) in COLUMNS.iter().enumerate() {
        let first = |rows: &[Row]| rows.iter().position(|r| r[c].is_some());
        let (our_first, their_first) = (first(ours), first(theirs));
        assert_eq!(our_first, their_first, "{what}: {column} first defined index (lookback)");
        let Some(start) = their_first else { continue };
        for (i, (o, t)) in ours.iter().zip(theirs).enumerate().skip(start) {
            let (Some(o), Some(t)) = (o[c], t[c]) else {
                panic!("{what}: {column}[{i}] defined on one side only: ours {:?}, TA-Lib {:?}", o[c], t[c]);
            };
            assert!(within_tolerance(o, t), "{what}: {column}[{i}]: ours {o:?} vs TA-Lib {t:?}");
            compared += 1;
            identical += usize::from(o == t);
            worst = worst.max((o - t).abs() / o.abs().max(t.abs()).max(1e-12));
        }
    }
    println!(
        "{what}: {compared} values compared over {} bars, {identical} identical to TA-Lib, \
         max relative difference {worst:e}",
        ours.len()
    );
    compared
}

fn check_series(prices: &Prices) {
    for (label, params) in
        [("default periods", IndicatorParams::default()), ("non-default", non_default_params())]
    {
        let what = format!("{} / {label}", prices.name);
        let compared = compare(&what, &streaming(prices, &params), &talib(prices, &params));
        assert!(compared > 11 * (prices.close.len() - 100), "{what}: too few values compared");
    }
}

#[test]
fn nvda_matches_talib() {
    check_series(&yahoo("nvda-1999-2014.csv"));
}

#[test]
fn orcl_matches_talib() {
    check_series(&yahoo("orcl-1995-2014.csv"));
}

#[test]
fn generated_prices_in_the_thousands_match_talib() {
    check_series(&generated());
}

fn bar(prices: &Prices, i: usize) -> Bar {
    Bar {
        ticker: "NVDA".into(),
        timeframe: Timeframe::Day,
        datetime: prices.dates[i],
        open: prices.close[i],
        high: prices.high[i],
        low: prices.low[i],
        close: prices.close[i],
        volume: 0,
        task_number: uuid::Uuid::nil(),
        adjustment_factor: 1.0,
        source: None,
    }
}

/// Rows from the series' own from-scratch values, one per bar.
fn rows_of(series: &TickerSeries, prices: &Prices) -> Vec<Row> {
    let index: BTreeMap<NaiveDate, usize> = prices.dates.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let mut rows = vec![[None; 12]; prices.dates.len()];
    for (date, value) in series.values() {
        fill(&mut rows[index[&date]], &value);
    }
    rows
}

#[test]
fn a_correction_returns_exactly_the_affected_values() {
    let original = yahoo("nvda-1999-2014.csv");
    let params = IndicatorParams::default();
    let mut series = TickerSeries::new(&params);
    for i in 0..original.dates.len() {
        series.apply(&bar(&original, i));
    }
    let middle = original.dates.len() / 2;
    let mut revised = original.clone();
    revised.name = "NVDA with one bar corrected".into();
    revised.source = None;
    revised.close[middle] *= 1.01;
    revised.high[middle] = revised.high[middle].max(revised.close[middle]);

    let changes = series.apply(&bar(&revised, middle));

    let (before, after) = (talib(&original, &params), talib(&revised, &params));
    let mut affected = BTreeSet::new();
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        for c in (0..12).filter(|&c| b[c] != a[c]) {
            affected.insert((original.dates[i], INDICATOR_OF_COLUMN[c]));
        }
    }
    let returned: BTreeSet<(NaiveDate, usize)> =
        changes.iter().map(|(d, v)| (*d, indicator_index(v))).collect();
    assert_eq!(returned.len(), changes.len(), "each (date, indicator) returned once");
    assert_eq!(returned, affected, "the returned values are exactly those whose TA-Lib output changed");
    assert!(changes.iter().all(|(d, _)| *d >= original.dates[middle]));
    println!("correction at {}: {} values returned", original.dates[middle], changes.len());

    // The returned values are TA-Lib's on the revised series, and so is the whole series.
    let index: BTreeMap<NaiveDate, usize> = original.dates.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    for (date, value) in &changes {
        let mut row = [None; 12];
        fill(&mut row, value);
        for (c, ours) in row.iter().enumerate().filter_map(|(c, v)| v.map(|v| (c, v))) {
            let theirs = after[index[date]][c].expect("TA-Lib defines it");
            assert!(within_tolerance(ours, theirs), "{date} {}: {ours} vs {theirs}", COLUMNS[c]);
        }
    }
    compare(&revised.name, &rows_of(&series, &revised), &after);
}

#[test]
fn out_of_order_bars_give_the_in_order_values() {
    let prices = yahoo("nvda-1999-2014.csv");
    let params = IndicatorParams::default();
    let n = prices.dates.len();
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let mut order: Vec<usize> = (0..n).collect();
    order[n - 400..].shuffle(&mut rng);
    for _ in 0..40 {
        // Late arrivals from anywhere in the history.
        let from = rng.random_range(0..n - 400);
        let to = (from + rng.random_range(1..300)).min(n - 1);
        let late = order.remove(from);
        order.insert(to, late);
    }

    let mut series = TickerSeries::new(&params);
    let mut seen: BTreeMap<(NaiveDate, usize), IndicatorValue> = BTreeMap::new();
    for &i in &order {
        for (date, value) in series.apply(&bar(&prices, i)) {
            seen.insert((date, indicator_index(&value)), value);
        }
    }
    let mut in_order = TickerSeries::new(&params);
    for i in 0..n {
        in_order.apply(&bar(&prices, i));
    }
    let truth: BTreeMap<(NaiveDate, usize), IndicatorValue> =
        in_order.values().into_iter().map(|(d, v)| ((d, indicator_index(&v)), v)).collect();
    assert_eq!(series.values(), in_order.values(), "same final values as in order");
    assert_eq!(seen, truth, "the returned changes add up to the in-order values");
    compare("NVDA inserted out of order", &rows_of(&series, &prices), &talib(&prices, &params));
}
