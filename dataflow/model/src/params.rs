//! The model's hyperparameters, named as XGBoost names them so settings move across unchanged.

use super::device::Device;
use pricestream_records::Problems;
use serde::{Deserialize, Serialize};

/// Hyperparameters of the gradient-boosted trees (config section `model`).
///
/// Names and defaults are XGBoost's (`tree_method=hist`, `grow_policy=depthwise`,
/// `objective=reg:squarederror`); XGBoost's aliases are accepted too (`eta`, `reg_lambda`,
/// `min_split_loss`, `num_boost_round`, `random_state`, `nthread`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoosterParams {
    /// Number of boosting rounds, one tree each.
    #[serde(default = "default_n_estimators", alias = "num_boost_round")]
    pub n_estimators: usize,
    /// Depth of every tree (depth-wise growth); a tree has at most `2^max_depth` leaves.
    #[serde(default = "default_max_depth")]
    pub max_depth: u32,
    /// Shrinkage applied to every leaf value (`eta`).
    #[serde(default = "default_learning_rate", alias = "eta")]
    pub learning_rate: f32,
    /// L2 regularisation of leaf values (`reg_lambda`).
    #[serde(default = "default_lambda", alias = "reg_lambda")]
    pub lambda: f32,
    /// Minimum loss reduction to make a split (`min_split_loss`).
    #[serde(default, alias = "min_split_loss")]
    pub gamma: f32,
    /// Minimum sum of hessians in each child; with squared error, a row count.
    #[serde(default = "default_min_child_weight")]
    pub min_child_weight: f32,
    /// Most bins per input; cut points are taken once from the training rows.
    #[serde(default = "default_max_bin")]
    pub max_bin: usize,
    /// Share of rows drawn (without replacement, per row a coin flip) for each tree.
    #[serde(default = "default_one")]
    pub subsample: f32,
    /// Share of inputs drawn for each tree.
    #[serde(default = "default_one")]
    pub colsample_bytree: f32,
    /// Seed of the row and input sampling; the same seed gives the same model.
    #[serde(default, alias = "random_state")]
    pub seed: u64,
    /// Starting prediction of every row; by default the mean target of the training rows (what
    /// XGBoost ≥ 2 estimates for squared error).
    #[serde(default)]
    pub base_score: Option<f32>,
    /// Threads for binning, histogram building, split search and row partitioning. The model
    /// does not depend on it: any count gives the same trees.
    #[serde(default = "default_threads", alias = "nthread")]
    pub threads: usize,
    /// Where to train: `cpu` (default, as in XGBoost), `cuda` (an error without a GPU) or
    /// `auto` (CUDA when a GPU opens, else the CPU). The trees are the same up to the order of
    /// floating-point additions in histogram sums.
    #[serde(default)]
    pub device: Device,
}

fn default_n_estimators() -> usize {
    100
}
fn default_max_depth() -> u32 {
    6
}
fn default_learning_rate() -> f32 {
    0.3
}
fn default_lambda() -> f32 {
    1.0
}
fn default_min_child_weight() -> f32 {
    1.0
}
fn default_max_bin() -> usize {
    256
}
fn default_one() -> f32 {
    1.0
}
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Deepest tree accepted: node ids of a full tree must fit in `u32`.
pub const MAX_DEPTH: u32 = 24;
/// Most bins per input: bin numbers are `u16`, and one value marks a missing input.
pub const MAX_BIN: usize = u16::MAX as usize;

impl Default for BoosterParams {
    fn default() -> Self {
        BoosterParams {
            n_estimators: default_n_estimators(),
            max_depth: default_max_depth(),
            learning_rate: default_learning_rate(),
            lambda: default_lambda(),
            gamma: 0.0,
            min_child_weight: default_min_child_weight(),
            max_bin: default_max_bin(),
            subsample: 1.0,
            colsample_bytree: 1.0,
            seed: 0,
            base_score: None,
            threads: default_threads(),
            device: Device::default(),
        }
    }
}

impl BoosterParams {
    /// Records every problem with these settings under `prefix` (e.g. `model`).
    pub fn validate(&self, prefix: &str, problems: &mut Problems) {
        let key = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
        problems.between(&key("n_estimators"), self.n_estimators, 1..=100_000);
        problems.between(&key("max_depth"), self.max_depth, 1..=MAX_DEPTH);
        problems.check(
            self.learning_rate.is_finite() && self.learning_rate > 0.0,
            &key("learning_rate"),
            format_args!("must be a finite number > 0, got {}", self.learning_rate),
        );
        for (name, value) in
            [("lambda", self.lambda), ("gamma", self.gamma), ("min_child_weight", self.min_child_weight)]
        {
            problems.check(
                value.is_finite() && value >= 0.0,
                &key(name),
                format_args!("must be a finite number >= 0, got {value}"),
            );
        }
        problems.between(&key("max_bin"), self.max_bin, 2..=MAX_BIN);
        for (name, value) in [("subsample", self.subsample), ("colsample_bytree", self.colsample_bytree)] {
            problems.check(
                value > 0.0 && value <= 1.0,
                &key(name),
                format_args!("must be in (0, 1], got {value}"),
            );
        }
        if let Some(base_score) = self.base_score {
            problems.check(
                base_score.is_finite(),
                &key("base_score"),
                format_args!("must be a finite number, got {base_score}"),
            );
        }
        problems.between(&key("threads"), self.threads, 1..=1024);
    }

    /// The settings, or every problem with them.
    pub fn validated(&self) -> Result<(), Problems> {
        let problems = Problems::collect(|problems| self.validate("", problems));
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xgboost_names_and_aliases_are_accepted() {
        let params: BoosterParams = serde_json::from_str(
            r#"{"eta": 0.1, "reg_lambda": 2.0, "min_split_loss": 0.5, "num_boost_round": 7, "nthread": 2}"#,
        )
        .expect("valid settings");
        assert_eq!(params.learning_rate, 0.1);
        assert_eq!(params.lambda, 2.0);
        assert_eq!(params.gamma, 0.5);
        assert_eq!(params.n_estimators, 7);
        assert_eq!(params.threads, 2);
        assert_eq!(params.max_depth, 6);
        assert_eq!(params.max_bin, 256);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let result: Result<BoosterParams, _> = serde_json::from_str(r#"{"max_depht": 3}"#);
        assert!(result.is_err());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let params = BoosterParams {
            n_estimators: 0,
            max_depth: 0,
            learning_rate: f32::NAN,
            lambda: -1.0,
            max_bin: 1,
            subsample: 0.0,
            colsample_bytree: 1.5,
            threads: 0,
            base_score: Some(f32::INFINITY),
            ..BoosterParams::default()
        };
        let problems = params.validated().expect_err("invalid");
        let text = problems.to_string();
        for key in [
            "n_estimators",
            "max_depth",
            "learning_rate",
            "lambda",
            "max_bin",
            "subsample",
            "colsample_bytree",
            "threads",
            "base_score",
        ] {
            assert!(text.contains(&format!("`{key}`")), "{key} missing from:\n{text}");
        }
        assert_eq!(problems.messages().len(), 9);
        assert!(BoosterParams::default().validated().is_ok());
    }
}
