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
use super::values::Close;
use differential_dataflow::lattice::Lattice;
use differential_dataflow::{AsCollection, VecCollection};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::CapabilitySet;
use timely::dataflow::operators::generic::Operator;
use timely::progress::Timestamp;

/// Some of the entries of one (series, day): at most a close and one value per indicator kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Bundle {
    /// The bar's adjusted close and factor.
    pub close: Option<Close>,
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
            // Batches as they came, with the times of the capability they came with (each record
            // in a batch is at or after one of them): taken over whole rather than appended, as
            // an epoch of a backfill is millions of records.
            let mut stash: Vec<(Vec<T>, Vec<EntryUpdate<T>>)> = Vec::new();
            move |(input, frontier), output| {
                input.for_each(|capability, updates| {
                    capability.retain_stamp(0).iter().for_each(|held| capabilities.insert(held.clone()));
                    stash.push((capability.stamp().iter().cloned().collect(), std::mem::take(updates)));
                });
                let complete = |time: &T| !frontier.less_equal(time);
                let mut ready = Vec::new();
                let mut waiting = Vec::with_capacity(stash.len());
                for (stamp, mut batch) in stash.drain(..) {
                    if !stamp.iter().all(complete) {
                        waiting.push((stamp, batch));
                    } else if batch.iter().all(|(_, time, _)| complete(time)) {
                        ready.push(batch);
                    } else {
                        let later = batch.extract_if(.., |(_, time, _)| !complete(time)).collect();
                        ready.push(batch);
                        waiting.push((stamp, later));
                    }
                }
                stash = waiting;
                if !ready.is_empty() {
                    // Bars and their seven values make about one bundle per eight records.
                    let expected = ready.iter().map(Vec::len).sum::<usize>() / 8 + 1;
                    let mut bundles = bundle(ready.into_iter().flatten(), expected);
                    output.session(&capabilities).give_container(&mut bundles);
                }
                // Hold capabilities for the batches still waiting, and only for them.
                let mut times: Vec<&T> = stash.iter().flat_map(|(stamp, _)| stamp).collect();
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

/// The bundles of `updates`, in one pass. A source delivers a day's records one after the
/// other, so most bundles are runs, built in place; the bars and the indicator values come from
/// different topics, usually in separate runs, so a finished run is then joined with an earlier
/// bundle of its day through a hash map: one lookup per run rather than per record.
fn bundle<T: Timestamp + Ord>(
    updates: impl IntoIterator<Item = EntryUpdate<T>>,
    expected: usize,
) -> Vec<BundleUpdate<T>> {
    let mut bundles: Vec<BundleUpdate<T>> = Vec::with_capacity(expected);
    // Keyed without the time (a `Timestamp` need not hash); a run of another time is not joined.
    let mut index: FxHashMap<(BlockKey, i64, isize), usize> = FxHashMap::default();
    index.reserve(expected);
    for ((key, (day, entry)), time, diff) in updates {
        let extends = bundles.last_mut().is_some_and(|((k, (d, bundle)), t, r)| {
            (&*k, *d, &*t, *r) == (&key, day, &time, diff) && bundle.absorb_entry(&entry)
        });
        if !extends {
            close_run(&mut bundles, &mut index);
            bundles.push(((key, (day, Bundle::of(&entry))), time, diff));
        }
    }
    close_run(&mut bundles, &mut index);
    bundles
}

/// Joins the last bundle of `bundles` (a run just finished) into the earlier bundle of its
/// (block, day, diff) when their times match and their entries are disjoint; otherwise the run
/// becomes the one later runs of its day are joined into.
fn close_run<T: Timestamp>(
    bundles: &mut Vec<BundleUpdate<T>>,
    index: &mut FxHashMap<(BlockKey, i64, isize), usize>,
) {
    let Some((run, earlier)) = bundles.split_last_mut() else {
        return;
    };
    let ((key, (day, bundle)), time, diff) = &*run;
    let slot = (key.clone(), *day, *diff);
    let last = earlier.len();
    let joined = index
        .get(&slot)
        .and_then(|&i| earlier.get_mut(i))
        .is_some_and(|open| open.1 == *time && open.0.1.1.absorb(bundle));
    if joined {
        bundles.pop();
    } else {
        index.insert(slot, last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series_id::SeriesId;
    use crate::{Indicator, SeriesKey};
    use pricestream_records::{IndicatorValue, Timeframe};

    #[test]
    fn absorbs_disjoint_entries_and_lists_them() {
        let ema = Indicator::from(&IndicatorValue::Ema { ema_time_period: 3, ema: 1.0 });
        let rsi = Indicator::from(&IndicatorValue::Rsi { time_period: 3, rsi: 2.0 });
        let mut bundle = Bundle::of(&Entry::Indicator(rsi));
        assert!(bundle.absorb(&Bundle::of(&Entry::Bar(Close::from(10.0)))));
        assert!(bundle.absorb(&Bundle::of(&Entry::Indicator(ema))));
        assert!(!bundle.absorb(&Bundle::of(&Entry::Bar(Close::from(11.0)))));
        assert!(!bundle.absorb(&Bundle::of(&Entry::Indicator(ema))));
        let entries: Vec<Entry> = bundle.entries().collect();
        assert_eq!(entries, [Entry::Bar(Close::from(10.0)), Entry::Indicator(ema), Entry::Indicator(rsi)]);
    }

    #[test]
    fn joins_runs_of_a_day_and_keeps_other_times_diffs_and_repeats_apart() {
        let block =
            |ticker: &str| (SeriesId::of(&SeriesKey { ticker: ticker.into(), timeframe: Timeframe::Day }), 7);
        let ema = |value| {
            Entry::Indicator(Indicator::from(&IndicatorValue::Ema { ema_time_period: 3, ema: value }))
        };
        let close = |value| Entry::Bar(Close::from(value));
        let update = |ticker, day, entry, time, diff| ((block(ticker), (day, entry)), time, diff);
        // The bars of two series, then their values (as from two inputs), then a retraction,
        // a later time and a second close for a day.
        let updates = vec![
            update("AAA", 1, close(10.0), 0_u64, 1),
            update("BBB", 1, close(20.0), 0, 1),
            update("AAA", 1, ema(1.0), 0, 1),
            update("BBB", 1, ema(2.0), 0, 1),
            update("AAA", 1, ema(1.5), 0, -1),
            update("AAA", 1, ema(3.0), 1, 1),
            update("AAA", 1, close(11.0), 0, 1),
        ];
        let bundled = bundle(updates.clone(), 1);
        let of = |entries: &[Entry]| {
            let mut bundle = Bundle::default();
            entries.iter().for_each(|entry| assert!(bundle.absorb_entry(entry)));
            bundle
        };
        let expected = vec![
            ((block("AAA"), (1, of(&[close(10.0), ema(1.0)]))), 0, 1),
            ((block("BBB"), (1, of(&[close(20.0), ema(2.0)]))), 0, 1),
            ((block("AAA"), (1, of(&[ema(1.5)]))), 0, -1),
            ((block("AAA"), (1, of(&[ema(3.0)]))), 1, 1),
            ((block("AAA"), (1, of(&[close(11.0)]))), 0, 1),
        ];
        assert_eq!(bundled, expected);
        // The same multiset of entries.
        let mut flat: Vec<_> = bundled
            .iter()
            .flat_map(|((key, (day, bundle)), time, diff)| {
                bundle.entries().map(move |e| ((key.clone(), (*day, e)), *time, *diff))
            })
            .collect();
        let mut original = updates;
        flat.sort();
        original.sort();
        assert_eq!(flat, original);
    }
}
