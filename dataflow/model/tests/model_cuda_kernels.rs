//! The CUDA backend checked without a GPU:
//!
//! 1. NVRTC (from the `nvidia-cuda-nvrtc-cu12` wheel) compiles every kernel file to PTX for
//!    `compute_80` and `compute_90`, with the options the GPU executor uses;
//! 2. `ptxas` (from `nvidia-cuda-nvcc-cu12`) assembles every PTX for `sm_80` and `sm_90`
//!    without an error;
//! 3. the same kernel sources, compiled as C++ under a small CUDA shim (`cuda_support/shim/`)
//!    and run on the CPU, give the CPU backend's histograms, partitions, trees and predictions.
//!
//! What only a GPU can show (real scheduling, memory limits, speed) is in `model_cuda_gpu.rs`,
//! which is ignored here. Without the wheels or a C++20 compiler these tests FAIL with the
//! install command, never skip.

mod cuda_support;
mod model_support;

use cuda_support::{
    CpuShimExecutor, assert_same_trees, build_harness, continuous_data, dyadic_data, exact_params,
    forest_nodes, ptxas, rerun_with_nvrtc, sampled,
};
use pricestream_model::cuda::{
    CudaError, KERNEL_SOURCES, Kernel, KernelArg, KernelExecutor, LaunchShape, compile_ptx,
    driver_library_present, from_bytes, to_bytes,
};
use pricestream_model::{BinCuts, Booster, BoosterParams, Device, FeatureMatrix, ModelError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The virtual architectures checked: Ampere (A100) and Hopper (H100), the GPUs a deployment
/// would get.
const ARCHS: [&str; 2] = ["compute_80", "compute_90"];

/// Threads per block in the shim (each is an OS thread, so fewer than on a GPU).
const SHIM_BLOCK: u32 = 32;
/// Shared memory per block the shim offers (the GPU's default limit).
const SHIM_SHARED_BYTES: u32 = 48 * 1024;

fn harness() -> &'static PathBuf {
    static HARNESS: OnceLock<PathBuf> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cuda_shim");
        std::fs::create_dir_all(&dir).expect("a folder for the shim harness");
        build_harness(&dir)
    })
}

fn shim() -> CpuShimExecutor {
    CpuShimExecutor::start(harness(), SHIM_BLOCK, SHIM_SHARED_BYTES)
}

/// Every kernel file compiled for every architecture: (file, arch, PTX).
fn all_ptx() -> Vec<(&'static str, &'static str, String)> {
    let mut out = Vec::new();
    for source in &KERNEL_SOURCES {
        for arch in ARCHS {
            let ptx = compile_ptx(source, arch).unwrap_or_else(|error| panic!("{error}"));
            out.push((source.file, arch, ptx));
        }
    }
    out
}

#[test]
fn nvrtc_compiles_every_kernel_for_compute_80_and_compute_90() {
    if !rerun_with_nvrtc("nvrtc_compiles_every_kernel_for_compute_80_and_compute_90") {
        return;
    }
    let compiled = all_ptx();
    for (file, arch, ptx) in &compiled {
        let target = format!(".target sm_{}", &arch["compute_".len()..]);
        assert!(ptx.contains(&target), "{file} for {arch}: no `{target}` in the PTX");
        for kernel in Kernel::ALL.iter().filter(|kernel| kernel.source().file == *file) {
            assert!(
                ptx.contains(&format!(".entry {}(", kernel.name())),
                "{file} for {arch}: no entry {}",
                kernel.name()
            );
        }
        // --fmad=false: no fused multiply-add anywhere, so roundings match the CPU's.
        assert!(!ptx.contains("fma.rn"), "{file} for {arch}: a fused multiply-add");
    }
    println!(
        "NVRTC compiled {} kernel files for {}: {} PTX modules",
        KERNEL_SOURCES.len(),
        ARCHS.join(", "),
        compiled.len()
    );
}

