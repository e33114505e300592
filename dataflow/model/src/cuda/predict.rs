//! Batch prediction on a kernel executor: the forest and the rows go up, one `f32` per row
//! comes back; the same sum in the same order as `Forest::sum_leaves`, so the same bits.

use super::error::CudaError;
use super::executor::{ExecutorExt, KernelArg, KernelExecutor};
use super::kernels::Kernel;
use super::scratch::{over_items, to_u32};
use crate::forest::Forest;
use crate::matrix::FeatureMatrix;

/// The predictions of `forest` from `base_score` for every row of `matrix`.
pub(crate) fn predict_rows(
    executor: &mut dyn KernelExecutor,
    forest: &Forest,
    base_score: f32,
    matrix: &FeatureMatrix,
) -> Result<Vec<f32>, CudaError> {
    let n_rows = matrix.n_rows();
    let nodes = forest.nodes();
    let feature: Vec<u32> = nodes.iter().map(|node| node.feature).collect();
    let value: Vec<f32> = nodes.iter().map(|node| node.value).collect();
    let left: Vec<u32> = nodes.iter().map(|node| node.left).collect();
    let default_left: Vec<u32> = nodes.iter().map(|node| u32::from(node.default_left)).collect();
    let buffers = [
        executor.alloc_from(matrix.values())?,
        executor.alloc_from(&feature)?,
        executor.alloc_from(&value)?,
        executor.alloc_from(&left)?,
        executor.alloc_from(&default_left)?,
        executor.alloc_from(forest.roots())?,
        executor.alloc(n_rows * 4)?,
    ];
    let [values, feature, value, left, default_left, roots, out] = buffers;
    let launched = executor.launch(
        Kernel::PredictForest,
        over_items(executor, n_rows),
        &[
            KernelArg::Buffer(values),
            KernelArg::U32(to_u32(n_rows, "the rows to predict")?),
            KernelArg::U32(to_u32(matrix.n_features(), "the number of inputs")?),
            KernelArg::Buffer(feature),
            KernelArg::Buffer(value),
            KernelArg::Buffer(left),
            KernelArg::Buffer(default_left),
            KernelArg::Buffer(roots),
            KernelArg::U32(to_u32(forest.n_trees(), "the number of trees")?),
            KernelArg::F32(base_score),
            KernelArg::Buffer(out),
        ],
    );
    let predictions = launched.and_then(|()| executor.download_values(out, n_rows));
    let released = buffers.into_iter().try_for_each(|id| executor.free(id));
    let predictions = predictions?;
    released?;
    Ok(predictions)
}
