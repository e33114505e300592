//! The CUDA backend on a real GPU against the CPU backend: same trees, same predictions.
//!
//! Needs an NVIDIA GPU with its driver, and NVRTC (the CUDA toolkit's, or the
//! `nvidia-cuda-nvrtc-cu12` wheel from `tests/oracle/requirements.txt`). It is `#[ignore]`d, so
//! on machines without a GPU (CI, development) it is reported as ignored, never as passed. Run
//! it on a GPU machine with
//!
//! ```sh
//! cargo test --release -p pricestream-model --test model_cuda_gpu -- --ignored --nocapture
//! ```
//!
//! Run that way without a usable GPU it prints "not run: no GPU" and FAILS, so it cannot be
//! mistaken for a pass either.
//!
//! The second test is a bench: GPU against CPU training time on generated mart rows (default
//! 200 tickers × 20 years, 1 M rows; `PRICESTREAM_GPU_BENCH_TICKERS` to change), with the
//! first and a later opening of the GPU timed apart.

mod cuda_support;
mod model_support;

use cuda_support::{
    assert_same_trees, continuous_data, dyadic_data, exact_params, rerun_with_nvrtc, sampled,
};
use pricestream_model::cuda::{CudaExecutor, driver_library_present};
use pricestream_model::{Booster, BoosterParams, Dataset, Device};
use std::time::Instant;

/// Opens the GPU, or fails the test saying why it did not run.
fn gpu(test_name: &str) -> Option<CudaExecutor> {
    if !driver_library_present() {
        println!("not run: no GPU (no CUDA driver library)");
        panic!("not run: no GPU (no CUDA driver library); this test needs an NVIDIA GPU");
    }
    if !rerun_with_nvrtc(test_name) {
        return None;
    }
    match CudaExecutor::open() {
        Ok(executor) => {
            println!("GPU: {}", executor.gpu_name());
            Some(executor)
        }
        Err(reason) => {
            println!("not run: no GPU ({reason})");
            panic!("not run: no GPU ({reason}); this test needs an NVIDIA GPU");
        }
    }
}

#[test]
#[ignore = "needs a CUDA GPU: cargo test -p pricestream-model --test model_cuda_gpu -- --ignored"]
fn the_gpu_builds_the_cpus_trees_and_predictions() {
    let Some(mut executor) = gpu("the_gpu_builds_the_cpus_trees_and_predictions") else { return };

    // Exact gradient sums (targets on a 1/64 grid, one tree): bit-identical trees.
    let (matrix, targets) = dyadic_data(50_000, 6, 1);
    let params = exact_params(1, 8, 2);
    let cpu = Booster::fit(&matrix, &targets, &params).expect("CPU training");
    let gpu = Booster::fit_on(&matrix, &targets, &params, &mut executor).expect("GPU training");
    let (identical, leaves) = assert_same_trees(&cpu, &gpu, 0.0);
    assert_eq!(identical, leaves);

    // Continuous data, many trees, sampling: same splits, leaves within float-order noise.
    let (matrix, targets) = continuous_data(200_000, 2);
    let params =
        sampled(5, BoosterParams { n_estimators: 50, max_depth: 6, threads: 2, ..BoosterParams::default() });
    let started = std::time::Instant::now();
    let cpu = Booster::fit(&matrix, &targets, &params).expect("CPU training");
    let cpu_seconds = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let gpu = Booster::fit_on(&matrix, &targets, &params, &mut executor).expect("GPU training");
    let gpu_seconds = started.elapsed().as_secs_f64();
    let (identical, leaves) = assert_same_trees(&cpu, &gpu, 1e-5);
    println!("{identical} of {leaves} leaves bit-identical; CPU {cpu_seconds:.3} s, GPU {gpu_seconds:.3} s");

    let predicted_cpu = cpu.predict(&matrix).expect("CPU prediction");
    let predicted_gpu = cpu.predict_on(&matrix, &mut executor).expect("GPU prediction");
    let bits = |values: &[f32]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&predicted_gpu), bits(&predicted_cpu));

    // `auto` finds the GPU.
    let auto = BoosterParams { device: Device::Auto, n_estimators: 5, ..params };
    let on_auto = Booster::fit(&matrix, &targets, &auto).expect("auto training");
    let on_cuda =
        Booster::fit(&matrix, &targets, &BoosterParams { device: Device::Cuda, ..auto }).expect("cuda");
    assert_same_trees(&on_cuda, &on_auto, 1e-5);
}

#[test]
#[ignore = "a bench on a CUDA GPU: cargo test --release -p pricestream-model --test model_cuda_gpu -- --ignored"]
fn training_time_on_the_gpu_against_the_cpu() {
    let started = Instant::now();
    let Some(executor) = gpu("training_time_on_the_gpu_against_the_cpu") else { return };
    let first_open = started.elapsed().as_secs_f64();
    drop(executor);
    let started = Instant::now();
    let mut executor = CudaExecutor::open().expect("the GPU opens again");
    let later_open = started.elapsed().as_secs_f64();
    println!("opening the GPU: first {first_open:.3} s (context + NVRTC), later {later_open:.4} s");

    let tickers =
        std::env::var("PRICESTREAM_GPU_BENCH_TICKERS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let dataset = Dataset::from_rows(&model_support::generated_rows(tickers, 5_040));
    // XGBoost's defaults (100 trees of depth 6), every core of the machine on the CPU side.
    let cpu_params = BoosterParams::default();
    let gpu_params = BoosterParams { device: Device::Cuda, ..cpu_params.clone() };
    let started = Instant::now();
    let cpu = Booster::fit(&dataset.matrix, &dataset.targets, &cpu_params).expect("CPU training");
    let cpu_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let gpu = Booster::fit(&dataset.matrix, &dataset.targets, &gpu_params).expect("GPU training");
    let gpu_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let predicted_cpu = cpu.predict(&dataset.matrix).expect("CPU prediction");
    let cpu_predict = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let predicted_gpu = cpu.predict_on(&dataset.matrix, &mut executor).expect("GPU prediction");
    let gpu_predict = started.elapsed().as_secs_f64();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "{} rows × {} inputs, {} trees of depth {}: training CPU ({threads} threads) {cpu_seconds:.3} s, \
         GPU {gpu_seconds:.3} s ({:.2}×); scoring every row CPU {cpu_predict:.3} s, GPU {gpu_predict:.3} s",
        dataset.len(),
        dataset.matrix.n_features(),
        cpu_params.n_estimators,
        cpu_params.max_depth,
        cpu_seconds / gpu_seconds,
    );
    let (identical, leaves) = assert_same_trees(&cpu, &gpu, 1e-4);
    println!("{identical} of {leaves} leaves bit-identical");
    let bits = |values: &[f32]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&predicted_gpu), bits(&predicted_cpu));
}
