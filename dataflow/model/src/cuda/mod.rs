//! The CUDA backend: training and batch prediction on an NVIDIA GPU through cudarc's driver
//! API, with kernels compiled at run time by NVRTC from the CUDA C files in `kernels/`.
//!
//! - [`KernelExecutor`]: what training runs kernels through; [`CudaExecutor`] is the GPU one.
//!   Tests run the same kernel sources compiled as C++ on the CPU behind the same interface.
//! - `train.rs` / `grow.rs`: the boosting loop and depth-wise growth of one tree, the CPU
//!   algorithm step for step; the binned rows stay on the device between rounds, only splits,
//!   row counts and finished trees come back. The launches of each step: `histograms.rs`,
//!   `splits.rs`, `partition.rs`.
//! - `predict.rs`: batch prediction of a forest.
//! - `driver.rs`: the only code of the crate allowed `unsafe` (library probes and launches).
//!
//! See `docs/model.md`, "CUDA backend".

#[cfg(feature = "cuda")]
#[allow(unsafe_code)]
mod driver;
#[cfg(not(feature = "cuda"))]
#[path = "without_driver.rs"]
mod driver;
mod error;
mod executor;
mod grow;
mod histograms;
mod kernels;
mod partition;
mod predict;
mod scratch;
mod splits;
mod train;

pub use driver::{CudaExecutor, compile_ptx, driver_library_present, nvrtc_library_present};
pub use error::CudaError;
pub use executor::{BufferId, Element, KernelArg, KernelExecutor, LaunchShape, from_bytes, to_bytes};
pub use kernels::{KERNEL_SOURCES, Kernel, KernelSource, Param};
pub(crate) use predict::predict_rows;
pub(crate) use train::fit_forest;
