//! ns per bar to update all seven indicators for one new bar.
//!
//! `cargo bench -p pricestream-indicators --bench indicators`; compare with
//! `python3 tests/oracle/talib_bench.py` (TA-Lib's batch calls over the same number of bars).

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pricestream_indicators::{IndicatorParams, IndicatorSet, TickerSeries};
use pricestream_records::{Bar, Timeframe};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

/// Bars per benchmark pass (the same number `talib_bench.py` uses).
const BARS: usize = 100_000;

/// A seeded random walk with prices in the thousands: (high, low, close).
fn series(len: usize) -> Vec<(f64, f64, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut close: f64 = 2500.0;
    (0..len)
        .map(|_| {
            close = (close * (1.0 + rng.random_range(-0.02..0.02))).max(1.0);
            let high = close * (1.0 + rng.random_range(0.0..0.01));
            let low = close * (1.0 - rng.random_range(0.0..0.01));
            (high, low, close)
        })
        .collect()
}

fn bar(i: usize, (high, low, close): (f64, f64, f64)) -> Bar {
    let start = NaiveDate::from_ymd_opt(1800, 1, 1).unwrap_or_default();
    Bar {
        ticker: "BENCH".into(),
        timeframe: Timeframe::Day,
        datetime: start + chrono::Days::new(i as u64),
        open: close,
        high,
        low,
        close,
        volume: 0,
        task_number: uuid::Uuid::nil(),
        adjustment_factor: 1.0,
        source: None,
    }
}

fn indicator_set(c: &mut Criterion) {
    let bars = series(BARS);
    let params = IndicatorParams::default();
    let mut group = c.benchmark_group("indicators");
    group.throughput(Throughput::Elements(BARS as u64));
    group.bench_function("IndicatorSet::update_into, all seven, per bar", |b| {
        let mut out = Vec::with_capacity(7);
        b.iter(|| {
            let mut set = IndicatorSet::new(&params);
            for &(high, low, close) in &bars {
                out.clear();
                set.update_into(high, low, close, &mut out);
                black_box(&out);
            }
        })
    });
    group.bench_function("IndicatorSet::update (allocating), all seven, per bar", |b| {
        b.iter(|| {
            let mut set = IndicatorSet::new(&params);
            for &(high, low, close) in &bars {
                black_box(set.update(high, low, close));
            }
        })
    });
    group.finish();

    let appends: Vec<Bar> = bars.iter().take(10_000).enumerate().map(|(i, &p)| bar(i, p)).collect();
    let mut group = c.benchmark_group("ticker_series");
    group.throughput(Throughput::Elements(appends.len() as u64));
    group.bench_function("TickerSeries::apply, append, per bar", |b| {
        b.iter(|| {
            let mut series = TickerSeries::new(&params);
            for bar in &appends {
                black_box(series.apply(bar));
            }
        })
    });
    group.finish();

    let mut series = TickerSeries::new(&params);
    for bar in &appends {
        series.apply(bar);
    }
    let mut group = c.benchmark_group("ticker_series");
    for back in [5_usize, 100, 5_000] {
        let mut corrected = appends[appends.len() - back].clone();
        let original = corrected.clone();
        corrected.close *= 1.01;
        group.bench_function(format!("TickerSeries::apply, correction {back} bars from the end"), |b| {
            b.iter(|| {
                black_box(series.apply(&corrected));
                black_box(series.apply(&original));
            })
        });
    }
    group.finish();
}

criterion_group!(benches, indicator_set);
criterion_main!(benches);
