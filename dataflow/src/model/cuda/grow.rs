//! One tree on the device, depth-wise, step for step as the CPU's `model::grow`: histograms
//! (the smaller child built, its sibling by subtraction), split search, stable partitioning.
//! The host keeps only the tree and each open node's row range and sums.

use super::error::CudaError;
use super::executor::{BufferId, ExecutorExt, KernelArg, KernelExecutor, LaunchShape};
use super::kernels::Kernel;
use super::scratch::{MAX_GRID_Y, Scratch, over_items, to_u32};
use super::train::DeviceData;
use crate::model::cuts::BinCuts;
use crate::model::grow::TreeNode;
use crate::model::histogram::GradSum;
use crate::model::partition::SplitRule;
use crate::model::split::{NodeStats, Penalties, SplitCandidate};

/// Doubles per split candidate (the layout in `split.cu`).
const CANDIDATE_WORDS: usize = 8;
/// Rows each thread of a histogram launch takes on average: enough work per block to pay for
/// clearing and flushing its shared-memory histogram.
const ROWS_PER_HISTOGRAM_THREAD: usize = 16;

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

/// A node of the level being split; its histogram is the level's histogram number `index`.
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
    let leaf_of = |sum: GradSum| TreeNode {
        split: None,
        left: 0,
        value: penalties.leaf_weight(sum) * settings.learning_rate,
    };
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
        let candidates = best_splits(executor, device, scratch, settings, &level, parent_histograms)?;
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
            nodes[open.node] =
                TreeNode { split: Some((rule_of(candidate), candidate.threshold)), left, value: 0.0 };
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
            let child_histograms = scratch.buffer(executor, children, next_level.len() * histogram_bytes)?;
            let parent_histograms = scratch.buffer(executor, parents, level.len() * histogram_bytes)?;
            children_histograms(
                executor,
                device,
                scratch,
                &splitting,
                &next_level,
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

/// The f64 sums of the gradient pairs of the first `n` rows of `device.rows`.
fn sum_gradients(
    executor: &mut dyn KernelExecutor,
    device: &DeviceData,
    scratch: &mut Scratch,
    n: usize,
) -> Result<GradSum, CudaError> {
    let sums = scratch.buffer(executor, "gradient_sums", 16)?;
    executor.zero(sums)?;
    let shape = LaunchShape { shared_bytes: 16, ..over_items(executor, n) };
    executor.launch(
        Kernel::SumGradients,
        shape,
        &[
            KernelArg::Buffer(device.rows),
            KernelArg::U32(to_u32(n, "the rows of a tree")?),
            KernelArg::Buffer(device.grad),
            KernelArg::Buffer(device.hess),
            KernelArg::Buffer(sums),
        ],
    )?;
    let sums: Vec<f64> = executor.download_values(sums, 2)?;
    Ok(GradSum { g: sums[0], h: sums[1] })
}

/// Adds the histograms of `nodes` (`(first row, rows, histogram number)`) into `out`.
fn build_histograms(
    executor: &mut dyn KernelExecutor,
    device: &DeviceData,
    scratch: &mut Scratch,
    nodes: &[(usize, usize, usize)],
    out: BufferId,
) -> Result<(), CudaError> {
    let shared_bytes = device.total_bins as usize * 2 * 8;
    let (kernel, shared_bytes) = if shared_bytes <= executor.max_shared_bytes() as usize {
        (Kernel::BuildHistogramsShared, shared_bytes as u32)
    } else {
        (Kernel::BuildHistogramsGlobal, 0)
    };
    for chunk in nodes.chunks(MAX_GRID_Y) {
        let column = |pick: fn(&(usize, usize, usize)) -> usize| -> Result<Vec<u32>, CudaError> {
            chunk.iter().map(|node| to_u32(pick(node), "a row or histogram number")).collect()
        };
        let starts = scratch.upload(executor, "histogram_row_start", &column(|n| n.0)?)?;
        let counts = scratch.upload(executor, "histogram_row_count", &column(|n| n.1)?)?;
        let slots = scratch.upload(executor, "histogram_slot", &column(|n| n.2)?)?;
        let most_rows = chunk.iter().map(|n| n.1).max().unwrap_or(0);
        let block = executor.max_block_threads().max(1);
        let grid_x = over_items(executor, most_rows.div_ceil(ROWS_PER_HISTOGRAM_THREAD)).grid.0;
        let shape = LaunchShape { grid: (grid_x, chunk.len() as u32), block, shared_bytes };
        executor.launch(
            kernel,
            shape,
            &[
                KernelArg::Buffer(device.bins),
                KernelArg::U32(device.n_features),
                KernelArg::Buffer(device.feature_offsets),
                KernelArg::U32(device.total_bins),
                KernelArg::Buffer(device.grad),
                KernelArg::Buffer(device.hess),
                KernelArg::Buffer(device.rows),
                KernelArg::Buffer(starts),
                KernelArg::Buffer(counts),
                KernelArg::Buffer(slots),
                KernelArg::Buffer(out),
            ],
        )?;
    }
    Ok(())
}

/// The best split of every node of the level (histogram `i` belongs to `level[i]`).
fn best_splits(
    executor: &mut dyn KernelExecutor,
    device: &DeviceData,
    scratch: &mut Scratch,
    settings: &TreeSettings,
    level: &[OpenNode],
    histograms: BufferId,
) -> Result<Vec<SplitCandidate>, CudaError> {
    let stats: Vec<f64> = level
        .iter()
        .flat_map(|open| [open.stats.sum.g, open.stats.sum.h, f64::from(open.stats.score)])
        .collect();
    let features: Vec<u32> = settings.features.iter().map(|&f| f as u32).collect();
    let n_nodes = to_u32(level.len(), "the nodes of a level")?;
    let n_sampled = features.len() as u32;
    let node_stats = scratch.upload(executor, "node_stats", &stats)?;
    let feature_list = scratch.upload(executor, "features", &features)?;
    let pairs = level.len() * features.len();
    let per_feature = scratch.buffer(executor, "feature_candidates", pairs * CANDIDATE_WORDS * 8)?;
    let best = scratch.buffer(executor, "best_candidates", level.len() * CANDIDATE_WORDS * 8)?;
    executor.launch(
        Kernel::EvaluateSplits,
        over_items(executor, pairs),
        &[
            KernelArg::Buffer(histograms),
            KernelArg::U32(device.total_bins),
            KernelArg::Buffer(device.feature_offsets),
            KernelArg::Buffer(feature_list),
            KernelArg::U32(n_sampled),
            KernelArg::Buffer(node_stats),
            KernelArg::U32(n_nodes),
            KernelArg::F32(settings.penalties.lambda),
            KernelArg::F32(settings.penalties.min_child_weight),
            KernelArg::Buffer(per_feature),
        ],
    )?;
    executor.launch(
        Kernel::PickBestSplits,
        over_items(executor, level.len()),
        &[
            KernelArg::Buffer(per_feature),
            KernelArg::U32(n_sampled),
            KernelArg::U32(n_nodes),
            KernelArg::Buffer(best),
        ],
    )?;
    let words: Vec<f64> = executor.download_values(best, level.len() * CANDIDATE_WORDS)?;
    words.chunks_exact(CANDIDATE_WORDS).map(|words| decode_candidate(words, settings.cuts)).collect()
}

/// A candidate from its 8 doubles, checked: the device's word is not taken on trust.
fn decode_candidate(words: &[f64], cuts: &BinCuts) -> Result<SplitCandidate, CudaError> {
    let loss_change = words[0] as f32;
    if loss_change == 0.0 {
        return Ok(SplitCandidate::none());
    }
    let index = |word: f64, below: usize, what: &str| {
        if word >= 0.0 && word.fract() == 0.0 && (word as usize) < below {
            Ok(word as usize)
        } else {
            Err(CudaError::BadResult(format!("{what} {word} is not below {below}")))
        }
    };
    let feature = index(words[1], cuts.n_features(), "split input")?;
    let right_start = index(words[2], cuts.n_bins(feature) + 1, "first right bin")?;
    Ok(SplitCandidate {
        loss_change,
        feature,
        right_start,
        threshold: cuts.threshold(feature, right_start),
        default_left: words[3] != 0.0,
        left: GradSum { g: words[4], h: words[5] },
        right: GradSum { g: words[6], h: words[7] },
    })
}

/// Partitions the rows of each split (`(first row, rows, rule)`); returns how many went left.
fn partition(
    executor: &mut dyn KernelExecutor,
    device: &DeviceData,
    scratch: &mut Scratch,
    splits: &[(usize, usize, SplitRule)],
) -> Result<Vec<usize>, CudaError> {
    let column = |pick: &dyn Fn(&(usize, usize, SplitRule)) -> usize| -> Result<Vec<u32>, CudaError> {
        splits.iter().map(|split| to_u32(pick(split), "a row, input or bin number")).collect()
    };
    let starts = scratch.upload(executor, "split_row_start", &column(&|s| s.0)?)?;
    let counts = scratch.upload(executor, "split_row_count", &column(&|s| s.1)?)?;
    let features = scratch.upload(executor, "split_feature", &column(&|s| s.2.feature)?)?;
    let right_starts = scratch.upload(executor, "split_right_start", &column(&|s| s.2.right_start)?)?;
    let default_lefts =
        scratch.upload(executor, "split_default_left", &column(&|s| usize::from(s.2.default_left))?)?;
    let lefts = scratch.buffer(executor, "left_counts", splits.len() * 4)?;
    let block = executor.max_block_threads().max(1);
    // The scan array (one unsigned per thread) and the left-row total, in whole doubles.
    let shared_bytes = (block + 1).div_ceil(2) * 8;
    let shape =
        LaunchShape { grid: (to_u32(splits.len(), "the splits of a level")?, 1), block, shared_bytes };
    executor.launch(
        Kernel::PartitionRows,
        shape,
        &[
            KernelArg::Buffer(device.bins),
            KernelArg::U32(device.n_features),
            KernelArg::Buffer(device.rows),
            KernelArg::Buffer(device.rows_scratch),
            KernelArg::Buffer(starts),
            KernelArg::Buffer(counts),
            KernelArg::Buffer(features),
            KernelArg::Buffer(right_starts),
            KernelArg::Buffer(default_lefts),
            KernelArg::Buffer(lefts),
        ],
    )?;
    let lefts: Vec<u32> = executor.download_values(lefts, splits.len())?;
    Ok(lefts.into_iter().map(|n| n as usize).collect())
}

/// Histograms of the next level: for each split, the child with the smaller hessian sum (the
/// left one on a tie, as on the CPU) is built from its rows, its sibling is parent minus it.
fn children_histograms(
    executor: &mut dyn KernelExecutor,
    device: &DeviceData,
    scratch: &mut Scratch,
    splitting: &[(usize, SplitCandidate)],
    children: &[OpenNode],
    parents: BufferId,
    out: BufferId,
) -> Result<(), CudaError> {
    executor.zero(out)?;
    let mut to_build = Vec::with_capacity(splitting.len());
    let (mut parent_slots, mut built_slots, mut sibling_slots) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (parent, candidate)) in splitting.iter().enumerate() {
        let build_left = candidate.right.h >= candidate.left.h;
        let built = 2 * i + usize::from(!build_left);
        let sibling = 2 * i + usize::from(build_left);
        to_build.push((children[built].start, children[built].count, built));
        parent_slots.push(to_u32(*parent, "a histogram number")?);
        built_slots.push(to_u32(built, "a histogram number")?);
        sibling_slots.push(to_u32(sibling, "a histogram number")?);
    }
    build_histograms(executor, device, scratch, &to_build, out)?;
    let args = [
        KernelArg::Buffer(parents),
        KernelArg::Buffer(scratch.upload(executor, "parent_slots", &parent_slots)?),
        KernelArg::Buffer(out),
        KernelArg::Buffer(scratch.upload(executor, "built_slots", &built_slots)?),
        KernelArg::Buffer(scratch.upload(executor, "sibling_slots", &sibling_slots)?),
        KernelArg::U32(to_u32(splitting.len(), "the splits of a level")?),
        KernelArg::U32(device.total_bins),
    ];
    executor.launch(
        Kernel::SubtractHistograms,
        over_items(executor, splitting.len() * 2 * device.total_bins as usize),
        &args,
    )
}
