//! One tree on the device, depth-wise, step for step as the CPU's `model::grow`: histograms
//! (the smaller child built, its sibling by subtraction), split search, stable partitioning.
//! The host keeps only the tree and each open node's row range and sums.

use super::error::CudaError;
use super::executor::KernelExecutor;
use super::histograms::{build_histograms, children_histograms, sum_gradients};
use super::partition::partition;
use super::scratch::Scratch;
use super::splits::best_splits;
use super::train::DeviceData;
use crate::cuts::BinCuts;
use crate::grow::TreeNode;
use crate::histogram::GradSum;
use crate::partition::SplitRule;
use crate::split::{NodeStats, Penalties, SplitCandidate};

/// What growing one tree needs besides the device data.
pub(super) struct TreeSettings<'a> {
    /// Cut points (thresholds of the chosen splits).
    pub cuts: &'a BinCuts,
    /// Inputs this tree may split on, ascending.
    pub features: &'a [usize],
    /// Regularisation.
    pub penalties: Penalties,
    /// Shrinkage of leaf values.
    pub learning_rate: f32,
    /// Depth limit.
    pub max_depth: u32,
    /// Rows at the start of `DeviceData::rows` that this tree trains on.
    pub n_rows_in_tree: usize,
}

/// A node of the level being split (its histogram has its position in the level).
struct OpenNode {
    node: usize,
    start: usize,
    count: usize,
    stats: NodeStats,
}

/// Grows one tree on the rows in `device.rows`; returns its nodes (parents before children,
/// siblings side by side), as the CPU's `GrownTree::nodes`.
pub(super) fn grow_tree(
    executor: &mut dyn KernelExecutor,
    device: &DeviceData,
    scratch: &mut Scratch,
    settings: &TreeSettings,
) -> Result<Vec<TreeNode>, CudaError> {
    let penalties = &settings.penalties;
    let stats_of = |sum: GradSum| NodeStats { sum, score: penalties.score(sum) };
    let leaf_of = |sum: GradSum| TreeNode::leaf(sum, penalties, settings.learning_rate);
    let root_sum = sum_gradients(executor, device, scratch, settings.n_rows_in_tree)?;
    let mut nodes = vec![leaf_of(root_sum)];
    let mut level =
        vec![OpenNode { node: 0, start: 0, count: settings.n_rows_in_tree, stats: stats_of(root_sum) }];
    // Two histogram buffers: the level being split and the next one.
    let (mut parents, mut children) = ("histograms_a", "histograms_b");
    let histogram_bytes = device.total_bins as usize * 2 * 8;
    let buffer = scratch.buffer(executor, parents, histogram_bytes)?;
    executor.zero(buffer)?;
    build_histograms(executor, device, scratch, &[(0, settings.n_rows_in_tree, 0)], buffer)?;
    let mut depth = 0;
    while !level.is_empty() && depth < settings.max_depth {
        let parent_histograms = scratch.buffer(executor, parents, level.len() * histogram_bytes)?;
        let stats: Vec<NodeStats> = level.iter().map(|open| open.stats).collect();
        let candidates = best_splits(executor, device, scratch, settings, &stats, parent_histograms)?;
        let splitting: Vec<(usize, SplitCandidate)> = candidates
            .into_iter()
            .enumerate()
            .filter(|(_, candidate)| candidate.worth_making(penalties, depth, settings.max_depth))
            .collect();
        if splitting.is_empty() {
            break;
        }
        let rules: Vec<(usize, usize, SplitRule)> = splitting
            .iter()
            .map(|(index, candidate)| (level[*index].start, level[*index].count, rule_of(candidate)))
            .collect();
        let lefts = partition(executor, device, scratch, &rules)?;
        let mut next_level = Vec::with_capacity(2 * splitting.len());
        for ((index, candidate), &left_count) in splitting.iter().zip(&lefts) {
            let open = &level[*index];
            if left_count > open.count {
                return Err(CudaError::BadResult(format!("{left_count} of {} rows went left", open.count)));
            }
            let left = nodes.len();
            nodes.push(leaf_of(candidate.left));
            nodes.push(leaf_of(candidate.right));
            nodes[open.node] = nodes[open.node].split(candidate, left);
            next_level.push(OpenNode {
                node: left,
                start: open.start,
                count: left_count,
                stats: stats_of(candidate.left),
            });
            next_level.push(OpenNode {
                node: left + 1,
                start: open.start + left_count,
                count: open.count - left_count,
                stats: stats_of(candidate.right),
            });
        }
        depth += 1;
        if depth < settings.max_depth {
            let ranges: Vec<(usize, usize)> =
                next_level.iter().map(|open| (open.start, open.count)).collect();
            let child_histograms = scratch.buffer(executor, children, next_level.len() * histogram_bytes)?;
            let parent_histograms = scratch.buffer(executor, parents, level.len() * histogram_bytes)?;
            children_histograms(
                executor,
                device,
                scratch,
                &splitting,
                &ranges,
                parent_histograms,
                child_histograms,
            )?;
            std::mem::swap(&mut parents, &mut children);
        }
        level = next_level;
    }
    Ok(nodes)
}

fn rule_of(candidate: &SplitCandidate) -> SplitRule {
    SplitRule {
        feature: candidate.feature,
        right_start: candidate.right_start,
        default_left: candidate.default_left,
    }
}
