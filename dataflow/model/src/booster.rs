//! The model: training (boosting rounds of histogram trees), prediction, saving and loading.

use super::binned::BinnedMatrix;
use super::cuda::{KernelExecutor, fit_forest, predict_rows};
use super::cuts::BinCuts;
use super::device::Backend;
use super::error::ModelError;
use super::forest::Forest;
use super::grow::{GrowInputs, grow};
use super::histogram::GradPair;
use super::matrix::FeatureMatrix;
use super::params::BoosterParams;
use super::sampling::{Rng, sample_features, sample_rows};
use super::split::Penalties;
use serde::{Deserialize, Serialize};

/// Version of the saved-model format this build writes and reads. Bump it when the shape of
/// [`Booster`]'s JSON changes.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// Gradient-boosted regression trees for squared error: XGBoost's `tree_method=hist` algorithm.
///
/// ```
/// use pricestream_model::{Booster, BoosterParams, FeatureMatrix};
///
/// // y = 2·x, learned from 200 rows.
/// let xs: Vec<f32> = (0..200).map(|i| i as f32 / 10.0).collect();
/// let ys: Vec<f32> = xs.iter().map(|x| 2.0 * x).collect();
/// let matrix = FeatureMatrix::from_values(1, xs).unwrap();
/// let params = BoosterParams { n_estimators: 50, threads: 1, ..BoosterParams::default() };
/// let model = Booster::fit(&matrix, &ys, &params).unwrap();
/// let predicted = model.predict_row(&[5.0]).unwrap();
/// assert!((predicted - 10.0).abs() < 0.5, "{predicted}");
///
/// let saved = model.to_json();
/// assert_eq!(Booster::from_json(&saved).unwrap(), model);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Booster {
    /// [`MODEL_FORMAT_VERSION`] when written.
    format_version: u32,
    /// The settings it was trained with.
    params: BoosterParams,
    /// Names of the inputs, in row order.
    feature_names: Vec<String>,
    /// Rows it was trained on.
    training_rows: usize,
    /// Starting prediction, before any tree.
    base_score: f32,
    /// The trees.
    forest: Forest,
}

impl Booster {
    /// Trains on `matrix` (NaN = missing input) and `targets`, one per row, on the device
    /// `params.device` names ([`Device`](super::Device)).
    pub fn fit(
        matrix: &FeatureMatrix,
        targets: &[f32],
        params: &BoosterParams,
    ) -> Result<Booster, ModelError> {
        params.validated().map_err(ModelError::InvalidParams)?;
        check_training_data(matrix, targets)?;
        match params.device.open()? {
            Backend::Cpu => Self::fit_with(matrix, targets, params, fit_trees_on_cpu),
            Backend::Cuda(mut executor) => Self::fit_on(matrix, targets, params, executor.as_mut()),
        }
    }

    /// Trains with every kernel on `executor` (a [`CudaExecutor`](super::cuda::CudaExecutor),
    /// or the CPU shim that tests use), whatever `params.device` says.
    pub fn fit_on(
        matrix: &FeatureMatrix,
        targets: &[f32],
        params: &BoosterParams,
        executor: &mut dyn KernelExecutor,
    ) -> Result<Booster, ModelError> {
        params.validated().map_err(ModelError::InvalidParams)?;
        check_training_data(matrix, targets)?;
        Self::fit_with(matrix, targets, params, |training| {
            Ok(fit_forest(executor, training.data, training.cuts, targets, params, training.base_score)?)
        })
    }

    /// The steps both backends share (cut points, binning, base score) around `trees`, which
    /// grows the forest.
    fn fit_with(
        matrix: &FeatureMatrix,
        targets: &[f32],
        params: &BoosterParams,
        trees: impl FnOnce(&TrainingSet) -> Result<Forest, ModelError>,
    ) -> Result<Booster, ModelError> {
        let cuts = BinCuts::from_matrix(matrix, params.max_bin, params.threads);
        let data = BinnedMatrix::new(matrix, &cuts, params.threads);
        let base_score = params.base_score.unwrap_or_else(|| mean(targets));
        let training = TrainingSet { data: &data, cuts: &cuts, targets, params, base_score };
        let forest = trees(&training)?;
        Ok(Booster {
            format_version: MODEL_FORMAT_VERSION,
            params: params.clone(),
            feature_names: (0..matrix.n_features()).map(|i| format!("f{i}")).collect(),
            training_rows: matrix.n_rows(),
            base_score,
            forest,
        })
    }

    /// The same model with its inputs named (the names are saved with it).
    ///
    /// # Panics
    /// When the number of names differs from the number of inputs.
    pub fn with_feature_names(mut self, names: &[&str]) -> Self {
        assert_eq!(names.len(), self.feature_names.len(), "one name per input");
        self.feature_names = names.iter().map(|&name| name.to_owned()).collect();
        self
    }