#[test]
fn ptxas_assembles_every_kernel_for_sm_80_and_sm_90() {
    if !rerun_with_nvrtc("ptxas_assembles_every_kernel_for_sm_80_and_sm_90") {
        return;
    }
    let ptxas = ptxas();
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (file, arch, ptx) in all_ptx() {
        let sm = arch.replace("compute_", "sm_");
        let input = dir.path().join(format!("{file}.{sm}.ptx"));
        std::fs::write(&input, ptx).expect("PTX written");
        let output = std::process::Command::new(&ptxas)
            .args(["--gpu-name", &sm, "--verbose", "--warn-on-spills"])
            .arg(&input)
            .arg("--output-file")
            .arg(dir.path().join(format!("{file}.{sm}.cubin")))
            .output()
            .expect("ptxas runs");
        let log =
            format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "ptxas failed on {file} for {sm}:\n{log}");
        // ptxas writes "<file>, line N; error : ..." and "ptxas fatal : ..." (a kernel name may
        // itself contain "error", so only these forms count).
        let problems: Vec<&str> = log
            .lines()
            .filter(|line| line.contains("; error") || line.contains("fatal") || line.contains("warning"))
            .collect();
        assert!(problems.is_empty(), "ptxas reported problems on {file} for {sm}:\n{log}");
        let spilling = log.lines().filter(|line| {
            line.contains("spill") && !line.contains("0 bytes spill stores, 0 bytes spill loads")
        });
        assert_eq!(spilling.count(), 0, "registers spill in {file} for {sm}:\n{log}");
        let registers: Vec<&str> = log.lines().filter(|line| line.contains("Used")).collect();
        println!("ptxas {file} {sm}: 0 errors; {}", registers.join(" | ").replace("ptxas info    : ", ""));
    }
}

#[test]
fn histogram_kernels_add_every_rows_gradients_into_its_bin() {
    let (matrix, targets) = dyadic_data(700, 3, 1);
    let cuts = BinCuts::from_matrix(&matrix, 16, 1);
    let n_features = matrix.n_features();
    let bins: Vec<u16> = (0..matrix.n_rows())
        .flat_map(|row| matrix.row(row).to_vec().into_iter().enumerate())
        .map(|(f, v)| if v.is_finite() { cuts.bin_of(f, v) } else { u16::MAX })
        .collect();
    let offsets: Vec<u32> = (0..=n_features)
        .map(|f| if f == n_features { cuts.total_bins() } else { cuts.offset(f) } as u32)
        .collect();
    let grad: Vec<f32> = targets.iter().map(|t| -t).collect();
    let hess = vec![1.0_f32; targets.len()];
    // Two nodes: the even rows (histogram 1) and the first 100 odd ones (histogram 0).
    let even: Vec<u32> = (0..700).step_by(2).collect();
    let odd: Vec<u32> = (1..200).step_by(2).collect();
    let rows: Vec<u32> = even.iter().chain(&odd).copied().collect();
    let naive = |rows: &[u32]| {
        let mut cells = vec![0.0_f64; 2 * cuts.total_bins()];
        for &row in rows {
            for f in 0..n_features {
                let bin = bins[row as usize * n_features + f];
                if bin != u16::MAX {
                    let cell = offsets[f] as usize + usize::from(bin);
                    cells[2 * cell] += f64::from(grad[row as usize]);
                    cells[2 * cell + 1] += 1.0;
                }
            }
        }
        cells
    };
    let expected: Vec<f64> = naive(&odd).into_iter().chain(naive(&even)).collect();
    for (kernel, shared_bytes) in
        [(Kernel::BuildHistogramsShared, cuts.total_bins() as u32 * 16), (Kernel::BuildHistogramsGlobal, 0)]
    {
        let mut shim = shim();
        let mut upload = |bytes: Vec<u8>| {
            let id = shim.alloc(bytes.len()).expect("alloc");
            shim.upload(id, &bytes).expect("upload");
            KernelArg::Buffer(id)
        };
        let args = [
            upload(to_bytes(&bins)),
            KernelArg::U32(n_features as u32),
            upload(to_bytes(&offsets)),
            KernelArg::U32(cuts.total_bins() as u32),
            upload(to_bytes(&grad)),
            upload(to_bytes(&hess)),
            upload(to_bytes(&rows)),
            upload(to_bytes(&[0_u32, even.len() as u32])),
            upload(to_bytes(&[even.len() as u32, odd.len() as u32])),
            upload(to_bytes(&[1_u32, 0])),
            upload(vec![0; expected.len() * 8]),
        ];
        let KernelArg::Buffer(out) = args[10] else { unreachable!("the last argument is a buffer") };
        let shape = LaunchShape { grid: (3, 2), block: SHIM_BLOCK, shared_bytes };
        shim.launch(kernel, shape, &args).expect("launch");
        let got: Vec<f64> = from_bytes(&shim.download(out, expected.len() * 8).expect("download"));
        assert_eq!(got, expected, "{kernel:?}");
    }
}

