//! The GPU side: NVRTC compilation and [`CudaExecutor`], the [`KernelExecutor`] on a CUDA GPU
//! through cudarc's driver API. The only module of the crate that may use `unsafe`: checking
//! for the CUDA libraries and launching kernels cannot be done without it in cudarc.
//!
//! cudarc loads `libcuda` and `libnvrtc` on first use and panics when they are missing, so
//! every entry point here first asks whether the library can be loaded and returns an error
//! instead.

use super::error::CudaError;
use super::executor::{BufferId, KernelArg, KernelExecutor, LaunchShape};
use super::kernels::{Kernel, KernelSource};
use cudarc::driver::{CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg};
use cudarc::nvrtc::{CompileOptions, compile_ptx_with_opts};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Dynamic shared memory a block may use without opting in to more (48 KiB on every GPU
/// since Kepler).
const DEFAULT_SHARED_BYTES: u32 = 48 * 1024;
/// Threads per block: a multiple of the warp size that every GPU since Kepler runs well.
const BLOCK_THREADS: u32 = 256;

/// Whether the CUDA driver library (`libcuda.so`) can be loaded.
pub fn driver_library_present() -> bool {
    // SAFETY: `is_culib_present` only tries to open the library under its known names (dlopen)
    // and closes it again; no CUDA function is called, so there is no state to get wrong.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

/// Whether the NVRTC library (`libnvrtc.so.12` or another name cudarc knows) can be loaded.
pub fn nvrtc_library_present() -> bool {
    // SAFETY: as in `driver_library_present`: a dlopen/dlclose probe, no NVRTC call.
    unsafe { cudarc::nvrtc::sys::is_culib_present() }
}

/// Compiles one kernel file to PTX for a virtual architecture (`compute_80`, …).
///
/// `--fmad=false`: no multiply-add is fused, so every `f32`/`f64` operation rounds as the
/// CPU's does (the split arithmetic must match bit for bit).
pub fn compile_ptx(source: &KernelSource, arch: &str) -> Result<String, CudaError> {
    if !nvrtc_library_present() {
        return Err(CudaError::NoNvrtcLibrary);
    }
    let options = CompileOptions {
        fmad: Some(false),
        options: vec![format!("--gpu-architecture={arch}")],
        name: Some(source.file.to_owned()),
        ..CompileOptions::default()
    };
    let ptx = compile_ptx_with_opts(source.code, options).map_err(|error| CudaError::Compile {
        file: source.file,
        arch: arch.to_owned(),
        log: match error {
            cudarc::nvrtc::CompileError::CompileError { log, .. } => log.to_string_lossy().into_owned(),
            other => other.to_string(),
        },
    })?;
    Ok(ptx.to_src())
}

/// The [`KernelExecutor`] on a CUDA GPU: the process's opened GPU (one context and stream on
/// device 0, the kernels compiled for its architecture) and the buffers of one training.
pub struct CudaExecutor {
    gpu: Arc<OpenedGpu>,
    buffers: Vec<Option<CudaSlice<u8>>>,
}

/// What every [`CudaExecutor`] of the process shares. Opening the context and compiling the
/// kernels takes about half a second, and a walk-forward backtest or the service's retraining
/// opens the GPU for every fit.
struct OpenedGpu {
    stream: Arc<CudaStream>,
    functions: HashMap<Kernel, CudaFunction>,
    gpu_name: String,
}

/// The GPU once opened. A failed open is not kept, so a later fit tries again.
static OPENED_GPU: Mutex<Option<Arc<OpenedGpu>>> = Mutex::new(None);

impl CudaExecutor {
    /// Opens GPU 0 and compiles every kernel for it the first time in the process; later calls
    /// reuse that context and those kernels. An error, never a panic, when the driver, the
    /// device or NVRTC is missing.
    pub fn open() -> Result<CudaExecutor, CudaError> {
        // Nothing is stored until the open succeeded, so a lock poisoned by a panic inside it
        // still guards a sound value.
        let mut opened = OPENED_GPU.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let gpu = match opened.as_ref() {
            Some(gpu) => Arc::clone(gpu),
            None => {
                let gpu = Arc::new(OpenedGpu::open()?);
                *opened = Some(Arc::clone(&gpu));
                gpu
            }
        };
        Ok(CudaExecutor { gpu, buffers: Vec::new() })
    }

    /// The GPU's name, for logs.
    pub fn gpu_name(&self) -> &str {
        &self.gpu.gpu_name
    }

    fn buffer(&self, id: BufferId) -> Result<&CudaSlice<u8>, CudaError> {
        self.buffers.get(id.0).and_then(Option::as_ref).ok_or(CudaError::NoSuchBuffer(id.0))
    }

    fn buffer_mut(&mut self, id: BufferId) -> Result<&mut CudaSlice<u8>, CudaError> {
        self.buffers.get_mut(id.0).and_then(Option::as_mut).ok_or(CudaError::NoSuchBuffer(id.0))
    }
}

impl OpenedGpu {
    /// Opens GPU 0 and compiles every kernel for its architecture.
    fn open() -> Result<OpenedGpu, CudaError> {
        let ordinal = 0;
        if !driver_library_present() {
            return Err(CudaError::NoDriverLibrary);
        }
        if !nvrtc_library_present() {
            return Err(CudaError::NoNvrtcLibrary);
        }
        let context =
            CudaContext::new(ordinal).map_err(|source| CudaError::OpenDevice { ordinal, source })?;
        let (major, minor) =
            context.compute_capability().map_err(driver_error("compute capability query"))?;
        let gpu_name = context.name().map_err(driver_error("device name query"))?;
        // PTX for the GPU's own virtual architecture (NVRTC 12.8 knows up to compute_120); the
        // driver assembles it when the module loads.
        let arch = format!("compute_{major}{minor}");
        let mut functions = HashMap::new();
        for kernel in Kernel::ALL {
            if functions.contains_key(&kernel) {
                continue;
            }
            let ptx = compile_ptx(kernel.source(), &arch)?;
            let module = context
                .load_module(cudarc::nvrtc::Ptx::from_src(ptx))
                .map_err(driver_error("module load"))?;
            for sibling in Kernel::ALL.into_iter().filter(|k| k.source().file == kernel.source().file) {
                let function = module.load_function(sibling.name()).map_err(driver_error("kernel lookup"))?;
                functions.insert(sibling, function);
            }
        }
        Ok(OpenedGpu { stream: context.default_stream(), functions, gpu_name })
    }
}

fn driver_error(action: &'static str) -> impl Fn(cudarc::driver::DriverError) -> CudaError {
    move |source| CudaError::Driver { action, source }
}

impl KernelExecutor for CudaExecutor {
    fn max_block_threads(&self) -> u32 {
        BLOCK_THREADS
    }

    fn max_shared_bytes(&self) -> u32 {
        DEFAULT_SHARED_BYTES
    }

    fn alloc(&mut self, bytes: usize) -> Result<BufferId, CudaError> {
        // Never zero bytes: a zero-length allocation is an error in the driver.
        let slice = self.gpu.stream.alloc_zeros::<u8>(bytes.max(1)).map_err(driver_error("allocation"))?;
        self.buffers.push(Some(slice));
        Ok(BufferId(self.buffers.len() - 1))
    }

    fn free(&mut self, buffer: BufferId) -> Result<(), CudaError> {
        let slot = self.buffers.get_mut(buffer.0).ok_or(CudaError::NoSuchBuffer(buffer.0))?;
        slot.take().map(drop).ok_or(CudaError::NoSuchBuffer(buffer.0))
    }

    fn zero(&mut self, buffer: BufferId) -> Result<(), CudaError> {
        let stream = Arc::clone(&self.gpu.stream);
        stream.memset_zeros(self.buffer_mut(buffer)?).map_err(driver_error("memset"))
    }

    fn upload(&mut self, buffer: BufferId, bytes: &[u8]) -> Result<(), CudaError> {
        let stream = Arc::clone(&self.gpu.stream);
        let slice = self.buffer_mut(buffer)?;
        if bytes.len() > slice.len() {
            return Err(CudaError::CopyTooLarge {
                buffer: buffer.0,
                bytes: bytes.len(),
                capacity: slice.len(),
            });
        }
        stream.memcpy_htod(bytes, slice).map_err(driver_error("copy to the device"))
    }

    fn download(&mut self, buffer: BufferId, bytes: usize) -> Result<Vec<u8>, CudaError> {
        let slice = self.buffer(buffer)?;
        if bytes > slice.len() {
            return Err(CudaError::CopyTooLarge { buffer: buffer.0, bytes, capacity: slice.len() });
        }
        let mut out = vec![0_u8; bytes];
        self.gpu
            .stream
            .memcpy_dtoh(&slice.slice(..bytes), &mut out)
            .map_err(driver_error("copy from the device"))?;
        self.gpu.stream.synchronize().map_err(driver_error("synchronisation"))?;
        Ok(out)
    }

    fn launch(&mut self, kernel: Kernel, shape: LaunchShape, args: &[KernelArg]) -> Result<(), CudaError> {
        kernel.check_args(args)?;
        let function = self
            .gpu
            .functions
            .get(&kernel)
            .ok_or(CudaError::BadResult(format!("{} not loaded", kernel.name())))?;
        let mut builder = self.gpu.stream.launch_builder(function);
        for arg in args {
            match arg {
                KernelArg::Buffer(id) => {
                    builder.arg(self.buffer(*id)?);
                }
                KernelArg::U32(value) => {
                    builder.arg(value);
                }
                KernelArg::F32(value) => {
                    builder.arg(value);
                }
            }
        }
        let config = LaunchConfig {
            grid_dim: (shape.grid.0.max(1), shape.grid.1.max(1), 1),
            block_dim: (shape.block.clamp(1, 1024), 1, 1),
            shared_mem_bytes: shape.shared_bytes,
        };
        // SAFETY: the arguments match the kernel's parameter list in number and kind
        // (`check_args` above, tested against the .cu signatures), buffers are passed as
        // device pointers of live allocations owned by `self`, and scalars by value. Every index
        // a kernel computes stays inside the buffers the caller sized for it: the kernels stride
        // over `n`-style counts passed with the buffers, and the trainer (`train.rs`,
        // `grow.rs`, `predict.rs`) allocates each buffer for the counts it passes (rows,
        // nodes, bins); `shared_bytes` covers what each kernel's comment asks for.
        unsafe { builder.launch(config) }.map_err(driver_error("kernel launch"))?;
        Ok(())
    }
}
