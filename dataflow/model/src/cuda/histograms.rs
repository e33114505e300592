//! Gradient sums and histograms on the device: a node's f64 sums, per-node histograms (in
//! shared memory when they fit), and the subtraction trick for siblings. Histograms never leave
//! the device.

use super::error::CudaError;
use super::executor::{BufferId, ExecutorExt, KernelArg, KernelExecutor, LaunchShape};
use super::kernels::Kernel;
use super::scratch::{MAX_GRID_Y, Scratch, over_items, to_u32};
use super::train::DeviceData;
use crate::histogram::GradSum;
use crate::split::SplitCandidate;

/// Rows each thread of a histogram launch takes on average: enough work per block to pay for
/// clearing and flushing its shared-memory histogram.
const ROWS_PER_HISTOGRAM_THREAD: usize = 16;

/// The f64 sums of the gradient pairs of the first `n` rows of `device.rows`.
pub(super) fn sum_gradients(
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
pub(super) fn build_histograms(
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

/// Histograms of the next level (`children`: first row and row count of each child): for each split, the child with the smaller hessian sum (the
/// left one on a tie, as on the CPU) is built from its rows, its sibling is parent minus it.
pub(super) fn children_histograms(
    executor: &mut dyn KernelExecutor,
    device: &DeviceData,
    scratch: &mut Scratch,
    splitting: &[(usize, SplitCandidate)],
    children: &[(usize, usize)],
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
        to_build.push((children[built].0, children[built].1, built));
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
