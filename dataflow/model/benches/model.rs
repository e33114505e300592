//! Scoring one feature row with 100 trees of depth 6 (target: ≤ 5 µs), and training on a small
//! table for reference.
//!
//! ```sh
//! cargo bench -p pricestream-model --bench model
//! ```

use criterion::{Criterion, criterion_group, criterion_main};
use pricestream_model::{Booster, BoosterParams, FeatureMatrix, N_FEATURES};
use std::hint::black_box;

/// A seeded table with a nonlinear target, so that trees grow to full depth.
fn table(rows: usize) -> (FeatureMatrix, Vec<f32>) {
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1_u64 << 24) as f32
    };
    let mut matrix = FeatureMatrix::new(N_FEATURES);
    let mut targets = Vec::with_capacity(rows);
    for _ in 0..rows {
        let mut row = [0.0_f32; N_FEATURES];
        row.iter_mut().for_each(|v| *v = if uniform() < 0.05 { f32::NAN } else { uniform() });
        let input = |i: usize| if row[i].is_nan() { 0.5 } else { row[i] };
        let target = (input(0) * 6.0).sin() * 0.02 + input(1) * input(2) * 0.01 + uniform() * 0.01;
        matrix.push_row(&row);
        targets.push(target);
    }
    (matrix, targets)
}

fn scoring(c: &mut Criterion) {
    let (matrix, targets) = table(20_000);
    let params = BoosterParams { n_estimators: 100, max_depth: 6, threads: 2, ..BoosterParams::default() };
    let model = Booster::fit(&matrix, &targets, &params).expect("trains");
    let rows: Vec<Vec<f32>> = (0..1024).map(|i| matrix.row(i).to_vec()).collect();
    let mut next = 0;
    c.bench_function("model/score one row (100 trees, depth 6)", |b| {
        b.iter(|| {
            next = (next + 1) % rows.len();
            black_box(model.predict_row(black_box(&rows[next])))
        })
    });
}

fn training(c: &mut Criterion) {
    let (matrix, targets) = table(20_000);
    let mut group = c.benchmark_group("model");
    group.sample_size(10);
    for threads in [1, 2] {
        let params = BoosterParams { threads, ..BoosterParams::default() };
        group.bench_function(format!("train 20k rows × 11 inputs, 100 trees, threads={threads}"), |b| {
            b.iter(|| black_box(Booster::fit(&matrix, &targets, &params)))
        });
    }
    group.finish();
}

criterion_group!(benches, scoring, training);
criterion_main!(benches);
