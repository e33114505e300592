//! Gradient histograms: per input and bin, the sums of the gradients and hessians of a node's rows.

use super::binned::{BinnedMatrix, MISSING_BIN};
use super::cuts::BinCuts;
use super::parallel;
use std::ops::{Add, Sub};

/// First and second derivative of the loss for one row (`f32`, as XGBoost keeps them).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct GradPair {
    /// Gradient.
    pub g: f32,
    /// Hessian.
    pub h: f32,
}

/// A sum of gradient pairs, in `f64` so that long sums do not drift.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct GradSum {
    /// Sum of gradients.
    pub g: f64,
    /// Sum of hessians.
    pub h: f64,
}

impl GradSum {
    /// The sum over `rows`, in row order.
    pub(crate) fn of_rows(grads: &[GradPair], rows: &[u32]) -> GradSum {
        rows.iter().fold(GradSum::default(), |sum, &row| {
            let pair = grads[row as usize];
            GradSum { g: sum.g + f64::from(pair.g), h: sum.h + f64::from(pair.h) }
        })
    }
}

impl Add for GradSum {
    type Output = GradSum;
    fn add(self, other: GradSum) -> GradSum {
        GradSum { g: self.g + other.g, h: self.h + other.h }
    }
}

impl Sub for GradSum {
    type Output = GradSum;
    fn sub(self, other: GradSum) -> GradSum {
        GradSum { g: self.g - other.g, h: self.h - other.h }
    }
}

/// One node's histogram: `cuts.total_bins()` sums, input after input.
pub(crate) type Histogram = Vec<GradSum>;

/// Rows per work item. Fixed, not derived from the thread count, so every histogram is the
/// same sum in the same order whatever `threads` is.
const ROWS_PER_ITEM: usize = 8 * 1024;

/// The histograms of `nodes` (each a list of row numbers), `threads` at a time: every node's
/// rows are cut into fixed-size items, each item summed into a partial histogram, and the
/// partials of a node added up in item order.
pub(crate) fn build(
    data: &BinnedMatrix,
    cuts: &BinCuts,
    grads: &[GradPair],
    nodes: &[&[u32]],
    threads: usize,
) -> Vec<Histogram> {
    let items: Vec<(usize, &[u32])> = nodes
        .iter()
        .enumerate()
        .flat_map(|(node, rows)| rows.chunks(ROWS_PER_ITEM).map(move |chunk| (node, chunk)))
        .collect();
    let offsets: Vec<usize> = (0..cuts.n_features()).map(|f| cuts.offset(f)).collect();
    let work = nodes.iter().map(|rows| rows.len()).sum::<usize>() * data.n_features();
    let partials =
        parallel::map_indexed(parallel::threads_for(threads, items.len(), work), items.len(), |item| {
            let mut histogram = vec![GradSum::default(); cuts.total_bins()];
            accumulate(&mut histogram, data, &offsets, grads, items[item].1);
            histogram
        });
    let mut histograms: Vec<Option<Histogram>> = vec![None; nodes.len()];
    for ((node, _), partial) in items.iter().zip(partials) {
        match &mut histograms[*node] {
            None => histograms[*node] = Some(partial),
            Some(sum) => sum.iter_mut().zip(&partial).for_each(|(s, p)| *s = *s + *p),
        }
    }
    // A node without rows gets an all-zero histogram.
    histograms.into_iter().map(|h| h.unwrap_or_else(|| vec![GradSum::default(); cuts.total_bins()])).collect()
}

/// Adds the gradient pairs of `rows` into `histogram`.
fn accumulate(
    histogram: &mut [GradSum],
    data: &BinnedMatrix,
    offsets: &[usize],
    grads: &[GradPair],
    rows: &[u32],
) {
    for (i, &row) in rows.iter().enumerate() {
        // A node's rows are scattered over the table below the root: fetch the ones a few
        // iterations ahead so their cache misses overlap with this row's additions.
        if let Some(&ahead) = rows.get(i + PREFETCH_DISTANCE) {
            prefetch(data.row(ahead as usize));
            prefetch(&grads[ahead as usize..=ahead as usize]);
        }
        let pair = grads[row as usize];
        let (g, h) = (f64::from(pair.g), f64::from(pair.h));
        for (&bin, &offset) in data.row(row as usize).iter().zip(offsets) {
            if bin != MISSING_BIN {
                let cell = &mut histogram[offset + usize::from(bin)];
                cell.g += g;
                cell.h += h;
            }
        }
    }
}

/// How many rows ahead [`accumulate`] prefetches.
pub(crate) const PREFETCH_DISTANCE: usize = 16;

/// Hints the CPU to start loading `values` into the cache; only a hint, it changes no result.
#[inline(always)]
#[allow(unsafe_code)]
pub(crate) fn prefetch<T>(values: &[T]) {
    // SAFETY: SSE is part of every x86_64 target, and a prefetch never faults nor writes; the
    // pointer comes from a live slice anyway.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(values.as_ptr().cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = values;
}

/// The histogram of a node's sibling: parent minus the node (the subtraction trick, which
/// saves building the larger child).
pub(crate) fn subtract(parent: &[GradSum], child: &[GradSum]) -> Histogram {
    parent.iter().zip(child).map(|(p, c)| *p - *c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::FeatureMatrix;

    #[test]
    fn histograms_sum_each_rows_pair_into_its_bin_and_skip_missing() {
        let matrix =
            FeatureMatrix::from_values(2, vec![1.0, f32::NAN, 2.0, 10.0, 1.0, 20.0]).expect("2 inputs");
        let cuts = BinCuts::from_matrix(&matrix, 256, 1);
        let data = BinnedMatrix::new(&matrix, &cuts, 1);
        let grads = [GradPair { g: 0.5, h: 1.0 }, GradPair { g: -1.0, h: 1.0 }, GradPair { g: 2.0, h: 1.0 }];
        let all: Vec<u32> = vec![0, 1, 2];
        let histograms = build(&data, &cuts, &grads, &[&all, &all[1..]], 2);
        let root = &histograms[0];
        // Input 0: bin of 1.0 has rows 0 and 2, bin of 2.0 has row 1.
        assert_eq!(root[0], GradSum { g: 2.5, h: 2.0 });
        assert_eq!(root[1], GradSum { g: -1.0, h: 1.0 });
        // Input 1: row 0 is missing.
        let offset = cuts.offset(1);
        assert_eq!(root[offset], GradSum { g: -1.0, h: 1.0 });
        assert_eq!(root[offset + 1], GradSum { g: 2.0, h: 1.0 });
        let sibling = subtract(root, &histograms[1]);
        assert_eq!(sibling[0], GradSum { g: 0.5, h: 1.0 });
    }
}
