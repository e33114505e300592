//! When a model is (re)trained.

/// Retraining policy of the streaming model stage (from the config's `[serving]`). Scoring
/// never waits for it: trainings run on their own thread and the new version replaces the
/// old one when it is ready.
#[derive(Clone, Debug, PartialEq)]
pub struct RetrainPolicy {
    /// Train a scope's first model once it has this many labelled rows.
    pub min_training_rows: usize,
    /// Retrain once this many rows gained a label since the last training (0 = never).
    pub retrain_every_rows: usize,
    /// Share of the newest labelled rows held out to evaluate each version.
    pub holdout_fraction: f64,
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
