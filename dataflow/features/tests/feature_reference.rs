//! Reference tests of the incremental feature graph, in the style of differential-dataflow's
//! own tests: seeded random inputs (inserts, corrections, exact duplicates, deletions and
//! out-of-order dates) fed in random epochs; after every epoch the graph's output, consolidated
//! up to that time, must equal a naive from-scratch computation over the latest value per key.

use chrono::{Days, NaiveDate};
use pricestream_features::{FeatureInputs, FeatureRecord, SeriesKey, feature_graph};
use pricestream_records::examples::{flat_bar as bar, record as indicator};
use pricestream_records::{Bar, FeatureRow, IndicatorKind, IndicatorRecord, IndicatorValue, Timeframe};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use timely::Config;

/// One delivery to the graph's inputs.
#[derive(Clone, Debug)]
enum Op {
    Bar(Bar),
    DeleteBar(String, NaiveDate),
    Indicator(IndicatorRecord),
}

/// The deliveries of one epoch, and the time the inputs advance to afterwards.
#[derive(Clone, Debug)]
struct Epoch {
    ops: Vec<Op>,
    next_time: u64,
}

fn day(offset: u64) -> NaiveDate {
    let base = NaiveDate::from_ymd_opt(2018, 1, 1).expect("valid date");
    base.checked_add_days(Days::new(offset)).expect("date in range")
}

/// Runs the feature graph over `script` on `workers` workers (worker 0 feeds every record) and
/// returns, per epoch, the consolidated output up to that epoch's time as feature rows sorted by
/// (ticker, date). Panics if any record's accumulated multiplicity is neither 0 nor 1.
fn run(script: Vec<Epoch>, workers: usize, horizon: u32) -> Vec<Vec<FeatureRow>> {
    let script = Arc::new(script);
    let updates: Arc<Mutex<Vec<(FeatureRecord, u64, isize)>>> = Arc::default();
    let snapshots: Arc<Mutex<Vec<Vec<FeatureRow>>>> = Arc::default();
    let snapshots_out = snapshots.clone();
    timely::execute(Config::process(workers), move |worker| {
        let mut inputs = FeatureInputs::<u64>::new();
        let sink = updates.clone();
        let probe = worker.dataflow(|scope| {
            let entries = inputs.to_collection(scope);
            let (probe, _) = feature_graph(entries, horizon)
                .inspect(move |update| sink.lock().expect("sink lock").push(update.clone()))
                .probe();
            probe
        });
        for epoch in script.iter() {
            if worker.index() == 0 {
                for op in &epoch.ops {
                    match op {
                        Op::Bar(bar) => inputs.upsert_bar(bar),
                        Op::DeleteBar(ticker, date) => inputs.delete_bar(&(
                            SeriesKey { ticker: ticker.clone(), timeframe: Timeframe::Day },
                            *date,
                        )),
                        Op::Indicator(record) => inputs.upsert_indicator(record),
                    }
                }
            }
            inputs.advance_to(epoch.next_time);
            inputs.flush();
            worker.step_while(|| probe.less_than(inputs.time()));
            if worker.index() == 0 {
                // The probe has passed every time before `next_time` on every worker, so every
                // update at those times has gone through `inspect`.
                let mut accumulated: HashMap<FeatureRecord, isize> = HashMap::new();
                for (record, time, diff) in updates.lock().expect("sink lock").iter() {
                    if *time < epoch.next_time {
                        *accumulated.entry(record.clone()).or_default() += diff;
                    }
                }
                let mut rows = Vec::new();
                for (record, count) in accumulated {
                    assert!(count == 0 || count == 1, "multiplicity {count} for {record:?}");
                    if count == 1 {
                        rows.push(record.to_feature_row());
                    }
                }
                rows.sort_by(|a, b| (&a.ticker, a.date_time).cmp(&(&b.ticker, b.date_time)));
                snapshots.lock().expect("snapshot lock").push(rows);
            }
        }
    })
    .expect("timely computation runs");
    snapshots_out.lock().expect("snapshot lock").clone()
}

