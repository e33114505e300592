//! Row partitioning on the device: each split node's rows reordered, left rows first, both
//! sides in their old order; only the left-row counts come back.

use super::error::CudaError;
use super::executor::{ExecutorExt, KernelArg, KernelExecutor, LaunchShape};
use super::kernels::Kernel;
use super::scratch::{Scratch, to_u32};
use super::train::DeviceData;
use crate::partition::SplitRule;

/// Partitions the rows of each split (`(first row, rows, rule)`); returns how many went left.
pub(super) fn partition(
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
