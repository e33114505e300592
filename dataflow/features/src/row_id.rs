//! Incremental row numbers: the 1-based position of each bar in its series ordered by date.
//!
//! A per-series `reduce` that numbers the whole series would redo the whole series (O(history))
//! on every new bar. Instead a bar's number is its rank inside its block of 2^5 days (computed
//! by a reduce per block) plus the block's *offset*, the number of bars in the series' earlier
//! blocks. The offsets are prefix sums over a small radix tree of blocks: blocks of 2^10 days,
//! of 2^15 days, and everything. At each level a `reduce` per (series, parent block) computes,
//! for each child block, the bars in the earlier children and the parent's total, which feeds
//! the next level; one join per level adds the offsets up. Every reduce group holds at most 32
//! children (the top one a handful), so a new bar costs O(levels × 32) work, whatever the length
//! of the history, and this work is per block, not per bar. Inserting a bar in the middle of a
//! series still changes the ids of every later bar; those output changes are inherent.

use super::block::{BLOCK_SHIFT, BlockKey, day_number, from_day_number};
use super::record::BarKey;
use super::series_id::SeriesId;
use differential_dataflow::VecCollection;
use differential_dataflow::lattice::Lattice;
use differential_dataflow::trace::implementations::{ValBuilder, ValSpine};
use serde::{Deserialize, Serialize};
use timely::progress::Timestamp;

/// The parent of a day at level `i` is `day >> PARENT_SHIFTS[i]`; the last level holds every
/// date in one block (day numbers are below 2^32).
const PARENT_SHIFTS: [u32; 3] = [10, 15, 40];

/// One output of a level's reduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Prefix {
    /// A child block and the number of bars in the parent's earlier children.
    Offset(i64, u64),
    /// The number of bars in the parent.
    Total(u64),
}

/// `((series, block), bars in the earlier blocks of the series)` for every block of `counts`
/// (`((series, block), bars in the block)`; blocks are `day >> BLOCK_SHIFT`).
pub fn block_offsets<'scope, T>(
    counts: VecCollection<'scope, T, (BlockKey, u64)>,
) -> VecCollection<'scope, T, (BlockKey, u64)>
where
    T: Timestamp + Lattice + Ord,
{
    // `((series, parent), (child, weight))` for the current level; children and parents are day
    // numbers shifted by the level's shifts.
    let shift_up = PARENT_SHIFTS[0] - BLOCK_SHIFT;
    let mut level_input =
        counts.clone().map(move |((series, block), n)| ((series, block >> shift_up), (block, n)));
    // `((series, ancestor at the current level), (block, sum of the offsets so far))`.
    let mut acc = counts.map(|((series, block), _n)| ((series, block), (block, 0_u64)));
    for (level, &parent_shift) in PARENT_SHIFTS.iter().enumerate() {
        let prefix = level_input.clone().reduce_named::<_, Prefix, isize>(
            &format!("Row id: prefix counts, level {level}"),
            |_parent, input, output| {
                let mut before = 0_u64;
                for ((child, weight), diff) in input {
                    if *diff > 0 {
                        output.push((Prefix::Offset(*child, before), 1));
                        before += weight;
                    }
                }
                output.push((Prefix::Total(before), 1));
            },
        );
        let offsets = prefix.clone().flat_map(|((series, _parent), prefix)| match prefix {
            Prefix::Offset(child, offset) => Some(((series, child), offset)),
            Prefix::Total(_) => None,
        });
        acc = acc.join_map(offsets, move |(series, _child), &(block, sum), &offset| {
            ((series.clone(), block >> (parent_shift - BLOCK_SHIFT)), (block, sum + offset))
        });
        if let Some(&grandparent_shift) = PARENT_SHIFTS.get(level + 1) {
            let up = grandparent_shift - parent_shift;
            level_input = prefix.flat_map(move |((series, parent), prefix)| match prefix {
                Prefix::Total(total) => Some(((series, parent >> up), (parent, total))),
                Prefix::Offset(..) => None,
            });
        }
    }
    acc.map(|((series, _top), (block, sum))| ((series, block), sum))
}