/// The latest value per key, as the naive side sees it.
#[derive(Default)]
struct Latest {
    bars: BTreeMap<(String, NaiveDate), f64>,
    indicators: BTreeMap<(String, NaiveDate, IndicatorKind), IndicatorValue>,
}

impl Latest {
    fn apply(&mut self, op: &Op) {
        match op {
            Op::Bar(bar) => {
                self.bars.insert((bar.ticker.to_string(), bar.datetime), bar.close);
            }
            Op::DeleteBar(ticker, date) => {
                self.bars.remove(&(ticker.clone(), *date));
            }
            Op::Indicator(record) => {
                let key = (record.ticker.to_string(), record.datetime, record.value.kind());
                self.indicators.insert(key, record.value.clone());
            }
        }
    }

    /// The seed's `combineDatasets` from scratch: per ticker, bars by date, numbered from 1,
    /// LEFT OUTER JOIN each indicator, label = close `horizon` rows later.
    fn features(&self, horizon: u32) -> Vec<FeatureRow> {
        let mut series: BTreeMap<&str, Vec<(NaiveDate, f64)>> = BTreeMap::new();
        for ((ticker, date), close) in &self.bars {
            series.entry(ticker).or_default().push((*date, *close));
        }
        let mut rows = Vec::new();
        for (ticker, bars) in series {
            for (i, (date, close)) in bars.iter().enumerate() {
                let mut row = FeatureRow {
                    ticker: ticker.into(),
                    timeframe: Timeframe::Day,
                    date_time: *date,
                    id: Some(i as i64 + 1),
                    close: *close,
                    label: bars.get(i + horizon as usize).map(|(_, close)| *close),
                    ..FeatureRow::default()
                };
                for &kind in IndicatorKind::ALL {
                    if let Some(value) = self.indicators.get(&(ticker.to_string(), *date, kind)) {
                        fill(&mut row, value);
                    }
                }
                rows.push(row);
            }
        }
        rows
    }
}

/// Sets the columns of one indicator, as the seed's join does.
fn fill(row: &mut FeatureRow, value: &IndicatorValue) {
    match *value {
        IndicatorValue::Ema { ema_time_period, ema } => {
            (row.ema_time_period, row.ema) = (Some(ema_time_period), Some(ema))
        }
        IndicatorValue::Sma { time_period, sma } => {
            (row.sma_time_period, row.sma) = (Some(time_period), Some(sma))
        }
        IndicatorValue::Rsi { time_period, rsi } => {
            (row.rsi_time_period, row.rsi) = (Some(time_period), Some(rsi))
        }
        IndicatorValue::Willr { time_period, willr } => {
            (row.willr_time_period, row.willr) = (Some(time_period), Some(willr))
        }
        IndicatorValue::Macd { fast_period, slow_period, signal_period, macd, macd_signal, macd_hist } => {
            (row.fast_period, row.slow_period, row.signal_period) =
                (Some(fast_period), Some(slow_period), Some(signal_period));
            (row.macd, row.macd_signal, row.macd_hist) = (Some(macd), Some(macd_signal), Some(macd_hist));
        }
        IndicatorValue::Stoch { fast_k_period, slow_k_period, slow_d_period, slow_k, slow_d } => {
            (row.fast_k_period, row.slow_k_period, row.slow_d_period) =
                (Some(fast_k_period), Some(slow_k_period), Some(slow_d_period));
            (row.slow_k, row.slow_d) = (Some(slow_k), Some(slow_d));
        }
        IndicatorValue::Bbands { time_period, sd, sd_down: _, lower_band, middle_band, upper_band } => {
            (row.bb_time_period, row.bb_sd) = (Some(time_period), Some(sd));
            (row.lower_band, row.middle_band, row.upper_band) =
                (Some(lower_band), Some(middle_band), Some(upper_band));
        }
    }
}

