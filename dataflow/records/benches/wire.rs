//! ns per bar to encode the eight Kafka messages of one bar (the bar and its seven
//! indicator values), as the extractor does for every bar it sends.
//!
//! `cargo bench -p pricestream-records --bench wire`

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pricestream_indicators::{IndicatorParams, TickerSeries};
use pricestream_records::wire::{BarMessages, IndicatorMessages, WireRecord};
use pricestream_records::{Bar, IndicatorRecord, Timeframe};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

const BARS: usize = 20_000;

/// A seeded random walk with prices in the hundreds, rounded to cents as in a Yahoo file.
fn bars() -> Vec<Bar> {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let start = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap_or_default();
    let cents = |x: f64| (x * 100.0).round() / 100.0;
    let mut close: f64 = 250.0;
    (0..BARS)
        .map(|i| {
            close = (close * (1.0 + rng.random_range(-0.02..0.02))).max(1.0);
            Bar {
                ticker: "BENCH".into(),
                timeframe: Timeframe::Day,
                datetime: start + chrono::Days::new(i as u64),
                open: cents(close),
                high: cents(close * (1.0 + rng.random_range(0.0..0.01))),
                low: cents(close * (1.0 - rng.random_range(0.0..0.01))),
                close: cents(close),
                volume: rng.random_range(0..100_000_000),
                task_number: uuid::Uuid::from_u128(0x5eed),
            }
        })
        .collect()
}

fn encode(c: &mut Criterion) {
    let bars = bars();
    let mut series = TickerSeries::new(&IndicatorParams::default());
    let values: Vec<IndicatorRecord> = bars
        .iter()
        .flat_map(|bar| {
            series.apply(bar).into_iter().map(|(datetime, value)| IndicatorRecord {
                ticker: bar.ticker.clone(),
                timeframe: bar.timeframe,
                datetime,
                task_number: bar.task_number,
                value,
            })
        })
        .collect();
    let mut group = c.benchmark_group("wire");
    group.throughput(Throughput::Elements(BARS as u64));
    group.bench_function("encode_into, a bar and its indicator values, per bar", |b| {
        let mut out = Vec::with_capacity(512);
        b.iter(|| {
            encode_each(&bars, &mut out);
            encode_each(&values, &mut out);
        })
    });
    group.bench_function(
        "a run of one ticker's bars and values sharing their text, as the extractor sends them",
        |b| {
            let mut out = Vec::with_capacity(512);
            b.iter(|| {
                // One writer per run of a ticker's bars, and one for the run of their values.
                let mut bar_messages = BarMessages::new(&bars[0].ticker, bars[0].timeframe);
                for bar in &bars {
                    out.clear();
                    bar_messages.encode(bar, &mut out);
                    black_box(&out);
                }
                let mut messages = IndicatorMessages::new(&values[0].ticker, values[0].timeframe);
                for value in &values {
                    out.clear();
                    messages.encode(value.datetime, &value.task_number, &value.value, &mut out);
                    black_box(&out);
                }
            })
        },
    );
    group.finish();
}

/// Each record's message on its own, as any record is sent.
fn encode_each<T: WireRecord>(records: &[T], out: &mut Vec<u8>) {
    for record in records {
        out.clear();
        record.encode_into(out);
        black_box(&out);
    }
}

criterion_group!(benches, encode);
criterion_main!(benches);
