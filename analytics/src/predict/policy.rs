//! When a model is (re)trained.

use pricestream_dataflow::config::Problems;
use serde::{Deserialize, Serialize};

/// Retraining policy of the streaming model stage. Scoring never waits for it: trainings run
/// on their own thread and the new version replaces the old one when it is ready.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetrainPolicy {
    /// Train a scope's first model once it has this many labelled rows.
    pub min_training_rows: usize,
    /// Retrain once this many rows gained a label since the last training (one per ticker and
    /// trading day for a per-ticker model; 0 = never retrain once a model exists).
    pub retrain_every_rows: usize,
    /// Share of the newest labelled rows held out to evaluate each trained version against the
    /// persistence baseline before it is fitted on all rows (0 = no evaluation).
    pub holdout_fraction: f64,
}

impl Default for RetrainPolicy {
    fn default() -> Self {
        RetrainPolicy { min_training_rows: 200, retrain_every_rows: 20, holdout_fraction: 0.2 }
    }
}

/// Where one scope stands with respect to training.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrainingState {
    /// Rows with a known label.
    pub labelled_rows: usize,
    /// Rows that gained a label since the current model was trained.
    pub new_labels: usize,
    /// Whether the scope has a model.
    pub has_model: bool,
    /// Whether a training is queued or running.
    pub in_flight: bool,
}

impl RetrainPolicy {
    /// Whether to queue a training now.
    pub fn wants_training(&self, state: &TrainingState) -> bool {
        if state.in_flight || state.labelled_rows < self.min_training_rows.max(1) {
            return false;
        }
        !state.has_model || (self.retrain_every_rows > 0 && state.new_labels >= self.retrain_every_rows)
    }

    /// Adds every invalid setting to `problems`, keys under `prefix`.
    pub fn validate(&self, prefix: &str, problems: &mut Problems) {
        problems.check(
            self.min_training_rows >= 10,
            &format!("{prefix}.min_training_rows"),
            format_args!("must be >= 10, got {}", self.min_training_rows),
        );
        problems.check(
            (0.0..0.9).contains(&self.holdout_fraction),
            &format!("{prefix}.holdout_fraction"),
            format_args!("must be in [0, 0.9), got {}", self.holdout_fraction),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_model_waits_for_enough_rows_then_retrains_every_n_labels() {
        let policy = RetrainPolicy { min_training_rows: 100, retrain_every_rows: 5, holdout_fraction: 0.2 };
        let state = |labelled_rows, new_labels, has_model, in_flight| TrainingState {
            labelled_rows,
            new_labels,
            has_model,
            in_flight,
        };
        assert!(!policy.wants_training(&state(99, 99, false, false)));
        assert!(policy.wants_training(&state(100, 100, false, false)));
        assert!(!policy.wants_training(&state(100, 100, false, true)), "one training at a time");
        assert!(!policy.wants_training(&state(150, 4, true, false)));
        assert!(policy.wants_training(&state(150, 5, true, false)));
        let never = RetrainPolicy { retrain_every_rows: 0, ..policy };
        assert!(!never.wants_training(&state(150, 500, true, false)));
    }
}
