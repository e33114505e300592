//! Cut points: each input quantised once into at most `max_bin` bins, from the training rows.

use super::matrix::FeatureMatrix;
use super::parallel;
use super::quantile::{Sketch, prune};
use serde::{Deserialize, Serialize};

/// Summary entries kept per bin before the final pruning (XGBoost's sketch factor).
const SKETCH_FACTOR: usize = 8;

/// The bin boundaries of every input. Bin `b` of input `f` holds the values `v` with
/// `cut[b-1] <= v < cut[b]`; the last cut lies above the largest training value, and values
/// beyond it (seen only at prediction time) fall in the last bin. Missing values have no bin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BinCuts {
    /// Start of each input's cuts in `values`; one more entry than there are inputs.
    ptrs: Vec<u32>,
    /// Upper bounds of the bins, ascending within each input.
    values: Vec<f32>,
    /// Per input, a value below every training value: the threshold that sends all present
    /// values right (and only missing ones left).
    min_values: Vec<f32>,
}

impl BinCuts {
    /// Cut points of every column of `matrix` (missing values ignored), `threads` at a time.
    pub fn from_matrix(matrix: &FeatureMatrix, max_bin: usize, threads: usize) -> BinCuts {
        let n_features = matrix.n_features();
        let work = matrix.values().len();
        let per_feature =
            parallel::map_indexed(parallel::threads_for(threads, n_features, work), n_features, |feature| {
                let column =
                    || (0..matrix.n_rows()).map(|row| matrix.row(row)[feature]).filter(|v| v.is_finite());
                feature_cuts(column(), column().count(), max_bin)
            });
        let mut cuts = BinCuts { ptrs: vec![0], values: Vec::new(), min_values: Vec::new() };
        for (values, min_value) in per_feature {
            cuts.values.extend(values);
            cuts.ptrs.push(cuts.values.len() as u32);
            cuts.min_values.push(min_value);
        }
        cuts
    }

    /// Number of inputs.
    pub fn n_features(&self) -> usize {
        self.min_values.len()
    }

    /// Bins of all inputs together: the length of a histogram.
    pub fn total_bins(&self) -> usize {
        self.values.len()
    }

    /// Where input `feature`'s bins start in a histogram.
    pub fn offset(&self, feature: usize) -> usize {
        self.ptrs[feature] as usize
    }

    /// Number of bins of input `feature`.
    pub fn n_bins(&self, feature: usize) -> usize {
        (self.ptrs[feature + 1] - self.ptrs[feature]) as usize
    }

    /// The upper bounds of input `feature`'s bins.
    pub fn feature_cuts(&self, feature: usize) -> &[f32] {
        &self.values[self.offset(feature)..self.ptrs[feature + 1] as usize]
    }

    /// A value below every training value of `feature`.
    pub fn min_value(&self, feature: usize) -> f32 {
        self.min_values[feature]
    }

    /// The bin of a present (finite) value: the first bin whose upper bound exceeds it.
    pub fn bin_of(&self, feature: usize, value: f32) -> u16 {
        let cuts = self.feature_cuts(feature);
        let bin = cuts.partition_point(|&cut| cut <= value);
        bin.min(cuts.len() - 1) as u16
    }

    /// Threshold of a split whose right side starts at `right_start`: rows with `value <
    /// threshold` go left.
    pub fn threshold(&self, feature: usize, right_start: usize) -> f32 {
        if right_start == 0 { self.min_value(feature) } else { self.feature_cuts(feature)[right_start - 1] }
    }
}

/// Cut points and the below-everything value of one column, from its `n` present values in row
/// order.
fn feature_cuts(present: impl Iterator<Item = f32>, n: usize, max_bin: usize) -> (Vec<f32>, f32) {
    if n == 0 {
        // An input never seen: one bin that no row uses.
        let min_value = 1e-5_f32;
        return (vec![min_value + (min_value.abs() + 1e-5)], min_value);
    }
    let eps = 1.0 / f64::from(max_bin as f32 * SKETCH_FACTOR as f32);
    let mut sketch = Sketch::new(n, eps);
    present.for_each(|value| sketch.push(value));
    // Then the prunings XGBoost applies after sketching: to the size workers exchange, then to
    // the final `max_bin + 1` entries.
    let summary = sketch.summary();
    let kept = n.min(max_bin * SKETCH_FACTOR);
    let summary = prune(&summary, kept);
    let bins = kept.min(max_bin);
    let summary = prune(&summary, bins + 1);
    let first = summary[0].value;
    let min_value = first - first.abs() - 1e-5;
    // The first entry is the minimum, the lower bound of bin 0, so cuts start at the second.
    let mut cuts: Vec<f32> = Vec::with_capacity(bins);
    for entry in summary.iter().take(bins).skip(1) {
        if cuts.last().is_none_or(|&last| entry.value > last) {
            cuts.push(entry.value);
        }
    }
    let largest = summary[summary.len() - 1].value;
    cuts.push(largest + (largest.abs() + 1e-5));
    (cuts, min_value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_column(values: &[f32]) -> FeatureMatrix {
        FeatureMatrix::from_values(1, values.to_vec()).expect("one column")
    }

    #[test]
    fn few_distinct_values_get_one_bin_each() {
        let cuts = BinCuts::from_matrix(&one_column(&[3.0, 1.0, 2.0, 2.0, f32::NAN, 1.0]), 256, 1);
        assert_eq!(cuts.feature_cuts(0), &[2.0, 3.0, 3.0 + (3.0 + 1e-5)]);
        assert_eq!(cuts.bin_of(0, 1.0), 0);
        assert_eq!(cuts.bin_of(0, 2.0), 1);
        assert_eq!(cuts.bin_of(0, 3.0), 2);
        // Beyond the training range: the last bin.
        assert_eq!(cuts.bin_of(0, 100.0), 2);
        assert_eq!(cuts.bin_of(0, -100.0), 0);
        assert!(cuts.min_value(0) < 1.0);
        assert_eq!(cuts.threshold(0, 1), 2.0);
    }

    #[test]
    fn many_distinct_values_are_capped_at_max_bin() {
        let values: Vec<f32> = (0..10_000).map(|i| (i as f32 * 0.37).sin()).collect();
        let cuts = BinCuts::from_matrix(&one_column(&values), 64, 2);
        assert_eq!(cuts.n_bins(0), 64);
        let column = cuts.feature_cuts(0);
        assert!(column.windows(2).all(|w| w[0] < w[1]));
        // Bins hold roughly equal shares of the rows.
        let mut counts = vec![0_usize; 64];
        for &v in &values {
            counts[usize::from(cuts.bin_of(0, v))] += 1;
        }
        assert!(counts.iter().all(|&c| (100..=260).contains(&c)), "{counts:?}");
    }

    #[test]
    fn an_all_missing_column_has_one_unused_bin() {
        let cuts = BinCuts::from_matrix(&one_column(&[f32::NAN, f32::NAN]), 256, 1);
        assert_eq!(cuts.n_bins(0), 1);
    }
}
