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
//! both believe they hold the latest value. [`super::FeatureInputs`] implements these semantics
//! with its own per-series layout (`latest.rs`); [`Upsert`] is the generic map.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;

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
