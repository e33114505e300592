//! The same data, settings and seed give the same model, whatever the thread count; a saved
//! model predicts what the original did.

mod model_support;

use pricestream_model::{Booster, BoosterParams, Dataset};

fn nvda() -> Dataset {
    Dataset::from_rows(&model_support::market_rows("nvda-1999-2014.csv", "NVDA"))
}

fn sampled(seed: u64, threads: usize) -> BoosterParams {
    BoosterParams {
        n_estimators: 40,
        max_depth: 5,
        learning_rate: 0.1,
        subsample: 0.7,
        colsample_bytree: 0.6,
        seed,
        threads,
        ..BoosterParams::default()
    }
}

/// Trains on the first 3 000 rows and predicts the rest.
fn predictions(dataset: &Dataset, params: &BoosterParams) -> (Booster, Vec<f32>) {
    let train = dataset.matrix.slice_rows(0..3_000);
    let model = Booster::fit(&train, &dataset.targets[..3_000], params).expect("trains");
    let predicted = model.predict(&dataset.matrix.slice_rows(3_000..dataset.len())).expect("predicts");
    (model, predicted)
}

#[test]
fn the_same_seed_gives_identical_predictions_and_another_seed_does_not() {
    let dataset = nvda();
    let (_, first) = predictions(&dataset, &sampled(7, 2));
    let (_, again) = predictions(&dataset, &sampled(7, 2));
    let (_, other_seed) = predictions(&dataset, &sampled(8, 2));
    assert_eq!(first, again);
    assert_ne!(first, other_seed);
}

#[test]
fn the_thread_count_does_not_change_the_model() {
    let dataset = nvda();
    let (one, _) = predictions(&dataset, &sampled(7, 1));
    let (three, _) = predictions(&dataset, &sampled(7, 3));
    assert_eq!(one.forest(), three.forest());
    assert_eq!(one.base_score(), three.base_score());
}

#[test]
fn a_saved_model_predicts_exactly_what_the_original_did() {
    let dataset = nvda();
    let (model, predicted) = predictions(&dataset, &sampled(7, 2));
    let loaded = Booster::from_json(&model.to_json()).expect("loads");
    let again = loaded.predict(&dataset.matrix.slice_rows(3_000..dataset.len())).expect("predicts");
    assert_eq!(predicted, again);
}
