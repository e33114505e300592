//! Device buffers reused from level to level and tree to tree (grown when too small), and the
//! launch shapes the trainer uses.

use super::error::CudaError;
use super::executor::{BufferId, Element, KernelExecutor, LaunchShape, to_bytes};
use std::collections::HashMap;

/// Most blocks along x of a grid-stride launch: enough to fill any GPU, small enough to keep
/// the CPU shim quick.
const MAX_GRID_X: usize = 4096;
/// Most blocks along y (the hardware limit).
pub(super) const MAX_GRID_Y: usize = 65_535;

/// Named buffers, kept between uses.
#[derive(Default)]
pub(super) struct Scratch {
    buffers: HashMap<&'static str, (BufferId, usize)>,
}

impl Scratch {
    /// Buffer `name` with room for at least `bytes` bytes (contents unspecified).
    pub(super) fn buffer(
        &mut self,
        executor: &mut dyn KernelExecutor,
        name: &'static str,
        bytes: usize,
    ) -> Result<BufferId, CudaError> {
        if let Some(&(id, capacity)) = self.buffers.get(name) {
            if capacity >= bytes {
                return Ok(id);
            }
            executor.free(id)?;
        }
        // Grow by half again, so a slowly growing need does not reallocate every level.
        let capacity = bytes + bytes / 2;
        let id = executor.alloc(capacity)?;
        self.buffers.insert(name, (id, capacity));
        Ok(id)
    }

    /// Buffer `name` holding `values` at its start.
    pub(super) fn upload<T: Element>(
        &mut self,
        executor: &mut dyn KernelExecutor,
        name: &'static str,
        values: &[T],
    ) -> Result<BufferId, CudaError> {
        let bytes = to_bytes(values);
        let id = self.buffer(executor, name, bytes.len())?;
        executor.upload(id, &bytes)?;
        Ok(id)
    }

    /// Frees every buffer.
    pub(super) fn release(self, executor: &mut dyn KernelExecutor) -> Result<(), CudaError> {
        self.buffers.into_values().try_for_each(|(id, _)| executor.free(id))
    }
}

/// A one-dimensional grid-stride launch over `n` items.
pub(super) fn over_items(executor: &dyn KernelExecutor, n: usize) -> LaunchShape {
    let block = executor.max_block_threads().max(1);
    let grid = n.div_ceil(block as usize).clamp(1, MAX_GRID_X) as u32;
    LaunchShape { grid: (grid, 1), block, shared_bytes: 0 }
}

/// `value` as a kernel's `unsigned int`, or an error naming what is too large.
pub(super) fn to_u32(value: usize, what: &str) -> Result<u32, CudaError> {
    u32::try_from(value).map_err(|_| CudaError::TooLarge(format!("{what} is {value}, over 2^32 - 1")))
}
