//! Incremental row numbers: the 1-based position of each bar in its series ordered by date.
//!
//! A per-series `reduce` that numbers the whole series would redo the whole series (O(history))
//! on every new bar. Instead the dates are counted in a small radix tree over the day number:
//! blocks of 2^5 days, blocks of 2^10 days, blocks of 2^15 days, and everything. At each level a
//! `reduce` per (series, parent block) computes, for each child block, the number of bars in the
//! earlier child blocks (its *offset*) and the parent's total, which feeds the next level. A bar's
//! id is one plus the sum of its offsets at every level, added up by one join per level. Every
//! reduce group holds at most 32 children (the top one a handful), so a new bar costs
//! O(levels × 32) work, whatever the length of the history. Inserting a bar in the middle of a
//! series still changes the ids of every later bar; those output changes are inherent.

use super::record::{BarKey, SeriesKey};
use chrono::{Datelike, NaiveDate};
use differential_dataflow::VecCollection;
use differential_dataflow::lattice::Lattice;
use serde::{Deserialize, Serialize};
use timely::progress::Timestamp;

/// The block of a day at level `i` is `day >> SHIFTS[i]`; level 0 is the day itself and the last
/// level holds every date in one block (days are shifted to be non-negative, below 2^32).
const SHIFTS: [u32; 5] = [0, 5, 10, 15, 40];

/// The day number of `date`, shifted so that every date maps into `0..2^32`.
fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - i64::from(i32::MIN)
}

/// Inverse of [`day_number`].
fn from_day_number(day: i64) -> Option<NaiveDate> {
    i32::try_from(day + i64::from(i32::MIN)).ok().and_then(NaiveDate::from_num_days_from_ce_opt)
}

/// One output of a level's reduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Prefix {
    /// A child block and the number of bars in the parent's earlier children.
    Offset(i64, u64),
    /// The number of bars in the parent.
    Total(u64),
}

/// `((series, date), id)` for every distinct `(series, date)` of `dates`, `id` counting from 1.
///
/// Multiplicities are ignored: a date present twice is numbered once.
pub fn row_ids<'scope, T>(dates: VecCollection<'scope, T, BarKey>) -> VecCollection<'scope, T, (BarKey, u64)>
where
    T: Timestamp + Lattice + Ord,
{
    let days = dates.map(|(series, date)| (series, day_number(date)));
    // `((series, parent block), (child block, weight))` for the current level.
    let mut level_input = days.clone().map(|(series, day)| ((series, day >> SHIFTS[1]), (day, 1_u64)));
    // `((series, block of the day at the current level), (day, sum of the offsets so far))`.
    let mut acc = days.map(|(series, day)| ((series, day), (day, 0_u64)));
    for level in 0..SHIFTS.len() - 1 {
        let parent_shift = SHIFTS[level + 1];
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
        acc = acc.join_map(offsets, move |(series, _block), &(day, sum), &offset| {
            ((series.clone(), day >> parent_shift), (day, sum + offset))
        });
        if let Some(&grandparent_shift) = SHIFTS.get(level + 2) {
            let up = grandparent_shift - parent_shift;
            level_input = prefix.flat_map(move |((series, parent), prefix)| match prefix {
                Prefix::Total(total) => Some(((series, parent >> up), (parent, total))),
                Prefix::Offset(..) => None,
            });
        }
    }
    acc.flat_map(|((series, _top), (day, sum)): ((SeriesKey, i64), (i64, u64))| {
        from_day_number(day).map(|date| ((series, date), sum + 1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Timeframe;
    use differential_dataflow::AsCollection;
    use timely::dataflow::operators::capture::{Capture, Extract};
    use timely::dataflow::operators::vec::ToStream;

    #[test]
    fn numbers_dates_across_every_level_and_era() {
        let series = SeriesKey { ticker: "T".into(), timeframe: Timeframe::Day };
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
        // Far apart (every radix level), both sides of year 1, given out of order, one twice.
        let dates = [
            ymd(2020, 1, 2),
            ymd(-500, 3, 1),
            ymd(1, 1, 1),
            ymd(0, 12, 31),
            ymd(2020, 1, 1),
            ymd(1900, 6, 1),
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
