//! Growing one tree depth-wise: a level at a time, every node of the level split together.

use super::binned::BinnedMatrix;
use super::cuts::BinCuts;
use super::forest::FlatNode;
use super::histogram::{self, GradPair, GradSum, Histogram};
use super::partition::{self, SplitRule};
use super::split::{self, NodeStats, Penalties, SplitCandidate};
use std::ops::Range;

/// Everything growing a tree reads.
pub(crate) struct GrowInputs<'a> {
    /// The quantised training rows.
    pub data: &'a BinnedMatrix,
    /// Their cut points.
    pub cuts: &'a BinCuts,
    /// Gradient pair of every training row.
    pub grads: &'a [GradPair],
    /// Inputs this tree may split on.
    pub features: &'a [usize],
    /// Regularisation.
    pub penalties: Penalties,
    /// Shrinkage of leaf values.
    pub learning_rate: f32,
    /// Depth limit.
    pub max_depth: u32,
    /// Threads for histograms, split search and partitioning.
    pub threads: usize,
}

/// A node as training builds it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TreeNode {
    /// The split, and its threshold on raw values; `None` for a leaf.
    pub split: Option<(SplitRule, f32)>,
    /// Index of the left child (the right child follows it).
    pub left: usize,
    /// Output of a leaf (already multiplied by the learning rate).
    pub value: f32,
    /// Loss change of the split (0 for a leaf).
    pub gain: f32,
    /// Hessian sum of the rows that reached the node.
    pub cover: f32,
}

impl TreeNode {
    /// A leaf for rows of gradient sums `sum`.
    pub(crate) fn leaf(sum: GradSum, penalties: &Penalties, learning_rate: f32) -> Self {
        let value = penalties.leaf_weight(sum) * learning_rate;
        TreeNode { split: None, left: 0, value, gain: 0.0, cover: sum.h as f32 }
    }

    /// This node (a leaf so far) split by `candidate`, its children from `left` on.
    pub(crate) fn split(self, candidate: &SplitCandidate, left: usize) -> Self {
        let split = Some((rule_of(candidate), candidate.threshold));
        TreeNode { split, left, value: 0.0, gain: candidate.loss_change, cover: self.cover }
    }

    /// The node in the forest's format.
    pub(crate) fn to_flat(self) -> FlatNode {
        match self.split {
            None => FlatNode::leaf(self.value, self.cover),
            Some((rule, threshold)) => FlatNode {
                feature: rule.feature as u32,
                value: threshold,
                left: self.left as u32,
                default_left: rule.default_left,
                gain: self.gain,
                cover: self.cover,
            },
        }
    }
}

/// A grown tree and where its training rows ended up.
pub(crate) struct GrownTree {
    /// Nodes, parents before children, the two children of a node next to each other.
    pub nodes: Vec<TreeNode>,
    /// Every leaf with the range of `rows` it holds.
    pub leaves: Vec<(usize, Range<usize>)>,
    /// The training rows, grouped by leaf.
    pub rows: Vec<u32>,
}

impl GrownTree {
    /// The leaf output for a row's bins (for rows the tree did not train on).
    pub(crate) fn leaf_value(&self, bins: &[u16]) -> f32 {
        let mut index = 0;
        while let Some((rule, _)) = self.nodes[index].split {
            index = self.nodes[index].left + usize::from(!rule.goes_left(bins));
        }
        self.nodes[index].value
    }
}

/// A node of the level being split.
struct OpenNode {
    node: usize,
    rows: Range<usize>,
    stats: NodeStats,
}

