//! Row partitioning: after a level's splits, each node's rows are divided between its children.

use super::binned::{BinnedMatrix, MISSING_BIN};
use super::histogram::{PREFETCH_DISTANCE, prefetch};
use super::parallel;
use std::ops::Range;

/// Rows per work item (fixed, so results never depend on the thread count).
const ROWS_PER_ITEM: usize = 16 * 1024;

/// A split as training applies it: on bin numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct SplitRule {
    /// The input split on.
    pub feature: usize,
    /// The first bin that goes right.
    pub right_start: usize,
    /// Where a missing input goes.
    pub default_left: bool,
}

impl SplitRule {
    /// Whether a row with these bins goes to the left child.
    pub(crate) fn goes_left(&self, bins: &[u16]) -> bool {
        self.bin_goes_left(bins[self.feature])
    }

    /// Whether a row whose split input has `bin` goes to the left child.
    pub(crate) fn bin_goes_left(&self, bin: u16) -> bool {
        // `MISSING_BIN` is above every real bin, so it only goes left by default; written
        // without a branch because which way a row goes is a coin toss the predictor loses.
        (usize::from(bin) < self.right_start) | ((bin == MISSING_BIN) & self.default_left)
    }
}

/// Reorders `rows[range]` of every split so that the rows going left come first, each side
/// keeping its order (stable, so histogram sums stay in a fixed order). Returns how many rows
/// of each split went left.
pub(crate) fn partition(
    rows: &mut [u32],
    splits: &[(Range<usize>, SplitRule)],
    data: &BinnedMatrix,
    threads: usize,
) -> Vec<usize> {
    let items: Vec<(usize, Range<usize>)> = splits
        .iter()
        .enumerate()
        .flat_map(|(split, (range, _))| {
            range
                .clone()
                .step_by(ROWS_PER_ITEM)
                .map(move |start| (split, start..(start + ROWS_PER_ITEM).min(range.end)))
        })
        .collect();
    let work: usize = splits.iter().map(|(range, _)| range.len()).sum();
    let shared: &[u32] = rows;
    // Each item writes its left rows from the front of one buffer and its right rows from the
    // back (so in reverse), and reports how many went left.
    let sides =
        parallel::map_indexed(parallel::threads_for(threads, items.len(), work), items.len(), |item| {
            let (split, range) = &items[item];
            let rule = splits[*split].1;
            let column = data.column(rule.feature);
            let mut sorted = vec![0_u32; range.len()];
            let (mut front, mut back) = (0, range.len());
            // Branch-free: each row is written to both ends and only the side it belongs to
            // advances; the other write is overwritten later (back > front until the end).
            let mine = &shared[range.clone()];
            for (i, &row) in mine.iter().enumerate() {
                if let Some(&ahead) = mine.get(i + PREFETCH_DISTANCE) {
                    prefetch(&column[ahead as usize..=ahead as usize]);
                }
                let left = rule.bin_goes_left(column[row as usize]);
                sorted[front] = row;
                sorted[back - 1] = row;
                front += usize::from(left);
                back -= usize::from(!left);
            }
            (sorted, front)
        });
    let mut lefts = vec![0; splits.len()];
    let mut item = 0;
    for (split, (range, _)) in splits.iter().enumerate() {
        let mine = items[item..].iter().take_while(|(s, _)| *s == split).count();
        let chunks = &sides[item..item + mine];
        item += mine;
        let mut at = range.start;
        for (sorted, left) in chunks {
            rows[at..at + left].copy_from_slice(&sorted[..*left]);
            at += left;
        }
        for (sorted, left) in chunks {
            for (slot, &row) in rows[at..].iter_mut().zip(sorted[*left..].iter().rev()) {
                *slot = row;
            }
            at += sorted.len() - left;
        }
        lefts[split] = chunks.iter().map(|(_, left)| left).sum();
    }
    lefts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cuts::BinCuts;
    use crate::matrix::FeatureMatrix;

    #[test]
    fn rows_are_split_stably_and_missing_ones_follow_the_default() {
        let values = vec![5.0, 1.0, f32::NAN, 4.0, 2.0, 3.0];
        let matrix = FeatureMatrix::from_values(1, values).expect("one input");
        let cuts = BinCuts::from_matrix(&matrix, 256, 1);
        let data = BinnedMatrix::new(&matrix, &cuts, 1);
        // Bins: 1.0→0, 2.0→1, 3.0→2, 4.0→3, 5.0→4; right from bin 2 (value 3.0) on.
        let mut rows: Vec<u32> = vec![9, 0, 1, 2, 3, 4, 5];
        let rule = SplitRule { feature: 0, right_start: 2, default_left: true };
        let lefts = partition(&mut rows, &[(1..7, rule)], &data, 2);
        assert_eq!(lefts, vec![3]);
        assert_eq!(rows, vec![9, 1, 2, 4, 0, 3, 5]);
    }

    #[test]
    fn a_large_partition_on_the_second_input_matches_a_naive_stable_split() {
        // Three work items' worth of rows, every fifth value of input 1 missing.
        let n = 2 * ROWS_PER_ITEM + 1000;
        let values: Vec<f32> = (0..n)
            .flat_map(|i| [i as f32, if i % 5 == 0 { f32::NAN } else { ((i * 7919) % 1000) as f32 }])
            .collect();
        let matrix = FeatureMatrix::from_values(2, values).expect("two inputs");
        let cuts = BinCuts::from_matrix(&matrix, 256, 1);
        let data = BinnedMatrix::new(&matrix, &cuts, 1);
        for default_left in [false, true] {
            let rule = SplitRule { feature: 1, right_start: 100, default_left };
            // Every third row, as a node's rows are below the root.
            let node: Vec<u32> = (0..n as u32).step_by(3).collect();
            let (left, right): (Vec<u32>, Vec<u32>) =
                node.iter().partition(|&&row| match data.row(row as usize)[1] {
                    MISSING_BIN => default_left,
                    bin => bin < 100,
                });
            let mut rows = node.clone();
            let lefts = partition(&mut rows, &[(0..node.len(), rule)], &data, 2);
            assert_eq!(lefts, vec![left.len()]);
            assert_eq!(rows, [left, right].concat(), "default_left = {default_left}");
        }
    }
}