#[test]
fn partition_kernel_splits_rows_stably_for_any_block_size() {
    let (matrix, _) = dyadic_data(500, 2, 2);
    let cuts = BinCuts::from_matrix(&matrix, 32, 1);
    let bins: Vec<u16> = (0..matrix.n_rows())
        .flat_map(|row| matrix.row(row).to_vec().into_iter().enumerate())
        .map(|(f, v)| if v.is_finite() { cuts.bin_of(f, v) } else { u16::MAX })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut rows: Vec<u32> = (0..500).collect();
    for i in (1..rows.len()).rev() {
        rows.swap(i, rng.random_range(0..=i));
    }
    // Two splits: rows[10..300) on input 1 (missing left), rows[300..500) on input 0 (missing right).
    let splits = [(10_usize, 290_usize, 1_usize, 5_u16, true), (300, 200, 0, 9, false)];
    let mut expected = rows.clone();
    let mut expected_lefts = Vec::new();
    for &(start, count, feature, right_start, default_left) in &splits {
        let goes_left = |row: &u32| {
            let bin = bins[*row as usize * 2 + feature];
            if bin == u16::MAX { default_left } else { bin < right_start }
        };
        let range = &rows[start..start + count];
        let (left, right): (Vec<u32>, Vec<u32>) = range.iter().partition(|row| goes_left(row));
        expected_lefts.push(left.len() as u32);
        expected[start..start + count].copy_from_slice(&[left, right].concat());
    }
    for block in [1, 7, 32, 64] {
        let mut shim = CpuShimExecutor::start(harness(), block, SHIM_SHARED_BYTES);
        let mut upload = |bytes: Vec<u8>| {
            let id = shim.alloc(bytes.len()).expect("alloc");
            shim.upload(id, &bytes).expect("upload");
            id
        };
        let column = |pick: fn(&(usize, usize, usize, u16, bool)) -> u32| {
            to_bytes(&splits.iter().map(pick).collect::<Vec<u32>>())
        };
        let rows_id = upload(to_bytes(&rows));
        let lefts_id = upload(vec![0; 8]);
        let args = [
            KernelArg::Buffer(upload(to_bytes(&bins))),
            KernelArg::U32(2),
            KernelArg::Buffer(rows_id),
            KernelArg::Buffer(upload(vec![0; rows.len() * 4])),
            KernelArg::Buffer(upload(column(|s| s.0 as u32))),
            KernelArg::Buffer(upload(column(|s| s.1 as u32))),
            KernelArg::Buffer(upload(column(|s| s.2 as u32))),
            KernelArg::Buffer(upload(column(|s| u32::from(s.3)))),
            KernelArg::Buffer(upload(column(|s| u32::from(s.4)))),
            KernelArg::Buffer(lefts_id),
        ];
        let shape = LaunchShape { grid: (2, 1), block, shared_bytes: (block + 1).div_ceil(2) * 8 };
        shim.launch(Kernel::PartitionRows, shape, &args).expect("launch");
        let got: Vec<u32> = from_bytes(&shim.download(rows_id, rows.len() * 4).expect("download"));
        let lefts: Vec<u32> = from_bytes(&shim.download(lefts_id, 8).expect("download"));
        assert_eq!(got, expected, "block of {block}");
        assert_eq!(lefts, expected_lefts, "block of {block}");
    }
}

#[test]
fn one_tree_on_the_kernels_is_the_cpus_tree_bit_for_bit() {
    let (matrix, targets) = dyadic_data(1500, 4, 3);
    let params = BoosterParams { max_bin: 32, ..exact_params(1, 5, 1) };
    let cpu = Booster::fit(&matrix, &targets, &params).expect("CPU training");
    let kernels = Booster::fit_on(&matrix, &targets, &params, &mut shim()).expect("training on the shim");
    let (identical, leaves) = assert_same_trees(&cpu, &kernels, 0.0);
    assert_eq!(identical, leaves);
    assert!(leaves >= 8, "a tree worth comparing: {leaves} leaves");
    println!("one tree: {leaves} leaves, all bit-identical");
}

