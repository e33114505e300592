//! Split search: the best threshold of a node, from its histogram.
//!
//! The arithmetic follows XGBoost 3.2's `hist` evaluator, down to its `f32` roundings, so that
//! both pick the same splits: a side's score is `G²/(H+λ)` (each term rounded to `f32`), a
//! split's loss change is `score(L) + score(R) − score(parent)` (without the ½ of the textbook
//! formula; `gamma` is compared with this value, as XGBoost does), ties go to the lower input
//! and, within an input, to the first threshold found.

use super::cuts::BinCuts;
use super::histogram::GradSum;
use super::parallel;

/// Splits that improve the loss by no more than this are not made (XGBoost's `kRtEps`).
const MIN_LOSS_CHANGE: f32 = 1e-6;

/// The regularisation that split search and leaf values need.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Penalties {
    /// L2 penalty on leaf values.
    pub lambda: f32,
    /// Minimum loss change of a split.
    pub gamma: f32,
    /// Minimum hessian sum of each child.
    pub min_child_weight: f32,
}

impl Penalties {
    /// Score of a node with these sums: `G²/(H+λ)`, in XGBoost's `f32` rounding.
    pub(crate) fn score(&self, sum: GradSum) -> f32 {
        if sum.h <= 0.0 { 0.0 } else { ((sum.g * sum.g) as f32) / ((sum.h + f64::from(self.lambda)) as f32) }
    }

    /// Optimal leaf value `−G/(H+λ)` (before the learning rate); 0 for a node too light to use.
    pub(crate) fn leaf_weight(&self, sum: GradSum) -> f32 {
        if sum.h < f64::from(self.min_child_weight) || sum.h <= 0.0 {
            0.0
        } else {
            (-sum.g / (sum.h + f64::from(self.lambda))) as f32
        }
    }

    fn children_heavy_enough(&self, left: GradSum, right: GradSum) -> bool {
        let min = f64::from(self.min_child_weight);
        left.h >= min && right.h >= min
    }
}

/// What split search needs to know about a node.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NodeStats {
    /// Gradient sums of all its rows, missing inputs included.
    pub sum: GradSum,
    /// Its score ([`Penalties::score`] of `sum`).
    pub score: f32,
}

/// A candidate split of a node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct SplitCandidate {
    /// Loss change (larger is better; 0 means no split found).
    pub loss_change: f32,
    /// The input split on.
    pub feature: usize,
    /// The first bin that goes right; bins below go left.
    pub right_start: usize,
    /// The same rule on raw values: `value < threshold` goes left.
    pub threshold: f32,
    /// Where rows with a missing input go.
    pub default_left: bool,
    /// Gradient sums of the left child.
    pub left: GradSum,
    /// Gradient sums of the right child.
    pub right: GradSum,
}

impl SplitCandidate {
    /// No split yet.
    pub(crate) fn none() -> Self {
        SplitCandidate {
            loss_change: 0.0,
            feature: 0,
            right_start: 0,
            threshold: 0.0,
            default_left: false,
            left: GradSum::default(),
            right: GradSum::default(),
        }
    }

    /// Takes `other` if it is strictly better, or equally good on a lower input.
    pub(crate) fn update(&mut self, other: SplitCandidate) {
        let better = if !other.loss_change.is_finite() {
            false
        } else if self.feature <= other.feature {
            other.loss_change > self.loss_change
        } else {
            // A tie on a lower input replaces (both values are finite here).
            other.loss_change >= self.loss_change
        };
        if better {
            *self = other;
        }
    }

    /// Whether the tree should make this split (at a node of depth `depth`).
    pub(crate) fn worth_making(&self, penalties: &Penalties, depth: u32, max_depth: u32) -> bool {
        self.loss_change > MIN_LOSS_CHANGE
            && self.left.h != 0.0
            && self.right.h != 0.0
            && self.loss_change >= penalties.gamma
            && depth < max_depth
    }
}

