//! The per-block co-group: everything known about the bars of one series in one block of
//! 2^5 = 32 days (about 22 trading days), assembled by one `reduce`.
//!
//! Keying the co-group by block rather than by day lets the same reduce do three jobs: it joins
//! each bar with its indicator values (a LEFT OUTER JOIN: a missing value is simply absent), ranks
//! the bars inside the block (the row number minus the block's offset, added later), and finds
//! each bar's label when the bar `horizon` rows later is in the same block. A group normally holds
//! one value, the block's days (each day's close and indicator values bundled, see `bundle.rs`),
//! so a change costs O(block), independent of the history, and the graph arranges each input
//! once instead of once per operator.

use super::bundle::Bundle;
use super::series_id::SeriesId;
use super::slots::IndicatorSlots;
use super::values::{Close, F64Bits, Indicator};
use chrono::{Datelike, NaiveDate};
use differential_dataflow::VecCollection;
use differential_dataflow::lattice::Lattice;
use differential_dataflow::operators::arrange::{Arranged, TraceAgent};
use differential_dataflow::trace::implementations::{ValBuilder, ValSpine};
use serde::{Deserialize, Serialize};
use timely::progress::Timestamp;

/// A block is `day >> BLOCK_SHIFT`.
pub const BLOCK_SHIFT: u32 = 5;

/// The key of everything per block: the series and the block number.
pub type BlockKey = (SeriesId, i64);

/// Days of one block, each with its bundle, sorted by day number: the graph's input value.
/// A whole block is one update, so that a change of many days (a split restates every day)
/// moves a few hundred updates through the graph's arrangement rather than thousands of
/// ~200-byte days.
pub type BlockDays = Vec<(i64, Bundle)>;

/// The day number of `date`, shifted so that every date maps into `0..2^32` (non-negative, so
/// that shifting it right groups days into blocks in date order).
pub fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - i64::from(i32::MIN)
}

/// Inverse of [`day_number`].
pub fn from_day_number(day: i64) -> Option<NaiveDate> {
    i32::try_from(day + i64::from(i32::MIN)).ok().and_then(NaiveDate::from_num_days_from_ce_opt)
}

/// One entry of a day (see [`Bundle::entries`]). A day's bar sorts before its indicator values,
/// which sort by kind.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Entry {
    /// The bar's adjusted close and factor.
    Bar(Close),
    /// One indicator value.
    Indicator(Indicator),
}

/// A bar with everything its block knows about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LocalRow {
    /// 0-based position of the bar in its block.
    pub rank: u64,
    /// Day number of the bar.
    pub day: i64,
    /// Adjusted close of the bar, with its factor.
    pub close: Close,
    /// The close `horizon` rows later, when that row is in the same block.
    pub label: Option<F64Bits>,
    /// When the label lies beyond the block: it is the close of the `tail`-th row after the
    /// block (1-based); 0 when the label is in the block.
    pub tail: u64,
    /// The indicator values of this bar; inline rather than a `Vec`, as rows are copied on every
    /// merge of the arrangement.
    pub indicators: IndicatorSlots,
}

/// What the block co-group outputs: the rows of the block's bars, without their offset, by
/// rank; only blocks with bars have one. A block's rows are one value, as its days are one
/// input value: a changed block is one retraction and one insertion, however many of its rows
/// changed, which costs the arrangement far less than a retraction and an insertion per row.
pub type Local = Vec<LocalRow>;

/// The block co-group's output, arranged by [`BlockKey`].
pub type LocalArrangement<'scope, T> = Arranged<'scope, TraceAgent<ValSpine<BlockKey, Local, T, isize>>>;

