//! When a model is (re)trained.

/// Retraining policy of the streaming model stage (from the config's `[serving]`), applied by
/// the training schedule (`schedule.rs`) to the labels in the order they became known. Scoring
/// never waits for it: trainings run on their own thread and the new version replaces the old
/// one when it is ready.
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
    /// Retrain once per trading day: a per-ticker scope at each new label date; a global scope
    /// when the service declares a trading day ([`crate::ModelStage::trading_day_declared`]).
    pub daily: bool,
}

impl RetrainPolicy {
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
    fn degradation_compares_the_live_error_with_the_holdout_error() {
        let policy = RetrainPolicy {
            min_training_rows: 100,
            retrain_every_rows: 0,
            holdout_fraction: 0.2,
            retrain_on_degradation: 0.25,
            error_window: 20,
            daily: false,
        };
        assert!(!policy.degraded(1.25, Some(1.0)));
        assert!(policy.degraded(1.26, Some(1.0)));
        assert!(!policy.degraded(9.0, None), "no holdout, nothing to compare with");
        assert!(!RetrainPolicy { retrain_on_degradation: 0.0, ..policy }.degraded(9.0, Some(1.0)));
    }
}
