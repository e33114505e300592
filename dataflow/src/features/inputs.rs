//! The two inputs of the feature graph, fed with "latest value per key" (upsert) semantics.
//!
//! Differential collections are multisets changed by `(record, ±1)` updates; the sources
//! (Kafka topics, Cassandra re-reads) deliver *values*: new ones, corrections and exact
//! re-deliveries. Each delivery becomes the updates that make the collection hold exactly the
//! last value: nothing for an exact duplicate, `(new, +1)` for a new key, `(old, -1), (new, +1)`
//! for a correction. The graph can then assume at most one value per key, with multiplicity one.
//!
//! The state lives beside the input handle, not in the dataflow. With several workers every key
//! must always be fed through the same worker (route by ticker), or two workers could both
//! believe they hold the latest value.

use super::latest::{Latest, replace};
use super::record::{BarKey, SeriesKey};
use super::values::{F64Bits, Indicator};
use crate::records::{Bar, IndicatorKind, IndicatorRecord, Timeframe};
use chrono::NaiveDate;
use differential_dataflow::VecCollection;
use differential_dataflow::input::InputSession;
use timely::dataflow::Scope;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

/// The bars collection: `((series, date), close)`.
pub type BarCollection<'scope, T> = VecCollection<'scope, T, (BarKey, F64Bits)>;
/// The indicators collection: `((series, date), value)`, at most one value per kind and key.
pub type IndicatorCollection<'scope, T> = VecCollection<'scope, T, (BarKey, Indicator)>;

/// The two input sessions of the feature graph, behind an upsert adapter: the last value per
/// key (see the module docs; the values are kept per series and date).
///
/// ```
/// use pricestream_dataflow::features::{FeatureInputs, feature_graph};
///
/// timely::execute_directly(|worker| {
///     let mut inputs = FeatureInputs::<u64>::new();
///     worker.dataflow(|scope| {
///         let (bars, indicators) = inputs.to_collections(scope);
///         feature_graph(bars, indicators, 2).inspect(|row| println!("{row:?}"));
///     });
///     inputs.advance_to(1);
///     inputs.flush();
/// });
/// ```
pub struct FeatureInputs<T: Timestamp + TotalOrder + Clone> {
    bars: InputSession<T, (BarKey, F64Bits), isize>,
    indicators: InputSession<T, (BarKey, Indicator), isize>,
    latest: Latest,
}

impl<T: Timestamp + TotalOrder + Clone> Default for FeatureInputs<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The key of an update: the one allocation per update the collection types require.
fn key(ticker: &str, timeframe: Timeframe, date: NaiveDate) -> BarKey {
    (SeriesKey { ticker: ticker.to_owned(), timeframe }, date)
}

impl<T: Timestamp + TotalOrder + Clone> FeatureInputs<T> {
    /// Fresh, empty inputs at the minimum time.
    pub fn new() -> Self {
        FeatureInputs {
            bars: InputSession::new(),
            indicators: InputSession::new(),
            latest: Latest::default(),
        }
    }

    /// The bars and indicators collections, to pass to [`super::feature_graph`].
    pub fn to_collections<'scope>(
        &mut self,
        scope: Scope<'scope, T>,
    ) -> (BarCollection<'scope, T>, IndicatorCollection<'scope, T>) {
        (self.bars.to_collection(scope), self.indicators.to_collection(scope))
    }

    /// Inserts or corrects a bar (only its close is used by the feature rows).
    pub fn upsert_bar(&mut self, bar: &Bar) {
        let (ticker, timeframe, date) = (bar.ticker.as_str(), bar.timeframe, bar.datetime);
        let bars = &mut self.bars;
        if let Some(day) = self.latest.day(ticker, timeframe, date, true) {
            replace(&mut day.close, Some(F64Bits::new(bar.close)), |close, diff| {
                bars.update((key(ticker, timeframe, date), close), diff)
            });
        }
    }

    /// Deletes the bar of `key`, if any.
    pub fn delete_bar(&mut self, (series, date): &BarKey) {
        let bars = &mut self.bars;
        if let Some(day) = self.latest.day(&series.ticker, series.timeframe, *date, false) {
            replace(&mut day.close, None, |close, diff| bars.update(((series.clone(), *date), close), diff));
        }
    }

    /// Inserts or corrects an indicator value; the key is `(ticker, timeframe, date, kind)`.
    pub fn upsert_indicator(&mut self, record: &IndicatorRecord) {
        let (ticker, timeframe, date) = (record.ticker.as_str(), record.timeframe, record.datetime);
        let value = Indicator::from(&record.value);
        let indicators = &mut self.indicators;
        let slot = self
            .latest
            .day(ticker, timeframe, date, true)
            .and_then(|day| day.indicators.get_mut(value.kind() as usize));
        if let Some(slot) = slot {
            replace(slot, Some(value), |value, diff| {
                indicators.update((key(ticker, timeframe, date), value), diff)
            });
        }
    }

    /// Deletes the value of one indicator for `key`, if any.
    pub fn delete_indicator(&mut self, (series, date): &BarKey, kind: IndicatorKind) {
        let indicators = &mut self.indicators;
        let slot = self
            .latest
            .day(&series.ticker, series.timeframe, *date, false)
            .and_then(|day| day.indicators.get_mut(kind as usize));
        if let Some(slot) = slot {
            replace(slot, None, |value, diff| indicators.update(((series.clone(), *date), value), diff));
        }
    }

    /// Moves both inputs to `time`; later updates carry it.
    pub fn advance_to(&mut self, time: T) {
        self.bars.advance_to(time.clone());
        self.indicators.advance_to(time);
    }

    /// Sends buffered updates and the new time into the dataflow.
    pub fn flush(&mut self) {
        self.bars.flush();
        self.indicators.flush();
    }

    /// The current input time.
    pub fn time(&self) -> &T {
        self.bars.time()
    }
}
