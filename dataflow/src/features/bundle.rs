//! A day's records, bundled before they are arranged.
//!
//! A bar and its seven indicator values arrive as eight updates. Arranged one by one they cost
//! eight sorts and, on every merge of the arrangement, eight copies of a value the size of the
//! largest indicator. So the updates of one (series, day) with the same time and diff are first
//! bundled into one value: a close and the indicator slots. A collection of bundles stands for
//! the multiset of the entries in them (a bundle with diff `d` adds `d` to each of its entries),
//! so bundling is only a compaction: a correction retracts its old entry with a one-entry bundle,
//! and the co-group adds entries up whenever bundles of a day overlap or carry other diffs.

use super::block::{BlockKey, Entry};
use super::slots::IndicatorSlots;
use super::values::F64Bits;
use differential_dataflow::lattice::Lattice;
use differential_dataflow::{AsCollection, VecCollection};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::CapabilitySet;
use timely::dataflow::operators::generic::Operator;
use timely::progress::Timestamp;

/// Some of the entries of one (series, day): at most a close and one value per indicator kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Bundle {
    /// The bar's close.
    pub close: Option<F64Bits>,
    /// Indicator values.
    pub indicators: IndicatorSlots,
}

impl Bundle {
    /// A bundle of one entry.
    pub fn of(entry: &Entry) -> Self {
        let mut bundle = Bundle::default();
        bundle.absorb_entry(entry);
        bundle
    }

    /// Adds `entry` unless its close or kind is here already; returns whether it did.
    pub fn absorb_entry(&mut self, entry: &Entry) -> bool {
        match entry {
            Entry::Bar(close) if self.close.is_none() => {
                self.close = Some(*close);
                true
            }
            Entry::Bar(_) => false,
            Entry::Indicator(value) => self.indicators.insert(value),
        }
    }

    /// Adds the entries of `other` if none has a counterpart here; returns whether it did.
    pub fn absorb(&mut self, other: &Bundle) -> bool {
        if self.close.is_some() && other.close.is_some() || !self.indicators.absorb(&other.indicators) {
            return false;
        }
        self.close = self.close.or(other.close);
        true
    }

    /// The entries: the close first, then the indicator values by kind.
    pub fn entries(&self) -> impl Iterator<Item = Entry> {
        let indicators = self.indicators.values().into_iter().map(Entry::Indicator);
        self.close.map(Entry::Bar).into_iter().chain(indicators)
    }
}

/// Bundles the entries of `entries` with the same block, day, time and diff, once their time
/// is complete (the arrangement downstream waits for that anyway).
pub fn bundle_days<'scope, T>(
    entries: VecCollection<'scope, T, (BlockKey, (i64, Entry))>,
) -> VecCollection<'scope, T, (BlockKey, (i64, Bundle))>
where
    T: Timestamp + Lattice + Ord,
{
    entries
        .inner
        .unary_frontier(Pipeline, "Bundle: records of a day", |_capability, _info| {
            let mut capabilities = CapabilitySet::new();
            let mut pending: Vec<EntryUpdate<T>> = Vec::new();
            move |(input, frontier), output| {
                input.for_each(|capability, updates| {
                    capability.retain_stamp(0).iter().for_each(|held| capabilities.insert(held.clone()));
                    pending.append(updates);
                });
                if pending.iter().any(|(_, time, _)| !frontier.less_equal(time)) {
                    let (ready, later): (Vec<_>, Vec<_>) =
                        pending.drain(..).partition(|(_, time, _)| !frontier.less_equal(time));
                    pending = later;
                    output.session(&capabilities).give_iterator(bundle(ready).into_iter());
                }
                // Hold capabilities for the records still waiting, and only for them.
                let mut times: Vec<&T> = pending.iter().map(|(_, time, _)| time).collect();
                times.sort_unstable();
                times.dedup();
                let mut held = CapabilitySet::new();
                times.into_iter().for_each(|time| held.insert(capabilities.delayed(time)));
                capabilities = held;
            }
        })
        .as_collection()
}

/// An update of an entry, and of a bundle.
type EntryUpdate<T> = ((BlockKey, (i64, Entry)), T, isize);
type BundleUpdate<T> = ((BlockKey, (i64, Bundle)), T, isize);

/// The bundles of `updates`. A source delivers a day's records one after the other, so most
/// bundles are runs; the bars and the indicator values arrive on different inputs, so runs of
/// the same day are then joined by a hash map, one lookup per run rather than per record.
fn bundle<T: Timestamp + Ord>(updates: Vec<EntryUpdate<T>>) -> Vec<BundleUpdate<T>> {
    let mut runs: Vec<BundleUpdate<T>> = Vec::new();
    for ((key, (day, entry)), time, diff) in updates {
        let extends = runs.last_mut().is_some_and(|((k, (d, bundle)), t, r)| {
            (&*k, *d, &*t, *r) == (&key, day, &time, diff) && bundle.absorb_entry(&entry)
        });
        if !extends {
            runs.push(((key, (day, Bundle::of(&entry))), time, diff));
        }
    }
    let mut bundles: Vec<BundleUpdate<T>> = Vec::with_capacity(runs.len());
    // Keyed without the time (a `Timestamp` need not hash); a run of another time is not joined.
    let mut index: HashMap<(BlockKey, i64, isize), usize> = HashMap::with_capacity(runs.len());
    for run in runs {
        let ((key, (day, bundle)), time, diff) = &run;
        let slot = (key.clone(), *day, *diff);
        let joined = index
            .get(&slot)
            .and_then(|&i| bundles.get_mut(i))
            .is_some_and(|open| open.1 == *time && open.0.1.1.absorb(bundle));
        if !joined {
            index.insert(slot, bundles.len());
            bundles.push(run);
        }
    }
    bundles
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::Indicator;
    use crate::records::IndicatorValue;

    #[test]
    fn absorbs_disjoint_entries_and_lists_them() {
        let ema = Indicator::from(&IndicatorValue::Ema { ema_time_period: 3, ema: 1.0 });
        let rsi = Indicator::from(&IndicatorValue::Rsi { time_period: 3, rsi: 2.0 });
        let mut bundle = Bundle::of(&Entry::Indicator(rsi));
        assert!(bundle.absorb(&Bundle::of(&Entry::Bar(F64Bits::new(10.0)))));
        assert!(bundle.absorb(&Bundle::of(&Entry::Indicator(ema))));
        assert!(!bundle.absorb(&Bundle::of(&Entry::Bar(F64Bits::new(11.0)))));
        assert!(!bundle.absorb(&Bundle::of(&Entry::Indicator(ema))));
        let entries: Vec<Entry> = bundle.entries().collect();
        assert_eq!(entries, [Entry::Bar(F64Bits::new(10.0)), Entry::Indicator(ema), Entry::Indicator(rsi)]);
    }
}