/// Groups `(block, days)` by block and outputs its [`Local`] rows.
///
/// Multiplicities are ignored (an entry whose bundles add up to a positive count is present
/// once); a second close for a day is ignored (the smallest by bit pattern wins), as is a second
/// value of one indicator kind.
pub fn block_rows<'scope, T>(
    contents: VecCollection<'scope, T, (BlockKey, BlockDays)>,
    horizon: u64,
) -> LocalArrangement<'scope, T>
where
    T: Timestamp + Lattice + Ord,
{
    let horizon = usize::try_from(horizon).unwrap_or(usize::MAX);
    contents
        .arrange_by_key_named("Arrange: block contents")
        .reduce_abelian::<_, ValBuilder<_, _, _, _>, ValSpine<_, _, _, _>, _, _>(
            "Co-group: block rows",
            move |_block, input, output| assemble(input, horizon, output),
            |vec, key, updates| {
                vec.clear();
                vec.extend(updates.drain(..).map(|(value, time, diff)| ((key.clone(), value), time, diff)));
            },
        )
}

/// The reduce logic of [`block_rows`].
fn assemble(input: &[(&BlockDays, isize)], horizon: usize, output: &mut Vec<(Local, isize)>) {
    // The common case — the block's days in one value, inserted once, a bundle per day — needs
    // no unpacking.
    let rows = match input {
        [(days, 1)] if days.windows(2).all(|pair| pair[0].0 < pair[1].0) => bundle_rows(days),
        _ => entry_rows(input),
    };
    let mut rows = rows;
    let count = rows.len();
    if count == 0 {
        return;
    }
    for rank in 0..count {
        match rank.checked_add(horizon).filter(|later| *later < count) {
            Some(later) => rows[rank].label = Some(rows[later].close.adjusted),
            None => rows[rank].tail = (rank.saturating_add(horizon) - count + 1) as u64,
        }
    }
    output.push((rows, 1));
}

/// An unlabelled row for `day`, ranked after `rows`.
fn row(rows: &[LocalRow], day: i64, close: Close, indicators: IndicatorSlots) -> LocalRow {
    LocalRow { rank: rows.len() as u64, day, close, label: None, tail: 0, indicators }
}

/// The rows of days with one bundle each, sorted by day: a row per bundle with a close.
fn bundle_rows(days: &[(i64, Bundle)]) -> Vec<LocalRow> {
    let mut rows = Vec::with_capacity(days.len());
    for (day, bundle) in days {
        if let Some(close) = bundle.close {
            rows.push(row(&rows, *day, close, bundle.indicators));
        }
    }
    rows
}

