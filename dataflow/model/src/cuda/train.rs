//! Boosting on a kernel executor: the binned rows, targets, predictions and gradients are
//! uploaded once and stay on the device; per tree only the sampled row list and inputs go up,
//! and per level only the chosen splits and the left-row counts come back.

use super::error::CudaError;
use super::executor::{BufferId, ExecutorExt, KernelArg, KernelExecutor};
use super::grow::{TreeSettings, grow_tree};
use super::kernels::Kernel;
use super::scratch::{Scratch, over_items, to_u32};
use crate::binned::BinnedMatrix;
use crate::cuts::BinCuts;
use crate::forest::Forest;
use crate::grow::TreeNode;
use crate::params::BoosterParams;
use crate::sampling::{Rng, sample_features, sample_rows};
use crate::split::Penalties;

/// The training set on the device.
pub(super) struct DeviceData {
    /// Row-major `u16` bins.
    pub bins: BufferId,
    /// Rows.
    pub n_rows: u32,
    /// Inputs per row.
    pub n_features: u32,
    /// Start of each input's bins in a histogram (`n_features + 1` entries).
    pub feature_offsets: BufferId,
    /// Cells of a histogram.
    pub total_bins: u32,
    /// Targets, `f32`.
    pub targets: BufferId,
    /// Current predictions, `f32`.
    pub predictions: BufferId,
    /// Gradients and hessians, `f32`.
    pub grad: BufferId,
    /// See `grad`.
    pub hess: BufferId,
    /// The rows of the current tree, grouped by node (`u32`).
    pub rows: BufferId,
    /// Room for partitioning `rows`.
    pub rows_scratch: BufferId,
}

impl DeviceData {
    fn upload(
        executor: &mut dyn KernelExecutor,
        data: &BinnedMatrix,
        cuts: &BinCuts,
        targets: &[f32],
        base_score: f32,
    ) -> Result<DeviceData, CudaError> {
        let n_rows = to_u32(targets.len(), "the number of training rows")?;
        let n_features = to_u32(data.n_features(), "the number of inputs")?;
        let total_bins = to_u32(cuts.total_bins(), "the number of bins of all inputs")?;
        to_u32(2 * cuts.total_bins(), "twice the number of bins")?;
        let offsets: Vec<u32> = (0..=cuts.n_features())
            .map(|f| if f == cuts.n_features() { total_bins } else { cuts.offset(f) as u32 })
            .collect();
        let n = targets.len();
        Ok(DeviceData {
            bins: executor.alloc_from(data.all_bins())?,
            n_rows,
            n_features,
            feature_offsets: executor.alloc_from(&offsets)?,
            total_bins,
            targets: executor.alloc_from(targets)?,
            predictions: executor.alloc_from(&vec![base_score; n])?,
            grad: executor.alloc(n * 4)?,
            hess: executor.alloc(n * 4)?,
            rows: executor.alloc(n * 4)?,
            rows_scratch: executor.alloc(n * 4)?,
        })
    }

    fn release(self, executor: &mut dyn KernelExecutor) -> Result<(), CudaError> {
        [
            self.bins,
            self.feature_offsets,
            self.targets,
            self.predictions,
            self.grad,
            self.hess,
            self.rows,
            self.rows_scratch,
        ]
        .into_iter()
        .try_for_each(|id| executor.free(id))
    }
}

/// Trains `params.n_estimators` trees on the executor, the same boosting loop as the CPU's
/// (`Booster::fit`): gradients, seeded row and input sampling, one depth-wise tree, predictions
/// updated from its leaves.
pub(crate) fn fit_forest(
    executor: &mut dyn KernelExecutor,
    data: &BinnedMatrix,
    cuts: &BinCuts,
    targets: &[f32],
    params: &BoosterParams,
    base_score: f32,
) -> Result<Forest, CudaError> {
    let device = DeviceData::upload(executor, data, cuts, targets, base_score)?;
    let mut scratch = Scratch::default();
    let result = boost(executor, &device, &mut scratch, cuts, params);
    // Free the device memory whether training worked or not; the first error wins.
    let released = scratch.release(executor).and(device.release(executor));
    let forest = result?;
    released?;
    Ok(forest)
}

fn boost(
    executor: &mut dyn KernelExecutor,
    device: &DeviceData,
    scratch: &mut Scratch,
    cuts: &BinCuts,
    params: &BoosterParams,
) -> Result<Forest, CudaError> {
    let n_rows = device.n_rows as usize;
    let penalties =
        Penalties { lambda: params.lambda, gamma: params.gamma, min_child_weight: params.min_child_weight };
    let mut forest = Forest::default();
    for tree in 0..params.n_estimators {
        executor.launch(
            Kernel::SquaredErrorGradients,
            over_items(executor, n_rows),
            &[
                KernelArg::Buffer(device.predictions),
                KernelArg::Buffer(device.targets),
                KernelArg::Buffer(device.grad),
                KernelArg::Buffer(device.hess),
                KernelArg::U32(device.n_rows),
            ],
        )?;
        let mut rng = Rng::for_tree(params.seed, tree);
        let rows = sample_rows(&mut rng, n_rows, params.subsample);
        let features = sample_features(&mut rng, cuts.n_features(), params.colsample_bytree);
        executor.upload(device.rows, &super::executor::to_bytes(&rows))?;
        let settings = TreeSettings {
            cuts,
            features: &features,
            penalties,
            learning_rate: params.learning_rate,
            max_depth: params.max_depth,
            n_rows_in_tree: rows.len(),
        };
        let nodes = grow_tree(executor, device, scratch, &settings)?;
        add_tree_outputs(executor, device, scratch, &nodes)?;
        forest.push_tree(nodes.iter().map(|node| node.to_flat()));
    }
    Ok(forest)
}

/// Adds the new tree's leaf outputs to every row's prediction (rows left out by `subsample`
/// included), walking the tree on bins on the device.
fn add_tree_outputs(
    executor: &mut dyn KernelExecutor,
    device: &DeviceData,
    scratch: &mut Scratch,
    nodes: &[TreeNode],
) -> Result<(), CudaError> {
    let field = |f: &dyn Fn(&TreeNode) -> u32| nodes.iter().map(f).collect::<Vec<u32>>();
    let feature = field(&|node| node.split.map_or(u32::MAX, |(rule, _)| rule.feature as u32));
    let right_start = field(&|node| node.split.map_or(0, |(rule, _)| rule.right_start as u32));
    let default_left = field(&|node| node.split.map_or(0, |(rule, _)| u32::from(rule.default_left)));
    let left = field(&|node| node.left as u32);
    let value: Vec<f32> = nodes.iter().map(|node| node.value).collect();
    let args = [
        KernelArg::Buffer(device.bins),
        KernelArg::U32(device.n_features),
        KernelArg::U32(device.n_rows),
        KernelArg::Buffer(scratch.upload(executor, "tree_feature", &feature)?),
        KernelArg::Buffer(scratch.upload(executor, "tree_right_start", &right_start)?),
        KernelArg::Buffer(scratch.upload(executor, "tree_default_left", &default_left)?),
        KernelArg::Buffer(scratch.upload(executor, "tree_left", &left)?),
        KernelArg::Buffer(scratch.upload(executor, "tree_value", &value)?),
        KernelArg::Buffer(device.predictions),
    ];
    executor.launch(Kernel::AddTreeOutputs, over_items(executor, device.n_rows as usize), &args)
}
