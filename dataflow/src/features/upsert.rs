//! The input side of the feature graph: "latest value per key" (upsert) semantics.
//!
//! Differential collections are multisets changed by `(record, ±1)` updates; the sources
//! (Kafka topics, Cassandra re-reads) deliver *values*: new ones, corrections of old ones and
//! exact re-deliveries. The adapter here keeps the last value per key and turns each delivery
//! into the updates that make the collection hold exactly that last value: nothing for an exact
//! duplicate, `(new, +1)` for a new key, `(old, -1), (new, +1)` for a correction. The graph can
//! then assume at most one value per key, each with multiplicity one.
//!
//! The state lives outside the dataflow, beside the input handle. With several workers, every
//! key must always be fed through the same worker (e.g. route by ticker), or two workers could
//! both believe they hold the latest value.

use super::record::{BarKey, bar_key, indicator_key};
use super::values::{F64Bits, Indicator};
use crate::records::IndicatorKind;
use crate::records::{Bar, IndicatorRecord};
use differential_dataflow::VecCollection;
use differential_dataflow::input::InputSession;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;
use timely::dataflow::Scope;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

/// The last value seen per key; turns deliveries into differential updates.
#[derive(Debug, Clone)]
pub struct Upsert<K, V> {
    latest: HashMap<K, V>,
}

impl<K, V> Default for Upsert<K, V> {
    fn default() -> Self {
        Upsert { latest: HashMap::new() }
    }
}

impl<K: Hash + Eq, V: Clone + PartialEq> Upsert<K, V> {
    /// Records `value` as the latest for `key` and calls `emit` with the updates that move the
    /// collection from the previous value (if any) to `value`; nothing for an exact duplicate.
    pub fn upsert(&mut self, key: K, value: V, mut emit: impl FnMut(V, isize)) {
        match self.latest.entry(key) {
            Entry::Occupied(mut slot) => {
                if *slot.get() != value {
                    let old = std::mem::replace(slot.get_mut(), value.clone());
                    emit(old, -1);
                    emit(value, 1);
                }
            }
            Entry::Vacant(slot) => {
                slot.insert(value.clone());
                emit(value, 1);
            }
        }
    }

    /// Forgets `key`, retracting its value if there was one.
    pub fn delete(&mut self, key: &K, mut emit: impl FnMut(V, isize)) {
        if let Some(old) = self.latest.remove(key) {
            emit(old, -1);
        }
    }

    /// The latest value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.latest.get(key)
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.latest.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.latest.is_empty()
    }
}

/// The bars collection: `((series, date), close)`.
pub type BarCollection<'scope, T> = VecCollection<'scope, T, (BarKey, F64Bits)>;
/// The indicators collection: `((series, date), value)`, at most one value per kind and key.
pub type IndicatorCollection<'scope, T> = VecCollection<'scope, T, (BarKey, Indicator)>;

/// The two input sessions of the feature graph, each behind an [`Upsert`] adapter.
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
    latest_bars: Upsert<BarKey, F64Bits>,
    latest_indicators: Upsert<(BarKey, IndicatorKind), Indicator>,
}

impl<T: Timestamp + TotalOrder + Clone> Default for FeatureInputs<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Timestamp + TotalOrder + Clone> FeatureInputs<T> {
    /// Fresh, empty inputs at the minimum time.
    pub fn new() -> Self {
        FeatureInputs {
            bars: InputSession::new(),
            indicators: InputSession::new(),
            latest_bars: Upsert::default(),
            latest_indicators: Upsert::default(),
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
        let key = bar_key(bar);
        let bars = &mut self.bars;
        self.latest_bars.upsert(key.clone(), F64Bits::new(bar.close), |close, diff| {
            bars.update((key.clone(), close), diff)
        });
    }

    /// Deletes the bar of `key`, if any.
    pub fn delete_bar(&mut self, key: &BarKey) {
        let bars = &mut self.bars;
        self.latest_bars.delete(key, |close, diff| bars.update((key.clone(), close), diff));
    }

    /// Inserts or corrects an indicator value; the key is `(ticker, timeframe, date, kind)`.
    pub fn upsert_indicator(&mut self, record: &IndicatorRecord) {
        let key = indicator_key(record);
        let value = Indicator::from(&record.value);
        let indicators = &mut self.indicators;
        self.latest_indicators.upsert((key.clone(), value.kind()), value, |value, diff| {
            indicators.update((key.clone(), value), diff)
        });
    }

    /// Deletes the value of one indicator for `key`, if any.
    pub fn delete_indicator(&mut self, key: &BarKey, kind: IndicatorKind) {
        let indicators = &mut self.indicators;
        self.latest_indicators
            .delete(&(key.clone(), kind), |value, diff| indicators.update((key.clone(), value), diff));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsert_emits_nothing_for_duplicates_and_pairs_for_corrections() {
        let mut upsert = Upsert::default();
        let mut out = Vec::new();
        upsert.upsert("k", 1, |v, d| out.push((v, d)));
        upsert.upsert("k", 1, |v, d| out.push((v, d)));
        upsert.upsert("k", 2, |v, d| out.push((v, d)));
        upsert.delete(&"k", |v, d| out.push((v, d)));
        upsert.delete(&"k", |v, d| out.push((v, d)));
        assert_eq!(out, [(1, 1), (1, -1), (2, 1), (2, -1)]);
        assert!(upsert.is_empty());
    }
}
