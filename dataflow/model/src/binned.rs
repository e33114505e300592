//! The quantised training table: every input replaced by its bin number.

use super::cuts::BinCuts;
use super::matrix::FeatureMatrix;
use super::parallel;

/// Bin number of a missing input.
pub(crate) const MISSING_BIN: u16 = u16::MAX;

/// Rows per binning work item.
const ROWS_PER_ITEM: usize = 16 * 1024;

/// Bin numbers (`u16`, [`MISSING_BIN`] for a missing input), two bytes per input instead of
/// four, kept twice: row-major for histogram building, which reads whole rows, and column-major
/// for partitioning, which reads one input of every row of a node (one cache line then serves
/// 32 rows instead of 3, and partitioning was memory-bound).
#[derive(Clone, Debug)]
pub(crate) struct BinnedMatrix {
    n_features: usize,
    bins: Vec<u16>,
    columns: Vec<u16>,
}

impl BinnedMatrix {
    /// Quantises `matrix` with `cuts`, `threads` at a time.
    pub(crate) fn new(matrix: &FeatureMatrix, cuts: &BinCuts, threads: usize) -> Self {
        let n_features = matrix.n_features();
        let n_rows = matrix.n_rows();
        let items = n_rows.div_ceil(ROWS_PER_ITEM);
        let chunks = parallel::map_indexed(
            parallel::threads_for(threads, items, matrix.values().len()),
            items,
            |item| {
                let rows = item * ROWS_PER_ITEM..((item + 1) * ROWS_PER_ITEM).min(n_rows);
                let mut bins = Vec::with_capacity(rows.len() * n_features);
                for row in rows {
                    for (feature, &value) in matrix.row(row).iter().enumerate() {
                        bins.push(if value.is_finite() { cuts.bin_of(feature, value) } else { MISSING_BIN });
                    }
                }
                bins
            },
        );
        let bins = chunks.concat();
        let mut columns = vec![0; bins.len()];
        for (row, values) in bins.chunks_exact(n_features.max(1)).enumerate() {
            for (feature, &bin) in values.iter().enumerate() {
                columns[feature * n_rows + row] = bin;
            }
        }
        BinnedMatrix { n_features, bins, columns }
    }

    /// Inputs per row.
    pub(crate) fn n_features(&self) -> usize {
        self.n_features
    }

    /// Every row's bins, row after row.
    pub(crate) fn all_bins(&self) -> &[u16] {
        &self.bins
    }

    /// One input's bins, row after row.
    pub(crate) fn column(&self, feature: usize) -> &[u16] {
        let n_rows = self.columns.len() / self.n_features.max(1);
        &self.columns[feature * n_rows..(feature + 1) * n_rows]
    }

    /// One row's bins.
    pub(crate) fn row(&self, row: usize) -> &[u16] {
        &self.bins[row * self.n_features..(row + 1) * self.n_features]
    }
}
