//! The challenge between a newly trained version and the version serving when it was trained.
//!
//! A new version replaces the serving one only where it served better forecasts on the rows
//! of its holdout that neither model was fitted on, by at least the margin; otherwise the
//! serving version's model and gate keep serving under the new version number. Both sides
//! are compared as they serve (through their gates), and only a serving version that serves
//! its model is challenged: against one that serves persistence, the new version's gate
//! already decides.

use super::{Gate, Metrics};
use serde::{Deserialize, Serialize};

/// Fewest comparable rows for a verdict; with fewer, the new version serves (nothing shows
/// the serving one does better).
pub const MIN_CHALLENGE_ROWS: usize = 10;

/// How a new version fared against the version serving when it was trained.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Challenge {
    /// The version that was serving.
    pub incumbent_version: i32,
    /// The new version's served forecasts on the comparable rows.
    pub challenger: Metrics,
    /// The serving version's served forecasts on the same rows.
    pub incumbent: Metrics,
    /// Persistence on the same rows.
    pub baseline: Metrics,
    /// Whether the serving version's model and gate keep serving (the new version's RMSE was
    /// not at least the margin below theirs).
    pub kept_incumbent: bool,
}

impl Challenge {
    /// The verdict on the comparable rows: their `closes`, the `actuals` they forecast, and
    /// the served forecasts of the new version (`challenger`) and of version
    /// `incumbent_version` (`incumbent`). `None` below [`MIN_CHALLENGE_ROWS`] rows.
    pub fn decide(
        incumbent_version: i32,
        closes: &[f64],
        actuals: &[f64],
        challenger: &[f64],
        incumbent: &[f64],
        margin: f64,
    ) -> Option<Challenge> {
        if closes.len() < MIN_CHALLENGE_ROWS {
            return None;
        }
        let challenger = Metrics::of_prices(closes, actuals, challenger);
        let incumbent = Metrics::of_prices(closes, actuals, incumbent);
        let baseline = Metrics::of_prices(closes, actuals, closes);
        let replaces = challenger.rmse <= (1.0 - margin) * incumbent.rmse && challenger.rmse < incumbent.rmse;
        Some(Challenge { incumbent_version, challenger, incumbent, baseline, kept_incumbent: !replaces })
    }

    /// Whether `gate` serves a model that a new version must beat (not persistence).
    pub fn applies_to(gate: &Gate) -> bool {
        !gate.is_persistence()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_new_version_must_beat_the_serving_one_by_the_margin() {
        let closes = [100.0; 10];
        let actuals = [101.0; 10];
        let decide = |challenger: f64, incumbent: f64| {
            Challenge::decide(3, &closes, &actuals, &[challenger; 10], &[incumbent; 10], 0.1)
                .map(|c| c.kept_incumbent)
        };
        // Errors 0.5 against 1.0: 50 % better, it replaces.
        assert_eq!(decide(100.5, 100.0), Some(false));
        // 0.95 against 1.0: better, but not by 10 %.
        assert_eq!(decide(100.05, 100.0), Some(true));
        // Equal: the serving version stays.
        assert_eq!(decide(100.0, 100.0), Some(true));
        let challenge = Challenge::decide(3, &closes, &actuals, &[100.5; 10], &[100.0; 10], 0.1);
        let challenge = challenge.expect("10 rows");
        assert_eq!((challenge.incumbent_version, challenge.baseline.rmse), (3, 1.0));
        assert_eq!((challenge.challenger.rmse, challenge.incumbent.rmse), (0.5, 1.0));
    }

    #[test]
    fn too_few_rows_give_no_verdict_and_persistence_is_not_challenged() {
        assert_eq!(Challenge::decide(1, &[100.0; 9], &[101.0; 9], &[100.0; 9], &[101.0; 9], 0.0), None);
        assert!(!Challenge::applies_to(&Gate::PERSISTENCE));
        assert!(Challenge::applies_to(&Gate { weight: 0.3 }));
    }
}
