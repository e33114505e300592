//! Restating one ticker after a split, without I/O: the extractor's recomputation (factors,
//! adjusted prices, indicators from the first changed bar, the bars and values that changed)
//! and the feature graph's update of every row they change.
//!
//! `cargo bench -p pricestream-ingest --bench restate`
//!
//! * `extractor/5040`: a 2-for-1 split near the end of 20 years of daily bars (5,040), then
//!   its withdrawal, alternately: each iteration restates about 5,000 bars and 35,000 values.
//! * `extractor_and_graph/5040`: the same, and the restated bars and values fed to a feature
//!   graph holding the ticker, stepped until its output is complete.

use chrono::{Days, NaiveDate};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use pricestream_features::{FeatureInputs, feature_graph};
use pricestream_indicators::{IndicatorParams, TickerSeries};
use pricestream_ingest::adjusted::{Adjusted, Restated};
use pricestream_records::{
    ActionKind, Adjustment, AdjustmentMode, Bar, CorporateAction, PriceBasis, examples,
};
use std::time::{Duration, Instant};
use timely::WorkerConfig;
use timely::communication::Allocator;
use timely::communication::allocator::thread::Thread;
use timely::dataflow::ProbeHandle;
use timely::worker::Worker;

const BARS: usize = 5_040;
const RAW: Adjustment = Adjustment { mode: AdjustmentMode::Splits, basis: PriceBasis::Raw };

fn day(i: usize) -> NaiveDate {
    let start = NaiveDate::from_ymd_opt(2005, 1, 3).unwrap_or_default();
    start.checked_add_days(Days::new(i as u64)).unwrap_or_default()
}

/// A deterministic walk: 5,040 bars with some spread between high and low.
fn bars() -> Vec<Bar> {
    let mut close = 50.0_f64;
    (0..BARS)
        .map(|i| {
            close *= 1.0 + 0.02 * ((i as f64 * 0.37).sin());
            let close = (close * 100.0).round() / 100.0;
            Bar { high: close * 1.01, low: close * 0.99, ..examples::flat_bar("BENCH", day(i), close) }
        })
        .collect()
}

/// The ticker's extractor state, as sent before.
fn ticker() -> (Adjusted, TickerSeries) {
    let adjusted = Adjusted::new(Vec::new(), bars(), RAW);
    let mut series = TickerSeries::new(&IndicatorParams::default());
    let (dates, prices) = adjusted.prices();
    series.restate(dates, prices, &mut Vec::new());
    (adjusted, series)
}

/// Adds the split (`on`) or withdraws it, and restates.
fn toggle(adjusted: &mut Adjusted, series: &mut TickerSeries, on: bool) -> Restated {
    let split = CorporateAction {
        ticker: "BENCH".into(),
        ex_date: day(BARS - 40),
        kind: ActionKind::Split { ratio: 2.0 },
        withdrawn: !on,
    };
    adjusted.add_action(split, RAW);
    adjusted.restate(RAW, series)
}

/// A feature graph holding the ticker's rows.
struct Graph {
    worker: Worker,
    inputs: FeatureInputs<u64>,
    probe: ProbeHandle<u64>,
    /// The input time: one tick per restatement.
    tick: u64,
}

impl Graph {
    fn new(series: &TickerSeries) -> Self {
        let mut worker =
            Worker::new(WorkerConfig::default(), Allocator::Thread(Thread::default()), Some(Instant::now()));
        let mut inputs = FeatureInputs::<u64>::new();
        let probe = worker.dataflow(|scope| feature_graph(inputs.to_collection(scope), 2).probe().0);
        let mut graph = Graph { worker, inputs, probe, tick: 0 };
        for bar in bars() {
            graph.inputs.upsert_bar(&bar);
        }
        graph.feed(Restated { bars: Vec::new(), values: series.values() });
        graph
    }

    /// Feeds what a restatement sent and steps until the output is complete.
    fn feed(&mut self, restated: Restated) {
        for bar in &restated.bars {
            self.inputs.upsert_bar(bar);
        }
        for (date, value) in restated.values {
            self.inputs.upsert_indicator(&examples::record("BENCH", date, value));
        }
        self.tick += 1;
        self.inputs.advance_to(self.tick);
        self.inputs.flush();
        while self.probe.less_than(&self.tick) {
            self.worker.step();
        }
    }
}

fn restate(c: &mut Criterion) {
    let mut group = c.benchmark_group("restate");
    group.sample_size(20).measurement_time(Duration::from_secs(5));
    let (mut adjusted, mut series) = ticker();
    let mut on = true;
    group.bench_function(BenchmarkId::new("extractor", BARS), |b| {
        b.iter(|| {
            let restated = toggle(&mut adjusted, &mut series, on);
            on = !on;
            restated.bars.len()
        })
    });
    let (mut adjusted, mut series) = ticker();
    let mut graph = Graph::new(&series);
    let mut on = true;
    group.bench_function(BenchmarkId::new("extractor_and_graph", BARS), |b| {
        b.iter(|| {
            let restated = toggle(&mut adjusted, &mut series, on);
            on = !on;
            graph.feed(restated);
        })
    });
    group.finish();
}

criterion_group!(benches, restate);
criterion_main!(benches);
