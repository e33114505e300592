//! Deterministic synthetic input: a random-walk price series per ticker on a weekday calendar,
//! and the seven indicators computed from it by the project's own `IndicatorSet`.

use chrono::{Datelike, NaiveDate, Weekday};
use pricestream_indicators::{IndicatorParams, IndicatorSet};
use pricestream_records::{Bar, IndicatorRecord, Timeframe};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// Trading days per year of the synthetic calendar.
pub const DAYS_PER_YEAR: usize = 252;

/// One delivery, as the analytics worker polls them from Kafka.
pub enum Record {
    /// A bar.
    Bar(Bar),
    /// One indicator value.
    Indicator(IndicatorRecord),
}

/// One ticker's bars and, per bar, the indicator values defined at it.
pub struct Series {
    /// Bars in date order.
    pub bars: Vec<Bar>,
    /// `indicators[i]` belong to `bars[i]`.
    pub indicators: Vec<Vec<IndicatorRecord>>,
}

/// The name of ticker `index`.
pub fn ticker(index: usize) -> String {
    format!("T{index:04}")
}

/// The first `days` weekdays from 2000-01-03 (a Monday); holidays are not skipped.
pub fn weekdays(days: usize) -> Vec<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(2000, 1, 3).unwrap_or_default();
    first.iter_days().filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)).take(days).collect()
}

/// Ticker `index`'s series over `dates`; the same index always gives the same series.
pub fn series(index: usize, dates: &[NaiveDate]) -> Series {
    let mut rng = ChaCha8Rng::seed_from_u64(index as u64);
    let mut indicators = IndicatorSet::new(&IndicatorParams::default());
    let name = ticker(index);
    let mut close: f64 = rng.random_range(10.0..500.0);
    let mut out =
        Series { bars: Vec::with_capacity(dates.len()), indicators: Vec::with_capacity(dates.len()) };
    let mut values = Vec::with_capacity(7);
    for date in dates {
        let open = close;
        close *= 1.0 + rng.random_range(-0.03..0.03);
        let high = open.max(close) * (1.0 + rng.random_range(0.0..0.01));
        let low = open.min(close) * (1.0 - rng.random_range(0.0..0.01));
        values.clear();
        indicators.update_into(high, low, close, &mut values);
        let record = |value| IndicatorRecord {
            ticker: name.as_str().into(),
            timeframe: Timeframe::Day,
            datetime: *date,
            task_number: uuid::Uuid::nil(),
            value,
        };
        out.indicators.push(values.drain(..).map(record).collect());
        out.bars.push(Bar {
            ticker: name.as_str().into(),
            timeframe: Timeframe::Day,
            datetime: *date,
            open,
            high,
            low,
            close,
            volume: rng.random_range(1_000..10_000_000),
            task_number: uuid::Uuid::nil(),
            adjustment_factor: 1.0,
            source: None,
        });
    }
    out
}

/// One worker's input, generated a ticker at a time as the backfill asks for epochs, the way a
/// Kafka consumer holds one poll's freshly decoded records rather than the whole topic.
pub struct WorkerSource {
    /// The worker's tickers (`index % peers == worker`) not generated yet.
    tickers: std::iter::StepBy<std::ops::Range<usize>>,
    dates: Vec<NaiveDate>,
    backfill_days: usize,
    /// Generated backfill records not handed out yet: ticker by ticker, each bar followed by its
    /// indicator values.
    pending: VecDeque<Record>,
    /// One epoch per steady-state day: every ticker's bar and indicator values of that day.
    days: Vec<Vec<Record>>,
    /// Bars and records (bars and indicator values) handed out so far.
    pub bars: usize,
    pub records: usize,
}

impl WorkerSource {
    /// The input of `worker` of `peers`: `tickers` tickers over `dates`, the first
    /// `backfill_days` of them backfilled, the rest one day per epoch.
    pub fn new(
        tickers: usize,
        dates: &[NaiveDate],
        backfill_days: usize,
        (worker, peers): (usize, usize),
    ) -> Self {
        WorkerSource {
            tickers: (worker..tickers).step_by(peers.max(1)),
            dates: dates.to_vec(),
            backfill_days,
            pending: VecDeque::new(),
            days: (backfill_days..dates.len()).map(|_| Vec::new()).collect(),
            bars: 0,
            records: 0,
        }
    }

    /// The next `size` backfill records; `None` once every ticker has been handed out.
    pub fn next_epoch(&mut self, size: usize) -> Option<Vec<Record>> {
        while self.pending.len() < size {
            let Some(index) = self.tickers.next() else { break };
            self.generate(index);
        }
        let epoch: Vec<Record> = self.pending.drain(..size.min(self.pending.len())).collect();
        self.bars += epoch.iter().filter(|record| matches!(record, Record::Bar(_))).count();
        self.records += epoch.len();
        (!epoch.is_empty()).then_some(epoch)
    }

    /// The steady-state days; complete once [`Self::next_epoch`] has returned `None`.
    pub fn into_days(self) -> Vec<Vec<Record>> {
        self.days
    }

    fn generate(&mut self, index: usize) {
        let Series { bars, indicators } = series(index, &self.dates);
        for (day, (bar, values)) in bars.into_iter().zip(indicators).enumerate() {
            let records = std::iter::once(Record::Bar(bar)).chain(values.into_iter().map(Record::Indicator));
            match day.checked_sub(self.backfill_days) {
                None => self.pending.extend(records),
                Some(steady) => {
                    if let Some(epoch) = self.days.get_mut(steady) {
                        epoch.extend(records);
                    }
                }
            }
        }
    }
}