#[test]
fn many_trees_on_the_kernels_match_the_cpu_with_sampling_and_missing_inputs() {
    let (matrix, targets) = continuous_data(1200, 4);
    let params = BoosterParams {
        n_estimators: 6,
        max_depth: 4,
        max_bin: 64,
        learning_rate: 0.3,
        lambda: 1.0,
        min_child_weight: 3.0,
        threads: 1,
        ..BoosterParams::default()
    };
    let params = sampled(11, params);
    let cpu = Booster::fit(&matrix, &targets, &params).expect("CPU training");
    let kernels = Booster::fit_on(&matrix, &targets, &params, &mut shim()).expect("training on the shim");
    // Float atomics add histogram cells in another order than the CPU: a gradient sum may
    // differ in its last bits, and so may a leaf value (one f32 ulp is ~1.2e-7 relative).
    let (identical, leaves) = assert_same_trees(&cpu, &kernels, 1e-5);
    println!(
        "{} trees: same splits; {identical} of {leaves} leaves bit-identical, the rest within 1e-5",
        params.n_estimators
    );
}

#[test]
fn histograms_in_global_memory_give_the_same_trees() {
    let (matrix, targets) = dyadic_data(800, 3, 5);
    let params = BoosterParams { max_bin: 16, ..exact_params(2, 3, 1) };
    let cpu = Booster::fit(&matrix, &targets, &params).expect("CPU training");
    // No shared memory on offer: the trainer must use build_histograms_global.
    let mut executor = CpuShimExecutor::start(harness(), 16, 0);
    let kernels = Booster::fit_on(&matrix, &targets, &params, &mut executor).expect("training on the shim");
    assert_same_trees(&cpu, &kernels, 1e-5);
}

#[test]
fn batch_prediction_kernel_matches_the_cpu_bit_for_bit() {
    let (matrix, targets) = continuous_data(900, 6);
    let params = BoosterParams { n_estimators: 15, max_depth: 5, threads: 1, ..BoosterParams::default() };
    let model = Booster::fit(&matrix, &targets, &params).expect("CPU training");
    // New rows, with missing and infinite inputs.
    let (mut fresh, _) = continuous_data(300, 7);
    fresh.push_row(&[f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 0.0, 5.0]);
    let cpu = model.predict(&fresh).expect("CPU prediction");
    let kernels = model.predict_on(&fresh, &mut shim()).expect("prediction on the shim");
    let bits = |values: &[f32]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&kernels), bits(&cpu));
    let narrow = FeatureMatrix::from_values(2, vec![1.0, 2.0]).expect("one row of two");
    assert!(matches!(
        model.predict_on(&narrow, &mut shim()),
        Err(ModelError::WrongRowWidth { expected: 5, got: 2 })
    ));
}

#[test]
fn cuda_without_a_gpu_is_an_error_and_auto_falls_back_to_the_cpu() {
    let (matrix, targets) = dyadic_data(200, 2, 8);
    let params = |device| BoosterParams { n_estimators: 3, threads: 1, device, ..BoosterParams::default() };
    let on_cpu = Booster::fit(&matrix, &targets, &params(Device::Cpu)).expect("CPU training");
    let auto = Booster::fit(&matrix, &targets, &params(Device::Auto)).expect("auto never fails");
    match pricestream_model::cuda::CudaExecutor::open() {
        Ok(_) => println!("a GPU is present: `cuda` opened, so its missing-GPU error is not checked here"),
        Err(reason) => {
            assert_eq!(forest_nodes(&auto), forest_nodes(&on_cpu), "auto without a GPU trains on the CPU");
            let error = Booster::fit(&matrix, &targets, &params(Device::Cuda)).expect_err("no GPU");
            assert!(matches!(error, ModelError::Cuda(_)), "{error}");
            println!("device cuda without a GPU: {error}");
            if !driver_library_present() {
                assert!(matches!(reason, CudaError::NoDriverLibrary), "{reason}");
                assert!(error.to_string().contains("libcuda.so"), "{error}");
            }
        }
    }
}
