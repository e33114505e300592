//! The input of the feature graph, fed with "latest value per key" (upsert) semantics.
//!
//! Differential collections are multisets changed by `(record, ±1)` updates; the sources
//! (Kafka topics, Cassandra re-reads) deliver *values*: new ones, corrections and exact
//! re-deliveries. The deliveries are applied to the latest values, and each block of days they
//! changed becomes the updates that make the collection hold exactly its latest values: nothing
//! when a delivery changed nothing, `(new, +1)` for a new block, `(old, -1), (new, +1)` for a
//! changed one. The graph can then assume one value per (series, block), with multiplicity one.
//!
//! The state lives beside the input handle, not in the dataflow. With several workers every key
//! must always be fed through the same worker (route by ticker), or two workers could both
//! believe they hold the latest value.

use super::block::{BlockDays, BlockKey};
use super::latest::Latest;
use super::record::BarKey;
use super::values::{Close, Indicator};
use differential_dataflow::VecCollection;
use differential_dataflow::input::InputSession;
use pricestream_records::{Bar, IndicatorKind, IndicatorRecord};
use timely::dataflow::Scope;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

/// The input of the feature graph: for each (series, block) with a bar or an indicator value,
/// its days (see [`BlockDays`]), each one [`super::bundle::Bundle`] of its close and values; one
/// value per (series, block), with multiplicity one.
pub type BlockCollection<'scope, T> = VecCollection<'scope, T, (BlockKey, BlockDays)>;

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
///         let days = inputs.to_collection(scope);
///         feature_graph(days, 2).inspect(|row| println!("{row:?}"));
///     });
///     inputs.advance_to(1);
///     inputs.flush();
/// });
/// ```
pub struct FeatureInputs<T: Timestamp + TotalOrder + Clone> {
    blocks: InputSession<T, (BlockKey, BlockDays), isize>,
    latest: Latest,
}

impl<T: Timestamp + TotalOrder + Clone> Default for FeatureInputs<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Timestamp + TotalOrder + Clone> FeatureInputs<T> {
    /// Fresh, empty inputs at the minimum time.
    pub fn new() -> Self {
        FeatureInputs { blocks: InputSession::new(), latest: Latest::default() }
    }

    /// The collection to pass to [`super::feature_graph`].
    pub fn to_collection<'scope>(&mut self, scope: Scope<'scope, T>) -> BlockCollection<'scope, T> {
        self.blocks.to_collection(scope)
    }

    /// Inserts or corrects a bar (only its adjusted close is used by the feature rows).
    pub fn upsert_bar(&mut self, bar: &Bar) {
        if let Some(day) = self.latest.day(&bar.ticker, bar.timeframe, bar.datetime, true) {
            day.close = Some(Close::of(bar));
        }
    }

    /// Deletes the bar of `key`, if any.
    pub fn delete_bar(&mut self, (series, date): &BarKey) {
        if let Some(day) = self.latest.day(&series.ticker, series.timeframe, *date, false) {
            day.close = None;
        }
    }

    /// Inserts or corrects an indicator value; the key is `(ticker, timeframe, date, kind)`.
    pub fn upsert_indicator(&mut self, record: &IndicatorRecord) {
        let value = Indicator::from(&record.value);
        let day = self.latest.day(&record.ticker, record.timeframe, record.datetime, true);
        if let Some(slot) = day.and_then(|day| day.indicators.get_mut(value.kind() as usize)) {
            *slot = Some(value);
        }
    }

    /// Deletes the value of one indicator for `key`, if any.
    pub fn delete_indicator(&mut self, (series, date): &BarKey, kind: IndicatorKind) {
        let day = self.latest.day(&series.ticker, series.timeframe, *date, false);
        if let Some(slot) = day.and_then(|day| day.indicators.get_mut(kind as usize)) {
            *slot = None;
        }
    }

    /// Moves the input to `time`; the changes made so far carry the time before.
    pub fn advance_to(&mut self, time: T) {
        self.send_changes();
        self.blocks.advance_to(time);
    }

    /// Sends the changes and the time into the dataflow.
    pub fn flush(&mut self) {
        self.send_changes();
        self.blocks.flush();
    }

    /// Hands each block changed since the last call to the input session, as it was and as it is.
    fn send_changes(&mut self) {
        let blocks = &mut self.blocks;
        self.latest.take_changes(|update, diff| blocks.update(update, diff));
    }

    /// The current input time.
    pub fn time(&self) -> &T {
        self.blocks.time()
    }
}
