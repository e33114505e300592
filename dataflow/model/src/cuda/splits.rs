//! Split search on the device: every (node, input) pair scanned by `evaluate_splits`, the best
//! input per node picked by `pick_best_splits`; only the winners come back.

use super::error::CudaError;
use super::executor::{BufferId, ExecutorExt, KernelArg, KernelExecutor};
use super::grow::TreeSettings;
use super::kernels::Kernel;
use super::scratch::{Scratch, over_items, to_u32};
use super::train::DeviceData;
use crate::cuts::BinCuts;
use crate::histogram::GradSum;
use crate::split::{NodeStats, SplitCandidate};

/// Doubles per split candidate (the layout in `split.cu`).
const CANDIDATE_WORDS: usize = 8;

/// The best split of every node of a level (histogram `i` of `histograms` belongs to `nodes[i]`).
pub(super) fn best_splits(
    executor: &mut dyn KernelExecutor,
    device: &DeviceData,
    scratch: &mut Scratch,
    settings: &TreeSettings,
    nodes: &[NodeStats],
    histograms: BufferId,
) -> Result<Vec<SplitCandidate>, CudaError> {
    let stats: Vec<f64> =
        nodes.iter().flat_map(|node| [node.sum.g, node.sum.h, f64::from(node.score)]).collect();
    let features: Vec<u32> = settings.features.iter().map(|&f| f as u32).collect();
    let n_nodes = to_u32(nodes.len(), "the nodes of a level")?;
    let n_sampled = features.len() as u32;
    let node_stats = scratch.upload(executor, "node_stats", &stats)?;
    let feature_list = scratch.upload(executor, "features", &features)?;
    let pairs = nodes.len() * features.len();
    let per_feature = scratch.buffer(executor, "feature_candidates", pairs * CANDIDATE_WORDS * 8)?;
    let best = scratch.buffer(executor, "best_candidates", nodes.len() * CANDIDATE_WORDS * 8)?;
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
        over_items(executor, nodes.len()),
        &[
            KernelArg::Buffer(per_feature),
            KernelArg::U32(n_sampled),
            KernelArg::U32(n_nodes),
            KernelArg::Buffer(best),
        ],
    )?;
    let words: Vec<f64> = executor.download_values(best, nodes.len() * CANDIDATE_WORDS)?;
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