/// Grows one tree on `rows` (row numbers into `inputs.data`).
pub(crate) fn grow(inputs: &GrowInputs, mut rows: Vec<u32>) -> GrownTree {
    let penalties = &inputs.penalties;
    let stats_of = |sum: GradSum| NodeStats { sum, score: penalties.score(sum) };
    let leaf_of = |sum: GradSum| TreeNode::leaf(sum, penalties, inputs.learning_rate);
    let root_sum = GradSum::of_rows(inputs.grads, &rows);
    let mut nodes = vec![leaf_of(root_sum)];
    let mut leaves = Vec::new();
    let mut level = vec![OpenNode { node: 0, rows: 0..rows.len(), stats: stats_of(root_sum) }];
    let mut histograms =
        histogram::build(inputs.data, inputs.cuts, inputs.grads, &[rows.as_slice()], inputs.threads);
    let mut depth = 0;
    while !level.is_empty() {
        if depth == inputs.max_depth {
            leaves.extend(level.into_iter().map(|open| (open.node, open.rows)));
            break;
        }
        let candidates = best_splits(inputs, &level, &histograms);
        let (splitting, finished): (Vec<_>, Vec<_>) = level
            .into_iter()
            .zip(histograms)
            .zip(candidates)
            .partition(|((_, _), candidate)| candidate.worth_making(penalties, depth, inputs.max_depth));
        leaves.extend(finished.into_iter().map(|((open, _), _)| (open.node, open.rows)));
        if splitting.is_empty() {
            break;
        }
        let rules: Vec<(Range<usize>, SplitRule)> =
            splitting.iter().map(|((open, _), candidate)| (open.rows.clone(), rule_of(candidate))).collect();
        let lefts = partition::partition(&mut rows, &rules, inputs.data, inputs.threads);
        let mut next_level = Vec::with_capacity(2 * splitting.len());
        for (((open, _), candidate), left_count) in splitting.iter().zip(&lefts) {
            let left = nodes.len();
            nodes.push(leaf_of(candidate.left));
            nodes.push(leaf_of(candidate.right));
            nodes[open.node] = nodes[open.node].split(candidate, left);
            let middle = open.rows.start + left_count;
            next_level.push(OpenNode {
                node: left,
                rows: open.rows.start..middle,
                stats: stats_of(candidate.left),
            });
            next_level.push(OpenNode {
                node: left + 1,
                rows: middle..open.rows.end,
                stats: stats_of(candidate.right),
            });
        }
        depth += 1;
        histograms = if depth < inputs.max_depth {
            children_histograms(inputs, &rows, &splitting, &next_level)
        } else {
            Vec::new()
        };
        level = next_level;
    }
    GrownTree { nodes, leaves, rows }
}

pub(crate) fn rule_of(candidate: &SplitCandidate) -> SplitRule {
    SplitRule {
        feature: candidate.feature,
        right_start: candidate.right_start,
        default_left: candidate.default_left,
    }
}

fn best_splits(inputs: &GrowInputs, level: &[OpenNode], histograms: &[Histogram]) -> Vec<SplitCandidate> {
    let histograms: Vec<&[GradSum]> = histograms.iter().map(Vec::as_slice).collect();
    let stats: Vec<NodeStats> = level.iter().map(|open| open.stats).collect();
    split::best_splits(&histograms, &stats, inputs.cuts, inputs.features, &inputs.penalties, inputs.threads)
}

/// Histograms of the children of the split nodes: the child with the smaller hessian sum (the
/// left one on a tie, as in XGBoost) is built from its rows, its sibling is the parent minus it.
fn children_histograms(
    inputs: &GrowInputs,
    rows: &[u32],
    splitting: &[((OpenNode, Histogram), SplitCandidate)],
    children: &[OpenNode],
) -> Vec<Histogram> {
    let build_left: Vec<bool> = splitting.iter().map(|(_, c)| c.right.h >= c.left.h).collect();
    let to_build: Vec<&[u32]> = build_left
        .iter()
        .enumerate()
        .map(|(i, &left)| &rows[children[2 * i + usize::from(!left)].rows.clone()])
        .collect();
    let built = histogram::build(inputs.data, inputs.cuts, inputs.grads, &to_build, inputs.threads);
    let mut out = Vec::with_capacity(children.len());
    for (((_, parent), _), (built, left)) in splitting.iter().zip(built.into_iter().zip(build_left)) {
        let sibling = histogram::subtract(parent, &built);
        if left {
            out.extend([built, sibling]);
        } else {
            out.extend([sibling, built]);
        }
    }
    out
}
