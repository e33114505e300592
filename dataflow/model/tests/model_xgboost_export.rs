//! The XGBoost-format export: Python's xgboost loads a model trained on NVDA and predicts, for
//! every one of its rows, what the model predicts (within 1e-6); and the model's feature
//! importance equals what XGBoost reports for the model it trains itself on the same rows.
//!
//! The oracle is `tests/oracle/xgboost_predict.py` with the `xgboost-cpu` wheel
//! (`tests/oracle/requirements.txt`); without it the test fails, never skips.

mod model_support;

use model_support::repo_paths::{oracle_command, oracle_output};
use pricestream_model::{Booster, Dataset, FEATURE_NAMES, Fold};
use std::fmt::Write as _;

/// NVDA's rows and the model trained on all of them with the "regularised" settings.
fn nvda_model() -> (Dataset, Booster) {
    let data = Dataset::from_rows(&model_support::market_rows("nvda-1999-2014.csv", "NVDA"));
    let booster = Booster::fit(&data.matrix, &data.targets, &model_support::regularised())
        .expect("training")
        .with_feature_names(&FEATURE_NAMES);
    (data, booster)
}

#[test]
fn python_xgboost_loads_the_export_and_predicts_the_same_values() {
    let (data, booster) = nvda_model();
    let ours = booster.predict(&data.matrix).expect("prediction");

    let dir = tempfile::tempdir().expect("a temporary folder");
    let model = dir.path().join("nvda.json");
    std::fs::write(&model, booster.to_xgboost_json().to_string()).expect("model written");
    let mut csv = FEATURE_NAMES.join(",") + "\n";
    for row in 0..data.matrix.n_rows() {
        let cells: Vec<String> = data.matrix.row(row).iter().map(|v| format!("{v:?}")).collect();
        let _ = writeln!(csv, "{}", cells.join(","));
    }
    let inputs = dir.path().join("inputs.csv");
    std::fs::write(&inputs, csv).expect("inputs written");

    let mut oracle = oracle_command("xgboost_predict.py");
    oracle.arg("--model").arg(&model).arg("--inputs").arg(&inputs);
    let text = String::from_utf8(oracle_output("XGBoost", &mut oracle)).expect("UTF-8");
    let theirs: Vec<f32> = text.lines().map(|line| line.parse().expect("a number")).collect();
    assert_eq!(theirs.len(), ours.len(), "one prediction per row");
    let worst = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).fold(0.0_f32, f32::max);
    assert!(worst <= 1e-6, "largest difference {worst}");
    let identical = ours.iter().zip(&theirs).filter(|(a, b)| a == b).count();
    println!(
        "{} rows, {} trees: {identical} predictions identical, largest difference {worst}",
        ours.len(),
        booster.forest().n_trees()
    );
}

#[test]
fn feature_importance_is_xgboosts_for_the_same_rows() {
    let (data, booster) = nvda_model();
    let ours = booster.importance();
    // XGBoost trains on every row (one fold; its single test row is irrelevant here).
    let n = data.len();
    let theirs = model_support::xgboost(
        &data,
        &[Fold { train: 0..n, test: n - 1..n }],
        &model_support::regularised(),
        1,
    )
    .importance;
    let score = |kind: &str, feature: &str| -> Option<f64> {
        let index = FEATURE_NAMES.iter().position(|name| *name == feature)?;
        theirs[kind][format!("f{index}")].as_f64()
    };
    let used = theirs["weight"].as_object().map_or(0, |scores| scores.len());
    assert_eq!(ours.0.len(), used, "the same inputs split on: ours {ours:?}, XGBoost's {theirs}");
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-5 * a.abs().max(b.abs());
    for input in &ours.0 {
        let feature = input.feature.as_str();
        assert_eq!(Some(input.weight as f64), score("weight", feature), "{feature} splits");
        for (kind, value) in [
            ("gain", input.gain),
            ("total_gain", input.total_gain),
            ("cover", input.cover),
            ("total_cover", input.total_cover),
        ] {
            let expected = score(kind, feature).unwrap_or(f64::NAN);
            assert!(close(value, expected), "{feature} {kind}: ours {value}, XGBoost's {expected}");
        }
    }
    println!("{ours}");
}
