//! The model's input table: rows of `f32` inputs, NaN where an input is missing.

/// A dense row-major table of model inputs. Missing inputs are NaN, never 0; any non-finite
/// value counts as missing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FeatureMatrix {
    n_features: usize,
    values: Vec<f32>,
}

impl FeatureMatrix {
    /// An empty table with `n_features` inputs per row.
    pub fn new(n_features: usize) -> Self {
        FeatureMatrix { n_features, values: Vec::new() }
    }

    /// A table from row-major values; `None` when the length is not a multiple of `n_features`.
    pub fn from_values(n_features: usize, values: Vec<f32>) -> Option<Self> {
        // Also right for 0 inputs: only an empty list is a multiple of 0.
        let fits = values.len().is_multiple_of(n_features);
        fits.then_some(FeatureMatrix { n_features, values })
    }

    /// Appends one row.
    ///
    /// # Panics
    /// When the row does not have `n_features` values (a programming error, not a data error).
    pub fn push_row(&mut self, row: &[f32]) {
        assert_eq!(row.len(), self.n_features, "row width");
        self.values.extend_from_slice(row);
    }

    /// Inputs per row.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.values.len().checked_div(self.n_features).unwrap_or(0)
    }

    /// One row's inputs.
    pub fn row(&self, index: usize) -> &[f32] {
        &self.values[index * self.n_features..(index + 1) * self.n_features]
    }

    /// The rows `range` as a table of their own.
    pub fn slice_rows(&self, range: std::ops::Range<usize>) -> FeatureMatrix {
        let values = self.values[range.start * self.n_features..range.end * self.n_features].to_vec();
        FeatureMatrix { n_features: self.n_features, values }
    }

    /// All values, row-major.
    pub fn values(&self) -> &[f32] {
        &self.values
    }
}