fn random_value(rng: &mut ChaCha8Rng) -> IndicatorValue {
    let mut x = || f64::from(rng.random_range(-10_000..10_000_i32)) / 100.0;
    let (a, b, c, d, e, f) = (x(), x(), x(), x(), x(), x());
    let period = rng.random_range(2..30);
    match rng.random_range(0..7) {
        0 => IndicatorValue::Ema { ema_time_period: period, ema: a },
        1 => IndicatorValue::Sma { time_period: period, sma: a },
        2 => IndicatorValue::Rsi { time_period: period, rsi: a },
        3 => IndicatorValue::Macd {
            fast_period: period,
            slow_period: period + 1,
            signal_period: 9,
            macd: a,
            macd_signal: b,
            macd_hist: c,
        },
        4 => IndicatorValue::Stoch {
            fast_k_period: period,
            slow_k_period: 3,
            slow_d_period: 3,
            slow_k: a,
            slow_d: b,
        },
        5 => IndicatorValue::Bbands {
            time_period: period,
            sd: d,
            sd_down: e,
            lower_band: a,
            middle_band: b,
            upper_band: f,
        },
        _ => IndicatorValue::Willr { time_period: period, willr: a },
    }
}

/// A random script: mostly appends near a moving frontier, plus out-of-order dates anywhere in
/// ~7 years (so every level of the row numbering is exercised), corrections of existing keys,
/// exact re-deliveries and deletions.
fn random_script(seed: u64, epochs: usize) -> Vec<Epoch> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let tickers = ["AAA", "BBB", "CCC"];
    let mut frontier = [0_u64; 3];
    let mut sent: Vec<Op> = Vec::new();
    let mut time = 0;
    let mut script = Vec::new();
    for _ in 0..epochs {
        let mut ops = Vec::new();
        for _ in 0..rng.random_range(0..12) {
            let t = rng.random_range(0..tickers.len());
            let roll = rng.random_range(0..100);
            let op = if roll < 10 && !sent.is_empty() {
                // Exact duplicate of an earlier delivery.
                sent[rng.random_range(0..sent.len())].clone()
            } else if roll < 25 && !sent.is_empty() {
                // Correction: a new value for an earlier key.
                match sent[rng.random_range(0..sent.len())].clone() {
                    Op::Bar(mut bar) => {
                        bar.close = f64::from(rng.random_range(1..100_000_i32)) / 100.0;
                        Op::Bar(bar)
                    }
                    Op::Indicator(mut record) => {
                        let value = random_value(&mut rng);
                        if value.kind() == record.value.kind() {
                            record.value = value;
                        }
                        Op::Indicator(record)
                    }
                    delete @ Op::DeleteBar(..) => delete,
                }
            } else if roll < 30 && !sent.is_empty() {
                let (ticker, date) = match &sent[rng.random_range(0..sent.len())] {
                    Op::Bar(bar) => (bar.ticker.to_string(), bar.datetime),
                    Op::Indicator(record) => (record.ticker.to_string(), record.datetime),
                    Op::DeleteBar(ticker, date) => (ticker.clone(), *date),
                };
                Op::DeleteBar(ticker, date)
            } else {
                let date = if roll < 70 {
                    frontier[t] += rng.random_range(1..4);
                    day(frontier[t])
                } else {
                    day(rng.random_range(0..2_600))
                };
                if rng.random_bool(0.5) {
                    Op::Bar(bar(tickers[t], date, f64::from(rng.random_range(1..100_000_i32)) / 100.0))
                } else {
                    Op::Indicator(indicator(tickers[t], date, random_value(&mut rng)))
                }
            };
            sent.push(op.clone());
            ops.push(op);
        }
        time += rng.random_range(1..4);
        script.push(Epoch { ops, next_time: time });
    }
    script
}

fn check_against_reference(seed: u64, workers: usize, horizon: u32) {
    check_script_against_reference(seed, 60, workers, horizon);
}

