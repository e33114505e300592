//! The XGBoost-format export: Python's xgboost loads a model trained on NVDA and predicts, for
//! every one of its rows, what the model predicts (within 1e-6).
//!
//! The oracle is `tests/oracle/xgboost_predict.py` with the `xgboost-cpu` wheel
//! (`tests/oracle/requirements.txt`); without it the test fails, never skips.

mod model_support;

use model_support::repo_paths::{oracle_command, oracle_output};
use pricestream_model::{Booster, Dataset, FEATURE_NAMES};
use std::fmt::Write as _;

#[test]
fn python_xgboost_loads_the_export_and_predicts_the_same_values() {
    let data = Dataset::from_rows(&model_support::market_rows("nvda-1999-2014.csv", "NVDA"));
    let params = model_support::regularised();
    let booster = Booster::fit(&data.matrix, &data.targets, &params)
        .expect("training")
        .with_feature_names(&FEATURE_NAMES);
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
