//! Cost of one update to the incremental feature graph, as a function of the history length.
//!
//! `cargo bench -p pricestream-features --bench features`
//!
//! * `append/N`: one new bar (and its EMA) at the end of a series of N bars, stepped until the
//!   output is complete. Should stay flat as N grows (the row numbering is a radix prefix count).
//! * `insert_first/N`: one new bar *before* the first bar: every id and label of the series shifts,
//!   so this is O(N) by nature.

use chrono::{Days, NaiveDate};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use pricestream_features::{FeatureInputs, feature_graph};
use pricestream_records::{Bar, IndicatorRecord, IndicatorValue, examples};
use std::time::{Duration, Instant};
use timely::WorkerConfig;
use timely::communication::Allocator;
use timely::communication::allocator::thread::Thread;
use timely::dataflow::ProbeHandle;
use timely::worker::Worker;

fn date(offset: i64) -> NaiveDate {
    let middle = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default();
    if offset >= 0 {
        middle.checked_add_days(Days::new(offset.unsigned_abs())).unwrap_or_default()
    } else {
        middle.checked_sub_days(Days::new(offset.unsigned_abs())).unwrap_or_default()
    }
}

fn bar(offset: i64) -> Bar {
    examples::flat_bar("BENCH", date(offset), 100.0 + (offset % 97) as f64)
}

fn ema(offset: i64) -> IndicatorRecord {
    examples::record("BENCH", date(offset), IndicatorValue::Ema { ema_time_period: 10, ema: offset as f64 })
}

/// A single-threaded worker holding the graph, loaded with `history` bars.
struct Harness {
    worker: Worker,
    inputs: FeatureInputs<u64>,
    probe: ProbeHandle<u64>,
}

impl Harness {
    fn new(history: i64) -> Self {
        let mut worker =
            Worker::new(WorkerConfig::default(), Allocator::Thread(Thread::default()), Some(Instant::now()));
        let mut inputs = FeatureInputs::<u64>::new();
        let probe = worker.dataflow(|scope| {
            let entries = inputs.to_collection(scope);
            feature_graph(entries, 2).probe().0
        });
        let mut harness = Harness { worker, inputs, probe };
        for offset in 0..history {
            harness.inputs.upsert_bar(&bar(offset));
            harness.inputs.upsert_indicator(&ema(offset));
        }
        harness.settle();
        harness
    }

    /// Advances the inputs by one tick and steps until the output is complete.
    fn settle(&mut self) {
        let next = *self.inputs.time() + 1;
        self.inputs.advance_to(next);
        self.inputs.flush();
        let (probe, inputs) = (&self.probe, &self.inputs);
        self.worker.step_while(|| probe.less_than(inputs.time()));
    }
}

fn features(c: &mut Criterion) {
    let mut group = c.benchmark_group("feature_graph");
    group.sample_size(20).measurement_time(Duration::from_secs(3));
    for history in [1_000_i64, 10_000, 100_000] {
        let mut harness = Harness::new(history);
        let mut next = history;
        group.bench_function(BenchmarkId::new("append", history), |b| {
            b.iter(|| {
                harness.inputs.upsert_bar(&bar(next));
                harness.inputs.upsert_indicator(&ema(next));
                next += 1;
                harness.settle();
            })
        });
    }
    for history in [1_000_i64, 10_000] {
        let mut harness = Harness::new(history);
        let mut first = 0;
        group.bench_function(BenchmarkId::new("insert_first", history), |b| {
            b.iter(|| {
                first -= 1;
                harness.inputs.upsert_bar(&bar(first));
                harness.settle();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, features);
criterion_main!(benches);