/// The rows of any input: the bundles' entries are added up, and an entry with a positive count
/// is present.
fn entry_rows(input: &[(&BlockDays, isize)]) -> Vec<LocalRow> {
    let mut entries: Vec<((i64, Entry), isize)> = input
        .iter()
        .flat_map(|(days, diff)| {
            days.iter()
                .flat_map(move |(day, bundle)| bundle.entries().map(move |entry| ((*day, entry), *diff)))
        })
        .collect();
    differential_dataflow::consolidation::consolidate(&mut entries);
    let mut rows: Vec<LocalRow> = Vec::new();
    // The day whose bar was pushed last: its indicator values follow it in the sorted entries.
    let mut open_day = None;
    for ((day, entry), diff) in entries {
        if diff <= 0 {
            continue;
        }
        match entry {
            Entry::Bar(close) if open_day != Some(day) => {
                open_day = Some(day);
                rows.push(row(&rows, day, close, IndicatorSlots::default()));
            }
            Entry::Bar(_) => {}
            Entry::Indicator(value) => {
                // Sorted: the first (smallest) value of a kind wins.
                if let Some(row) = rows.last_mut().filter(|_| open_day == Some(day)) {
                    row.indicators.insert(&value);
                }
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use pricestream_records::IndicatorValue;

    fn ema(x: f64) -> Indicator {
        Indicator::from(&IndicatorValue::Ema { ema_time_period: 3, ema: x })
    }

    fn rsi(x: f64) -> Indicator {
        Indicator::from(&IndicatorValue::Rsi { time_period: 3, rsi: x })
    }

    fn bar(x: f64) -> Bundle {
        Bundle { close: Some(x.into()), ..Bundle::default() }
    }

    fn ind(value: Indicator) -> Bundle {
        let mut bundle = Bundle::default();
        bundle.indicators.insert(&value);
        bundle
    }

    /// The entries of `a` and `b` in one bundle.
    fn both(a: Bundle, b: Bundle) -> Bundle {
        let mut bundle = Bundle { close: a.close.or(b.close), ..a };
        b.entries().for_each(|entry| {
            if let Entry::Indicator(value) = entry {
                bundle.indicators.insert(&value);
            }
        });
        bundle
    }

    /// The reduce's view of `values`, each a block value of one day: sorted, as differential
    /// hands them over.
    fn run(values: &mut [((i64, Bundle), isize)], horizon: usize) -> Vec<(Local, isize)> {
        let mut blocks: Vec<(BlockDays, isize)> = values.iter().map(|(day, d)| (vec![*day], *d)).collect();
        run_blocks(&mut blocks, horizon)
    }

    /// The reduce's view of block values: sorted, as differential hands them over.
    fn run_blocks(values: &mut [(BlockDays, isize)], horizon: usize) -> Vec<(Local, isize)> {
        values.sort();
        let input: Vec<(&BlockDays, isize)> = values.iter().map(|(v, d)| (v, *d)).collect();
        let mut output = Vec::new();
        assemble(&input, horizon, &mut output);
        output
    }

    fn row(rank: u64, day: i64, close: f64, label: Option<f64>, tail: u64, values: &[Indicator]) -> LocalRow {
        let mut indicators = IndicatorSlots::default();
        values.iter().for_each(|value| _ = indicators.insert(value));
        let label = label.map(F64Bits::new);
        LocalRow { rank, day, close: close.into(), label, tail, indicators }
    }

    #[test]
    fn assembles_rows_with_in_block_labels_and_tails() {
        // Day 1: a bar, two EMAs (the smaller wins), an RSI. Day 2: an EMA without a bar.
        // Day 3: a bar and a retracted second bar. Day 4: two bars (the smaller wins).
        let mut values = [
            ((1, bar(10.0)), 1),
            ((1, ind(ema(1.0))), 1),
            ((1, ind(ema(2.0))), 1),
            ((1, ind(rsi(5.0))), 1),
            ((2, ind(ema(3.0))), 1),
            ((3, bar(12.0)), 1),
            ((3, bar(13.0)), -1),
            ((4, bar(14.0)), 1),
            ((4, bar(15.0)), 1),
        ];
        let expected = [(
            vec![
                row(0, 1, 10.0, Some(12.0), 0, &[ema(1.0), rsi(5.0)]),
                row(1, 3, 12.0, Some(14.0), 0, &[]),
                row(2, 4, 14.0, None, 1, &[]),
            ],
            1,
        )];
        assert_eq!(run(&mut values, 1), expected);
    }

    #[test]
    fn bundles_and_their_entries_give_the_same_rows() {
        let whole = both(both(bar(10.0), ind(ema(1.0))), ind(rsi(2.0)));
        let corrected = both(bar(10.0), ind(ema(1.0)));
        // One bundle per day (the common case) and the same entries spread over bundles, with a
        // correction of the RSI on day 2, both ending with the same two days.
        let mut bundled = [(vec![(1, whole), (2, both(bar(11.0), ind(rsi(3.0))))], 1)];
        let mut spread = [
            ((1, corrected), 1),
            ((1, ind(rsi(2.0))), 1),
            ((2, bar(11.0)), 1),
            ((2, ind(rsi(9.0))), 1),
            ((2, ind(rsi(9.0))), -1),
            ((2, ind(rsi(3.0))), 1),
        ];
        let expected = [(
            vec![row(0, 1, 10.0, None, 1, &[ema(1.0), rsi(2.0)]), row(1, 2, 11.0, None, 2, &[rsi(3.0)])],
            1,
        )];
        assert_eq!(run_blocks(&mut bundled, 2), expected);
        assert_eq!(run(&mut spread, 2), expected);
        assert_eq!(
            run(&mut spread[..2], 0),
            [(vec![row(0, 1, 10.0, Some(10.0), 0, &[ema(1.0), rsi(2.0)])], 1)]
        );
        // A block value listing a day twice is added up like separate values.
        let mut doubled = [(vec![(1, bar(10.0)), (1, ind(ema(1.0)))], 1)];
        assert_eq!(run_blocks(&mut doubled, 0), [(vec![row(0, 1, 10.0, Some(10.0), 0, &[ema(1.0)])], 1)]);
    }
}
