//! The serving gate: how far the served forecast follows the model's predicted change.
//!
//! A forecast is served as `close + weight × (model's forecast − close)`. Weight 0 is
//! persistence (today's close), weight 1 the raw model. The weight is learned on forecasts the
//! model made for rows it never saw, whose outcome is known: the one in [0, 1] with the least
//! squared price error there. Persistence is weight 0, inside that range, so on those rows the
//! gated forecast is never worse than persistence, and it is better whenever the model has any
//! skill there. A weight whose gain over persistence is below the margin is not worth serving:
//! the gate then serves persistence.

use super::metrics::Metrics;
use serde::{Deserialize, Serialize};

/// What produces the served forecasts of a model version.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    /// Weight of the model's predicted change, in [0, 1]; 0 serves persistence.
    pub weight: f64,
}

impl Gate {
    /// Serves today's close: no evidence that the model does better.
    pub const PERSISTENCE: Gate = Gate { weight: 0.0 };

    /// The gate learned from out-of-sample forecasts: `closes` on the forecast days, the
    /// `actuals` they forecast, the model's `forecasts` of them. The gated forecast's RMSE
    /// there must be at least `margin` (a fraction) below persistence's, or the gate serves
    /// persistence.
    pub fn learn(closes: &[f64], actuals: &[f64], forecasts: &[f64], margin: f64) -> Gate {
        let rows = closes.len().min(actuals.len()).min(forecasts.len());
        // Minimise Σ (actual − close − w·(forecast − close))²: w = Σ moved·predicted / Σ predicted².
        let (mut both, mut predicted_squared) = (0.0, 0.0);
        for row in 0..rows {
            let moved = actuals[row] - closes[row];
            let predicted = forecasts[row] - closes[row];
            both += moved * predicted;
            predicted_squared += predicted * predicted;
        }
        let usable =
            predicted_squared > 0.0 && both > 0.0 && both.is_finite() && predicted_squared.is_finite();
        if !usable {
            return Gate::PERSISTENCE;
        }
        let gate = Gate { weight: (both / predicted_squared).min(1.0) };
        let gated: Vec<f64> = (0..rows).map(|row| gate.forecast(closes[row], forecasts[row])).collect();
        let gated = Metrics::of_prices(&closes[..rows], &actuals[..rows], &gated).rmse;
        let persistence = Metrics::of_prices(&closes[..rows], &actuals[..rows], &closes[..rows]).rmse;
        if gated <= (1.0 - margin) * persistence && gated < persistence { gate } else { Gate::PERSISTENCE }
    }

    /// The served forecast from today's `close` and the model's forecast.
    pub fn forecast(&self, close: f64, model_forecast: f64) -> f64 {
        if self.weight >= 1.0 {
            model_forecast
        } else if self.weight <= 0.0 {
            close
        } else {
            close + self.weight * (model_forecast - close)
        }
    }

    /// Whether the gate serves persistence (the model's forecast is not used).
    pub fn is_persistence(&self) -> bool {
        self.weight <= 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weight_is_the_least_squares_shrinkage_of_the_predicted_change() {
        // Closes of 100; the model predicts +2, +2, −2, −2 and the closes moved +1, +1, −1, −1:
        // half of every predicted change happened.
        let closes = [100.0; 4];
        let actuals = [101.0, 101.0, 99.0, 99.0];
        let forecasts = [102.0, 102.0, 98.0, 98.0];
        let gate = Gate::learn(&closes, &actuals, &forecasts, 0.0);
        assert_eq!(gate.weight, 0.5);
        assert_eq!(gate.forecast(100.0, 102.0), 101.0);
    }

    #[test]
    fn a_model_that_moves_the_wrong_way_or_not_enough_gets_persistence() {
        let closes = [100.0; 4];
        let actuals = [101.0, 101.0, 99.0, 99.0];
        let wrong_way = [99.0, 99.0, 101.0, 101.0];
        assert_eq!(Gate::learn(&closes, &actuals, &wrong_way, 0.0), Gate::PERSISTENCE);
        assert_eq!(Gate::learn(&closes, &actuals, &closes, 0.0), Gate::PERSISTENCE, "no move predicted");
        // Right on two rows, wrong on two: w = (2 − 2 + 2 − 1.9·1) / … is tiny and gains little.
        let noise = [102.0, 98.0, 98.0, 101.9];
        let gate = Gate::learn(&closes, &actuals, &noise, 0.0);
        assert!(gate.weight > 0.0 && gate.weight < 0.1, "{gate:?}");
        assert_eq!(Gate::learn(&closes, &actuals, &noise, 0.01), Gate::PERSISTENCE, "below the margin");
    }

    #[test]
    fn a_model_that_predicts_too_little_keeps_weight_one() {
        let closes = [100.0; 2];
        let gate = Gate::learn(&closes, &[104.0, 96.0], &[102.0, 98.0], 0.5);
        assert_eq!(gate.weight, 1.0, "the weight never amplifies the model");
        assert_eq!(gate.forecast(100.0, 102.0).to_bits(), 102.0_f64.to_bits());
    }

    #[test]
    fn persistence_serves_the_close_exactly() {
        assert_eq!(Gate::PERSISTENCE.forecast(123.45, 130.0).to_bits(), 123.45_f64.to_bits());
        assert!(Gate::PERSISTENCE.is_persistence());
    }
}
