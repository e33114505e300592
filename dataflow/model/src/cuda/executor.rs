//! The interface training and prediction use to run kernels: device buffers by id, copies in
//! and out, launches. [`super::CudaExecutor`] implements it on a GPU; tests implement it with
//! the same kernel sources compiled as C++ and run on the CPU, so the whole device-side
//! training loop is exercised without a GPU.

use super::error::CudaError;
use super::kernels::Kernel;

/// A device buffer handed out by an executor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BufferId(pub usize);

/// One kernel argument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KernelArg {
    /// A device buffer, passed as a pointer to its first byte.
    Buffer(BufferId),
    /// An `unsigned int`.
    U32(u32),
    /// A `float`.
    F32(f32),
}

/// Grid, block and dynamic shared memory of a launch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaunchShape {
    /// Blocks along x and y.
    pub grid: (u32, u32),
    /// Threads per block (x only).
    pub block: u32,
    /// Dynamic shared memory per block, in bytes.
    pub shared_bytes: u32,
}

/// Runs the model's kernels ([`Kernel`]) on some device.
pub trait KernelExecutor {
    /// Most threads per block this executor wants.
    fn max_block_threads(&self) -> u32;
    /// Most dynamic shared memory per block, in bytes.
    fn max_shared_bytes(&self) -> u32;
    /// A new buffer of `bytes` bytes, all zero.
    fn alloc(&mut self, bytes: usize) -> Result<BufferId, CudaError>;
    /// Releases a buffer.
    fn free(&mut self, buffer: BufferId) -> Result<(), CudaError>;
    /// Sets every byte of a buffer to zero.
    fn zero(&mut self, buffer: BufferId) -> Result<(), CudaError>;
    /// Copies `bytes` to the start of `buffer`.
    fn upload(&mut self, buffer: BufferId, bytes: &[u8]) -> Result<(), CudaError>;
    /// The first `bytes` bytes of `buffer`, after every launch before it has finished.
    fn download(&mut self, buffer: BufferId, bytes: usize) -> Result<Vec<u8>, CudaError>;
    /// Launches `kernel`; `args` must match [`Kernel::params`].
    fn launch(&mut self, kernel: Kernel, shape: LaunchShape, args: &[KernelArg]) -> Result<(), CudaError>;
}

/// A value that crosses to the device as its little-endian bytes (every CUDA GPU is
/// little-endian, and so are the hosts we build for).
pub trait Element: Copy {
    /// Size in bytes.
    const SIZE: usize;
    /// Appends its bytes.
    fn put(self, out: &mut Vec<u8>);
    /// Reads one from exactly `SIZE` bytes.
    fn get(bytes: &[u8]) -> Self;
}

macro_rules! element {
    ($($t:ty),*) => {$(
        impl Element for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Self {
                let mut array = [0_u8; std::mem::size_of::<$t>()];
                array.copy_from_slice(bytes);
                <$t>::from_le_bytes(array)
            }
        }
    )*};
}
element!(u16, u32, f32, f64);

/// The bytes of `values`, in order.
pub fn to_bytes<T: Element>(values: &[T]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * T::SIZE);
    values.iter().for_each(|&value| value.put(&mut out));
    out
}

/// Values read back from bytes (a trailing partial value is ignored).
pub fn from_bytes<T: Element>(bytes: &[u8]) -> Vec<T> {
    bytes.chunks_exact(T::SIZE).map(T::get).collect()
}

/// Typed helpers over any executor.
pub(crate) trait ExecutorExt: KernelExecutor {
    /// A new buffer holding `values`.
    fn alloc_from<T: Element>(&mut self, values: &[T]) -> Result<BufferId, CudaError> {
        let bytes = to_bytes(values);
        let buffer = self.alloc(bytes.len())?;
        self.upload(buffer, &bytes)?;
        Ok(buffer)
    }

    /// The first `n` values of a buffer.
    fn download_values<T: Element>(&mut self, buffer: BufferId, n: usize) -> Result<Vec<T>, CudaError> {
        Ok(from_bytes(&self.download(buffer, n * T::SIZE)?))
    }
}

impl<E: KernelExecutor + ?Sized> ExecutorExt for E {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_bytes() {
        let values = [1.5_f32, -0.0, f32::NAN, f32::MIN_POSITIVE];
        let back: Vec<f32> = from_bytes(&to_bytes(&values));
        assert_eq!(
            back.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            values.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(from_bytes::<u16>(&to_bytes(&[7_u16, u16::MAX])), vec![7, u16::MAX]);
        assert_eq!(to_bytes(&[1_u32]), vec![1, 0, 0, 0]);
    }
}