/// The best split of one input: every bin boundary with missing values sent right, then, if the
/// node has missing values for this input, every boundary with them sent left.
pub(crate) fn best_split_of_feature(
    histogram: &[GradSum],
    cuts: &BinCuts,
    feature: usize,
    node: &NodeStats,
    penalties: &Penalties,
) -> SplitCandidate {
    let bins = &histogram[cuts.offset(feature)..cuts.offset(feature) + cuts.n_bins(feature)];
    // Within one input only a strictly larger loss change wins, starting from 0; the winner's
    // details are kept in locals and the candidate is built once at the end.
    let mut best_loss = 0.0_f32;
    let mut best: Option<(usize, bool, GradSum, GradSum)> = None;
    let mut consider = |left: GradSum, right: GradSum, right_start: usize, default_left: bool| {
        if penalties.children_heavy_enough(left, right) {
            let loss_change = (penalties.score(left) + penalties.score(right)) - node.score;
            if loss_change.is_finite() && loss_change > best_loss {
                best_loss = loss_change;
                best = Some((right_start, default_left, left, right));
            }
        }
    };
    // An empty bin repeats the previous boundary's split exactly (same sums, same loss), and a
    // repeat never wins (only a strictly better candidate replaces), so empty bins are skipped.
    let empty = GradSum::default();
    let mut present = GradSum::default();
    for (bin, &cell) in bins.iter().enumerate().filter(|(_, cell)| **cell != empty) {
        present = present + cell;
        consider(present, node.sum - present, bin + 1, false);
    }
    // Missing values exist only if the bins hold less hessian than the node. (XGBoost compares
    // the gradient too, so it also rescans when only rounding differs; such a rescan can only
    // flip the default direction of a split whose rows have no missing value.)
    if present.h != node.sum.h {
        let mut right = GradSum::default();
        for (bin, &cell) in bins.iter().enumerate().rev().filter(|(_, cell)| **cell != empty) {
            right = right + cell;
            consider(node.sum - right, right, bin, true);
        }
    }
    match best {
        None => SplitCandidate::none(),
        Some((right_start, default_left, left, right)) => SplitCandidate {
            loss_change: best_loss,
            feature,
            right_start,
            threshold: cuts.threshold(feature, right_start),
            default_left,
            left,
            right,
        },
    }
}

/// The best split of each node over the inputs `features`, `threads` at a time.
pub(crate) fn best_splits(
    histograms: &[&[GradSum]],
    nodes: &[NodeStats],
    cuts: &BinCuts,
    features: &[usize],
    penalties: &Penalties,
    threads: usize,
) -> Vec<SplitCandidate> {
    let items = nodes.len() * features.len();
    let per_item = parallel::map_indexed(
        parallel::threads_for(threads, items, items * cuts.total_bins() / cuts.n_features().max(1)),
        items,
        |item| {
            let (node, feature) = (item / features.len(), features[item % features.len()]);
            best_split_of_feature(histograms[node], cuts, feature, &nodes[node], penalties)
        },
    );
    per_item
        .chunks(features.len().max(1))
        .map(|per_feature| {
            let mut best = SplitCandidate::none();
            per_feature.iter().for_each(|&candidate| best.update(candidate));
            best
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::FeatureMatrix;

    const PENALTIES: Penalties = Penalties { lambda: 1.0, gamma: 0.0, min_child_weight: 1.0 };

    fn node(sum: GradSum) -> NodeStats {
        NodeStats { sum, score: PENALTIES.score(sum) }
    }

    #[test]
    fn splits_where_the_gradients_change_sign() {
        let matrix = FeatureMatrix::from_values(1, vec![1.0, 2.0, 3.0, 4.0]).expect("one input");
        let cuts = BinCuts::from_matrix(&matrix, 256, 1);
        let pair = |g| GradSum { g, h: 1.0 };
        let histogram = vec![pair(-1.0), pair(-1.0), pair(1.0), pair(1.0)];
        let total = GradSum { g: 0.0, h: 4.0 };
        let best = best_split_of_feature(&histogram, &cuts, 0, &node(total), &PENALTIES);
        assert_eq!(best.right_start, 2);
        assert_eq!(best.threshold, 3.0);
        assert!(!best.default_left);
        // Each side: G²/(H+λ) = 4/3; the parent scores 0.
        assert!((best.loss_change - 8.0 / 3.0).abs() < 1e-6);
        assert!(best.worth_making(&PENALTIES, 0, 6));
        assert!(!best.worth_making(&Penalties { gamma: 3.0, ..PENALTIES }, 0, 6));
    }

    #[test]
    fn missing_values_go_where_they_help() {
        let matrix = FeatureMatrix::from_values(1, vec![1.0, 2.0]).expect("one input");
        let cuts = BinCuts::from_matrix(&matrix, 256, 1);
        // Bins hold g = +1 (value 1) and g = -1 (value 2); three missing rows carry g = +3.
        let histogram = vec![GradSum { g: 1.0, h: 1.0 }, GradSum { g: -1.0, h: 1.0 }];
        let total = GradSum { g: 3.0, h: 5.0 };
        let best = best_split_of_feature(&histogram, &cuts, 0, &node(total), &PENALTIES);
        assert!(best.default_left, "{best:?}");
        assert_eq!(best.right_start, 1);
        assert_eq!(best.left, GradSum { g: 4.0, h: 4.0 });
    }

    #[test]
    fn ties_go_to_the_lower_input() {
        let mut best = SplitCandidate::none();
        let candidate =
            |feature, loss_change| SplitCandidate { feature, loss_change, ..SplitCandidate::none() };
        best.update(candidate(3, 2.0));
        best.update(candidate(1, 2.0));
        assert_eq!(best.feature, 1);
        best.update(candidate(2, 2.0));
        assert_eq!(best.feature, 1);
        best.update(candidate(5, 2.5));
        assert_eq!(best.feature, 5);
    }
}
