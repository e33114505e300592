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
    /// Retrain when the live forecasts' mean absolute error over the last `error_window`
    /// labelled forecasts exceeds the version's holdout MAE by this fraction (0 = off).
    pub retrain_on_degradation: f64,
    /// Forecasts whose error the degradation check averages.
    pub error_window: usize,
    /// Retrain once per trading day, when every series of the scope has its bar for the newest
    /// date or this long after the first of them arrived; `None` = off.
    pub daily: Option<std::time::Duration>,
    /// The tickers a global model's trading day waits for (daily policy); empty = the series
    /// the scope has met. A per-ticker scope waits for its own ticker either way.
    pub daily_tickers: std::collections::BTreeSet<String>,
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
    /// Whether the live error of the current model degraded past the policy's threshold.
    pub degraded: bool,
    /// Whether a trading day completed since the last training (daily policy).
    pub day_complete: bool,
}

impl RetrainPolicy {
    /// Whether to queue a training now.
    pub fn wants_training(&self, state: &TrainingState) -> bool {
        if state.in_flight || state.labelled_rows < self.min_training_rows.max(1) {
            return false;
        }
        !state.has_model
            || state.degraded
            || state.day_complete
            || (self.retrain_every_rows > 0 && state.new_labels >= self.retrain_every_rows)
    }

    /// Whether forecasts with mean absolute error `live_mae` (over a full window) are worse
    /// than a model whose holdout MAE was `holdout_mae` by more than the allowed fraction.
    pub fn degraded(&self, live_mae: f64, holdout_mae: Option<f64>) -> bool {
        match holdout_mae {
            Some(holdout) if self.retrain_on_degradation > 0.0 && holdout > 0.0 => {
                live_mae > holdout * (1.0 + self.retrain_on_degradation)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_model_waits_for_enough_rows_then_retrains_every_n_labels() {
        let policy = RetrainPolicy {
            min_training_rows: 100,
            retrain_every_rows: 5,
            holdout_fraction: 0.2,
            retrain_on_degradation: 0.25,
            error_window: 20,
            daily: None,
            daily_tickers: Default::default(),
        };
        let state = |labelled_rows, new_labels, has_model, in_flight| TrainingState {
            labelled_rows,
            new_labels,
            has_model,
            in_flight,
            degraded: false,
            day_complete: false,
        };
        assert!(!policy.wants_training(&state(99, 99, false, false)));
        assert!(policy.wants_training(&state(100, 100, false, false)));
        assert!(!policy.wants_training(&state(100, 100, false, true)), "one training at a time");
        assert!(!policy.wants_training(&state(150, 4, true, false)));
        assert!(policy.wants_training(&state(150, 5, true, false)));
        let never = RetrainPolicy { retrain_every_rows: 0, ..policy.clone() };
        assert!(!never.wants_training(&state(150, 500, true, false)));
        assert!(never.wants_training(&TrainingState { degraded: true, ..state(150, 0, true, false) }));
    }

    #[test]
    fn degradation_compares_the_live_error_with_the_holdout_error() {
        let policy = RetrainPolicy {
            min_training_rows: 100,
            retrain_every_rows: 0,
            holdout_fraction: 0.2,
            retrain_on_degradation: 0.25,
            error_window: 20,
            daily: None,
            daily_tickers: Default::default(),
        };
        assert!(!policy.degraded(1.25, Some(1.0)));
        assert!(policy.degraded(1.26, Some(1.0)));
        assert!(!policy.degraded(9.0, None), "no holdout, nothing to compare with");
        assert!(!RetrainPolicy { retrain_on_degradation: 0.0, ..policy }.degraded(9.0, Some(1.0)));
    }
}