    /// The prediction for one row of inputs (NaN = missing).
    pub fn predict_row(&self, row: &[f32]) -> Result<f32, ModelError> {
        if row.len() != self.feature_names.len() {
            return Err(ModelError::WrongRowWidth { expected: self.feature_names.len(), got: row.len() });
        }
        Ok(self.forest.sum_leaves(self.base_score, row))
    }

    /// The predictions for every row of `matrix`.
    pub fn predict(&self, matrix: &FeatureMatrix) -> Result<Vec<f32>, ModelError> {
        (0..matrix.n_rows()).map(|row| self.predict_row(matrix.row(row))).collect()
    }

    /// The predictions for every row of `matrix`, computed by the batch prediction kernel on
    /// `executor`: the same values, bit for bit, as [`Booster::predict`].
    pub fn predict_on(
        &self,
        matrix: &FeatureMatrix,
        executor: &mut dyn KernelExecutor,
    ) -> Result<Vec<f32>, ModelError> {
        if matrix.n_features() != self.feature_names.len() {
            return Err(ModelError::WrongRowWidth {
                expected: self.feature_names.len(),
                got: matrix.n_features(),
            });
        }
        Ok(predict_rows(executor, &self.forest, self.base_score, matrix)?)
    }

    /// The settings it was trained with.
    pub fn params(&self) -> &BoosterParams {
        &self.params
    }

    /// Names of its inputs.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// Rows it was trained on.
    pub fn training_rows(&self) -> usize {
        self.training_rows
    }

    /// Its starting prediction.
    pub fn base_score(&self) -> f32 {
        self.base_score
    }

    /// Its trees.
    pub fn forest(&self) -> &Forest {
        &self.forest
    }

    /// The model as JSON, with its format version.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a model has only finite numbers and string keys")
    }

    /// Reads a model written by [`Booster::to_json`], checking its version and its trees.
    pub fn from_json(text: &str) -> Result<Booster, ModelError> {
        // The version alone first, so a file from another format gets a clear error.
        #[derive(Deserialize)]
        struct Version {
            format_version: u32,
        }
        let Version { format_version } = serde_json::from_str(text).map_err(ModelError::Decode)?;
        if format_version != MODEL_FORMAT_VERSION {
            return Err(ModelError::UnsupportedVersion {
                found: format_version,
                supported: MODEL_FORMAT_VERSION,
            });
        }
        let model: Booster = serde_json::from_str(text).map_err(ModelError::Decode)?;
        model.forest.check(model.feature_names.len()).map_err(ModelError::Corrupt)?;
        if !model.base_score.is_finite() {
            return Err(ModelError::Corrupt(format!("base_score is {}", model.base_score)));
        }
        Ok(model)
    }
}

/// What growing the forest starts from.
struct TrainingSet<'a> {
    data: &'a BinnedMatrix,
    cuts: &'a BinCuts,
    targets: &'a [f32],
    params: &'a BoosterParams,
    base_score: f32,
}

/// The boosting rounds on the CPU, `params.threads` threads.
fn fit_trees_on_cpu(training: &TrainingSet) -> Result<Forest, ModelError> {
    let TrainingSet { data, cuts, targets, params, base_score } = *training;
    let n_rows = targets.len();
    let threads = params.threads;
    let penalties =
        Penalties { lambda: params.lambda, gamma: params.gamma, min_child_weight: params.min_child_weight };
    let mut predictions = vec![base_score; n_rows];
    let mut grads = vec![GradPair::default(); n_rows];
    let mut in_sample = vec![true; n_rows];
    let mut forest = Forest::default();
    for tree in 0..params.n_estimators {
        // Squared error: g = prediction − target, h = 1.
        for ((grad, &prediction), &target) in grads.iter_mut().zip(&predictions).zip(targets) {
            *grad = GradPair { g: prediction - target, h: 1.0 };
        }
        let mut rng = Rng::for_tree(params.seed, tree);
        let rows = sample_rows(&mut rng, n_rows, params.subsample);
        let features = sample_features(&mut rng, data.n_features(), params.colsample_bytree);
        if rows.len() < n_rows {
            in_sample.fill(false);
            rows.iter().for_each(|&row| in_sample[row as usize] = true);
        }
        let inputs = GrowInputs {
            data,
            cuts,
            grads: &grads,
            features: &features,
            penalties,
            learning_rate: params.learning_rate,
            max_depth: params.max_depth,
            threads,
        };
        let grown = grow(&inputs, rows);
        // Rows the tree trained on sit in its leaves; the others walk it.
        for (leaf, range) in &grown.leaves {
            let value = grown.nodes[*leaf].value;
            grown.rows[range.clone()].iter().for_each(|&row| predictions[row as usize] += value);
        }
        if grown.rows.len() < n_rows {
            for (row, prediction) in predictions.iter_mut().enumerate().filter(|(row, _)| !in_sample[*row]) {
                *prediction += grown.leaf_value(data.row(row));
            }
        }
        forest.push_tree(grown.nodes.iter().map(|node| node.to_flat()));
    }
    Ok(forest)
}

