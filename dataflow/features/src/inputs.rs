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

use super::block::{BlockKey, Entry, block_entry};
use super::latest::{Latest, replace};
use super::record::BarKey;
use super::series_id::SeriesId;
use super::values::{Close, Indicator};
use chrono::NaiveDate;
use differential_dataflow::VecCollection;
use differential_dataflow::input::InputSession;
use pricestream_records::{Bar, IndicatorKind, IndicatorRecord, Timeframe};
use timely::dataflow::Scope;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

/// The input of the feature graph: each bar's close and each indicator value as an [`Entry`]
/// of its day, keyed by its series' block (see [`super::block`]); at most one close and one
/// value per indicator kind for a (series, day).
pub type EntryCollection<'scope, T> = VecCollection<'scope, T, (BlockKey, (i64, Entry))>;

/// The input session of the feature graph, behind an upsert adapter: the last value per key
/// (see the module docs; the values are kept per series and date). Bars and indicator values
/// go into one collection, already keyed as the graph arranges them: a backfill feeds tens of
/// millions of updates, and each one is then neither re-keyed nor given a `String` of its own.
///
/// ```
/// use pricestream_features::{FeatureInputs, feature_graph};
///
/// timely::execute_directly(|worker| {
///     let mut inputs = FeatureInputs::<u64>::new();
///     worker.dataflow(|scope| {
///         let entries = inputs.to_collection(scope);
///         feature_graph(entries, 2).inspect(|row| println!("{row:?}"));
///     });
///     inputs.advance_to(1);
///     inputs.flush();
/// });
/// ```
pub struct FeatureInputs<T: Timestamp + TotalOrder + Clone> {
    entries: InputSession<T, (BlockKey, (i64, Entry)), isize>,
    latest: Latest,
}

impl<T: Timestamp + TotalOrder + Clone> Default for FeatureInputs<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The update of `entry` for the bar of `ticker`, `timeframe` and `date`.
fn update(ticker: &str, timeframe: Timeframe, date: NaiveDate, entry: Entry) -> (BlockKey, (i64, Entry)) {
    block_entry(SeriesId::new(ticker, timeframe), date, entry)
}

impl<T: Timestamp + TotalOrder + Clone> FeatureInputs<T> {
    /// Fresh, empty inputs at the minimum time.
    pub fn new() -> Self {
        FeatureInputs { entries: InputSession::new(), latest: Latest::default() }
    }

    /// The collection to pass to [`super::feature_graph`].
    pub fn to_collection<'scope>(&mut self, scope: Scope<'scope, T>) -> EntryCollection<'scope, T> {
        self.entries.to_collection(scope)
    }

    /// Inserts or corrects a bar (only its adjusted close is used by the feature rows).
    pub fn upsert_bar(&mut self, bar: &Bar) {
        let (ticker, timeframe, date) = (bar.ticker.as_str(), bar.timeframe, bar.datetime);
        let entries = &mut self.entries;
        if let Some(day) = self.latest.day(ticker, timeframe, date, true) {
            replace(&mut day.close, Some(Close::of(bar)), |close, diff| {
                entries.update(update(ticker, timeframe, date, Entry::Bar(close)), diff)
            });
        }
    }

    /// Deletes the bar of `key`, if any.
    pub fn delete_bar(&mut self, (series, date): &BarKey) {
        let entries = &mut self.entries;
        if let Some(day) = self.latest.day(&series.ticker, series.timeframe, *date, false) {
            replace(&mut day.close, None, |close, diff| {
                entries.update(update(&series.ticker, series.timeframe, *date, Entry::Bar(close)), diff)
            });
        }
    }

    /// Inserts or corrects an indicator value; the key is `(ticker, timeframe, date, kind)`.
    pub fn upsert_indicator(&mut self, record: &IndicatorRecord) {
        let (ticker, timeframe, date) = (record.ticker.as_str(), record.timeframe, record.datetime);
        let value = Indicator::from(&record.value);
        let entries = &mut self.entries;
        let slot = self
            .latest
            .day(ticker, timeframe, date, true)
            .and_then(|day| day.indicators.get_mut(value.kind() as usize));
        if let Some(slot) = slot {
            replace(slot, Some(value), |value, diff| {
                entries.update(update(ticker, timeframe, date, Entry::Indicator(value)), diff)
            });
        }
    }

    /// Deletes the value of one indicator for `key`, if any.
    pub fn delete_indicator(&mut self, (series, date): &BarKey, kind: IndicatorKind) {
        let entries = &mut self.entries;
        let slot = self
            .latest
            .day(&series.ticker, series.timeframe, *date, false)
            .and_then(|day| day.indicators.get_mut(kind as usize));
        if let Some(slot) = slot {
            replace(slot, None, |value, diff| {
                entries.update(update(&series.ticker, series.timeframe, *date, Entry::Indicator(value)), diff)
            });
        }
    }

    /// Moves both inputs to `time`; later updates carry it.
    pub fn advance_to(&mut self, time: T) {
        self.entries.advance_to(time);
    }

    /// Sends buffered updates and the new time into the dataflow.
    pub fn flush(&mut self) {
        self.entries.flush();
    }

    /// The current input time.
    pub fn time(&self) -> &T {
        self.entries.time()
    }
}
