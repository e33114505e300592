//! What can go wrong on the CUDA backend.

/// Why the CUDA backend could not be opened or a step on it failed.
#[derive(Debug, thiserror::Error)]
pub enum CudaError {
    /// No CUDA driver library (`libcuda.so`) can be loaded: no NVIDIA driver on this machine.
    #[error(
        "no CUDA driver library (libcuda.so) could be loaded; install the NVIDIA driver or use device cpu"
    )]
    NoDriverLibrary,
    /// No NVRTC library (`libnvrtc.so.12`) can be loaded, so kernels cannot be compiled.
    #[error(
        "no NVRTC library (libnvrtc.so.12) could be loaded; install the CUDA toolkit or the nvidia-cuda-nvrtc-cu12 \
         wheel and put its lib folder on LD_LIBRARY_PATH"
    )]
    NoNvrtcLibrary,
    /// This build has no GPU side (built without the `cuda` feature of `pricestream-model`).
    #[error(
        "this build has no CUDA support (pricestream-model was built without its `cuda` feature); \
         use device cpu, or a build with the feature (the default, and the images')"
    )]
    NotBuilt,
    /// The driver loaded but no device could be opened.
    #[cfg(feature = "cuda")]
    #[error("CUDA device {ordinal} could not be opened: {source}")]
    OpenDevice {
        /// The device number tried.
        ordinal: usize,
        /// The driver's error.
        #[source]
        source: cudarc::driver::DriverError,
    },
    /// A CUDA driver call failed (allocation, copy, launch, …).
    #[cfg(feature = "cuda")]
    #[error("CUDA {action} failed: {source}")]
    Driver {
        /// What was being done.
        action: &'static str,
        /// The driver's error.
        #[source]
        source: cudarc::driver::DriverError,
    },
    /// NVRTC refused a kernel file.
    #[error("NVRTC could not compile {file} for {arch}: {log}")]
    Compile {
        /// The kernel file.
        file: &'static str,
        /// The virtual architecture (`compute_80`, …).
        arch: String,
        /// NVRTC's log or error.
        log: String,
    },
    /// A launch's arguments do not fit the kernel's parameter list.
    #[error("kernel {kernel} takes {expected}, got {got}")]
    BadArguments {
        /// The kernel's name.
        kernel: &'static str,
        /// Its parameter kinds.
        expected: String,
        /// The kinds passed.
        got: String,
    },
    /// A buffer id that the executor never handed out (or already freed).
    #[error("no device buffer {0}")]
    NoSuchBuffer(usize),
    /// A copy larger than its buffer.
    #[error("a copy of {bytes} bytes does not fit buffer {buffer} of {capacity} bytes")]
    CopyTooLarge {
        /// The buffer.
        buffer: usize,
        /// Bytes copied.
        bytes: usize,
        /// Bytes it holds.
        capacity: usize,
    },
    /// Data the device sent back makes no sense (a split on an input that does not exist, …).
    #[error("the device returned an impossible result: {0}")]
    BadResult(String),
    /// The training set is too large for the kernels' 32-bit row and bin indices.
    #[error("too large for the CUDA kernels: {0}")]
    TooLarge(String),
    /// An executor that runs kernels elsewhere (the CPU shim used by tests) failed.
    #[error("kernel executor failed: {0}")]
    Executor(String),
}
