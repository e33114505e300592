//! Prints the cost of encoding a bar and an indicator value (ns per message),
//! to see what the extractor's dry run spends its time on:
//! `cargo run --release -p pricestream-records --example encode_cost`.

use chrono::NaiveDate;
use pricestream_records::wire;
use pricestream_records::{Bar, IndicatorRecord, IndicatorValue, Timeframe};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let day = NaiveDate::from_ymd_opt(2014, 12, 31).unwrap_or_default();
    let bar = Bar {
        ticker: "NVDA".into(),
        timeframe: Timeframe::Day,
        datetime: day,
        open: 20.1,
        high: 20.53,
        low: 19.87,
        close: 20.05,
        volume: 4_123_456,
        task_number: uuid::Uuid::new_v4(),
    };
    let macd = IndicatorRecord {
        ticker: "NVDA".into(),
        timeframe: Timeframe::Day,
        datetime: day,
        task_number: bar.task_number,
        value: IndicatorValue::Macd {
            fast_period: 12,
            slow_period: 26,
            signal_period: 9,
            macd: 0.213_456_789,
            macd_signal: 0.181_234_567,
            macd_hist: 0.032_222_222,
        },
    };
    let n = 1_000_000;
    let started = Instant::now();
    for _ in 0..n {
        black_box(wire::encode(black_box(&bar)));
    }
    println!("bar:       {:.0} ns/message", started.elapsed().as_nanos() as f64 / n as f64);
    let started = Instant::now();
    for _ in 0..n {
        black_box(wire::encode(black_box(&macd)));
    }
    println!("indicator: {:.0} ns/message", started.elapsed().as_nanos() as f64 / n as f64);
}