fn check_training_data(matrix: &FeatureMatrix, targets: &[f32]) -> Result<(), ModelError> {
    let bad = |message: String| Err(ModelError::BadTrainingData(message));
    if matrix.n_rows() == 0 || matrix.n_features() == 0 {
        return bad(format!(
            "{} rows of {} inputs; need at least one of each",
            matrix.n_rows(),
            matrix.n_features()
        ));
    }
    if targets.len() != matrix.n_rows() {
        return bad(format!("{} targets for {} rows", targets.len(), matrix.n_rows()));
    }
    if let Some((row, target)) = targets.iter().enumerate().find(|(_, t)| !t.is_finite()) {
        return bad(format!("the target of row {row} is {target}"));
    }
    Ok(())
}

/// Mean of the targets (XGBoost's default `base_score` for squared error), summed in `f64`.
fn mean(targets: &[f32]) -> f32 {
    let n = targets.len() as f64;
    targets.iter().map(|&t| f64::from(t) / n).sum::<f64>() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> (FeatureMatrix, Vec<f32>) {
        let mut matrix = FeatureMatrix::new(2);
        let mut targets = Vec::new();
        for i in 0..500 {
            let x = (i as f32 * 0.731).sin();
            let z = if i % 7 == 0 { f32::NAN } else { (i as f32 * 0.17).cos() };
            matrix.push_row(&[x, z]);
            targets.push(if x > 0.2 { 1.0 } else { -1.0 } + if z.is_nan() { 0.5 } else { 0.0 });
        }
        (matrix, targets)
    }

    #[test]
    fn learns_a_step_and_a_missing_value_effect() {
        let (matrix, targets) = data();
        let params = BoosterParams { n_estimators: 30, max_depth: 3, threads: 1, ..BoosterParams::default() };
        let model = Booster::fit(&matrix, &targets, &params).expect("trains");
        let predictions = model.predict(&matrix).expect("predicts");
        let rmse =
            (predictions.iter().zip(&targets).map(|(p, t)| (p - t).powi(2)).sum::<f32>() / 500.0).sqrt();
        assert!(rmse < 0.05, "rmse {rmse}");
        assert_eq!(model.forest().n_trees(), 30);
    }

    #[test]
    fn the_thread_count_does_not_change_the_model() {
        let (matrix, targets) = data();
        let params = |threads| BoosterParams {
            n_estimators: 10,
            subsample: 0.8,
            colsample_bytree: 0.5,
            seed: 3,
            threads,
            ..BoosterParams::default()
        };
        let one = Booster::fit(&matrix, &targets, &params(1)).expect("trains");
        let two = Booster::fit(&matrix, &targets, &params(2)).expect("trains");
        assert_eq!(one.forest(), two.forest());
    }

    #[test]
    fn bad_inputs_are_refused_with_a_reason() {
        let (matrix, mut targets) = data();
        targets[3] = f32::NAN;
        let error = Booster::fit(&matrix, &targets, &BoosterParams::default()).expect_err("NaN target");
        assert!(error.to_string().contains("row 3"), "{error}");
        let error = Booster::fit(&matrix, &targets[..10], &BoosterParams::default()).expect_err("short");
        assert!(error.to_string().contains("10 targets for 500 rows"), "{error}");
        let model =
            Booster::fit(&matrix, &data().1, &BoosterParams { n_estimators: 2, ..BoosterParams::default() })
                .expect("trains");
        assert!(matches!(model.predict_row(&[1.0]), Err(ModelError::WrongRowWidth { expected: 2, got: 1 })));
    }

    #[test]
    fn saved_models_load_back_and_other_versions_are_refused() {
        let (matrix, targets) = data();
        let model =
            Booster::fit(&matrix, &targets, &BoosterParams { n_estimators: 5, ..BoosterParams::default() })
                .expect("trains")
                .with_feature_names(&["x", "z"]);
        let json = model.to_json();
        let back = Booster::from_json(&json).expect("loads");
        assert_eq!(back, model);
        assert_eq!(back.predict_row(&[0.3, f32::NAN]).ok(), model.predict_row(&[0.3, f32::NAN]).ok());
        let newer = json.replacen("\"format_version\":1", "\"format_version\":2", 1);
        assert!(matches!(
            Booster::from_json(&newer),
            Err(ModelError::UnsupportedVersion { found: 2, supported: 1 })
        ));
        assert!(matches!(Booster::from_json("{\"format_version\":1}"), Err(ModelError::Decode(_))));
    }
}
