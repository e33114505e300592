//! Shared by the CUDA kernel tests: where the NVRTC library and `ptxas` from the pip wheels
//! are, and the CPU shim: the kernel sources compiled as C++ (`shim/`) and run as a child
//! process behind the same [`KernelExecutor`] interface the GPU uses.
//!
//! The wheels (`nvidia-cuda-nvrtc-cu12`, `nvidia-cuda-nvcc-cu12`) come from
//! `tests/oracle/requirements.txt`, which `scripts/test` installs; they are found by asking
//! Python (`python3`, or `PRICESTREAM_PYTHON`) where the `nvidia.cuda_nvrtc` / `nvidia.cuda_nvcc`
//! packages are, unless `PRICESTREAM_NVRTC_LIB_DIR` / `PRICESTREAM_PTXAS` name them. Without
//! them the tests FAIL with the install command, never skip. The C++ compiler is `g++` (or
//! `CXX`).

#![allow(dead_code)] // Each test file uses a different part.

use pricestream_model::cuda::{BufferId, CudaError, Kernel, KernelArg, KernelExecutor, LaunchShape};
use pricestream_model::{Booster, BoosterParams, FeatureMatrix};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::model_support::repo_paths::{INSTALL_HINT, repo_root};

/// The folder of an installed Python package of the NVIDIA wheels (`nvidia.cuda_nvrtc`, …).
fn nvidia_package_dir(package: &str) -> PathBuf {
    let python = std::env::var("PRICESTREAM_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = format!("import importlib; print(list(importlib.import_module('{package}').__path__)[0])");
    let output = Command::new(&python)
        .args(["-c", &script])
        .output()
        .unwrap_or_else(|error| panic!("cannot run {python} to find {package}: {error}; install Python 3"));
    assert!(
        output.status.success(),
        "Python package {package} is not installed ({}); install it with: {INSTALL_HINT}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

/// The folder holding `libnvrtc.so.12`.
pub fn nvrtc_lib_dir() -> PathBuf {
    let dir = std::env::var_os("PRICESTREAM_NVRTC_LIB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| nvidia_package_dir("nvidia.cuda_nvrtc").join("lib"));
    assert!(
        dir.join("libnvrtc.so.12").is_file(),
        "no libnvrtc.so.12 in {}; install it with: {INSTALL_HINT}",
        dir.display()
    );
    dir
}

/// The `ptxas` executable.
pub fn ptxas() -> PathBuf {
    let path = std::env::var_os("PRICESTREAM_PTXAS")
        .map(PathBuf::from)
        .unwrap_or_else(|| nvidia_package_dir("nvidia.cuda_nvcc").join("bin").join("ptxas"));
    assert!(path.is_file(), "no ptxas at {}; install it with: {INSTALL_HINT}", path.display());
    path
}

/// Set in a test process started by [`rerun_with_nvrtc`], so it does not start another.
const RERUN_MARKER: &str = "PRICESTREAM_TEST_NVRTC_RERUN";

/// Whether this process can load NVRTC. If not, runs the single test `test_name` again in a
/// child process whose `LD_LIBRARY_PATH` starts with the wheel's lib folder (the dynamic loader
/// reads that variable only when a process starts, so it cannot be set from inside), checks
/// that it passed, and returns false: the caller then returns, its work done by the child.
pub fn rerun_with_nvrtc(test_name: &str) -> bool {
    if pricestream_model::cuda::nvrtc_library_present() {
        return true;
    }
    assert!(
        std::env::var_os(RERUN_MARKER).is_none(),
        "NVRTC still cannot be loaded with LD_LIBRARY_PATH={:?}; install it with: {INSTALL_HINT}",
        std::env::var_os("LD_LIBRARY_PATH")
    );
    let lib_dir = nvrtc_lib_dir();
    let library_path = match std::env::var_os("LD_LIBRARY_PATH") {
        Some(old) if !old.is_empty() => {
            let mut paths = vec![lib_dir.clone()];
            paths.extend(std::env::split_paths(&old));
            std::env::join_paths(paths).expect("library folders join into a path list")
        }
        _ => lib_dir.clone().into_os_string(),
    };
    let executable = std::env::current_exe().expect("the test executable's path");
    let output = Command::new(executable)
        .args([test_name, "--exact", "--include-ignored", "--nocapture", "--test-threads=1"])
        .env("LD_LIBRARY_PATH", library_path)
        .env(RERUN_MARKER, "1")
        .output()
        .expect("the test executable runs again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(output.status.success(), "{test_name} failed with NVRTC from {}", lib_dir.display());
    assert!(stdout.contains("1 passed"), "{test_name} did not run in the child process");
    false
}

/// Compiles the CPU shim harness (kernels + `shim/harness.cpp`) into `dir`, with the address and
/// undefined-behaviour sanitizers, so an out-of-bounds access in a kernel fails the test.
pub fn build_harness(dir: &Path) -> PathBuf {
    let compiler = std::env::var("CXX").unwrap_or_else(|_| "g++".into());
    let shim = repo_root().join("dataflow/model/tests/cuda_support/shim");
    let kernels = repo_root().join("dataflow/model/src/cuda/kernels");
    let executable = dir.join("cuda_shim_harness");
    let output = Command::new(&compiler)
        .args(["-std=c++20", "-O1", "-ffp-contract=off", "-pthread", "-Wall", "-Wextra", "-Werror"])
        .args(["-fsanitize=address,undefined", "-fno-sanitize-recover=all"])
        .arg("-I")
        .arg(&kernels)
        .arg("-I")
        .arg(&shim)
        .arg(shim.join("harness.cpp"))
        .arg("-o")
        .arg(&executable)
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run {compiler}: {error}; install a C++20 compiler (g++ >= 11)")
        });
    assert!(
        output.status.success(),
        "{compiler} could not build the CPU shim:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    executable
}

/// Settings for [`dyadic_data`]: base score 0, so that every gradient sum is exact and the
/// CPU's and a device's trees can be compared bit for bit.
pub fn exact_params(n_estimators: usize, max_depth: u32, threads: usize) -> BoosterParams {
    BoosterParams { n_estimators, max_depth, base_score: Some(0.0), threads, ..BoosterParams::default() }
}

/// `params` with row and column sampling (0.8 each) drawn from `seed`.
pub fn sampled(seed: u64, params: BoosterParams) -> BoosterParams {
    BoosterParams { subsample: 0.8, colsample_bytree: 0.8, seed, ..params }
}

/// Rows of `n_features` inputs (a tenth missing), and targets on a grid of 1/64 that depend on
/// them: every gradient sum is exact in f64 whatever the order of additions, so the shim's
/// atomics cannot change a bit.
pub fn dyadic_data(n_rows: usize, n_features: usize, seed: u64) -> (FeatureMatrix, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut matrix = FeatureMatrix::new(n_features);
    let mut targets = Vec::with_capacity(n_rows);
    for _ in 0..n_rows {
        let row: Vec<f32> = (0..n_features)
            .map(|f| {
                if rng.random_bool(0.1) {
                    f32::NAN
                } else {
                    (rng.random_range(0..40) + 7 * f as i32) as f32 / 4.0
                }
            })
            .collect();
        let signal = row
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(f, v)| if f % 2 == 0 { *v } else { -*v });
        let signal: f32 = signal.sum::<f32>() + if row[0].is_nan() { 3.0 } else { 0.0 };
        let noise = rng.random_range(-32..32) as f32 / 64.0;
        targets.push(((signal / 4.0 + noise) * 64.0).round() / 64.0);
        matrix.push_row(&row);
    }
    (matrix, targets)
}

/// Rows with continuous inputs and targets (a fifth of one input missing).
pub fn continuous_data(n_rows: usize, seed: u64) -> (FeatureMatrix, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut matrix = FeatureMatrix::new(5);
    let mut targets = Vec::with_capacity(n_rows);
    for _ in 0..n_rows {
        let x: [f32; 5] = std::array::from_fn(|_| rng.random_range(-1.0..1.0));
        let mut row = x;
        if rng.random_bool(0.2) {
            row[2] = f32::NAN;
        }
        let target = x[0].sin() + 0.5 * x[1] * x[1] - 0.3 * x[2] + rng.random_range(-0.1..0.1);
        matrix.push_row(&row);
        targets.push(target);
    }
    (matrix, targets)
}

/// A saved node: input (`u32::MAX` for a leaf), threshold or leaf value, left child, default left.
pub type SavedNode = (u32, f32, u32, bool);

/// Nodes of a model's forest, as saved (input, threshold or leaf value, left child, default).
pub fn forest_nodes(model: &Booster) -> (Vec<SavedNode>, Vec<u32>) {
    let json = serde_json::to_value(model.forest()).expect("a forest serialises");
    let nodes = json["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| {
            (
                node["feature"].as_u64().expect("feature") as u32,
                node["value"].as_f64().expect("value") as f32,
                node["left"].as_u64().expect("left") as u32,
                node["default_left"].as_bool().expect("default_left"),
            )
        })
        .collect();
    let roots =
        json["roots"].as_array().expect("roots").iter().map(|r| r.as_u64().expect("root") as u32).collect();
    (nodes, roots)
}

/// Asserts the same trees: the same splits (input, threshold, children, default direction) and
/// leaf values within `relative` of each other. Returns (bit-identical leaves, leaves).
pub fn assert_same_trees(cpu: &Booster, other: &Booster, relative: f32) -> (usize, usize) {
    assert_eq!(cpu.base_score().to_bits(), other.base_score().to_bits(), "base score");
    let (cpu_nodes, cpu_roots) = forest_nodes(cpu);
    let (other_nodes, other_roots) = forest_nodes(other);
    assert_eq!(cpu_roots, other_roots, "tree sizes differ");
    assert_eq!(cpu_nodes.len(), other_nodes.len());
    let (mut identical, mut leaves) = (0, 0);
    for (index, (a, b)) in cpu_nodes.iter().zip(&other_nodes).enumerate() {
        assert_eq!((a.0, a.2, a.3), (b.0, b.2, b.3), "node {index}: CPU {a:?}, kernels {b:?}");
        if a.0 == u32::MAX {
            leaves += 1;
            identical += usize::from(a.1.to_bits() == b.1.to_bits());
            assert!(
                (a.1 - b.1).abs() <= relative * a.1.abs().max(1e-3),
                "leaf {index}: CPU {}, kernels {}",
                a.1,
                b.1
            );
        } else {
            assert_eq!(a.1.to_bits(), b.1.to_bits(), "threshold of node {index}");
        }
    }
    (identical, leaves)
}

/// A [`KernelExecutor`] that runs the kernels' C++ build in a child process.
pub struct CpuShimExecutor {
    child: Child,
    input: BufWriter<ChildStdin>,
    output: BufReader<ChildStdout>,
    block_threads: u32,
    shared_bytes: u32,
}

impl CpuShimExecutor {
    /// Starts `harness` with blocks of `block_threads` threads and `shared_bytes` of shared
    /// memory per block at most (0 forces the histogram kernel that works in global memory).
    pub fn start(harness: &Path, block_threads: u32, shared_bytes: u32) -> CpuShimExecutor {
        let mut child = Command::new(harness)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the CPU shim harness starts");
        let input = BufWriter::new(child.stdin.take().expect("piped stdin"));
        let output = BufReader::new(child.stdout.take().expect("piped stdout"));
        CpuShimExecutor { child, input, output, block_threads, shared_bytes }
    }

    fn shim_error(error: impl std::fmt::Display) -> CudaError {
        CudaError::Executor(format!("CPU shim: {error}"))
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), CudaError> {
        self.input.write_all(bytes).map_err(Self::shim_error)
    }

    fn read(&mut self, n: usize) -> Result<Vec<u8>, CudaError> {
        let mut out = vec![0_u8; n];
        self.output.read_exact(&mut out).map_err(Self::shim_error)?;
        Ok(out)
    }

    /// Sends a request and waits for its status.
    fn request(&mut self, bytes: &[u8]) -> Result<(), CudaError> {
        self.send(bytes)?;
        self.input.flush().map_err(Self::shim_error)?;
        let status = self.read(1)?;
        if status[0] == 0 {
            return Ok(());
        }
        let length = u32::from_le_bytes(self.read(4)?.try_into().expect("4 bytes")) as usize;
        let message = self.read(length)?;
        Err(Self::shim_error(String::from_utf8_lossy(&message)))
    }
}

fn op_with_id(op: u8, id: BufferId) -> Vec<u8> {
    let mut bytes = vec![op];
    bytes.extend_from_slice(&(id.0 as u64).to_le_bytes());
    bytes
}

impl KernelExecutor for CpuShimExecutor {
    fn max_block_threads(&self) -> u32 {
        self.block_threads
    }

    fn max_shared_bytes(&self) -> u32 {
        self.shared_bytes
    }

    fn alloc(&mut self, bytes: usize) -> Result<BufferId, CudaError> {
        let mut request = vec![1_u8];
        request.extend_from_slice(&(bytes as u64).to_le_bytes());
        self.request(&request)?;
        let id = u64::from_le_bytes(self.read(8)?.try_into().expect("8 bytes"));
        Ok(BufferId(id as usize))
    }

    fn free(&mut self, buffer: BufferId) -> Result<(), CudaError> {
        self.request(&op_with_id(2, buffer))
    }

    fn zero(&mut self, buffer: BufferId) -> Result<(), CudaError> {
        self.request(&op_with_id(3, buffer))
    }

    fn upload(&mut self, buffer: BufferId, bytes: &[u8]) -> Result<(), CudaError> {
        let mut request = op_with_id(4, buffer);
        request.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        request.extend_from_slice(bytes);
        self.request(&request)
    }

    fn download(&mut self, buffer: BufferId, bytes: usize) -> Result<Vec<u8>, CudaError> {
        let mut request = op_with_id(5, buffer);
        request.extend_from_slice(&(bytes as u64).to_le_bytes());
        self.request(&request)?;
        self.read(bytes)
    }

    fn launch(&mut self, kernel: Kernel, shape: LaunchShape, args: &[KernelArg]) -> Result<(), CudaError> {
        kernel.check_args(args)?;
        let mut request = vec![6_u8];
        request.extend_from_slice(&(kernel.name().len() as u32).to_le_bytes());
        request.extend_from_slice(kernel.name().as_bytes());
        for value in [shape.grid.0.max(1), shape.grid.1.max(1), shape.block.max(1), shape.shared_bytes] {
            request.extend_from_slice(&value.to_le_bytes());
        }
        request.extend_from_slice(&(args.len() as u32).to_le_bytes());
        for arg in args {
            let (tag, value) = match *arg {
                KernelArg::Buffer(id) => (0_u8, id.0 as u64),
                KernelArg::U32(value) => (1, u64::from(value)),
                KernelArg::F32(value) => (2, u64::from(value.to_bits())),
            };
            request.push(tag);
            request.extend_from_slice(&value.to_le_bytes());
        }
        self.request(&request)
    }
}

impl Drop for CpuShimExecutor {
    fn drop(&mut self) {
        // The harness holds no state worth a clean exit: stop our child and reap it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
