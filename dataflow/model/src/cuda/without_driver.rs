//! The GPU side in a build without the `cuda` feature: the CUDA libraries are reported missing,
//! so `device = "auto"` trains on the CPU and `device = "cuda"` says how to get a GPU build.

use super::error::CudaError;
use super::executor::{BufferId, KernelArg, KernelExecutor, LaunchShape};
use super::kernels::{Kernel, KernelSource};
use std::convert::Infallible;

/// Always false: this build cannot use the CUDA driver.
pub fn driver_library_present() -> bool {
    false
}

/// Always false: this build cannot use NVRTC.
pub fn nvrtc_library_present() -> bool {
    false
}

/// Always [`CudaError::NotBuilt`].
pub fn compile_ptx(_source: &KernelSource, _arch: &str) -> Result<String, CudaError> {
    Err(CudaError::NotBuilt)
}

/// A GPU executor that cannot be opened in this build.
pub struct CudaExecutor {
    never: Infallible,
}

impl CudaExecutor {
    /// Always [`CudaError::NotBuilt`].
    pub fn open() -> Result<CudaExecutor, CudaError> {
        Err(CudaError::NotBuilt)
    }

    /// The GPU's name (there is none).
    pub fn gpu_name(&self) -> &str {
        match self.never {}
    }
}

impl KernelExecutor for CudaExecutor {
    fn max_block_threads(&self) -> u32 {
        match self.never {}
    }

    fn max_shared_bytes(&self) -> u32 {
        match self.never {}
    }

    fn alloc(&mut self, _bytes: usize) -> Result<BufferId, CudaError> {
        match self.never {}
    }

    fn free(&mut self, _buffer: BufferId) -> Result<(), CudaError> {
        match self.never {}
    }

    fn zero(&mut self, _buffer: BufferId) -> Result<(), CudaError> {
        match self.never {}
    }

    fn upload(&mut self, _buffer: BufferId, _bytes: &[u8]) -> Result<(), CudaError> {
        match self.never {}
    }

    fn download(&mut self, _buffer: BufferId, _bytes: usize) -> Result<Vec<u8>, CudaError> {
        match self.never {}
    }

    fn launch(&mut self, _kernel: Kernel, _shape: LaunchShape, _args: &[KernelArg]) -> Result<(), CudaError> {
        match self.never {}
    }
}