/// One output of the rank-in-block reduce of [`row_ids`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Ranked {
    /// Number of dates in the block.
    Count(u64),
    /// A day and its 0-based rank in the block.
    Day(i64, u64),
}

/// `((series, date), id)` for every distinct `(series, date)` of `dates`, `id` counting from 1.
///
/// Multiplicities are ignored: a date present twice is numbered once. (The feature graph does
/// the in-block ranking inside its own co-group; this is the same numbering on its own.)
pub fn row_ids<'scope, T>(dates: VecCollection<'scope, T, BarKey>) -> VecCollection<'scope, T, (BarKey, u64)>
where
    T: Timestamp + Lattice + Ord,
{
    let ranked = dates
        .map(|(series, date)| {
            let day = day_number(date);
            ((SeriesId::of(&series), day >> BLOCK_SHIFT), day)
        })
        .arrange_by_key_named("Arrange: dates by block")
        .reduce_abelian::<_, ValBuilder<_, _, _, _>, ValSpine<_, _, _, _>, _, _>(
            "Row id: rank in block",
            |_block, input, output| {
                let (mut count, mut last_day) = (0, None);
                for &(&day, diff) in input {
                    // Sorted input: a day present twice is adjacent to itself.
                    if diff > 0 && last_day != Some(day) {
                        output.push((Ranked::Day(day, count), 1));
                        (count, last_day) = (count + 1, Some(day));
                    }
                }
                if count > 0 {
                    output.push((Ranked::Count(count), 1));
                }
            },
            |vec, key, updates| {
                vec.clear();
                vec.extend(updates.drain(..).map(|(value, time, diff)| ((key.clone(), value), time, diff)));
            },
        );
    let counts = ranked.clone().flat_map_ref(|block: &BlockKey, ranked: &Ranked| match ranked {
        Ranked::Count(n) => Some((block.clone(), *n)),
        Ranked::Day(..) => None,
    });
    let offsets = block_offsets(counts).arrange_by_key_named("Arrange: block offsets");
    ranked.join_core(offsets, |(series, _block): &BlockKey, ranked: &Ranked, offset: &u64| match *ranked {
        Ranked::Day(day, rank) => {
            from_day_number(day).map(|date| ((series.to_key(), date), offset + rank + 1))
        }
        Ranked::Count(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeriesKey;
    use chrono::NaiveDate;
    use differential_dataflow::AsCollection;
    use pricestream_records::Timeframe;
    use timely::dataflow::operators::capture::{Capture, Extract};
    use timely::dataflow::operators::vec::ToStream;

    #[test]
    fn numbers_dates_across_every_level_and_era() {
        let series = SeriesKey { ticker: "T".into(), timeframe: Timeframe::Day };
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
        // Far apart (every radix level), both sides of year 1, given out of order, one twice,
        // and three in one block.
        let dates = [
            ymd(2020, 1, 2),
            ymd(-500, 3, 1),
            ymd(1, 1, 1),
            ymd(0, 12, 31),
            ymd(2020, 1, 1),
            ymd(1900, 6, 1),
            ymd(2020, 1, 3),
        ];
        let input: Vec<_> =
            dates.iter().chain(&dates[..1]).map(|d| ((series.clone(), *d), 0_u64, 1_isize)).collect();
        let captured = timely::example(move |scope| {
            row_ids(input.to_stream(scope).as_collection()).consolidate().inner.capture()
        });
        let mut got: Vec<(NaiveDate, u64)> = captured
            .extract()
            .into_iter()
            .flat_map(|(_, updates)| updates)
            .map(|(((_, d), id), _, _)| (d, id))
            .collect();
        got.sort();
        let mut sorted = dates.to_vec();
        sorted.sort();
        let expected: Vec<(NaiveDate, u64)> = sorted.into_iter().zip(1..).collect();
        assert_eq!(got, expected);
    }
}