fn check_script_against_reference(seed: u64, epochs: usize, workers: usize, horizon: u32) {
    let script = random_script(seed, epochs);
    let snapshots = run(script.clone(), workers, horizon);
    assert_eq!(snapshots.len(), script.len());
    let mut latest = Latest::default();
    for (index, (epoch, snapshot)) in script.iter().zip(&snapshots).enumerate() {
        for op in &epoch.ops {
            latest.apply(op);
        }
        assert_eq!(snapshot, &latest.features(horizon), "seed {seed}, epoch {index}");
    }
    assert!(snapshots.last().is_some_and(|rows| rows.len() > 50), "the script builds some history");
    let labelled = snapshots.last().map_or(0, |rows| rows.iter().filter(|row| row.label.is_some()).count());
    assert!(labelled > 10, "horizon {horizon}: only {labelled} labelled rows, the labels are not exercised");
}

#[test]
fn matches_reference_one_worker() {
    for seed in 0..4 {
        check_against_reference(seed, 1, 2);
    }
}

#[test]
fn matches_reference_two_workers() {
    for seed in 10..12 {
        check_against_reference(seed, 2, 2);
    }
}

#[test]
fn matches_reference_other_horizons() {
    check_against_reference(20, 1, 1);
    check_against_reference(21, 1, 5);
}

/// Rows are grouped in 32-day blocks of ~22 bars; a horizon longer than a block sends labels
/// across one or more whole blocks.
#[test]
fn matches_reference_horizons_longer_than_a_block() {
    // Longer scripts, so that series outgrow the horizon.
    check_script_against_reference(22, 250, 1, 40);
    check_script_against_reference(23, 250, 2, 70);
}

#[test]
fn hand_made_insert_in_the_middle_shifts_ids_and_labels() {
    let (d1, d2, d3, d5) = (day(1), day(2), day(3), day(5));
    let ema = |x| IndicatorValue::Ema { ema_time_period: 10, ema: x };
    let rsi = |x| IndicatorValue::Rsi { time_period: 14, rsi: x };
    let script = vec![
        Epoch {
            ops: vec![
                Op::Bar(bar("NVDA", d5, 15.0)),
                Op::Bar(bar("NVDA", d1, 11.0)),
                Op::Bar(bar("NVDA", d3, 13.0)),
                Op::Indicator(indicator("NVDA", d1, ema(1.0))),
                Op::Indicator(indicator("NVDA", d3, ema(3.0))),
                Op::Indicator(indicator("NVDA", d5, ema(5.0))),
                Op::Indicator(indicator("NVDA", d1, rsi(41.0))),
                Op::Indicator(indicator("NVDA", d5, rsi(45.0))),
            ],
            next_time: 1,
        },
        Epoch {
            ops: vec![
                // A bar in the middle, a correction of the last close, a duplicate.
                Op::Bar(bar("NVDA", d2, 12.0)),
                Op::Bar(bar("NVDA", d5, 15.5)),
                Op::Bar(bar("NVDA", d1, 11.0)),
            ],
            next_time: 2,
        },
    ];
    let row = |date, id, close, label, ema: f64, rsi: Option<f64>| FeatureRow {
        ticker: "NVDA".into(),
        date_time: date,
        id: Some(id),
        close,
        label,
        ema_time_period: (ema > 0.0).then_some(10),
        ema: (ema > 0.0).then_some(ema),
        rsi_time_period: rsi.map(|_| 14),
        rsi,
        ..FeatureRow::default()
    };
    let expected = vec![
        vec![
            row(d1, 1, 11.0, Some(15.0), 1.0, Some(41.0)),
            row(d3, 2, 13.0, None, 3.0, None),
            row(d5, 3, 15.0, None, 5.0, Some(45.0)),
        ],
        vec![
            row(d1, 1, 11.0, Some(13.0), 1.0, Some(41.0)),
            row(d2, 2, 12.0, Some(15.5), 0.0, None),
            row(d3, 3, 13.0, None, 3.0, None),
            row(d5, 4, 15.5, None, 5.0, Some(45.0)),
        ],
    ];
    assert_eq!(run(script.clone(), 1, 2), expected);
    assert_eq!(run(script, 2, 2), expected);
}
